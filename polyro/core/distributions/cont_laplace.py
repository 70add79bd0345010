"""Exponential-tailed location-scale families: Laplace, AsymmetricLaplace, SoftLaplace,
Logistic, Gumbel.

>>> round(float(Laplace(0.0, 1.0).log_prob(0.0)), 6)  # -log(2)
-0.693147
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.core.distributions import constraints
from polyro.core.distributions.cont_common import EULER, as_value, draw_shape, uniform_open
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import broadcast_params, validate_sample

__all__ = ["AsymmetricLaplace", "Gumbel", "Laplace", "Logistic", "SoftLaplace"]


class _LocScale(Distribution):
    """Shared constructor of the (loc, scale) families of this module."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc: Any = 0.0, scale: Any = 1.0, *, validate_args: bool | None = None):
        _, _, (self.loc, self.scale), batch_shape = broadcast_params(loc, scale)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def _std(self, value: Any) -> tuple[Any, Any, Any]:
        be, xp, value = as_value(self.loc, value)
        return be, xp, (value - self.loc) / self.scale


class Laplace(_LocScale):
    """Laplace (double exponential) distribution with location ``loc`` and scale ``scale``.

    >>> d = Laplace(0.0, 2.0)
    >>> float(d.variance), float(d.cdf(0.0))
    (8.0, 0.5)
    """

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.loc, 0.0)[0]
        eps = be.laplace(key, draw_shape(sample_shape, self.batch_shape), self.loc.dtype)
        return self.loc + self.scale * eps

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, z = self._std(value)
        return -math.log(2.0) - xp.log(self.scale) - xp.abs(z)

    def cdf(self, value: Any) -> Any:
        be, xp, z = self._std(value)
        return 0.5 - 0.5 * xp.sign(z) * xp.expm1(-xp.abs(z))

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.loc, q)
        d = q - 0.5
        return self.loc - self.scale * xp.sign(d) * xp.log1p(-2 * xp.abs(d))

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        return 2 * self.scale * self.scale

    def entropy(self) -> Any:
        xp = as_value(self.loc, 0.0)[1]
        return 1 + math.log(2.0) + xp.log(self.scale)


class AsymmetricLaplace(Distribution):
    """Asymmetric Laplace distribution (Pyro/NumPyro/scipy ``laplace_asymmetric`` convention).

    The left tail decays with scale ``scale * asymmetry`` and the right one with
    ``scale / asymmetry``; ``asymmetry = 1`` is the Laplace distribution.

    >>> d = AsymmetricLaplace(0.0, 1.0, 2.0)
    >>> float(d.mean), float(d.variance)
    (-1.5, 4.25)
    """

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "asymmetry": constraints.positive,
    }
    support = constraints.real
    has_rsample = True
    reparametrized_params = ["loc", "scale", "asymmetry"]

    def __init__(
        self,
        loc: Any = 0.0,
        scale: Any = 1.0,
        asymmetry: Any = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        _, _, params, batch_shape = broadcast_params(loc, scale, asymmetry)
        self.loc, self.scale, self.asymmetry = params
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @property
    def left_scale(self) -> Any:
        """Scale of the exponential tail below ``loc``."""
        return self.scale * self.asymmetry

    @property
    def right_scale(self) -> Any:
        """Scale of the exponential tail above ``loc``."""
        return self.scale / self.asymmetry

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.loc, 0.0)[0]
        shape = draw_shape(sample_shape, self.batch_shape)
        e = be.exponential(key, (2,) + shape, self.loc.dtype)
        # the difference of two independent exponentials has exactly this density
        return self.loc + self.right_scale * e[0] - self.left_scale * e[1]

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.loc, value)
        z = value - self.loc
        left, right = self.left_scale, self.right_scale
        tail = xp.where(z < 0, z / left, -z / right)
        return tail - xp.log(left + right)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.loc, value)
        z = value - self.loc
        left, right = self.left_scale, self.right_scale
        total = left + right
        zero = xp.zeros_like(z)
        lower = left / total * xp.exp(xp.minimum(z, zero) / left)
        upper = 1 - right / total * xp.exp(-xp.maximum(z, zero) / right)
        return xp.where(z < 0, lower, upper)

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.loc, q)
        left, right = self.left_scale, self.right_scale
        total = left + right
        p_left = left / total
        lower = self.loc + left * xp.log(q / p_left)
        upper = self.loc - right * xp.log((1 - q) * total / right)
        return xp.where(q <= p_left, lower, upper)

    @property
    def mean(self) -> Any:
        return self.loc + self.right_scale - self.left_scale

    @property
    def variance(self) -> Any:
        return self.left_scale**2 + self.right_scale**2

    def entropy(self) -> Any:
        xp = as_value(self.loc, 0.0)[1]
        return 1 + xp.log(self.left_scale + self.right_scale)


