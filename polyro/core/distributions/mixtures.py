"""Finite mixtures: :class:`MixtureSameFamily` (one batched component distribution) and
:class:`MixtureGeneral` (a list of component distributions); :func:`Mixture` picks one.

The mixing distribution is a categorical: any distribution with ``logits`` or ``probs``
over the last dim (``Categorical``).

>>> import numpy as np
>>> from polyro.core.distributions.combinators import Delta
>>> class Cat:  # a minimal stand-in for Categorical
...     logits = np.log(np.array([0.25, 0.75])); batch_shape = ()
>>> m = MixtureGeneral(Cat(), [Delta(np.array(0.0)), Delta(np.array(1.0))])
>>> round(float(np.exp(m.log_prob(np.array(1.0)))), 12)
0.75
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.distribution import Distribution, _as_shape
from polyro.core.distributions.util import broadcast_shape, shape_of

__all__ = ["Mixture", "MixtureGeneral", "MixtureSameFamily"]


def _mixing_log_probs(mixing: Any) -> Any:
    """Normalized log mixture weights, shape ``batch_shape + (K,)``."""
    d = getattr(mixing, "__dict__", {})
    logits = d.get("logits")
    if logits is None and "probs" not in d:
        logits = getattr(mixing, "logits", None)
    if logits is not None:
        be = backend_of(logits)
        logits = logits if be.is_array(logits) else be.asarray(logits)
        return be.log_softmax(logits, axis=-1)
    probs = getattr(mixing, "probs", None)
    if probs is None:
        raise TypeError(f"the mixing distribution {type(mixing).__name__} has neither logits "
                        "nor probs; use a Categorical")
    be = backend_of(probs)
    xp = be.xp
    probs = probs if be.is_array(probs) else be.asarray(probs)
    return xp.log(probs / xp.sum(probs, axis=-1, keepdims=True))


def _select(xp: Any, x: Any, idx: Any, axis: int) -> Any:
    """``x`` indexed by ``idx`` along ``axis`` (negative, counted from the right of ``x``)."""
    k = x.shape[axis]
    onehot = xp.reshape(idx, shape_of(idx) + (1,)) == xp.arange(k)
    trailing = -axis - 1
    onehot = xp.reshape(onehot, shape_of(onehot) + (1,) * trailing)
    return xp.sum(xp.where(onehot, x, xp.zeros_like(x)), axis=axis)


class _MixtureBase(Distribution):
    arg_constraints: dict = {}

    def _components_log_prob(self, value: Any) -> Any:  # batch + (K,)
        raise NotImplementedError

    def log_prob(self, value: Any) -> Any:
        lp = self._components_log_prob(value)
        w = _mixing_log_probs(self.mixing_distribution)
        be = backend_of(lp, w)
        return be.logsumexp(lp + w, axis=-1)

    @property
    def mixture_probs(self) -> Any:
        w = _mixing_log_probs(self.mixing_distribution)
        return backend_of(w).xp.exp(w)


class MixtureSameFamily(_MixtureBase):
    """Mixture whose components are the last batch dim of ``component_distribution``.

    ``mixing_distribution``: categorical with batch ``batch_shape`` over ``K`` categories;
    ``component_distribution``: batch ``batch_shape + (K,)``.

    >>> import numpy as np
    >>> from polyro.core.distributions.combinators import Delta
    >>> class Cat:
    ...     probs = np.array([0.5, 0.5]); batch_shape = ()
    >>> m = MixtureSameFamily(Cat(), Delta(np.array([0.0, 1.0])))
    >>> m.batch_shape, float(m.mean)
    ((), 0.5)
    """

    def __init__(self, mixing_distribution: Any, component_distribution: Distribution,
                 validate_args: bool | None = None) -> None:
        cb = component_distribution.batch_shape
        if len(cb) < 1:
            raise ValueError("MixtureSameFamily: component_distribution needs a batch dim for "
                             f"the components, got batch_shape {cb}")
        w = _mixing_log_probs(mixing_distribution)
        k = shape_of(w)[-1]
        if cb[-1] != k:
            raise ValueError(f"MixtureSameFamily: the mixing distribution has {k} categories "
                             f"but component_distribution.batch_shape[-1] = {cb[-1]}")
        mb = tuple(getattr(mixing_distribution, "batch_shape", shape_of(w)[:-1]))
        batch_shape = broadcast_shape(mb, cb[:-1])
        self.mixing_distribution = mixing_distribution
        self.component_distribution = component_distribution
        self.mixture_size = k
        super().__init__(batch_shape, component_distribution.event_shape,
                         validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        return self.component_distribution.support

    @property
    def is_discrete(self) -> bool:
        return self.component_distribution.is_discrete

    def _components_log_prob(self, value: Any) -> Any:
        be = backend_of(value)
        xp = be.xp
        value = value if be.is_array(value) else be.asarray(value)
        ed = self.event_dim
        nd = len(shape_of(value))
        v = xp.expand_dims(value, axis=nd - ed)  # insert the component dim before the event
        return self.component_distribution.log_prob(v)

    def sample_with_intermediates(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        sample_shape = _as_shape(sample_shape, "sample_shape")
        be = backend_of(_mixing_log_probs(self.mixing_distribution))
        xp = be.xp
        k1, k2 = be.split(key)
        idx = self.mixing_distribution.sample(k1, sample_shape)
        idx = xp.broadcast_to(idx, sample_shape + self.batch_shape)
        comp = self.component_distribution.expand(self.batch_shape + (self.mixture_size,))
        x = comp.sample(k2, sample_shape)
        return _select(xp, x, idx, -1 - self.event_dim), [idx]

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        return self.sample_with_intermediates(key, sample_shape)[0]

    def _weights(self, extra: int) -> Any:
        w = self.mixture_probs
        xp = backend_of(w).xp
        return xp.reshape(w, shape_of(w) + (1,) * extra)

    @property
    def mean(self) -> Any:
        m = self.component_distribution.mean
        xp = backend_of(m).xp
        return xp.sum(self._weights(self.event_dim) * m, axis=-1 - self.event_dim)

    @property
    def variance(self) -> Any:
        c = self.component_distribution
        m, v = c.mean, c.variance
        xp = backend_of(m).xp
        ax = -1 - self.event_dim
        w = self._weights(self.event_dim)
        mean = xp.sum(w * m, axis=ax)
        second = xp.sum(w * (v + m * m), axis=ax)
        return second - mean * mean

    def cdf(self, value: Any) -> Any:
        if self.event_dim:
            raise NotImplementedError("MixtureSameFamily.cdf needs univariate components")
        be = backend_of(value)
        xp = be.xp
        value = value if be.is_array(value) else be.asarray(value)
        c = self.component_distribution.cdf(xp.expand_dims(value, axis=-1))
        return xp.sum(self.mixture_probs * c, axis=-1)

    def __repr__(self) -> str:
        return (f"MixtureSameFamily({type(self.mixing_distribution).__name__}, "
                f"{self.component_distribution!r})")


class MixtureGeneral(_MixtureBase):
    """Mixture of a list of component distributions with equal event shapes.

    >>> import numpy as np
    >>> from polyro.core.distributions.combinators import Delta
    >>> class Cat:
    ...     probs = np.array([0.5, 0.5]); batch_shape = ()
    >>> MixtureGeneral(Cat(), [Delta(np.array(0.0)), Delta(np.array(2.0))]).event_shape
    ()
    """

    def __init__(self, mixing_distribution: Any, component_distributions: Sequence[Distribution],
                 support: constraints.Constraint | None = None,
                 validate_args: bool | None = None) -> None:
        comps = list(component_distributions)
        if not comps:
            raise ValueError("MixtureGeneral needs at least one component distribution")
        w = _mixing_log_probs(mixing_distribution)
        k = shape_of(w)[-1]
        if k != len(comps):
            raise ValueError(f"MixtureGeneral: the mixing distribution has {k} categories but "
                             f"{len(comps)} component distributions were given")
        es = comps[0].event_shape
        for c in comps:
            if c.event_shape != es:
                raise ValueError("MixtureGeneral: components must share event_shape; got "
                                 f"{[c.event_shape for c in comps]}")
        mb = tuple(getattr(mixing_distribution, "batch_shape", shape_of(w)[:-1]))
        batch_shape = broadcast_shape(mb, *[c.batch_shape for c in comps])
        self.mixing_distribution = mixing_distribution
        self.component_distributions = comps
        self.mixture_size = k
        self._support = support
        super().__init__(batch_shape, es, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        if self._support is not None:
            return self._support
        return self.component_distributions[0].support

    def _components_log_prob(self, value: Any) -> Any:
        lps = [c.log_prob(value) for c in self.component_distributions]
        be = backend_of(*lps)
        xp = be.xp
        shape = broadcast_shape(*[shape_of(lp) for lp in lps])
        return xp.stack([xp.broadcast_to(be.asarray(lp), shape) for lp in lps], axis=-1)

    def sample_with_intermediates(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        sample_shape = _as_shape(sample_shape, "sample_shape")
        be = backend_of(_mixing_log_probs(self.mixing_distribution))
        xp = be.xp
        keys = be.split(key, len(self.component_distributions) + 1)
        idx = self.mixing_distribution.sample(keys[0], sample_shape)
        idx = xp.broadcast_to(idx, sample_shape + self.batch_shape)
        shape = sample_shape + self.batch_shape + self.event_shape
        xs = [xp.broadcast_to(c.expand(self.batch_shape).sample(keys[i + 1], sample_shape), shape)
              for i, c in enumerate(self.component_distributions)]
        x = xp.stack(xs, axis=len(shape) - self.event_dim)
        return _select(xp, x, idx, -1 - self.event_dim), [idx]

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        return self.sample_with_intermediates(key, sample_shape)[0]

    @property
    def mean(self) -> Any:
        ms = [c.mean for c in self.component_distributions]
        xp = backend_of(*ms).xp
        shape = self.batch_shape + self.event_shape
        m = xp.stack([xp.broadcast_to(x, shape) for x in ms], axis=len(self.batch_shape))
        w = self.mixture_probs
        w = xp.reshape(w, shape_of(w) + (1,) * self.event_dim)
        return xp.sum(w * m, axis=len(self.batch_shape))

    def __repr__(self) -> str:
        return f"MixtureGeneral({type(self.mixing_distribution).__name__}, {self.mixture_size})"


def Mixture(mixing_distribution: Any, component_distributions: Any,
            validate_args: bool | None = None) -> Distribution:
    """A mixture: :class:`MixtureSameFamily` for one batched component distribution,
    :class:`MixtureGeneral` for a list of them.

    >>> import numpy as np
    >>> from polyro.core.distributions.combinators import Delta
    >>> class Cat:
    ...     probs = np.array([0.5, 0.5]); batch_shape = ()
    >>> type(Mixture(Cat(), Delta(np.array([0.0, 1.0])))).__name__
    'MixtureSameFamily'
    """
    if isinstance(component_distributions, Distribution):
        return MixtureSameFamily(mixing_distribution, component_distributions,
                                 validate_args=validate_args)
    return MixtureGeneral(mixing_distribution, component_distributions,
                          validate_args=validate_args)
