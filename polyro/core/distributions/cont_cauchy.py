"""Heavy-tailed location-scale families: Cauchy, HalfCauchy, StudentT.

>>> round(float(Cauchy(0.0, 1.0).log_prob(0.0)), 6)  # -log(pi)
-1.14473
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.core.distributions import constraints
from polyro.core.distributions.cont_common import LOG_PI, as_value, draw_shape, full_like
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.inverse_cdf import betaincinv_logit
from polyro.core.distributions.util import broadcast_params, validate_sample

__all__ = ["Cauchy", "HalfCauchy", "StudentT"]


class Cauchy(Distribution):
    """Cauchy distribution with median ``loc`` and half-width ``scale``.

    As in Pyro/NumPyro the mean is NaN (undefined) and the variance infinite.

    >>> d = Cauchy(1.0, 2.0)
    >>> float(d.cdf(1.0)), float(d.icdf(0.75))
    (0.5, 3.0)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc: Any = 0.0, scale: Any = 1.0, *, validate_args: bool | None = None):
        _, _, (self.loc, self.scale), batch_shape = broadcast_params(loc, scale)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, _, _ = as_value(self.loc, 0.0)
        eps = be.cauchy(key, draw_shape(sample_shape, self.batch_shape), self.loc.dtype)
        return self.loc + self.scale * eps

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.loc, value)
        z = (value - self.loc) / self.scale
        return -LOG_PI - xp.log(self.scale) - xp.log1p(z * z)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.loc, value)
        return 0.5 + xp.atan((value - self.loc) / self.scale) / math.pi

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.loc, q)
        return self.loc + self.scale * xp.tan(math.pi * (q - 0.5))

    @property
    def mean(self) -> Any:
        return full_like(as_value(self.loc, 0.0)[1], self.loc, math.nan)

    @property
    def variance(self) -> Any:
        return full_like(as_value(self.loc, 0.0)[1], self.loc, math.inf)

    def entropy(self) -> Any:
        xp = as_value(self.loc, 0.0)[1]
        return math.log(4 * math.pi) + xp.log(self.scale)