class SoftLaplace(_LocScale):
    """Smooth Laplace-like distribution with density ``1 / (pi scale cosh(z))``, ``z = (x -
    loc) / scale`` (the hyperbolic secant law): log-concave, with exponential tails like the
    Laplace but smooth at ``loc``, which suits gradient-based inference.

    >>> d = SoftLaplace(0.0, 1.0)
    >>> round(float(d.log_prob(0.0)), 6)  # -log(pi)
    -1.14473
    >>> float(d.cdf(0.0))
    0.5
    """

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.loc, 0.0)[0]
        u = uniform_open(be, key, draw_shape(sample_shape, self.batch_shape), self.loc.dtype)
        return self.icdf(u)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, z = self._std(value)
        return math.log(2 / math.pi) - xp.log(self.scale) - xp.logaddexp(z, -z)

    def cdf(self, value: Any) -> Any:
        be, xp, z = self._std(value)
        return (2 / math.pi) * xp.atan(xp.exp(z))

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.loc, q)
        return self.loc + self.scale * xp.log(xp.tan(0.5 * math.pi * q))

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        return (0.5 * math.pi * self.scale) ** 2

    def entropy(self) -> Any:
        xp = as_value(self.loc, 0.0)[1]
        return math.log(2 * math.pi) + xp.log(self.scale)


class Logistic(_LocScale):
    """Logistic distribution with location ``loc`` and scale ``scale``.

    >>> d = Logistic(0.0, 1.0)
    >>> round(float(d.log_prob(0.0)), 6)  # log(1/4)
    -1.386294
    >>> float(d.icdf(0.5))
    0.0
    """

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.loc, 0.0)[0]
        eps = be.logistic(key, draw_shape(sample_shape, self.batch_shape), self.loc.dtype)
        return self.loc + self.scale * eps

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, z = self._std(value)
        return -z - 2 * be.softplus(-z) - xp.log(self.scale)

    def cdf(self, value: Any) -> Any:
        be, xp, z = self._std(value)
        return be.expit(z)

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.loc, q)
        return self.loc + self.scale * be.logit(q)

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        return self.scale * self.scale * (math.pi**2 / 3)

    def entropy(self) -> Any:
        xp = as_value(self.loc, 0.0)[1]
        return 2 + xp.log(self.scale)


class Gumbel(_LocScale):
    """Gumbel (type-I extreme value, maximum) distribution with location and scale.

    >>> d = Gumbel(0.0, 1.0)
    >>> round(float(d.mean), 6)  # Euler's gamma
    0.577216
    >>> round(float(d.cdf(0.0)), 6)  # exp(-1)
    0.367879
    """

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.loc, 0.0)[0]
        eps = be.gumbel(key, draw_shape(sample_shape, self.batch_shape), self.loc.dtype)
        return self.loc + self.scale * eps

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, z = self._std(value)
        return -(z + xp.exp(-z)) - xp.log(self.scale)

    def cdf(self, value: Any) -> Any:
        be, xp, z = self._std(value)
        return xp.exp(-xp.exp(-z))

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.loc, q)
        return self.loc - self.scale * xp.log(-xp.log(q))

    @property
    def mean(self) -> Any:
        return self.loc + EULER * self.scale

    @property
    def variance(self) -> Any:
        return self.scale * self.scale * (math.pi**2 / 6)

    def entropy(self) -> Any:
        xp = as_value(self.loc, 0.0)[1]
        return xp.log(self.scale) + EULER + 1
