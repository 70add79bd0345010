"""The gamma family: Exponential, Gamma, InverseGamma, Chi2.

Gamma draws come from the backend's reparameterized ``be.gamma`` (implicit gradients in the
concentration on torch and jax).

>>> float(Gamma(2.0, 4.0).mean)
0.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.core.distributions import constraints
from polyro.core.distributions.cont_common import as_value, draw_shape, full_like
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.inverse_cdf import log_gammaincinv
from polyro.core.distributions.util import broadcast_params, validate_sample

__all__ = ["Chi2", "Exponential", "Gamma", "InverseGamma"]


class Exponential(Distribution):
    """Exponential distribution with ``rate`` (mean ``1 / rate``).

    >>> d = Exponential(2.0)
    >>> float(d.mean), float(d.variance)
    (0.5, 0.25)
    >>> round(float(d.log_prob(0.0)), 6)  # log(2)
    0.693147
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    reparametrized_params = ["rate"]

    def __init__(self, rate: Any = 1.0, *, validate_args: bool | None = None):
        _, _, (self.rate,), batch_shape = broadcast_params(rate)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.rate, 0.0)[0]
        e = be.exponential(key, draw_shape(sample_shape, self.batch_shape), self.rate.dtype)
        return e / self.rate

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.rate, value)
        return xp.log(self.rate) - self.rate * value

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.rate, value)
        return -xp.expm1(-self.rate * value)

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.rate, q)
        return -xp.log1p(-q) / self.rate

    @property
    def mean(self) -> Any:
        return 1 / self.rate

    @property
    def variance(self) -> Any:
        return 1 / (self.rate * self.rate)

    def entropy(self) -> Any:
        xp = as_value(self.rate, 0.0)[1]
        return 1 - xp.log(self.rate)


