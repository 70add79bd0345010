"""Helpers shared by the discrete (``disc_*.py``) and multivariate (``mv_*.py``) families.

No public names: everything here is an implementation detail of those modules.

>>> import numpy as np
>>> be, xp, v = value_as(np.zeros(2), [1, 2])
>>> v.dtype == np.float64, draw_shape((3,), (2,))
(True, (3, 2))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import (
    broadcast_params,
    concrete_numpy,
    format_value,
    lazy_property,
)

__all__: list[str] = []

LOG_2PI = math.log(2 * math.pi)
LOG_PI = math.log(math.pi)


def draw_shape(sample_shape: Any, batch_shape: Sequence[int]) -> tuple[int, ...]:
    """``sample_shape + batch_shape`` as a tuple of ints (an int sample_shape is allowed)."""
    if isinstance(sample_shape, int):
        sample_shape = (sample_shape,)
    return tuple(int(s) for s in sample_shape) + tuple(int(b) for b in batch_shape)


def value_as(like: Any, value: Any, dtype: Any = None) -> tuple[Any, Any, Any]:
    """``(be, xp, value)``: ``value`` as an array of ``like``'s engine and float dtype."""
    be = backend_of(like, value)
    xp = be.xp
    dt = like.dtype if dtype is None else dtype
    if not be.is_array(value):
        value = be.asarray(value, dtype=dt)
    elif value.dtype != dt:
        value = xp.astype(value, dt)
    return be, xp, value


def one_param(name: str, probs: Any, logits: Any, a: str = "probs", b: str = "logits") -> None:
    """Raise unless exactly one of the two alternative parametrisations is given."""
    if (probs is None) == (logits is None):
        raise ValueError(
            f"{name}: pass exactly one of {a}= or {b}= (got "
            f"{'both' if probs is not None else 'neither'})"
        )


def lchoose(be: Any, n: Any, k: Any) -> Any:
    """``log(n choose k)`` for real ``n >= k >= 0``."""
    return be.lgamma(n + 1) - be.lgamma(k + 1) - be.lgamma(n - k + 1)


def lbeta(be: Any, a: Any, b: Any) -> Any:
    """``log B(a, b)`` from ``lgamma`` (full float64 accuracy on every engine)."""
    return be.lgamma(a) + be.lgamma(b) - be.lgamma(a + b)


def nan_full(xp: Any, shape: Sequence[int], like: Any) -> Any:
    """An array of NaN of ``shape`` with the dtype of ``like``."""
    return xp.full(tuple(shape), math.nan, dtype=like.dtype)


def concrete_max_count(dist_name: str, what: str, n: Any) -> int:
    """``int(n)`` for a homogeneous concrete count array (used by ``enumerate_support``).

    Raises ValueError naming the distribution when ``n`` varies across the batch, and
    NotImplementedError when its value is not available (under tracing).
    """
    arr = concrete_numpy(n)
    if arr is None:
        raise NotImplementedError(
            f"{dist_name}.enumerate_support needs a concrete {what} (not a traced value); "
            "build the distribution outside jit to enumerate it"
        )
    arr = np.asarray(arr)
    hi = int(arr.max()) if arr.size else 0
    if arr.size and int(arr.min()) != hi:
        raise ValueError(
            f"{dist_name}.enumerate_support needs the same {what} across the batch, got "
            f"{format_value(arr)}; enumerate each group separately"
        )
    return hi


def enumerate_values(
    xp: Any, values: Any, batch_shape: Sequence[int], event_shape: Sequence[int], expand: bool
) -> Any:
    """Stack ``values`` (shape ``(n,) + event_shape``) along a new leftmost dim with size-1 (or,
    with ``expand``, full) batch dims in between, as ``enumerate_support`` returns them."""
    n = values.shape[0]
    ev = tuple(event_shape)
    out = xp.reshape(values, (n,) + (1,) * len(batch_shape) + ev)
    if expand:
        out = xp.broadcast_to(out, (n,) + tuple(batch_shape) + ev)
    return out


