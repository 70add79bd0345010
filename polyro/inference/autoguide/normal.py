"""``AutoNormal`` (independent Normal per site, in unconstrained space) and ``AutoDelta`` (MAP).

Both create one set of params per latent site, so local latent variables inside subsampled
plates work: params have the full plate size and are indexed by the subsample indices.

>>> from polyro.inference.autoguide import AutoNormal, AutoDelta
>>> AutoNormal(lambda: None, init_scale=0.05).init_scale
0.05
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polyro.backends as backends
from polyro.inference.autoguide.base import AutoGuide, quantile_args

__all__ = ["AutoNormal", "AutoDelta"]


def _dist():
    import polyro.distributions as dist

    return dist


def _constraints():
    from polyro.core.distributions import constraints

    return constraints


class AutoNormal(AutoGuide):
    """Mean-field Normal guide: each latent site is ``biject_to(support)`` of an independent
    ``Normal(loc, scale)`` with params ``{prefix}_{site}_loc`` and ``{prefix}_{site}_scale``.

    >>> import polyro, polyro.distributions as dist
    >>> from polyro import handlers
    >>> def model():
    ...     polyro.sample("s", dist.LogNormal(0.0, 1.0))
    >>> guide = AutoNormal(model)
    >>> tr = handlers.trace(handlers.seed(guide, rng_seed=0)).get_trace()
    >>> sorted(k for k in tr if tr[k]["type"] == "param")
    ['auto_s_loc', 'auto_s_scale']
    """

    def __init__(self, model: Callable, *, prefix: str = "auto",
                 init_loc_fn: Callable | None = None, init_scale: float = 0.1,
                 create_plates: Callable | None = None) -> None:
        if not init_scale > 0:
            raise ValueError(f"init_scale must be positive, got {init_scale!r}")
        super().__init__(model, prefix=prefix, init_loc_fn=init_loc_fn,
                         create_plates=create_plates)
        self.init_scale = float(init_scale)

    def _site_params(self, name: str) -> tuple[Any, Any]:
        import polyro

        s = self._sites[name]
        xp = backends.namespace(s.uvalue)
        init_loc = self._full_size(xp.asarray(s.uvalue), s, s.uevent_dim)
        loc = polyro.param(self._param_name(name, "loc"), init_loc, event_dim=s.uevent_dim)
        scale = polyro.param(self._param_name(name, "scale"),
                             xp.full_like(init_loc, self.init_scale),
                             constraint=_scale_constraint(), event_dim=s.uevent_dim)
        return loc, scale

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        import polyro

        self._ensure_setup(args, kwargs)
        dist = _dist()
        plates = self._make_plates(args, kwargs)
        entered: dict = {}
        out = {}
        for name, s in self._sites.items():
            loc, scale = self._site_params(name)
            if not s.has_plates:  # no plate to enter, nothing to subsample
                out[name] = polyro.sample(name, self._site_dist(dist, s, loc, scale))
                continue
            with self._enter_plates(s, plates, entered) as idx:
                loc = self._subsample(loc, s, idx, s.uevent_dim)
                scale = self._subsample(scale, s, idx, s.uevent_dim)
                out[name] = polyro.sample(name, self._site_dist(dist, s, loc, scale))
        return out

    @staticmethod
    def _site_dist(dist: Any, s: Any, loc: Any, scale: Any) -> Any:
        base = dist.Normal(loc, scale)
        if s.uevent_dim:
            base = base.to_event(s.uevent_dim)
        return base if s.identity else dist.TransformedDistribution(base, s.transform)

    def _locs_scales(self, params: dict | None) -> dict:
        params = self._get_params(params)
        res = {}
        for name, s in self._sites.items():
            loc = params[self._param_name(name, "loc")]
            scale = params[self._param_name(name, "scale")]
            res[name] = (s, loc, scale)
        return res

    def median(self, params: dict | None = None) -> dict:
        """``biject_to(support)(loc)`` per site (full plate size).

        >>> AutoNormal(lambda: None).median({})
        {}
        """
        return {n: s.transform(loc) for n, (s, loc, _) in self._locs_scales(params).items()}

    def quantiles(self, quantiles: Any, params: dict | None = None) -> dict:
        """``biject_to(support)(loc + scale * ndtri(q))`` per site, stacked on a leading dim.

        >>> AutoNormal(lambda: None).quantiles([0.5], {})
        {}
        """
        quantiles, params = quantile_args(quantiles, params)
        out = {}
        for n, (s, loc, scale) in self._locs_scales(params).items():
            be = backends.backend_of(loc)
            xp = be.xp
            q = be.asarray([float(v) for v in quantiles], dtype=loc.dtype)
            z = be.ndtri(q)
            zs = xp.reshape(z, (len(quantiles),) + (1,) * loc.ndim)
            out[n] = s.transform(loc + scale * zs)
        return out


_SCALE_CONSTRAINT: list = []


def _scale_constraint() -> Any:
    if not _SCALE_CONSTRAINT:
        c = _constraints()
        _SCALE_CONSTRAINT.append(getattr(c, "softplus_positive", None) or c.positive)
    return _SCALE_CONSTRAINT[0]


class AutoDelta(AutoGuide):
    """Point-estimate (MAP) guide: each latent site is a ``Delta`` at the param
    ``{prefix}_{site}_loc``, constrained to the site's support. Training with ``Trace_ELBO``
    maximizes the log joint density (MAP in the model's parameterization).

    >>> import polyro, polyro.distributions as dist
    >>> from polyro import handlers
    >>> def model():
    ...     polyro.sample("s", dist.LogNormal(0.0, 1.0))
    >>> g = AutoDelta(model)
    >>> tr = handlers.trace(handlers.seed(g, rng_seed=0)).get_trace()
    >>> float(tr["s"]["value"]) == float(tr["auto_s_loc"]["value"]) > 0
    True
    """

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        import polyro

        self._ensure_setup(args, kwargs)
        dist = _dist()
        plates = self._make_plates(args, kwargs)
        entered: dict = {}
        out = {}
        for name, s in self._sites.items():
            xp = backends.namespace(s.value)
            init = self._full_size(xp.asarray(s.value), s, s.event_dim)
            loc = polyro.param(self._param_name(name, "loc"), init, constraint=s.support,
                               event_dim=s.event_dim)
            with self._enter_plates(s, plates, entered) as idx:
                loc = self._subsample(loc, s, idx, s.event_dim)
                out[name] = polyro.sample(name, dist.Delta(loc, event_dim=s.event_dim))
        return out

    def median(self, params: dict | None = None) -> dict:
        """The point estimates (constrained).

        >>> AutoDelta(lambda: None).median({})
        {}
        """
        params = self._get_params(params)
        return {n: params[self._param_name(n, "loc")] for n in self._sites}

    def quantiles(self, quantiles: Any, params: dict | None = None) -> dict:
        """Every quantile of a point mass is the point.

        >>> AutoDelta(lambda: None).quantiles([0.1, 0.9], {})
        {}
        """
        quantiles, params = quantile_args(quantiles, params)
        med = self.median(params)
        out = {}
        for n, v in med.items():
            xp = backends.namespace(v)
            out[n] = xp.stack([v] * len(quantiles))
        return out