class Gamma(Distribution):
    """Gamma distribution with shape ``concentration`` and inverse scale ``rate``.

    >>> d = Gamma(3.0, 2.0)
    >>> float(d.mean), float(d.variance)
    (1.5, 0.75)
    >>> round(float(d.cdf(1.5)), 6)
    0.57681
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True
    reparametrized_params = ["concentration", "rate"]

    def __init__(
        self, concentration: Any, rate: Any = 1.0, *, validate_args: bool | None = None
    ):
        _, _, (self.concentration, self.rate), batch_shape = broadcast_params(concentration, rate)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.rate, 0.0)[0]
        shape = draw_shape(sample_shape, self.batch_shape)
        return be.gamma(key, self.concentration, shape) / self.rate

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.rate, value)
        a, r = self.concentration, self.rate
        return a * xp.log(r) + be.xlogy(a - 1, value) - r * value - be.lgamma(a)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.rate, value)
        x = xp.clip(self.rate * value, 0.0, None)
        return be.gammainc(self.concentration + xp.zeros_like(x), x)

    def icdf(self, q: Any) -> Any:
        """The quantile function: ``x`` with ``cdf(x) = q``.

        Inverts the regularized incomplete gamma with a fixed number of Newton-type steps
        (:mod:`~polyro.core.distributions.inverse_cdf`), so it runs under ``jit``; both tails keep
        their relative accuracy. ``0`` and ``inf`` at ``q = 0`` and ``1``, NaN outside
        ``[0, 1]``.

        >>> d = Gamma(3.0, 2.0)
        >>> round(float(d.icdf(0.5)), 10)
        1.3370301569
        >>> round(float(d.cdf(d.icdf(0.25))), 12)
        0.25
        """
        be, xp, q = as_value(self.rate, q)
        return xp.exp(log_gammaincinv(be, self.concentration, q)) / self.rate

    @property
    def mean(self) -> Any:
        return self.concentration / self.rate

    @property
    def variance(self) -> Any:
        return self.concentration / (self.rate * self.rate)

    def entropy(self) -> Any:
        be, xp, _ = as_value(self.rate, 0.0)
        a = self.concentration
        return a - xp.log(self.rate) + be.lgamma(a) + (1 - a) * be.digamma(a)


class Chi2(Gamma):
    """Chi-squared distribution with ``df`` degrees of freedom (``Gamma(df / 2, 1 / 2)``).

    >>> d = Chi2(4.0)
    >>> float(d.mean), float(d.variance)
    (4.0, 8.0)
    >>> round(float(d.icdf(0.95)), 8)  # the 95% point of chi-squared(4)
    9.48772904
    """

    arg_constraints = {"df": constraints.positive}
    reparametrized_params = ["df"]

    def __init__(self, df: Any, *, validate_args: bool | None = None):
        _, _, (self.df,), batch_shape = broadcast_params(df)
        self.concentration = 0.5 * self.df
        self.rate = as_value(self.df, 0.0)[1].zeros_like(self.df) + 0.5
        Distribution.__init__(self, batch_shape=batch_shape, validate_args=validate_args)


class InverseGamma(Distribution):
    """Inverse-gamma distribution: ``1 / x`` for ``x ~ Gamma(concentration, rate)``.

    ``rate`` is the scale of the inverse gamma (scipy's ``invgamma(a, scale=rate)``). The mean
    is inf for ``concentration <= 1`` and the variance inf for ``concentration <= 2``.

    >>> d = InverseGamma(3.0, 2.0)
    >>> float(d.mean), float(d.variance)
    (1.0, 1.0)
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True
    reparametrized_params = ["concentration", "rate"]

    def __init__(
        self, concentration: Any, rate: Any = 1.0, *, validate_args: bool | None = None
    ):
        _, _, (self.concentration, self.rate), batch_shape = broadcast_params(concentration, rate)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.rate, 0.0)[0]
        shape = draw_shape(sample_shape, self.batch_shape)
        return self.rate / be.gamma(key, self.concentration, shape)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.rate, value)
        a, r = self.concentration, self.rate
        return a * xp.log(r) - be.lgamma(a) - (a + 1) * xp.log(value) - r / value

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.rate, value)
        safe = xp.where(value > 0, value, xp.ones_like(value))
        upper = be.gammaincc(self.concentration + xp.zeros_like(safe), self.rate / safe)
        return xp.where(value > 0, upper, xp.zeros_like(upper))

    def icdf(self, q: Any) -> Any:
        """The quantile function: ``x`` with ``cdf(x) = q``, i.e. ``rate / y`` with
        ``Q(concentration, y) = q`` (the regularized upper incomplete gamma, inverted as in
        :meth:`Gamma.icdf`). ``0`` and ``inf`` at ``q = 0`` and ``1``, NaN outside ``[0, 1]``.

        >>> d = InverseGamma(3.0, 2.0)
        >>> round(float(d.icdf(0.5)), 10)
        0.7479262864
        >>> round(float(d.cdf(d.icdf(0.9))), 12)
        0.9
        """
        be, xp, q = as_value(self.rate, q)
        return self.rate * xp.exp(-log_gammaincinv(be, self.concentration, q, upper=True))

    @property
    def mean(self) -> Any:
        xp = as_value(self.rate, 0.0)[1]
        a = self.concentration
        safe = xp.where(a > 1, a, full_like(xp, a, 2.0))
        return xp.where(a > 1, self.rate / (safe - 1), full_like(xp, a, math.inf))

    @property
    def variance(self) -> Any:
        xp = as_value(self.rate, 0.0)[1]
        a = self.concentration
        safe = xp.where(a > 2, a, full_like(xp, a, 3.0))
        finite = self.rate**2 / ((safe - 1) ** 2 * (safe - 2))
        return xp.where(a > 2, finite, full_like(xp, a, math.inf))

    def entropy(self) -> Any:
        be, xp, _ = as_value(self.rate, 0.0)
        a = self.concentration
        return a + xp.log(self.rate) + be.lgamma(a) - (1 + a) * be.digamma(a)
