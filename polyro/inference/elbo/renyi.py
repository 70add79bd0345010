"""``RenyiELBO``: the Rényi alpha-divergence bound (Li & Turner 2016).

``L_alpha = 1/(1-alpha) * log mean_k exp((1-alpha) * (log p(x, z_k) - log q(z_k)))``;
``alpha = 0`` is the importance-weighted bound (IWAE), ``alpha -> 1`` the ELBO. Needs every guide
site to be reparameterizable.

>>> from polyro.inference import RenyiELBO
>>> RenyiELBO(alpha=0.0, num_particles=8).alpha
0.0
"""

from __future__ import annotations

import math
from typing import Any

import polyro.backends as backends
from polyro.inference.elbo import util as eu
from polyro.inference.elbo.trace_elbo import ELBO, Trace_ELBO, model_guide_terms

__all__ = ["RenyiELBO"]


class RenyiELBO(ELBO):
    """Rényi divergence bound with parameter ``alpha`` (``alpha != 1``; ``alpha=1`` falls back to
    :class:`Trace_ELBO`).

    >>> import polyro
    >>> import polyro.distributions as dist
    >>> def model():
    ...     polyro.sample("x", dist.Normal(0.0, 1.0))
    >>> abs(float(RenyiELBO(num_particles=3).loss(polyro.backends.current().key(0), {},
    ...                                            model, model))) < 1e-12
    True
    """

    def __init__(self, alpha: float = 0.0, num_particles: int = 2,
                 vectorize_particles: bool = True, **peer_options: Any) -> None:
        super().__init__(num_particles, vectorize_particles, **peer_options)
        alpha = float(alpha)
        if not math.isfinite(alpha):
            raise ValueError(f"alpha must be finite, got {alpha!r}")
        self.alpha = alpha
        self._fallback = Trace_ELBO(num_particles, vectorize_particles) if alpha == 1.0 else None

    def _particle(self, key, params, model, guide, args, kwargs, state):
        model_tr, guide_tr = eu.get_traces(key, params, model, guide, args, kwargs)
        for name, site in guide_tr.items():
            if eu.is_latent(site) and not eu.is_reparam(site):
                raise ValueError(
                    f"RenyiELBO needs reparameterizable guide sites, but site {name!r} "
                    f"({type(site['fn']).__name__}) is not; use Trace_ELBO or TraceGraph_ELBO "
                    "for models with discrete latent sites in the guide"
                )
        logp, logq = model_guide_terms(model_tr, guide_tr)
        return logp - logq, 0.0 * logp, None

    def loss_with_state(self, rng_key: Any, param_map: dict, model: Any, guide: Any,
                        state: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if self._fallback is not None:
            return self._fallback.loss_with_state(rng_key, param_map, model, guide, state,
                                                  *args, **kwargs)
        be = backends.current()

        def fn(key):
            return self._particle(key, param_map, model, guide, args, kwargs, state)[0]

        log_w = self._particles(rng_key, fn)  # 'plate' mode runs as a loop here
        scaled = (1.0 - self.alpha) * log_w
        bound = (be.logsumexp(scaled, axis=0) - math.log(self.num_particles)) / (1.0 - self.alpha)
        return -bound, state
