"""Families on bounded intervals: Beta, Kumaraswamy, Uniform, LogUniform.

>>> float(Beta(2.0, 2.0).mean)
0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.core.distributions import constraints
from polyro.core.distributions.cont_common import EULER, as_value, draw_shape, uniform_open
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.inverse_cdf import betaincinv
from polyro.core.distributions.util import (
    broadcast_params,
    concrete_numpy,
    format_value,
    validate_sample,
)

__all__ = ["Beta", "Kumaraswamy", "LogUniform", "Uniform"]


def _check_ordered(dist: Distribution, low: Any, high: Any) -> None:
    """Raise the standard ValueError when a concrete ``high <= low`` somewhere."""
    if not dist._validate_args:
        return
    lo, hi = concrete_numpy(low), concrete_numpy(high)
    if lo is None or hi is None:
        return
    ok = lo < hi
    if not ok.all():
        raise ValueError(
            f"{type(dist).__name__}: parameter 'high' must be greater than 'low', got low = "
            f"{format_value(lo)}, high = {format_value(hi)}; pass low < high (or "
            "validate_args=False to skip this check)"
        )


class Beta(Distribution):
    """Beta distribution on [0, 1] with ``concentration1`` (alpha) and ``concentration0``
    (beta).

    Reparameterized draws ``g1 / (g1 + g0)`` from two backend gamma draws.

    >>> d = Beta(2.0, 3.0)
    >>> float(d.mean), float(d.variance)
    (0.4, 0.04)
    >>> round(float(d.cdf(0.5)), 6)
    0.6875
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True
    reparametrized_params = ["concentration1", "concentration0"]

    def __init__(
        self, concentration1: Any, concentration0: Any, *, validate_args: bool | None = None
    ):
        _, _, params, batch_shape = broadcast_params(concentration1, concentration0)
        self.concentration1, self.concentration0 = params
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, xp, _ = as_value(self.concentration1, 0.0)
        shape = draw_shape(sample_shape, self.batch_shape)
        keys = be.split(key)
        g1 = be.gamma(keys[0], self.concentration1, shape)
        g0 = be.gamma(keys[1], self.concentration0, shape)
        x = g1 / (g1 + g0)
        finfo = xp.finfo(x.dtype)
        return xp.clip(x, float(finfo.tiny), 1 - float(finfo.eps) / 2)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.concentration1, value)
        a, b = self.concentration1, self.concentration0
        return be.xlogy(a - 1, value) + be.xlog1py(b - 1, -value) - be.lbeta(a, b)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.concentration1, value)
        x = xp.clip(value, 0.0, 1.0)
        zeros = xp.zeros_like(x)
        return be.betainc(self.concentration1 + zeros, self.concentration0 + zeros, x)

    def icdf(self, q: Any) -> Any:
        """The quantile function: ``x`` with ``cdf(x) = q``.

        Inverts the regularized incomplete beta with a fixed number of Newton-type steps in
        ``logit x`` (:mod:`~polyro.core.distributions.inverse_cdf`), so it runs under ``jit``;
        above the median it solves for ``1 - x`` (the lower tail of Beta(b, a)), so both tails
        keep their relative accuracy (up to the spacing of doubles below 1). ``0`` and ``1`` at
        ``q = 0`` and ``1``, NaN outside ``[0, 1]``.

        >>> d = Beta(2.0, 3.0)
        >>> round(float(d.icdf(0.6875)), 12)  # cdf(0.5) = 0.6875
        0.5
        >>> round(float(d.cdf(d.icdf(0.01))), 12)
        0.01
        """
        be, xp, q = as_value(self.concentration1, q)
        return betaincinv(be, self.concentration1, self.concentration0, q)

    @property
    def mean(self) -> Any:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self) -> Any:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total * total * (total + 1))

    def entropy(self) -> Any:
        be, xp, _ = as_value(self.concentration1, 0.0)
        a, b = self.concentration1, self.concentration0
        return (be.lbeta(a, b) - (a - 1) * be.digamma(a) - (b - 1) * be.digamma(b)
                + (a + b - 2) * be.digamma(a + b))