class HalfCauchy(Distribution):
    """Half-Cauchy distribution: ``|x|`` for ``x ~ Cauchy(0, scale)`` (mean and variance inf).

    >>> d = HalfCauchy(1.0)
    >>> round(float(d.log_prob(0.0)), 6)  # log(2 / pi)
    -0.451583
    >>> round(float(d.icdf(0.5)), 6)
    1.0
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    reparametrized_params = ["scale"]

    def __init__(self, scale: Any = 1.0, *, validate_args: bool | None = None):
        _, _, (self.scale,), batch_shape = broadcast_params(scale)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, xp, _ = as_value(self.scale, 0.0)
        eps = be.cauchy(key, draw_shape(sample_shape, self.batch_shape), self.scale.dtype)
        return self.scale * xp.abs(eps)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.scale, value)
        z = value / self.scale
        return math.log(2 / math.pi) - xp.log(self.scale) - xp.log1p(z * z)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.scale, value)
        return (2 / math.pi) * xp.atan(value / self.scale)

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.scale, q)
        return self.scale * xp.tan(0.5 * math.pi * q)

    @property
    def mean(self) -> Any:
        return full_like(as_value(self.scale, 0.0)[1], self.scale, math.inf)

    @property
    def variance(self) -> Any:
        return full_like(as_value(self.scale, 0.0)[1], self.scale, math.inf)

    def entropy(self) -> Any:
        xp = as_value(self.scale, 0.0)[1]
        return math.log(2 * math.pi) + xp.log(self.scale)


class StudentT(Distribution):
    """Student's t distribution with ``df`` degrees of freedom, location and scale.

    Reparameterized sampling ``loc + scale * z / sqrt(g / df)`` with ``g ~ Chi2(df)`` drawn
    through the backend's reparameterized gamma, so gradients reach ``df`` as well.
    The mean is NaN for ``df <= 1``; the variance is inf for ``1 < df <= 2`` and NaN below.

    >>> d = StudentT(3.0, 0.0, 1.0)
    >>> float(d.variance)
    3.0
    >>> float(d.cdf(0.0))
    0.5
    """

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True
    reparametrized_params = ["df", "loc", "scale"]

    def __init__(
        self,
        df: Any,
        loc: Any = 0.0,
        scale: Any = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        _, _, (self.df, self.loc, self.scale), batch_shape = broadcast_params(df, loc, scale)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, xp, _ = as_value(self.loc, 0.0)
        shape = draw_shape(sample_shape, self.batch_shape)
        keys = be.split(key)
        z = be.normal(keys[0], shape, self.loc.dtype)
        g = be.gamma(keys[1], 0.5 * self.df, shape)  # chi2(df) / 2
        return self.loc + self.scale * z * xp.sqrt(0.5 * self.df / g)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.loc, value)
        z = (value - self.loc) / self.scale
        df = self.df
        norm = (be.lgamma(0.5 * (df + 1)) - be.lgamma(0.5 * df)
                - 0.5 * xp.log(df) - 0.5 * LOG_PI - xp.log(self.scale))
        return norm - 0.5 * (df + 1) * xp.log1p(z * z / df)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.loc, value)
        t = (value - self.loc) / self.scale
        t2 = t * t
        # P(|T| <= |t|) = I_{t^2 / (df + t^2)}(1/2, df/2), written with the tail form for large t
        tail = 0.5 * be.betainc(0.5 * self.df, xp.zeros_like(t) + 0.5, self.df / (self.df + t2))
        return xp.where(t < 0, tail, 1 - tail)

    def icdf(self, q: Any) -> Any:
        """The quantile function: ``x`` with ``cdf(x) = q``.

        With ``r = min(q, 1 - q)``, ``|t| = sqrt(df (1 - w) / w)`` where ``I_w(df/2, 1/2) = 2 r``
        (the relation :meth:`cdf` uses), ``w`` from the inverse incomplete beta in ``logit w``
        (:mod:`~polyro.core.distributions.inverse_cdf`): ``|t| = sqrt(df) exp(-logit(w) / 2)``
        keeps its relative accuracy near the median and in the tails. ``-inf`` and ``inf`` at
        ``q = 0`` and ``1``, NaN outside ``[0, 1]``.

        >>> d = StudentT(1.0, 0.0, 1.0)  # Cauchy: icdf(q) = tan(pi (q - 1/2))
        >>> round(float(d.icdf(0.75)), 12)
        1.0
        >>> round(float(StudentT(3.0, 1.0, 2.0).icdf(0.975)), 8)  # 1 + 2 * t_{3, 0.975}
        7.36489261
        """
        be, xp, q = as_value(self.loc, q)
        upper = q > 0.5
        r = xp.where(upper, 1 - q, q)  # exact for q >= 1/2
        half = xp.zeros_like(r) + 0.5
        v = betaincinv_logit(be, 0.5 * self.df, half, 2 * r)
        t = xp.sqrt(self.df) * xp.exp(-0.5 * v)
        return self.loc + self.scale * xp.where(upper, t, -t)

    @property
    def mean(self) -> Any:
        xp = as_value(self.loc, 0.0)[1]
        return xp.where(self.df > 1, self.loc, full_like(xp, self.loc, math.nan))

    @property
    def variance(self) -> Any:
        xp = as_value(self.loc, 0.0)[1]
        df = self.df
        safe_df = xp.where(df > 2, df, full_like(xp, df, 3.0))
        finite = self.scale * self.scale * safe_df / (safe_df - 2)
        other = xp.where(df > 1, full_like(xp, df, math.inf), full_like(xp, df, math.nan))
        return xp.where(df > 2, finite, other)

    def entropy(self) -> Any:
        be, xp, _ = as_value(self.loc, 0.0)
        df = self.df
        half = xp.zeros_like(df) + 0.5
        return (0.5 * (df + 1) * (be.digamma(0.5 * (df + 1)) - be.digamma(0.5 * df))
                + 0.5 * xp.log(df) + be.lbeta(0.5 * df, half) + xp.log(self.scale))