def as_int_index(xp: Any, value: Any, k: int) -> Any:
    """``value`` as integer indices clipped into ``[0, k - 1]`` (out-of-range entries are masked
    by the caller's support check)."""
    idx_dtype = xp.arange(1).dtype  # the engine's default index dtype (int32 on JAX without x64)
    if xp.isdtype(value.dtype, "bool"):
        value = xp.astype(value, idx_dtype)
    elif not xp.isdtype(value.dtype, "integral"):
        value = xp.where(xp.isfinite(value), value, xp.zeros_like(value))
        value = xp.astype(xp.floor(xp.clip(value, -1.0, float(k))), idx_dtype)
    elif value.dtype != idx_dtype:
        value = xp.astype(value, idx_dtype)
    return xp.clip(value, 0, max(k - 1, 0))


class _OneHot(constraints.Constraint):
    """One-hot vectors: 0/1 entries summing to one along the last dim."""

    event_dim = 1
    is_discrete = True

    def check(self, x: Any) -> Any:
        be = backend_of(x)
        xp = be.xp
        x = x if be.is_array(x) else be.asarray(x)
        if xp.isdtype(x.dtype, "bool"):
            x = xp.astype(x, xp.int64)
        is01 = xp.all((x == 0) | (x == 1), axis=-1)
        return is01 & (xp.sum(x, axis=-1) == 1)

    def feasible_like(self, prototype: Any) -> Any:
        be = backend_of(prototype)
        xp = be.xp
        p = prototype if be.is_array(prototype) else be.asarray(prototype)
        first = xp.ones_like(p[..., :1])
        return xp.concat([first, xp.zeros_like(p[..., 1:])], axis=-1)

    def __repr__(self) -> str:
        return "one_hot"


#: one-hot vectors (the support of OneHotCategorical)
one_hot = _OneHot()


def tril_mask(xp: Any, n: int, k: int = -1) -> Any:
    """Boolean ``(n, n)`` mask of the lower triangle up to diagonal ``k`` (-1: strictly lower)."""
    r = xp.arange(n)
    return (r[:, None] - r[None, :]) >= -k


def eye_like(xp: Any, n: int, like: Any) -> Any:
    """The ``(n, n)`` identity with the dtype of ``like``."""
    return xp.eye(n, dtype=like.dtype)


class BinaryParams(Distribution):
    """Shared ``probs``/``logits`` handling of the families with a success probability
    (Bernoulli, Binomial, Geometric, NegativeBinomial, RelaxedBernoulli); not public."""

    def _set_probs_logits(self, probs: Any, logits: Any, *others: Any) -> tuple[Any, ...]:
        one_param(type(self).__name__, probs, logits)
        given = probs if probs is not None else logits
        be, xp, arrays, batch_shape = broadcast_params(given, *others)
        if probs is not None:
            self.probs = arrays[0]
        else:
            self.logits = arrays[0]
        return batch_shape, arrays[1:]

    @lazy_property
    def probs(self) -> Any:
        """Success probability (computed from ``logits`` when those were given)."""
        return backend_of(self.logits).expit(self.logits)

    @lazy_property
    def logits(self) -> Any:
        """Log-odds ``log(p) - log(1 - p)`` (computed from ``probs`` when those were given)."""
        p = self.probs
        xp = backend_of(p).xp
        return xp.log(p) - xp.log1p(-p)

    def _log_p_q(self) -> tuple[Any, Any]:
        """``(log p, log(1 - p))`` computed stably from whichever parameter was given."""
        if "probs" in self.__dict__:
            p = self.probs
            xp = backend_of(p).xp
            return xp.log(p), xp.log1p(-p)
        lg = self.logits
        be = backend_of(lg)
        return -be.softplus(-lg), -be.softplus(lg)

    def _given(self) -> Any:
        return self.__dict__["probs"] if "probs" in self.__dict__ else self.__dict__["logits"]
