"""Finite categorical families: Categorical, OneHotCategorical, DiscreteUniform, OrderedLogistic.

``Categorical`` and ``OneHotCategorical`` take ``probs`` (normalised along the last dim) or
``logits`` (normalised with ``log_softmax``, as in Pyro); the other is computed on first use.
``Categorical`` draws int64 indices, ``OneHotCategorical`` float one-hot vectors.

>>> import numpy as np
>>> d = Categorical(probs=np.array([0.2, 0.3, 0.5]))
>>> round(float(d.log_prob(2)), 6)
-0.693147
>>> d.enumerate_support().tolist()
[0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import (
    as_int_index,
    concrete_max_count,
    draw_shape,
    enumerate_values,
    nan_full,
    one_hot,
    one_param,
    value_as,
)
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import (
    broadcast_params,
    broadcast_shape,
    lazy_property,
    shape_of,
    validate_sample,
)

__all__ = ["Categorical", "DiscreteUniform", "OneHotCategorical", "OrderedLogistic"]


class _CategoricalParams(Distribution):
    """Shared ``probs``/``logits`` handling (last dim = categories); not public."""

    def _set_probs_logits(self, probs: Any, logits: Any) -> tuple[int, ...]:
        one_param(type(self).__name__, probs, logits)
        given = probs if probs is not None else logits
        be, xp, (arr,), _ = broadcast_params(given)
        if len(shape_of(arr)) < 1:
            raise ValueError(
                f"{type(self).__name__}: {'probs' if probs is not None else 'logits'} must have "
                f"at least one dim (the categories), got shape {shape_of(arr)}"
            )
        if probs is not None:
            self.probs = arr
        else:
            self.logits = arr
        return shape_of(arr)[:-1]

    @property
    def num_categories(self) -> int:
        """Number of categories ``K`` (the size of the last parameter dim)."""
        g = self.__dict__.get("probs", None)
        if g is None:
            g = self.__dict__["logits"]
        return int(g.shape[-1])

    @lazy_property
    def probs(self) -> Any:
        """Category probabilities (``softmax(logits)`` when logits were given)."""
        return backend_of(self.logits).softmax(self.logits, axis=-1)

    @lazy_property
    def logits(self) -> Any:
        """Normalised log-probabilities (``log(probs)`` when probs were given)."""
        p = self.probs
        xp = backend_of(p).xp
        return xp.log(p)

    @lazy_property
    def _log_probs(self) -> Any:
        """Log-probabilities normalised along the last dim, from the given parameter."""
        if "probs" in self.__dict__:
            p = self.probs
            xp = backend_of(p).xp
            return xp.log(p / xp.sum(p, axis=-1, keepdims=True))
        lg = self.logits
        return backend_of(lg).log_softmax(lg, axis=-1)

    def enumerated_log_prob(self, dim: int) -> Any:
        """The normalised log-probability table with its category axis moved to ``dim``
        (see :meth:`Distribution.enumerated_log_prob`): no gather, no support check.

        >>> import numpy as np
        >>> d = Categorical(probs=np.array([[0.2, 0.8], [0.5, 0.5]]))
        >>> d.enumerated_log_prob(-2).shape
        (2, 2)
        >>> bool(np.allclose(d.enumerated_log_prob(-2), d.log_prob(np.arange(2)[:, None])))
        True
        """
        lp = self._log_probs
        xp = backend_of(lp).xp
        batch = self.batch_shape
        n = max(-dim, len(batch))
        padded = (1,) * (n - len(batch)) + tuple(batch)
        if padded[n + dim] != 1:  # the batch already uses dim: not an enumeration layout
            return super().enumerated_log_prob(dim)
        table = xp.reshape(lp, padded[:n + dim] + padded[n + dim + 1:] + (lp.shape[-1],))
        return xp.moveaxis(table, -1, n + dim)

    def _p(self) -> Any:
        if "probs" in self.__dict__:
            p = self.probs
            return p / backend_of(p).xp.sum(p, axis=-1, keepdims=True)
        return self.probs

    def _entropy(self) -> Any:
        lp = self._log_probs
        xp = backend_of(lp).xp
        p = xp.exp(lp)
        return -xp.sum(xp.where(p > 0, p * lp, xp.zeros_like(lp)), axis=-1)

    def _draw_indices(self, key: Any, sample_shape: Sequence[int]) -> Any:
        lp = self._log_probs
        be = backend_of(lp)
        return be.categorical(key, lp, axis=-1, shape=draw_shape(sample_shape, self.batch_shape))


class Categorical(_CategoricalParams):
    """Distribution over ``{0, ..., K-1}`` with probabilities ``probs`` (or ``logits``).

    >>> import numpy as np
    >>> d = Categorical(logits=np.zeros((2, 4)))
    >>> d.batch_shape, d.event_shape, round(float(d.entropy()[0]), 6)
    ((2,), (), 1.386294)
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        batch_shape = self._set_probs_logits(probs, logits)
        if "logits" in self.__dict__:
            self.logits = backend_of(self.logits).log_softmax(self.logits, axis=-1)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self.num_categories - 1)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        return self._draw_indices(key, sample_shape)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        lp = self._log_probs
        be = backend_of(lp, value)
        xp = be.xp
        if not be.is_array(value):
            value = be.asarray(value)
        k = self.num_categories
        shape = broadcast_shape(shape_of(value), self.batch_shape)
        idx = xp.broadcast_to(as_int_index(xp, value, k), shape)
        table = xp.broadcast_to(lp, shape + (k,))
        return xp.take_along_axis(table, idx[..., None], axis=-1)[..., 0]

    @property
    def mean(self) -> Any:
        return nan_full(backend_of(self._log_probs).xp, self.batch_shape, self._log_probs)

    @property
    def variance(self) -> Any:
        return nan_full(backend_of(self._log_probs).xp, self.batch_shape, self._log_probs)

    def entropy(self) -> Any:
        return self._entropy()

    def enumerate_support(self, expand: bool = True) -> Any:
        xp = backend_of(self._log_probs).xp
        values = xp.arange(self.num_categories)
        return enumerate_values(xp, values, self.batch_shape, (), expand)


