"""Truncation and folding of univariate continuous distributions.

:class:`TruncatedDistribution` restricts a base distribution with ``cdf``/``icdf`` to
``[low, high]`` (either may be None) and samples by inverting the cdf;
:class:`FoldedDistribution` is the law of ``|X|`` for ``X`` with real support.

>>> import numpy as np
>>> from polyro.core.distributions.combinators import Delta
>>> FoldedDistribution.__name__
'FoldedDistribution'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import broadcast_shape, shape_of, validate_sample

__all__ = ["FoldedDistribution", "TruncatedDistribution"]


def _univariate(base: Distribution, who: str) -> None:
    if base.event_shape != ():
        raise ValueError(f"{who} needs a univariate base distribution, got event_shape "
                         f"{base.event_shape}")
    if base.is_discrete:
        raise ValueError(f"{who} needs a continuous base distribution, got "
                         f"{type(base).__name__} with discrete support {base.support!r}")


class TruncatedDistribution(Distribution):
    """``base_dist`` conditioned on ``low <= x <= high`` (density renormalised by the cdf mass).

    The base must implement ``cdf`` and ``icdf``. Sampling inverts the cdf, so it is
    reparameterized when the base's ``icdf``/``cdf`` are differentiable.

    >>> TruncatedDistribution.arg_constraints["low"]
    dependent
    """

    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}

    def __init__(self, base_dist: Distribution, low: Any = None, high: Any = None,
                 validate_args: bool | None = None) -> None:
        _univariate(base_dist, "TruncatedDistribution")
        if low is None and high is None:
            raise ValueError("TruncatedDistribution needs low, high or both")
        be = backend_of(low, high)
        self.base_dist = base_dist
        self.low = None if low is None else (low if be.is_array(low) else be.asarray(low))
        self.high = None if high is None else (high if be.is_array(high) else be.asarray(high))
        shapes = [base_dist.batch_shape] + [shape_of(b) for b in (self.low, self.high)
                                            if b is not None]
        batch_shape = broadcast_shape(*shapes)
        super().__init__(batch_shape, (), validate_args=validate_args)
        if self._validate_args and self.low is not None and self.high is not None:
            from polyro.core.distributions.util import concrete_numpy

            lo, hi = concrete_numpy(self.low), concrete_numpy(self.high)
            if lo is not None and hi is not None and not (lo < hi).all():
                raise ValueError(f"TruncatedDistribution: low must be < high, got low={lo} "
                                 f"high={hi}")

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        if self.low is None:
            return constraints.less_than_eq(self.high)
        if self.high is None:
            return constraints.greater_than_eq(self.low)
        return constraints.interval(self.low, self.high)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    def _cdf_bounds(self) -> tuple[Any, Any]:
        lo = 0.0 if self.low is None else self.base_dist.cdf(self.low)
        hi = 1.0 if self.high is None else self.base_dist.cdf(self.high)
        return lo, hi

    def _log_mass(self) -> Any:
        lo, hi = self._cdf_bounds()
        be = backend_of(lo, hi)
        return be.xp.log(be.asarray(hi) - lo)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        lo, hi = self._cdf_bounds()
        be = backend_of(lo, hi, self.low, self.high)
        xp = be.xp
        shape = self.shape(sample_shape)
        u = be.uniform(key, shape)
        q = lo + u * (be.asarray(hi) - lo)
        tiny = float(xp.finfo(u.dtype).tiny)
        q = xp.clip(q, tiny, 1.0 - float(xp.finfo(u.dtype).eps) / 2)
        x = self.base_dist.expand(self.batch_shape).icdf(q)
        if self.low is not None:
            x = xp.maximum(x, xp.astype(self.low, x.dtype))
        if self.high is not None:
            x = xp.minimum(x, xp.astype(self.high, x.dtype))
        return x

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        return self.base_dist.log_prob(value) - self._log_mass()

    def cdf(self, value: Any) -> Any:
        lo, hi = self._cdf_bounds()
        be = backend_of(value, lo, hi)
        xp = be.xp
        c = (self.base_dist.cdf(value) - lo) / (be.asarray(hi) - lo)
        return xp.clip(c, 0.0, 1.0)

    def icdf(self, q: Any) -> Any:
        lo, hi = self._cdf_bounds()
        be = backend_of(q, lo, hi)
        return self.base_dist.icdf(lo + be.asarray(q) * (be.asarray(hi) - lo))

    def __repr__(self) -> str:
        return f"TruncatedDistribution({self.base_dist!r}, low={self.low}, high={self.high})"


class FoldedDistribution(Distribution):
    """The law of ``|X|`` for ``X ~ base_dist`` with real support.

    ``log_prob(y) = logaddexp(base.log_prob(y), base.log_prob(-y))`` for ``y >= 0``.

    >>> FoldedDistribution.support
    nonnegative
    """

    arg_constraints: dict = {}
    support = constraints.nonnegative

    def __init__(self, base_dist: Distribution, validate_args: bool | None = None) -> None:
        _univariate(base_dist, "FoldedDistribution")
        if base_dist.support is not constraints.real:
            raise ValueError("FoldedDistribution needs a base with real support, got "
                             f"{base_dist.support!r}")
        self.base_dist = base_dist
        super().__init__(base_dist.batch_shape, (), validate_args=validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        x = self.base_dist.sample(key, sample_shape)
        return backend_of(x).xp.abs(x)

    def rsample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        x = self.base_dist.rsample(key, sample_shape)
        return backend_of(x).xp.abs(x)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be = backend_of(value)
        xp = be.xp
        value = value if be.is_array(value) else be.asarray(value)
        a = self.base_dist.log_prob(value)
        b = self.base_dist.log_prob(-value)
        return be.logsumexp(xp.stack([a, b + xp.zeros_like(a)], axis=0), axis=0)

    def cdf(self, value: Any) -> Any:
        be = backend_of(value)
        value = value if be.is_array(value) else be.asarray(value)
        c = self.base_dist.cdf(value) - self.base_dist.cdf(-value)
        return be.xp.clip(c, 0.0, 1.0)

    def __repr__(self) -> str:
        return f"FoldedDistribution({self.base_dist!r})"

