"""``TraceEnum_ELBO``: the ELBO with the model's enumerated discrete sites summed out exactly.

The guide is run (seeded) and the model replayed against it under the ``enum`` handler; the
model's log joint is contracted over the enumerated sites with tensor variable elimination
(:mod:`polyro.inference.enum`), so ``elbo = log p(x, z_guide) (discrete sites summed) -
log q(z_guide)``. When every latent is enumerated the ELBO is the exact log marginal likelihood.

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
from polyro.core.handlers.enum import is_enumerated
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

    Guide-side enumeration is not supported: a guide site marked for enumeration raises
    ``NotImplementedError`` (enumerate it in the model instead). Non-reparameterized guide
    sites get the plain score-function surrogate.

    >>> TraceEnum_ELBO(max_plate_nesting=1).max_plate_nesting
    1
    """

    def __init__(self, num_particles: int = 1, max_plate_nesting: int | None = None,
                 vectorize_particles: bool = True) -> None:
        super().__init__(num_particles, vectorize_particles)
        if max_plate_nesting is not None and (not isinstance(max_plate_nesting, int)
                                              or max_plate_nesting < 0):
            raise ValueError(f"max_plate_nesting must be a non-negative int or None, got "
                             f"{max_plate_nesting!r}")
        self.max_plate_nesting = max_plate_nesting
        self._guessed: dict[int, int] = {}

    def _plate_nesting_for(self, model: Any, guide_tr: dict, args: tuple, kwargs: dict) -> int:
        if self.max_plate_nesting is not None:
            return self.max_plate_nesting
        key = id(model)
        if key not in self._guessed:  # structure only: a cache by model function is safe
            from polyro.inference.enum.api import _prototype, guess_max_plate_nesting

            n = _prototype(replay(model, trace=guide_tr), args, kwargs)
            self._guessed[key] = max(n, guess_max_plate_nesting(guide_tr))
        return self._guessed[key]

    def _particle(self, key, params, model, guide, args, kwargs, state):
        from polyro.inference.enum.api import trace_factors
        from polyro.inference.enum.contract import sum_product

        be = backends.current()
        xp = be.xp
        k_guide, k_model = be.split(key)
        guide_tr = trace(seed(substitute(guide, data=params), rng_seed=k_guide)).get_trace(
            *args, **kwargs)
        guide_tr = eu.trace_nodes(guide_tr)
        enumerated = [n for n, s in guide_tr.items() if is_enumerated(s)]
        if enumerated:
            raise NotImplementedError(
                f"TraceEnum_ELBO: guide site(s) {enumerated} are marked for enumeration; "
                "guide-side enumeration is not supported. Enumerate these sites in the model "
                "instead (remove them from the guide)."
            )
        mpn = self._plate_nesting_for(model, guide_tr, args, kwargs)
        m = seed(substitute(replay(model, trace=guide_tr), data=params), rng_seed=k_model)
        model_tr = trace(enum(m, first_available_dim=-mpn - 1)).get_trace(*args, **kwargs)
        factors, var_ord, sizes, order = trace_factors(model_tr, mpn)
        logp = sum_product(factors, var_ord, sizes, "sum", order)
        logq = 0.0
        for site in guide_tr.values():
            if eu.is_latent(site):
                logq = logq + eu.site_log_prob_sum(site)
        elbo = logp - logq
        surrogate = 0.0 * elbo
        for site in guide_tr.values():
            if eu.is_latent(site) and not eu.is_reparam(site):
                surrogate = surrogate + eu.site_log_prob_sum(site) * be.stop_gradient(elbo)
        return xp.asarray(elbo), surrogate, None
