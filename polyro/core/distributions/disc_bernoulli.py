"""Bernoulli-trial families: Bernoulli, Binomial, BetaBinomial, Geometric.

``Bernoulli``, ``Binomial`` and ``Geometric`` take either ``probs`` or ``logits`` (exactly one);
the other is computed on first use. Draws are floats (Pyro's convention).

>>> import numpy as np
>>> d = Bernoulli(probs=np.array([0.25, 0.5]))
>>> d.log_prob(np.array([1.0, 0.0])).round(6)
array([-1.386294, -0.693147])
>>> float(Binomial(10, probs=0.3).mean)
3.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import (
    BinaryParams,
    concrete_max_count,
    draw_shape,
    enumerate_values,
    lbeta,
    lchoose,
    value_as,
)
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import broadcast_params, validate_sample

__all__ = ["Bernoulli", "BetaBinomial", "Binomial", "Geometric"]


class Bernoulli(BinaryParams):
    """Bernoulli distribution over ``{0, 1}`` with success probability ``probs`` (or ``logits``).

    >>> import numpy as np
    >>> d = Bernoulli(logits=np.zeros(3))
    >>> d.probs, d.batch_shape
    (array([0.5, 0.5, 0.5]), (3,))
    >>> d.enumerate_support().shape
    (2, 3)
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        batch_shape, _ = self._set_probs_logits(probs, logits)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        p = self.probs
        be = backend_of(p)
        draws = be.bernoulli(key, p, draw_shape(sample_shape, self.batch_shape))
        return be.xp.astype(draws, p.dtype)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self._given(), value)
        if "probs" in self.__dict__:
            p = self.probs
            return be.xlogy(value, p) + be.xlog1py(1 - value, -p)
        lg = self.logits
        fused = getattr(be, "bernoulli_logits_log_prob", None)
        if fused is not None:  # an engine's fused form of the same expression (torch)
            return fused(lg, value)
        return value * lg - be.softplus(lg)

    @property
    def mean(self) -> Any:
        return self.probs

    @property
    def variance(self) -> Any:
        p = self.probs
        return p * (1 - p)

    def entropy(self) -> Any:
        if "probs" in self.__dict__:
            p = self.probs
            be = backend_of(p)
            return -(be.xlogy(p, p) + be.xlog1py(1 - p, -p))
        lg = self.logits
        be = backend_of(lg)
        return be.softplus(lg) - self.probs * lg

    def enumerate_support(self, expand: bool = True) -> Any:
        g = self._given()
        xp = backend_of(g).xp
        values = xp.asarray([0.0, 1.0], dtype=g.dtype)
        return enumerate_values(xp, values, self.batch_shape, (), expand)