class Kumaraswamy(Distribution):
    """Kumaraswamy distribution on [0, 1]: density ``a b x^(a-1) (1 - x^a)^(b-1)`` with
    ``a = concentration1``, ``b = concentration0``; a Beta look-alike with a closed-form cdf
    and quantile, so draws are reparameterized by inversion.

    >>> d = Kumaraswamy(1.0, 1.0)  # the uniform distribution
    >>> float(d.log_prob(0.3)), float(d.cdf(0.3))
    (0.0, 0.3)
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True
    reparametrized_params = ["concentration1", "concentration0"]

    def __init__(
        self, concentration1: Any, concentration0: Any, *, validate_args: bool | None = None
    ):
        _, _, params, batch_shape = broadcast_params(concentration1, concentration0)
        self.concentration1, self.concentration0 = params
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, xp, _ = as_value(self.concentration1, 0.0)
        dtype = self.concentration1.dtype
        u = uniform_open(be, key, draw_shape(sample_shape, self.batch_shape), dtype)
        # x = (1 - u^(1/b))^(1/a), with 1 - u ~ U(0, 1) in place of u
        x = (-xp.expm1(xp.log(u) / self.concentration0)) ** (1 / self.concentration1)
        finfo = xp.finfo(dtype)
        return xp.clip(x, float(finfo.tiny), 1 - float(finfo.eps) / 2)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.concentration1, value)
        a, b = self.concentration1, self.concentration0
        return (xp.log(a) + xp.log(b) + be.xlogy(a - 1, value)
                + be.xlog1py(b - 1, -(value**a)))

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.concentration1, value)
        x = xp.clip(value, 0.0, 1.0)
        return -xp.expm1(self.concentration0 * xp.log1p(-(x**self.concentration1)))

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.concentration1, q)
        return (-xp.expm1(xp.log1p(-q) / self.concentration0)) ** (1 / self.concentration1)

    def _log_moment(self, n: float) -> Any:
        """log E[x^n] = log b + log B(1 + n/a, b)."""
        be, xp, _ = as_value(self.concentration1, 0.0)
        a, b = self.concentration1, self.concentration0
        return xp.log(b) + be.lbeta(1 + n / a, b)

    @property
    def mean(self) -> Any:
        xp = as_value(self.concentration1, 0.0)[1]
        return xp.exp(self._log_moment(1))

    @property
    def variance(self) -> Any:
        xp = as_value(self.concentration1, 0.0)[1]
        m1 = xp.exp(self._log_moment(1))
        return xp.exp(self._log_moment(2)) - m1 * m1

    def entropy(self) -> Any:
        be, xp, _ = as_value(self.concentration1, 0.0)
        a, b = self.concentration1, self.concentration0
        harmonic = be.digamma(b + 1) + EULER
        return (1 - 1 / b) + (1 - 1 / a) * harmonic - xp.log(a) - xp.log(b)


class Uniform(Distribution):
    """Uniform distribution on ``[low, high]``.

    >>> d = Uniform(0.0, 4.0)
    >>> float(d.mean), float(d.variance), round(float(d.log_prob(1.0)), 6)
    (2.0, 1.3333333333333333, -1.386294)
    """

    arg_constraints = {"low": constraints.real, "high": constraints.real}
    has_rsample = True
    reparametrized_params = ["low", "high"]

    def __init__(self, low: Any = 0.0, high: Any = 1.0, *, validate_args: bool | None = None):
        _, _, (self.low, self.high), batch_shape = broadcast_params(low, high)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)
        _check_ordered(self, self.low, self.high)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        return constraints.interval(self.low, self.high)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.low, 0.0)[0]
        u = be.uniform(key, draw_shape(sample_shape, self.batch_shape), self.low.dtype)
        return self.low + u * (self.high - self.low)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.low, value)
        return xp.zeros_like(value) - xp.log(self.high - self.low)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.low, value)
        return xp.clip((value - self.low) / (self.high - self.low), 0.0, 1.0)

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.low, q)
        return self.low + q * (self.high - self.low)

    @property
    def mean(self) -> Any:
        return 0.5 * (self.low + self.high)

    @property
    def variance(self) -> Any:
        return (self.high - self.low) ** 2 / 12

    def entropy(self) -> Any:
        xp = as_value(self.low, 0.0)[1]
        return xp.log(self.high - self.low)


class LogUniform(Distribution):
    """Log-uniform (reciprocal) distribution on ``[low, high]``: ``log x`` is uniform on
    ``[log low, log high]``.

    >>> import math
    >>> d = LogUniform(1.0, math.e)
    >>> float(d.cdf(math.sqrt(math.e)))
    0.5
    >>> round(float(d.mean), 6)  # (e - 1) / 1
    1.718282
    """

    arg_constraints = {"low": constraints.positive, "high": constraints.positive}
    has_rsample = True
    reparametrized_params = ["low", "high"]

    def __init__(self, low: Any, high: Any, *, validate_args: bool | None = None):
        _, _, (self.low, self.high), batch_shape = broadcast_params(low, high)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)
        _check_ordered(self, self.low, self.high)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        return constraints.interval(self.low, self.high)

    def _log_bounds(self) -> tuple[Any, Any, Any]:
        xp = as_value(self.low, 0.0)[1]
        log_low, log_high = xp.log(self.low), xp.log(self.high)
        return xp, log_low, log_high - log_low

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.low, 0.0)[0]
        u = be.uniform(key, draw_shape(sample_shape, self.batch_shape), self.low.dtype)
        return self.icdf(u)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.low, value)
        _, _, width = self._log_bounds()
        return -xp.log(value) - xp.log(width)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.low, value)
        _, log_low, width = self._log_bounds()
        x = xp.clip(value, self.low, self.high)
        return (xp.log(x) - log_low) / width

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.low, q)
        _, log_low, width = self._log_bounds()
        return xp.clip(xp.exp(log_low + q * width), self.low, self.high)

    @property
    def mean(self) -> Any:
        _, _, width = self._log_bounds()
        return (self.high - self.low) / width

    @property
    def variance(self) -> Any:
        _, _, width = self._log_bounds()
        m = (self.high - self.low) / width
        return (self.high**2 - self.low**2) / (2 * width) - m * m

    def entropy(self) -> Any:
        xp, log_low, width = self._log_bounds()
        return log_low + 0.5 * width + xp.log(width)
