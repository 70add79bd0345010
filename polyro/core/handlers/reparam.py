"""``reparam``: rewrite sample sites into better-conditioned auxiliary sites.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> def model():
...     return polyro.sample("x", dist.Normal(3.0, 2.0))
>>> h = handlers.reparam(model, config={"x": handlers.LocScaleReparam(centered=0.0)})
>>> tr = handlers.trace(handlers.seed(h, rng_seed=0)).get_trace()
>>> list(tr), tr["x"]["type"]
(['x_decentered', 'x'], 'deterministic')
>>> float(tr["x"]["value"]) == 3.0 + 2.0 * float(tr["x_decentered"]["value"])
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from polyro.backends import backend_of
from polyro.core.runtime import Message, Messenger

__all__ = ["LocScaleReparam", "ProjectedNormalReparam", "Reparam", "TransformReparam", "reparam"]


def _unexpand(fn: Any) -> tuple[Any, tuple[int, ...]]:
    """(innermost non-expanded distribution, batch shape of ``fn``)."""
    from polyro.core.distributions import ExpandedDistribution

    batch = tuple(fn.batch_shape)
    while isinstance(fn, ExpandedDistribution):
        fn = fn.base_dist
    return fn, batch


def _reparam_base(r: Any, name: str, fn: Any, obs: Any, want: type) -> tuple[Any, tuple[int, ...]]:
    """:func:`_unexpand` of a latent site's ``fn``, checked to be a ``want`` (``r`` names the
    reparameterizer in the errors)."""
    who = type(r).__name__
    if obs is not None:
        raise ValueError(f"{who} cannot reparameterize the observed site {name!r}")
    base, batch = _unexpand(fn)
    if not isinstance(base, want):
        raise TypeError(f"{who} at site {name!r}: expected a {want.__name__}, got "
                        f"{type(base).__name__}")
    return base, batch


class Reparam:
    """Base class: ``reparam(name, fn, obs) -> (new_fn or None, value or None)``.

    Return ``(None, value)`` to turn the site into a deterministic site with ``value`` (the
    reparameterizer samples its own auxiliary sites with ``polyro.sample``), or ``(new_fn,
    None)`` to replace the distribution.

    >>> Reparam()("x", None, None)
    Traceback (most recent call last):
    ...
    NotImplementedError: Reparam subclasses implement __call__(name, fn, obs)
    """

    def __call__(self, name: str, fn: Any, obs: Any) -> tuple[Any, Any]:
        raise NotImplementedError("Reparam subclasses implement __call__(name, fn, obs)")


class LocScaleReparam(Reparam):
    """Non-centring of a location-scale family (``fn`` has ``loc`` and ``scale``).

    ``centered`` in [0, 1]: 0 fully decentered (the auxiliary site ``{name}_decentered`` has
    loc 0 and scale 1), 1 leaves the site alone, ``None`` learns it as the param
    ``{name}_centered`` in the unit interval. The site value is
    ``loc + scale**(1-c) * (x - c*loc)`` with ``x ~ fn(c*loc, scale**c)``.

    >>> LocScaleReparam(centered=0.0).centered
    0.0
    """

    def __init__(self, centered: float | None = None) -> None:
        if centered is not None and not 0.0 <= float(centered) <= 1.0:
            raise ValueError(f"LocScaleReparam: centered must be in [0, 1], got {centered!r}")
        self.centered = centered

    def __call__(self, name: str, fn: Any, obs: Any) -> tuple[Any, Any]:
        from polyro.core.distributions import constraints
        from polyro.core.primitives import param, sample

        if obs is not None:
            raise ValueError(f"LocScaleReparam cannot reparameterize the observed site {name!r}")
        base, batch = _unexpand(fn)
        if not (hasattr(base, "loc") and hasattr(base, "scale")):
            raise TypeError(
                f"LocScaleReparam at site {name!r}: {type(base).__name__} has no loc/scale"
            )
        be = backend_of(base.loc, base.scale)
        xp = be.xp
        c = self.centered
        if c is None:
            shape = tuple(fn.batch_shape) + tuple(fn.event_shape)
            c = param(f"{name}_centered", xp.full(shape, 0.5, dtype=be.float_dtype()),
                      constraint=constraints.unit_interval)
        elif float(c) == 1.0:
            return fn, None
        loc, scale = base.loc, base.scale
        params = {k: getattr(base, k) for k in base.arg_constraints if k in vars(base)}
        params["loc"] = loc * c
        params["scale"] = scale**c
        aux = type(base)(**params).expand(batch) if batch else type(base)(**params)
        ed = len(getattr(fn, "event_shape", ()))
        if ed and len(getattr(aux, "event_shape", ())) < ed:
            aux = aux.to_event(ed - len(aux.event_shape))
        x = sample(f"{name}_decentered", aux)
        return None, loc + scale ** (1 - c) * (x - c * loc)


class TransformReparam(Reparam):
    """Sample the base distribution of a ``TransformedDistribution`` as ``{name}_base`` and
    push it through the transforms.

    >>> TransformReparam()
    TransformReparam()
    """

    def __call__(self, name: str, fn: Any, obs: Any) -> tuple[Any, Any]:
        from polyro.core.distributions import TransformedDistribution
        from polyro.core.primitives import sample

        base, batch = _reparam_base(self, name, fn, obs, TransformedDistribution)
        inner = base.base_dist
        extra = batch[: len(batch) - len(base.batch_shape)]
        if extra:
            inner = inner.expand(extra + tuple(inner.batch_shape))
        x = sample(f"{name}_base", inner)
        for t in base.transforms:
            x = t(x)
        return None, x

    def __repr__(self) -> str:
        return "TransformReparam()"


class ProjectedNormalReparam(Reparam):
    """Sample a ``ProjectedNormal(concentration)`` site as ``{name}_normal ~
    Normal(concentration, 1)`` (event dim 1) and return ``x / |x|`` (NumPyro's
    ``ProjectedNormalReparam``): the sphere has no unconstrained parameterization, so HMC, NUTS
    and the autoguides need this for a latent ``ProjectedNormal``; the pushforward of the
    normal is exactly the projected normal.

    >>> import numpy as np
    >>> import polyro, polyro.distributions as dist
    >>> from polyro import handlers
    >>> def model():
    ...     return polyro.sample("u", dist.ProjectedNormal(np.array([1.0, 2.0])))
    >>> h = handlers.reparam(model, config={"u": ProjectedNormalReparam()})
    >>> tr = handlers.trace(handlers.seed(h, rng_seed=0)).get_trace()
    >>> list(tr), round(float((tr["u"]["value"] ** 2).sum()), 12)
    (['u_normal', 'u'], 1.0)
    """

    def __call__(self, name: str, fn: Any, obs: Any) -> tuple[Any, Any]:
        from polyro.core.distributions import Normal, ProjectedNormal
        from polyro.core.distributions.mv_directional import unit_vector
        from polyro.core.primitives import sample

        base, batch = _reparam_base(self, name, fn, obs, ProjectedNormal)
        c = base.concentration
        xp = backend_of(c).xp
        c = xp.broadcast_to(c, tuple(batch) + tuple(base.event_shape))
        x = sample(f"{name}_normal", Normal(c, xp.ones_like(c)).to_event(1))
        return None, unit_vector(xp, x)

    def __repr__(self) -> str:
        return "ProjectedNormalReparam()"


class reparam(Messenger):
    """Apply reparameterizers: ``config`` is a dict ``name -> Reparam`` or a function
    ``msg -> Reparam or None``. A reparameterized site becomes a deterministic site.

    >>> reparam(config={}).config
    {}
    """

    def __init__(
        self,
        fn: Callable | None = None,
        config: Mapping[str, Reparam] | Callable[[Message], Reparam | None] | None = None,
    ) -> None:
        if config is None:
            raise ValueError("reparam needs config= (dict name -> Reparam, or msg -> Reparam)")
        super().__init__(fn)
        self.config = config

    def _pyro_sample(self, msg: Message) -> None:
        cfg = self.config
        r = cfg.get(msg["name"]) if isinstance(cfg, Mapping) else cfg(msg)
        if r is None or msg["is_observed"]:
            return
        new_fn, value = r(msg["name"], msg["fn"], None)
        if value is not None:
            msg["type"] = "deterministic"
            msg["value"] = value
            msg["done"] = True
            msg["infer"] = {**msg["infer"], "reparam": type(r).__name__}
        elif new_fn is not None:
            msg["fn"] = new_fn