class OneHotCategorical(_CategoricalParams):
    """Categorical draws encoded as one-hot vectors (event shape ``(K,)``).

    >>> import numpy as np
    >>> d = OneHotCategorical(probs=np.array([0.2, 0.8]))
    >>> round(float(d.log_prob(np.array([0.0, 1.0]))), 6), d.event_shape
    (-0.223144, (2,))
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = one_hot
    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        batch_shape = self._set_probs_logits(probs, logits)
        if "logits" in self.__dict__:
            self.logits = backend_of(self.logits).log_softmax(self.logits, axis=-1)
        super().__init__(batch_shape=batch_shape, event_shape=(self.num_categories,),
                         validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        idx = self._draw_indices(key, sample_shape)
        lp = self._log_probs
        xp = backend_of(lp).xp
        cats = xp.arange(self.num_categories, dtype=idx.dtype)
        return xp.astype(idx[..., None] == cats, lp.dtype)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        lp = self._log_probs
        be, xp, value = value_as(lp, value)
        return xp.sum(xp.where(value > 0, lp, xp.zeros_like(lp)), axis=-1)

    @property
    def mean(self) -> Any:
        return self._p()

    @property
    def variance(self) -> Any:
        p = self._p()
        return p * (1 - p)

    def entropy(self) -> Any:
        return self._entropy()

    def enumerate_support(self, expand: bool = True) -> Any:
        lp = self._log_probs
        xp = backend_of(lp).xp
        k = self.num_categories
        values = xp.eye(k, dtype=lp.dtype)
        return enumerate_values(xp, values, self.batch_shape, (k,), expand)


class DiscreteUniform(Distribution):
    """Uniform distribution over the integers ``low, low + 1, ..., high`` (both included).

    >>> d = DiscreteUniform(0, 3)
    >>> round(float(d.log_prob(2.0)), 6), float(d.mean)
    (-1.386294, 1.5)
    """

    arg_constraints = {"low": constraints.integer, "high": constraints.integer}
    has_enumerate_support = True

    def __init__(self, low: Any = 0, high: Any = 1, *,
                 validate_args: bool | None = None) -> None:
        _, _, (self.low, self.high), batch_shape = broadcast_params(low, high)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)
        if self._validate_args:
            from polyro.core.distributions.util import concrete_numpy

            lo, hi = concrete_numpy(self.low), concrete_numpy(self.high)
            if lo is not None and hi is not None and not (lo <= hi).all():
                raise ValueError(
                    f"DiscreteUniform: parameter 'high' must be >= 'low', got low={lo}, "
                    f"high={hi}; swap them or fix the bounds"
                )

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(self.low, self.high)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.low)
        xp = be.xp
        u = be.uniform(key, draw_shape(sample_shape, self.batch_shape), self.low.dtype)
        width = self.high - self.low + 1
        return xp.minimum(self.low + xp.floor(u * width), self.high)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.low, value)
        lp = -xp.log(self.high - self.low + 1)
        return xp.broadcast_to(lp, broadcast_shape(shape_of(value), self.batch_shape))

    @property
    def mean(self) -> Any:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> Any:
        w = self.high - self.low + 1
        return (w * w - 1) / 12

    def entropy(self) -> Any:
        xp = backend_of(self.low).xp
        return xp.log(self.high - self.low + 1)

    def enumerate_support(self, expand: bool = True) -> Any:
        w = concrete_max_count("DiscreteUniform", "high - low", self.high - self.low)
        xp = backend_of(self.low).xp
        values = xp.astype(xp.arange(w + 1), self.low.dtype)
        nb = len(self.batch_shape)
        # the values depend on ``low``, so they always carry the batch dims
        return xp.reshape(values, (w + 1,) + (1,) * nb) + self.low


class OrderedLogistic(Categorical):
    """Ordinal regression: ``P(y <= k) = sigmoid(cutpoints[k] - predictor)``.

    ``predictor`` is real (batch shaped), ``cutpoints`` an increasing vector of length ``K - 1``;
    the result is a Categorical over ``K`` ordered classes.

    >>> import numpy as np
    >>> d = OrderedLogistic(0.0, np.array([-1.0, 1.0]))
    >>> d.probs.round(4).tolist()
    [0.2689, 0.4621, 0.2689]
    """

    arg_constraints = {"predictor": constraints.real, "cutpoints": constraints.ordered_vector}

    def __init__(self, predictor: Any, cutpoints: Any, *,
                 validate_args: bool | None = None) -> None:
        be, xp, (pred, cut), batch_shape = broadcast_params(predictor, cutpoints,
                                                            event_dims=[0, 1])
        self.predictor, self.cutpoints = pred, cut
        cdf = be.expit(cut - pred[..., None])
        zeros = xp.zeros_like(cdf[..., :1])
        ones = xp.ones_like(cdf[..., :1])
        full = xp.concat([zeros, cdf, ones], axis=-1)
        probs = xp.clip(full[..., 1:] - full[..., :-1], 0.0, 1.0)
        self.probs = probs
        Distribution.__init__(self, batch_shape=batch_shape, validate_args=validate_args)