class Binomial(BinaryParams):
    """Number of successes in ``total_count`` Bernoulli(``probs``) trials.

    >>> import numpy as np
    >>> d = Binomial(total_count=4, probs=0.5)
    >>> round(float(np.exp(d.log_prob(2.0))), 6)  # 6 / 16
    0.375
    >>> d.enumerate_support(expand=False).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        batch_shape, (self.total_count,) = self._set_probs_logits(probs, logits, total_count)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self.total_count)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        p = self.probs
        be = backend_of(p)
        return be.binomial(key, self.total_count, p, draw_shape(sample_shape, self.batch_shape))

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.total_count, value)
        n = self.total_count
        if "probs" in self.__dict__:
            p = self.probs
            body = be.xlogy(value, p) + be.xlog1py(n - value, -p)
        else:
            lg = self.logits
            body = value * lg - n * be.softplus(lg)
        return lchoose(be, n, value) + body

    @property
    def mean(self) -> Any:
        return self.total_count * self.probs

    @property
    def variance(self) -> Any:
        p = self.probs
        return self.total_count * p * (1 - p)

    def enumerate_support(self, expand: bool = True) -> Any:
        n = concrete_max_count("Binomial", "total_count", self.total_count)
        xp = backend_of(self.total_count).xp
        values = xp.astype(xp.arange(n + 1), self.total_count.dtype)
        return enumerate_values(xp, values, self.batch_shape, (), expand)

    def entropy(self) -> Any:
        """Entropy by summing over the support (needs a homogeneous ``total_count``)."""
        return _entropy_by_enumeration(self)


class BetaBinomial(Distribution):
    """Binomial with a Beta(``concentration1``, ``concentration0``) success probability.

    >>> d = BetaBinomial(1.0, 1.0, total_count=3)  # uniform over {0, 1, 2, 3}
    >>> round(float(d.log_prob(2.0)), 6)
    -1.386294
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
        "total_count": constraints.nonnegative_integer,
    }
    has_enumerate_support = True

    def __init__(self, concentration1: Any, concentration0: Any, total_count: Any = 1, *,
                 validate_args: bool | None = None) -> None:
        _, _, params, batch_shape = broadcast_params(concentration1, concentration0, total_count)
        self.concentration1, self.concentration0, self.total_count = params
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self.total_count)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.concentration1)
        k1, k2 = be.split(key)
        shape = draw_shape(sample_shape, self.batch_shape)
        p = be.beta(k1, self.concentration1, self.concentration0, shape)
        return be.binomial(k2, self.total_count, p, shape)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.total_count, value)
        a, b, n = self.concentration1, self.concentration0, self.total_count
        return lchoose(be, n, value) + lbeta(be, value + a, n - value + b) - lbeta(be, a, b)

    @property
    def mean(self) -> Any:
        a, b = self.concentration1, self.concentration0
        return self.total_count * a / (a + b)

    @property
    def variance(self) -> Any:
        a, b, n = self.concentration1, self.concentration0, self.total_count
        s = a + b
        return n * a * b * (s + n) / (s * s * (s + 1))

    def enumerate_support(self, expand: bool = True) -> Any:
        n = concrete_max_count("BetaBinomial", "total_count", self.total_count)
        xp = backend_of(self.total_count).xp
        values = xp.astype(xp.arange(n + 1), self.total_count.dtype)
        return enumerate_values(xp, values, self.batch_shape, (), expand)

    def entropy(self) -> Any:
        """Entropy by summing over the support (needs a homogeneous ``total_count``)."""
        return _entropy_by_enumeration(self)


class Geometric(BinaryParams):
    """Number of failures before the first success, success probability ``probs``.

    >>> d = Geometric(probs=0.5)
    >>> round(float(d.log_prob(2.0)), 6), float(d.mean)
    (-2.079442, 1.0)
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        batch_shape, _ = self._set_probs_logits(probs, logits)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        p = self.probs
        be = backend_of(p)
        xp = be.xp
        tiny = float(xp.finfo(p.dtype).tiny)
        u = be.uniform(key, draw_shape(sample_shape, self.batch_shape), p.dtype,
                       minval=tiny, maxval=1.0)
        p = be.stop_gradient(p)
        return xp.floor(xp.log(u) / xp.log1p(-p))

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self._given(), value)
        if "probs" in self.__dict__:
            p = self.probs
            return be.xlog1py(value, -p) + xp.log(p)
        lg = self.logits
        return -value * be.softplus(lg) - be.softplus(-lg)

    @property
    def mean(self) -> Any:
        p = self.probs
        return (1 - p) / p

    @property
    def variance(self) -> Any:
        p = self.probs
        return (1 - p) / (p * p)

    def entropy(self) -> Any:
        p = self.probs
        be = backend_of(p)
        return -(be.xlogy(p, p) + be.xlog1py(1 - p, -p)) / p


def _entropy_by_enumeration(d: Distribution) -> Any:
    values = d.enumerate_support(expand=False)
    lp = d.log_prob(values)
    xp = backend_of(lp).xp
    p = xp.exp(lp)
    return -xp.sum(xp.where(p > 0, p * lp, xp.zeros_like(lp)), axis=0)
