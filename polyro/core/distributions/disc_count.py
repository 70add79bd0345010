"""Count families: Poisson, GammaPoisson, NegativeBinomial (and NegativeBinomial2),
the zero-inflated families, Multinomial and DirichletMultinomial.

``NegativeBinomial(total_count, probs|logits)`` follows Pyro/torch: the number of successes
(probability ``probs`` each) before ``total_count`` failures, so its mean is
``total_count * probs / (1 - probs)``.

>>> d = Poisson(2.0)
>>> round(float(d.log_prob(3.0)), 6)
-1.712318
>>> float(NegativeBinomial(4.0, probs=0.5).mean)
4.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import BinaryParams, draw_shape, one_param, value_as
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import (
    broadcast_params,
    broadcast_shape,
    lazy_property,
    shape_of,
    validate_sample,
)

__all__ = [
    "DirichletMultinomial",
    "GammaPoisson",
    "Multinomial",
    "NegativeBinomial",
    "NegativeBinomial2",
    "Poisson",
    "ZeroInflatedDistribution",
    "ZeroInflatedNegativeBinomial",
    "ZeroInflatedPoisson",
]


class Poisson(Distribution):
    """Poisson distribution with mean ``rate``.

    >>> import numpy as np
    >>> Poisson(np.array([1.0, 4.0])).variance
    array([1., 4.])
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, *, validate_args: bool | None = None) -> None:
        _, _, (self.rate,), batch_shape = broadcast_params(rate)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.rate)
        return be.poisson(key, self.rate, draw_shape(sample_shape, self.batch_shape))

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.rate, value)
        return be.xlogy(value, self.rate) - self.rate - be.lgamma(value + 1)

    @property
    def mean(self) -> Any:
        return self.rate

    @property
    def variance(self) -> Any:
        return self.rate


