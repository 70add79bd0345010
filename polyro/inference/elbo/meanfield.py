"""``TraceMeanField_ELBO``: the ELBO with analytic KL divergences where polyro's KL registry has
them (``KL(q(z) || p(z))`` replaces ``log q(z) - log p(z)`` site by site).

It assumes a mean-field structure: the model's prior at a latent site does not depend on other
latent sites' values in a way the guide ignores (true for the usual "global prior" models).

>>> from polyro.inference import TraceMeanField_ELBO
>>> TraceMeanField_ELBO().num_particles
1
"""

from __future__ import annotations

import polyro.backends as backends
from polyro.inference.elbo import util as eu
from polyro.inference.elbo.trace_elbo import ELBO, score_surrogate

__all__ = ["TraceMeanField_ELBO"]


def _analytic_kl(q_site: dict, p_site: dict):
    """The site's (masked, scaled) KL array, or None when not registered / shapes differ."""
    try:
        from polyro.core.distributions.kl import kl_divergence
    except ImportError:  # pragma: no cover
        return None
    try:
        kl = kl_divergence(q_site["fn"], p_site["fn"])
    except NotImplementedError:
        return None
    xp = backends.namespace(kl)
    lp_shape = tuple(getattr(q_site["fn"], "batch_shape", ()))
    if tuple(kl.shape) != lp_shape:
        return None
    mask = p_site.get("mask")
    if mask is not None and not isinstance(mask, bool):
        kl = xp.where(mask, kl, xp.zeros_like(kl))
    scale = p_site.get("scale")
    if scale is not None:
        kl = scale * kl
    return xp.sum(kl)


class TraceMeanField_ELBO(ELBO):
    """ELBO with analytic ``KL(q || p)`` for latent sites whose (guide, model) distribution pair is
    registered; other sites use the Monte Carlo terms of :class:`Trace_ELBO`.

    >>> import polyro
    >>> import polyro.distributions as dist
    >>> def model():
    ...     polyro.sample("x", dist.Normal(0.0, 1.0))
    >>> def guide():
    ...     polyro.sample("x", dist.Normal(1.0, 1.0))
    >>> float(TraceMeanField_ELBO().loss(polyro.backends.current().key(0), {}, model, guide))
    0.5
    """

    def _particle(self, key, params, model, guide, args, kwargs, state):
        be = backends.current()
        model_tr, guide_tr = eu.get_traces(key, params, model, guide, args, kwargs)
        elbo = 0.0
        analytic = set()
        for name, q_site in guide_tr.items():
            if not eu.is_latent(q_site):
                continue
            p_site = model_tr.get(name)
            if p_site is not None and eu.is_latent(p_site):
                kl = _analytic_kl(q_site, p_site)
                if kl is not None:
                    elbo = elbo - kl
                    analytic.add(name)
                    continue
            elbo = elbo - eu.site_log_prob_sum(q_site)
        for name, site in model_tr.items():
            if site.get("type") == "sample" and name not in analytic:
                elbo = elbo + eu.site_log_prob_sum(site)
        surrogate = score_surrogate(model_tr, guide_tr, be)
        return elbo, (0.0 * elbo if surrogate is None else surrogate), None
