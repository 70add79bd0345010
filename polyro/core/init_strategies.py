"""Initialization strategies for the latent sites of a model (MCMC and autoguides).

A strategy is a function ``strategy(site) -> value or None`` used as a ``substitute_fn``: it is
called with a sample-site message (whose ``site["key"]`` was set by ``seed``) and returns a
*constrained* initial value. Called with no site, each factory returns the configured strategy,
``init_to_uniform(radius=1.0)``, as in NumPyro.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.sample("s", dist.LogNormal(0.0, 1.0))
>>> h = handlers.substitute(handlers.seed(model, rng_seed=0), substitute_fn=init_to_median())
>>> 0.5 < float(h()) < 2.0
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from polyro.backends import backend_of

__all__ = [
    "init_to_feasible",
    "init_to_mean",
    "init_to_median",
    "init_to_sample",
    "init_to_uniform",
    "init_to_value",
]

Strategy = Callable[[Any], Any]


def _applies(site: Any) -> bool:
    return site is not None and site["type"] == "sample" and not site["is_observed"]


def _keys(site: Any, n: int = 2) -> Any:
    key = site["key"]
    if key is None:
        from polyro.core.runtime import MissingKeyError

        raise MissingKeyError(
            f"init strategy at site {site['name']!r}: no PRNG key; run the model inside "
            "polyro.handlers.seed"
        )
    return backend_of(key).split(key, n)


def _draw(site: Any, key: Any, n: int | None = None) -> Any:
    shape = tuple(site["kwargs"].get("sample_shape", ()))
    if n is not None:
        shape = (n,) + shape
    return site["fn"].sample(key, shape)


def _unconstrained_proto(site: Any) -> tuple[Any, tuple[int, ...], Any, Any]:
    """The bijection of a site's support, the unconstrained shape, the backend and the dtype,
    found without drawing from the site (improper priors such as ImproperUniform have no
    sampler)."""
    from polyro.core.distributions import biject_to

    fn = site["fn"]
    try:
        t = biject_to(fn.support)
    except NotImplementedError as e:
        raise NotImplementedError(
            f"latent site {site['name']!r}: its support {fn.support} ({type(fn).__name__}) has "
            "no transform to unconstrained space, so this inference cannot move it; "
            "reparameterize the site (for ProjectedNormal: handlers.reparam with "
            "ProjectedNormalReparam()), observe it, or register a transform with "
            f"biject_to.register ({e})"
        ) from e
    shape = tuple(site["kwargs"].get("sample_shape", ())) + tuple(fn.shape())
    shape = tuple(t.inverse_shape(shape))
    be = backend_of(site["key"])
    return t, shape, be, be.float_dtype()


def init_to_sample(site: Any = None) -> Any:
    """Initialize at a draw from the site's distribution (prior).

    >>> init_to_sample()({"type": "param", "is_observed": False}) is None
    True
    """
    if site is None:
        return init_to_sample
    if not _applies(site):
        return None
    return _draw(site, _keys(site)[0])


def init_to_median(site: Any = None, num_samples: int = 15) -> Any:
    """Initialize at the elementwise median of ``num_samples`` prior draws.

    >>> init_to_median(num_samples=5)({"type": "param", "is_observed": False}) is None
    True
    """
    if site is None:
        return functools.partial(init_to_median, num_samples=num_samples)
    if not _applies(site):
        return None
    draws = _draw(site, _keys(site)[0], num_samples)
    be = backend_of(draws)
    xp = be.xp
    s = xp.sort(draws, axis=0)
    return _into_support(site, s[(num_samples - 1) // 2], draws[0])


def _into_support(site: Any, value: Any, draw: Any) -> Any:
    """``value`` where the site's support holds it. An elementwise median need not lie in a
    support that ties the elements together (a simplex, a correlation matrix's Cholesky
    factor): it is then mapped to ``biject_to(support)(biject_to(support).inv(value))``, a point
    of the support near it, or, where that fails too, replaced by ``draw`` (one of the draws).
    Traced values cannot be checked and are returned as they are."""
    from polyro.core.distributions import biject_to
    from polyro.core.distributions.util import concrete_check, concrete_numpy

    support = site["fn"].support

    def holds(v: Any) -> bool:
        ok, _ = concrete_check(support, v, concrete_only=True)  # None while traced
        return ok is None or bool(np.all(ok) and np.all(np.isfinite(concrete_numpy(v))))

    if holds(value):
        return value
    t = biject_to(support)
    projected = t(t.inv(value))
    return projected if holds(projected) else draw


def init_to_mean(site: Any = None) -> Any:
    """Initialize at the mean of the site's distribution (falls back to the median when the mean
    is unavailable or not finite).

    >>> init_to_mean()({"type": "param", "is_observed": False}) is None
    True
    """
    if site is None:
        return init_to_mean
    if not _applies(site):
        return None
    try:
        m = site["fn"].mean
        be = backend_of(m)
        xp = be.xp
        shape = tuple(site["kwargs"].get("sample_shape", ())) + tuple(site["fn"].batch_shape) + \
            tuple(site["fn"].event_shape)
        m = xp.broadcast_to(m if be.is_array(m) else be.asarray(m), shape)
        if bool(xp.all(xp.isfinite(m))):
            return m
    except (NotImplementedError, AttributeError):
        pass
    return init_to_median(site)


def init_to_feasible(site: Any = None) -> Any:
    """Initialize at the image of 0 (unconstrained) under ``biject_to(support)``.

    >>> init_to_feasible()({"type": "param", "is_observed": False}) is None
    True
    """
    if site is None:
        return init_to_feasible
    if not _applies(site):
        return None

    if getattr(site["fn"], "is_discrete", False):
        return _draw(site, _keys(site)[0])
    t, shape, be, dtype = _unconstrained_proto(site)
    return t(be.xp.zeros(shape, dtype=dtype))


def init_to_uniform(site: Any = None, radius: float = 2.0) -> Any:
    """Initialize uniformly in ``(-radius, radius)`` in unconstrained space.

    >>> init_to_uniform(radius=1.0)({"type": "param", "is_observed": False}) is None
    True
    """
    if site is None:
        return functools.partial(init_to_uniform, radius=radius)
    if not _applies(site):
        return None

    k = _keys(site)
    if getattr(site["fn"], "is_discrete", False):  # no bijection: a prior draw (enumeration
        return _draw(site, k[0])  # or the discrete-latent error comes later)
    t, shape, be, dtype = _unconstrained_proto(site)
    draw = be.uniform(k[1], shape, dtype=dtype, minval=-radius, maxval=radius)
    return t(draw)


def init_to_value(
    site: Any = None, values: Mapping[str, Any] | None = None, fallback: Strategy | None = None
) -> Any:
    """Initialize the sites in ``values`` at the given (constrained) values; the other sites
    with ``fallback`` (default ``init_to_uniform``).

    >>> init_to_value(values={"x": 1.0})({"type": "param", "is_observed": False}) is None
    True
    """
    if site is None:
        return functools.partial(init_to_value, values=values or {}, fallback=fallback)
    if not _applies(site):
        return None
    values = values or {}
    if site["name"] in values:
        v = values[site["name"]]
        be = backend_of(v)
        return v if be.is_array(v) else be.asarray(v, dtype=be.float_dtype())
    return (fallback or init_to_uniform)(site)
