"""``TraceEnum_ELBO``: the ELBO with enumerated discrete sites summed out exactly.

The guide is run (seeded) under the ``enum`` handler and the model replayed against it under
``enum``; the model's log joint is contracted over its enumerated sites with tensor variable
elimination (:mod:`polyro.inference.enum`), so ``elbo = log p(x, z_guide) (discrete sites
summed) - log q(z_guide)``. When every latent is enumerated in the model the ELBO is the exact
log marginal likelihood. Sites the *guide* enumerates are averaged over exactly with their
guide probabilities (:mod:`polyro.inference.elbo.guide_enum`).

>>> import numpy as np, polyro, polyro.distributions as dist
>>> from polyro.core.enum_config import config_enumerate
>>> @config_enumerate
... def model():
...     z = polyro.sample("z", dist.Bernoulli(0.25))
...     polyro.sample("y", dist.Normal(z * 1.0, 1.0), obs=0.0)
>>> loss = TraceEnum_ELBO(max_plate_nesting=0).loss(
...     polyro.backends.current().key(0), {}, model, lambda: None)
>>> ref = -np.log(0.75 * np.exp(0.0) + 0.25 * np.exp(-0.5)) + 0.5 * np.log(2 * np.pi)
>>> bool(abs(float(loss) - ref) < 1e-9)
True
"""

from __future__ import annotations

from typing import Any

import polyro.backends as backends
from polyro.core.handlers import enum, replay, seed, substitute, trace
from polyro.inference.elbo import util as eu
from polyro.inference.elbo.trace_elbo import ELBO

__all__ = ["TraceEnum_ELBO"]


class TraceEnum_ELBO(ELBO):
    """ELBO that enumerates the model's discrete sites marked ``infer={"enumerate":
    "parallel"}`` (e.g. with ``config_enumerate``) and samples the rest from the guide.

    Args:
        num_particles: Monte Carlo particles for the guide's (continuous) latents.
        max_plate_nesting: the number of plate dims the model uses (enumeration dims go to
            their left); ``None`` guesses it from one run of the model per model function.
        vectorize_particles: as for :class:`~polyro.inference.elbo.trace_elbo.ELBO`.

    Guide sites marked for enumeration are enumerated too, as in Pyro: the guide runs under
    ``enum`` (its sites take every value of their support), the model's own enumerated sites
    get dims further left, and each cost term is averaged exactly over the guide's enumerated
    values (:mod:`polyro.inference.elbo.guide_enum`). Supported: guide-enumerated sites anywhere
    when the model enumerates nothing of its own, and guide-enumerated sites outside every
    plate together with model-side enumeration; other combinations raise
    ``NotImplementedError`` naming the sites. Sampled non-reparameterized guide sites get the
    plain score-function surrogate (not when they depend on a guide-enumerated site).

    >>> TraceEnum_ELBO(max_plate_nesting=1).max_plate_nesting
    1
    """

    #: ``SVI.init`` gives the sites this loss enumerates their first support value, not a draw
    enumerates = True

    def __init__(self, num_particles: int = 1, max_plate_nesting: int | None = None,
                 vectorize_particles: bool = True, **peer_options: Any) -> None:
        super().__init__(num_particles, vectorize_particles, **peer_options)
        if max_plate_nesting is not None and (not isinstance(max_plate_nesting, int)
                                              or max_plate_nesting < 0):
            raise ValueError(f"max_plate_nesting must be a non-negative int or None, got "
                             f"{max_plate_nesting!r}")
        self.max_plate_nesting = max_plate_nesting
        self._guessed: dict[tuple[int, int], int] = {}

    def _plate_nesting_for(self, model: Any, guide: Any, params: dict, args: tuple,
                           kwargs: dict) -> int:
        key = (id(model), id(guide))
        if key not in self._guessed:  # structure only: a cache by model/guide is safe
            from polyro.inference.enum.api import (
                guess_max_plate_nesting,
                nesting_error,
                probe_trace,
                unplated_overlap,
            )

            # the guide's enumerated sites take a placeholder value (no enumeration dims yet)
            guide_tr = probe_trace(substitute(guide, data=params), args, kwargs)
            model_tr = probe_trace(replay(model, trace=guide_tr), args, kwargs)
            guide_tr, model_tr = eu.trace_nodes(guide_tr), eu.trace_nodes(model_tr)
            mpn = self.max_plate_nesting
            if mpn is None:
                mpn = max(guess_max_plate_nesting(model_tr), guess_max_plate_nesting(guide_tr))
            else:
                hit = unplated_overlap(model_tr, mpn) or unplated_overlap(guide_tr, mpn)
                if hit is not None:
                    raise nesting_error(f"TraceEnum_ELBO(max_plate_nesting={mpn})", mpn, hit)
            self._guessed[key] = mpn
        return self._guessed[key]

    def _particle(self, key, params, model, guide, args, kwargs, state):
        from polyro.inference.elbo.guide_enum import (
            enum_after,
            enumerated_guide_sites,
            guide_enum_elbo,
            guide_site_labels,
        )
        from polyro.inference.enum.api import trace_factors
        from polyro.inference.enum.contract import sum_product

        be = backends.current()
        k_guide, k_model = be.split(key)
        mpn = self._plate_nesting_for(model, guide, params, args, kwargs)
        g = seed(substitute(guide, data=params), rng_seed=k_guide)
        guide_tr = trace(enum(g, first_available_dim=-mpn - 1)).get_trace(*args, **kwargs)
        guide_tr = eu.trace_nodes(guide_tr)
        enumerated = enumerated_guide_sites(guide_tr)
        m = seed(substitute(replay(model, trace=guide_tr), data=params), rng_seed=k_model)
        if enumerated:
            reserved = {d: n for n, d in enumerated.items()}
            model_tr = trace(enum_after(m, first_available_dim=-mpn - 1, reserved=reserved)
                             ).get_trace(*args, **kwargs)
            elbo = guide_enum_elbo(eu.trace_nodes(model_tr), guide_tr, mpn, enumerated)
        else:
            model_tr = trace(enum(m, first_available_dim=-mpn - 1)).get_trace(*args, **kwargs)
            factors, var_ord, sizes, order = trace_factors(model_tr, mpn)
            logp = sum_product(factors, var_ord, sizes, "sum", order)
            logq = 0.0
            for site in guide_tr.values():
                if eu.is_latent(site):
                    logq = logq + eu.site_log_prob_sum(site)
            elbo = logp - logq
        elbo = elbo if be.is_array(elbo) else be.asarray(elbo)
        surrogate = 0.0 * elbo
        for name, site in guide_tr.items():
            if not eu.is_latent(site) or eu.is_reparam(site) or name in enumerated:
                continue
            if enumerated:
                deps = [lab for lab in guide_site_labels(site, mpn) if lab in enumerated]
                if deps:
                    raise NotImplementedError(
                        f"TraceEnum_ELBO: the non-reparameterized guide site {name!r} is sampled "
                        f"given the guide-enumerated site(s) {deps}; its score-function "
                        "gradient is not supported. Enumerate it too, reparameterize it, or "
                        "sample it before (independently of) the enumerated sites.")
            surrogate = surrogate + eu.site_log_prob_sum(site) * be.stop_gradient(elbo)
        return elbo, surrogate, None
