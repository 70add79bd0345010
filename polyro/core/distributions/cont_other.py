"""Pareto, Weibull and the circular VonMises distribution.

>>> float(Pareto(1.0, 2.0).mean)
2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.core.distributions import constraints
from polyro.core.distributions.cont_common import (
    EULER,
    LOG_2PI,
    as_value,
    draw_shape,
    full_like,
)
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import broadcast_params, validate_sample

__all__ = ["Pareto", "VonMises", "Weibull"]


class Pareto(Distribution):
    """Pareto (type I) distribution with minimum ``scale`` and tail index ``alpha``.

    The mean is inf for ``alpha <= 1``, the variance inf for ``alpha <= 2``.

    >>> d = Pareto(1.0, 3.0)
    >>> float(d.mean), float(d.variance)
    (1.5, 0.75)
    >>> float(d.cdf(2.0))
    0.875
    """

    arg_constraints = {"scale": constraints.positive, "alpha": constraints.positive}
    has_rsample = True
    reparametrized_params = ["scale", "alpha"]

    def __init__(self, scale: Any, alpha: Any, *, validate_args: bool | None = None):
        _, _, (self.scale, self.alpha), batch_shape = broadcast_params(scale, alpha)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        return constraints.greater_than_eq(self.scale)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, xp, _ = as_value(self.scale, 0.0)
        e = be.exponential(key, draw_shape(sample_shape, self.batch_shape), self.scale.dtype)
        return self.scale * xp.exp(e / self.alpha)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.scale, value)
        a = self.alpha
        return xp.log(a) + a * xp.log(self.scale) - (a + 1) * xp.log(value)

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.scale, value)
        x = xp.clip(value, self.scale, None)
        return -xp.expm1(self.alpha * (xp.log(self.scale) - xp.log(x)))

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.scale, q)
        return self.scale * xp.exp(-xp.log1p(-q) / self.alpha)

    @property
    def mean(self) -> Any:
        xp = as_value(self.scale, 0.0)[1]
        a = self.alpha
        safe = xp.where(a > 1, a, full_like(xp, a, 2.0))
        return xp.where(a > 1, safe * self.scale / (safe - 1), full_like(xp, a, math.inf))

    @property
    def variance(self) -> Any:
        xp = as_value(self.scale, 0.0)[1]
        a = self.alpha
        safe = xp.where(a > 2, a, full_like(xp, a, 3.0))
        finite = self.scale**2 * safe / ((safe - 1) ** 2 * (safe - 2))
        return xp.where(a > 2, finite, full_like(xp, a, math.inf))

    def entropy(self) -> Any:
        xp = as_value(self.scale, 0.0)[1]
        return xp.log(self.scale / self.alpha) + 1 + 1 / self.alpha


class Weibull(Distribution):
    """Weibull distribution with ``scale`` and shape ``concentration``.

    >>> d = Weibull(2.0, 1.0)  # Exponential with mean 2
    >>> float(d.mean), float(d.variance)
    (2.0, 4.0)
    """

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    reparametrized_params = ["scale", "concentration"]

    def __init__(self, scale: Any, concentration: Any, *, validate_args: bool | None = None):
        _, _, (self.scale, self.concentration), batch_shape = broadcast_params(
            scale, concentration)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = as_value(self.scale, 0.0)[0]
        e = be.exponential(key, draw_shape(sample_shape, self.batch_shape), self.scale.dtype)
        return self.scale * e ** (1 / self.concentration)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.scale, value)
        k = self.concentration
        z = value / self.scale
        return xp.log(k) - xp.log(self.scale) + be.xlogy(k - 1, z) - z**k

    def cdf(self, value: Any) -> Any:
        be, xp, value = as_value(self.scale, value)
        z = xp.clip(value / self.scale, 0.0, None)
        return -xp.expm1(-(z**self.concentration))

    def icdf(self, q: Any) -> Any:
        be, xp, q = as_value(self.scale, q)
        return self.scale * (-xp.log1p(-q)) ** (1 / self.concentration)

    @property
    def mean(self) -> Any:
        be, xp, _ = as_value(self.scale, 0.0)
        return self.scale * xp.exp(be.lgamma(1 + 1 / self.concentration))

    @property
    def variance(self) -> Any:
        be, xp, _ = as_value(self.scale, 0.0)
        k = self.concentration
        g1 = xp.exp(be.lgamma(1 + 1 / k))
        return self.scale**2 * (xp.exp(be.lgamma(1 + 2 / k)) - g1 * g1)

    def entropy(self) -> Any:
        xp = as_value(self.scale, 0.0)[1]
        k = self.concentration
        return EULER * (1 - 1 / k) + xp.log(self.scale / k) + 1


class VonMises(Distribution):
    """Von Mises (circular normal) distribution on ``[-pi, pi)`` with mean direction ``loc``
    and ``concentration``.

    ``variance`` is the *circular* variance ``1 - I1(k) / I0(k)`` (as in Pyro/NumPyro). Draws use
    the Best-Fisher rejection sampler (not reparameterized: ``has_rsample`` is False).

    >>> d = VonMises(0.0, 1.0)
    >>> round(float(d.variance), 6)
    0.55361
    >>> round(float(d.log_prob(0.0) - d.log_prob(math.pi)), 6)  # 2 * concentration
    2.0
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.circular
    has_rsample = False

    def __init__(
        self, loc: Any = 0.0, concentration: Any = 1.0, *, validate_args: bool | None = None
    ):
        _, _, (self.loc, self.concentration), batch_shape = broadcast_params(loc, concentration)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, xp, _ = as_value(self.loc, 0.0)
        loc = be.stop_gradient(self.loc)
        k = be.stop_gradient(self.concentration)
        shape = draw_shape(sample_shape, self.batch_shape)
        dtype = loc.dtype
        k = xp.broadcast_to(k, shape)
        # Best & Fisher (1979): a wrapped-Cauchy envelope with parameter rho
        r = 1 + xp.sqrt(1 + 4 * k * k)
        rho = (r - xp.sqrt(2 * r)) / (2 * k)
        s_exact = (1 + rho * rho) / (2 * rho)
        small = k < 1e-4
        s = xp.where(small, 1 / xp.where(small, k, xp.ones_like(k)), s_exact)

        def cond_fn(state: Any) -> Any:
            _, done, _ = state
            return ~xp.all(done)

        def body_fn(state: Any) -> Any:
            key_, done, w = state
            keys = be.split(key_)
            u = be.uniform(keys[1], (2,) + shape, dtype)
            z = xp.cos(math.pi * u[0])
            w_new = (1 + s * z) / (s + z)
            y = k * (s - w_new)
            u2 = u[1]
            accept = (y * (2 - y) - u2 > 0) | (xp.log(y / u2) + 1 - y >= 0)
            take = accept & ~done
            return keys[0], done | accept, xp.where(take, w_new, w)

        keys = be.split(key)
        init = (keys[0], xp.zeros(shape, dtype=xp.bool), xp.zeros(shape, dtype=dtype))
        _, _, w = be.while_loop(cond_fn, body_fn, init)
        u3 = be.uniform(keys[1], shape, dtype)
        theta = xp.where(u3 < 0.5, -xp.acos(xp.clip(w, -1.0, 1.0)),
                         xp.acos(xp.clip(w, -1.0, 1.0)))
        x = theta + loc
        return xp.remainder(x + math.pi, 2 * math.pi) - math.pi

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = as_value(self.loc, value)
        k = self.concentration
        return k * (xp.cos(value - self.loc) - 1) - LOG_2PI - xp.log(be.i0e(k))

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        be = as_value(self.loc, 0.0)[0]
        k = self.concentration
        return 1 - be.i1e(k) / be.i0e(k)

    def entropy(self) -> Any:
        be, xp, _ = as_value(self.loc, 0.0)
        k = self.concentration
        ratio = be.i1e(k) / be.i0e(k)
        return LOG_2PI + xp.log(be.i0e(k)) + k * (1 - ratio)