class GammaPoisson(Distribution):
    """Poisson with a Gamma(``concentration``, ``rate``) distributed mean (a negative binomial).

    >>> d = GammaPoisson(2.0, 0.5)
    >>> float(d.mean), float(d.variance)
    (4.0, 12.0)
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative_integer

    def __init__(self, concentration: Any, rate: Any = 1.0, *,
                 validate_args: bool | None = None) -> None:
        _, _, (self.concentration, self.rate), batch_shape = broadcast_params(concentration, rate)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.concentration)
        k1, k2 = be.split(key)
        shape = draw_shape(sample_shape, self.batch_shape)
        lam = be.gamma(k1, self.concentration, shape) / self.rate
        return be.poisson(k2, lam, shape)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.concentration, value)
        a, r = self.concentration, self.rate
        return (be.lgamma(value + a) - be.lgamma(a) - be.lgamma(value + 1)
                + a * xp.log(r) - (a + value) * xp.log1p(r))

    @property
    def mean(self) -> Any:
        return self.concentration / self.rate

    @property
    def variance(self) -> Any:
        return self.concentration / (self.rate * self.rate) * (1 + self.rate)


class NegativeBinomial(BinaryParams):
    """Successes (probability ``probs``) before ``total_count`` failures (Pyro's convention).

    >>> d = NegativeBinomial(2.0, logits=0.0)
    >>> float(d.mean), float(d.variance)
    (2.0, 4.0)
    """

    arg_constraints = {
        "total_count": constraints.nonnegative,
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        batch_shape, (self.total_count,) = self._set_probs_logits(probs, logits, total_count)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def _odds(self) -> Any:
        if "logits" in self.__dict__:
            return backend_of(self.logits).xp.exp(self.logits)
        return self.probs / (1 - self.probs)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.total_count)
        k1, k2 = be.split(key)
        shape = draw_shape(sample_shape, self.batch_shape)
        lam = be.gamma(k1, self.total_count, shape) * be.stop_gradient(self._odds())
        return be.poisson(k2, lam, shape)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.total_count, value)
        r = self.total_count
        norm = be.lgamma(value + r) - be.lgamma(r) - be.lgamma(value + 1)
        if "probs" in self.__dict__:
            p = self.probs
            return norm + be.xlog1py(r, -p) + be.xlogy(value, p)
        lg = self.logits
        return norm + value * lg - (r + value) * be.softplus(lg)

    @property
    def mean(self) -> Any:
        return self.total_count * self._odds()

    @property
    def variance(self) -> Any:
        return self.mean / (1 - self.probs)


class NegativeBinomial2(GammaPoisson):
    """Negative binomial by its ``mean`` and ``concentration`` (variance ``mean + mean^2 /
    concentration``), as NumPyro's ``NegativeBinomial2``.

    >>> round(float(NegativeBinomial2(3.0, 2.0).variance), 9)
    7.5
    """

    arg_constraints = {"mean": constraints.positive, "concentration": constraints.positive}

    def __init__(self, mean: Any, concentration: Any, *,
                 validate_args: bool | None = None) -> None:
        _, _, (m, c), batch_shape = broadcast_params(mean, concentration)
        self._mean_param = m
        self.concentration, self.rate = c, c / m
        Distribution.__init__(self, batch_shape=batch_shape, validate_args=validate_args)

    @property
    def mean(self) -> Any:
        return self._mean_param


class ZeroInflatedDistribution(Distribution):
    """Mixture of a point mass at zero (weight ``gate``) and ``base_dist``.

    Give ``gate`` (probability of the extra zero) or ``gate_logits``.

    >>> import numpy as np
    >>> d = ZeroInflatedDistribution(Poisson(2.0), gate=0.5)
    >>> round(float(d.log_prob(0.0)), 6)  # log(0.5 + 0.5 exp(-2))
    -0.566219
    """

    arg_constraints = {"gate": constraints.unit_interval, "gate_logits": constraints.real}

    def __init__(self, base_dist: Distribution, *, gate: Any = None, gate_logits: Any = None,
                 validate_args: bool | None = None) -> None:
        one_param(type(self).__name__, gate, gate_logits, "gate", "gate_logits")
        if base_dist.event_shape:
            raise ValueError(
                f"{type(self).__name__}: base_dist must have event_shape (), got "
                f"{base_dist.event_shape}; zero inflation is defined per scalar count"
            )
        given = gate if gate is not None else gate_logits
        _, xp, (g,), _ = broadcast_params(given)
        batch_shape = broadcast_shape(shape_of(g), base_dist.batch_shape)
        if shape_of(g) != batch_shape:
            g = xp.broadcast_to(g, batch_shape)
        if base_dist.batch_shape != batch_shape:
            base_dist = base_dist.expand(batch_shape)
        self.base_dist = base_dist
        if gate is not None:
            self.gate = g
        else:
            self.gate_logits = g
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @lazy_property
    def gate(self) -> Any:
        """Probability of the structural zero."""
        return backend_of(self.gate_logits).expit(self.gate_logits)

    @lazy_property
    def gate_logits(self) -> Any:
        """Log-odds of the structural zero."""
        g = self.gate
        xp = backend_of(g).xp
        return xp.log(g) - xp.log1p(-g)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        return self.base_dist.support

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return False

    def _log_gates(self) -> tuple[Any, Any]:
        if "gate" in self.__dict__:
            g = self.gate
            xp = backend_of(g).xp
            return xp.log(g), xp.log1p(-g)
        gl = self.gate_logits
        be = backend_of(gl)
        return -be.softplus(-gl), -be.softplus(gl)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        g = self.gate
        be = backend_of(g)
        xp = be.xp
        k1, k2 = be.split(key)
        x = self.base_dist.sample(k1, sample_shape)
        zero = be.bernoulli(k2, g, draw_shape(sample_shape, self.batch_shape))
        return xp.where(zero, xp.zeros_like(x), x)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        log_g, log_1mg = self._log_gates()
        be, xp, value = value_as(log_g, value)
        base_lp = self.base_dist.log_prob(value)
        zero_lp = xp.logaddexp(log_g, log_1mg + base_lp)
        return xp.where(value == 0, zero_lp, log_1mg + base_lp)

    @property
    def mean(self) -> Any:
        return (1 - self.gate) * self.base_dist.mean

    @property
    def variance(self) -> Any:
        g = self.gate
        m = self.base_dist.mean
        return (1 - g) * (self.base_dist.variance + m * m) - ((1 - g) * m) ** 2


class ZeroInflatedPoisson(ZeroInflatedDistribution):
    """Poisson(``rate``) with extra zeros of probability ``gate`` (or ``gate_logits``).

    >>> d = ZeroInflatedPoisson(2.0, gate=0.25)
    >>> float(d.mean)
    1.5
    """

    arg_constraints = {"rate": constraints.nonnegative, "gate": constraints.unit_interval,
                       "gate_logits": constraints.real}

    def __init__(self, rate: Any, *args: Any, gate: Any = None, gate_logits: Any = None,
                 validate_args: bool | None = None) -> None:
        if args:  # NumPyro's positional order is ZeroInflatedPoisson(gate, rate)
            raise TypeError(
                f"ZeroInflatedPoisson takes Pyro's order, ZeroInflatedPoisson(rate, gate=...), "
                f"and {1 + len(args)} positional arguments would be NumPyro's (gate, rate): "
                "pass gate= (and rate=) by keyword, which both libraries accept")
        base = Poisson(rate, validate_args=validate_args)
        self.rate = base.rate
        super().__init__(base, gate=gate, gate_logits=gate_logits, validate_args=validate_args)


class ZeroInflatedNegativeBinomial(ZeroInflatedDistribution):
    """NegativeBinomial(``total_count``, ``probs``|``logits``) with extra zeros (``gate`` or
    ``gate_logits``), as Pyro's.

    >>> d = ZeroInflatedNegativeBinomial(2.0, probs=0.5, gate=0.5)
    >>> float(d.mean)
    1.0
    """

    # probs/logits are validated by the base NegativeBinomial
    arg_constraints = {
        "total_count": constraints.nonnegative,
        "gate": constraints.unit_interval,
        "gate_logits": constraints.real,
    }

    def __init__(self, total_count: Any, *, probs: Any = None, logits: Any = None,
                 gate: Any = None, gate_logits: Any = None,
                 validate_args: bool | None = None) -> None:
        base = NegativeBinomial(total_count, probs=probs, logits=logits,
                                validate_args=validate_args)
        self.total_count = base.total_count
        super().__init__(base, gate=gate, gate_logits=gate_logits, validate_args=validate_args)

    @property
    def probs(self) -> Any:
        return self.base_dist.probs

    @property
    def logits(self) -> Any:
        return self.base_dist.logits


class Multinomial(Distribution):
    """Counts of ``total_count`` draws over ``K`` categories with ``probs`` (or ``logits``).

    >>> import numpy as np
    >>> d = Multinomial(4, probs=np.array([0.5, 0.5]))
    >>> round(float(d.log_prob(np.array([2.0, 2.0]))), 6)  # log(6 / 16)
    -0.980829
    """

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.simplex,
        "logits": constraints.real_vector,
    }

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        one_param("Multinomial", probs, logits)
        given = probs if probs is not None else logits
        be, xp, (n, g), batch_shape = broadcast_params(total_count, given, event_dims=[0, 1])
        self.total_count = n
        if probs is not None:
            self.probs = g
        else:
            self.logits = g
        super().__init__(batch_shape=batch_shape, event_shape=(int(g.shape[-1]),),
                         validate_args=validate_args)

    @lazy_property
    def probs(self) -> Any:
        """Category probabilities."""
        return backend_of(self.logits).softmax(self.logits, axis=-1)

    @lazy_property
    def logits(self) -> Any:
        """Log-probabilities (``log(probs)`` when probs were given)."""
        return backend_of(self.probs).xp.log(self.probs)

    def _p(self) -> Any:
        p = self.probs
        if "probs" in self.__dict__:
            p = p / backend_of(p).xp.sum(p, axis=-1, keepdims=True)
        return p

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> constraints.Constraint:
        return constraints.multinomial(self.total_count)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.total_count)
        return be.multinomial(key, self.total_count, self._p(),
                              draw_shape(sample_shape, self.batch_shape))

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.total_count, value)
        n = self.total_count
        norm = be.lgamma(n + 1) - xp.sum(be.lgamma(value + 1), axis=-1)
        if "probs" in self.__dict__:
            body = xp.sum(be.xlogy(value, self._p()), axis=-1)
        else:
            lp = be.log_softmax(self.logits, axis=-1)
            body = xp.sum(value * lp, axis=-1)
        return norm + body

    @property
    def mean(self) -> Any:
        return self.total_count[..., None] * self._p()

    @property
    def variance(self) -> Any:
        p = self._p()
        return self.total_count[..., None] * p * (1 - p)


class DirichletMultinomial(Distribution):
    """Multinomial with Dirichlet(``concentration``) distributed probabilities.

    >>> import numpy as np
    >>> d = DirichletMultinomial(np.ones(3), total_count=2)
    >>> round(float(d.log_prob(np.array([1.0, 1.0, 0.0]))), 6)  # uniform over 6 outcomes
    -1.791759
    """

    arg_constraints = {
        "concentration": constraints.independent(constraints.positive, 1),
        "total_count": constraints.nonnegative_integer,
    }

    def __init__(self, concentration: Any, total_count: Any = 1, *,
                 validate_args: bool | None = None) -> None:
        be, xp, (c, n), batch_shape = broadcast_params(concentration, total_count,
                                                       event_dims=[1, 0])
        if len(shape_of(c)) < 1:
            raise ValueError("DirichletMultinomial: concentration must have at least one dim "
                             f"(the categories), got shape {shape_of(c)}")
        self.concentration, self.total_count = c, n
        super().__init__(batch_shape=batch_shape, event_shape=(int(c.shape[-1]),),
                         validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> constraints.Constraint:
        return constraints.multinomial(self.total_count)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.concentration)
        k1, k2 = be.split(key)
        shape = draw_shape(sample_shape, self.batch_shape)
        p = be.dirichlet(k1, be.stop_gradient(self.concentration), shape)
        return be.multinomial(k2, self.total_count, p, shape)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.concentration, value)
        a, n = self.concentration, self.total_count
        a0 = xp.sum(a, axis=-1)
        return (be.lgamma(a0) + be.lgamma(n + 1) - be.lgamma(n + a0)
                + xp.sum(be.lgamma(value + a) - be.lgamma(a) - be.lgamma(value + 1), axis=-1))

    @property
    def mean(self) -> Any:
        a = self.concentration
        xp = backend_of(a).xp
        return self.total_count[..., None] * a / xp.sum(a, axis=-1, keepdims=True)

    @property
    def variance(self) -> Any:
        a = self.concentration
        xp = backend_of(a).xp
        a0 = xp.sum(a, axis=-1, keepdims=True)
        p = a / a0
        n = self.total_count[..., None]
        return n * p * (1 - p) * (n + a0) / (1 + a0)
