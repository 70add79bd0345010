"""Continuous relaxations of discrete families (reparameterizable): RelaxedBernoulli and
RelaxedOneHotCategorical (the Concrete / Gumbel-softmax distribution).

>>> import numpy as np
>>> d = RelaxedBernoulli(0.5, probs=0.5)
>>> round(float(d.log_prob(0.5)), 6)  # log(T) + log(1/4) + log(4) = log(0.5)
-0.693147
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import BinaryParams, draw_shape, one_param, value_as
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import (
    broadcast_params,
    lazy_property,
    shape_of,
    validate_sample,
)

__all__ = ["RelaxedBernoulli", "RelaxedOneHotCategorical"]


class RelaxedBernoulli(BinaryParams):
    """Relaxed Bernoulli on ``(0, 1)``: ``sigmoid((logits + L) / temperature)`` with ``L`` a
    standard logistic draw. As ``temperature -> 0`` draws approach Bernoulli(probs) draws.

    >>> import numpy as np
    >>> from polyro.backends import numpy as be
    >>> d = RelaxedBernoulli(0.1, logits=np.zeros(3))
    >>> x = d.rsample(be.key(0))
    >>> x.shape, bool(((x > 0) & (x < 1)).all())
    ((3,), True)
    """

    arg_constraints = {
        "temperature": constraints.positive,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    support = constraints.unit_interval
    has_rsample = True
    reparametrized_params = ["temperature", "probs", "logits"]

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        batch_shape, (self.temperature,) = self._set_probs_logits(probs, logits, temperature)
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        lg = self.logits
        be = backend_of(lg)
        xp = be.xp
        tiny = float(xp.finfo(lg.dtype).tiny)
        eps = float(xp.finfo(lg.dtype).eps)
        u = be.uniform(key, draw_shape(sample_shape, self.batch_shape), lg.dtype,
                       minval=tiny, maxval=1.0)
        noise = xp.log(u) - xp.log1p(-u)
        x = be.expit((lg + noise) / self.temperature)
        return xp.clip(x, tiny, 1.0 - eps)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        lg = self.logits
        be, xp, value = value_as(lg, value)
        t = self.temperature
        y = xp.log(value) - xp.log1p(-value)
        diff = lg - y * t
        return xp.log(t) + diff - 2 * be.softplus(diff) - xp.log(value) - xp.log1p(-value)


class RelaxedOneHotCategorical(Distribution):
    """Concrete (Gumbel-softmax) distribution on the simplex:
    ``softmax((logits + G) / temperature)`` with ``G`` standard Gumbel draws.

    >>> import numpy as np
    >>> from polyro.backends import numpy as be
    >>> d = RelaxedOneHotCategorical(0.5, probs=np.array([0.2, 0.3, 0.5]))
    >>> x = d.rsample(be.key(0), (4,))
    >>> x.shape, bool(np.allclose(x.sum(-1), 1.0))
    ((4, 3), True)
    """

    arg_constraints = {
        "temperature": constraints.positive,
        "probs": constraints.simplex,
        "logits": constraints.real_vector,
    }
    support = constraints.simplex
    has_rsample = True
    reparametrized_params = ["temperature", "probs", "logits"]

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None, *,
                 validate_args: bool | None = None) -> None:
        one_param("RelaxedOneHotCategorical", probs, logits)
        given = probs if probs is not None else logits
        _, xp, (self.temperature, g), batch_shape = broadcast_params(temperature, given,
                                                                     event_dims=[0, 1])
        if len(shape_of(g)) < 1:
            raise ValueError("RelaxedOneHotCategorical: probs/logits must have at least one dim "
                             f"(the categories), got shape {shape_of(g)}")
        if probs is not None:
            self.probs = g
        else:
            self.logits = g
        super().__init__(batch_shape=batch_shape, event_shape=(int(g.shape[-1]),),
                         validate_args=validate_args)

    @lazy_property
    def probs(self) -> Any:
        """Probabilities of the limiting categorical."""
        return backend_of(self.logits).softmax(self.logits, axis=-1)

    @lazy_property
    def logits(self) -> Any:
        """Logits of the limiting categorical (``log(probs)`` when probs were given)."""
        return backend_of(self.probs).xp.log(self.probs)

    def _log_probs(self) -> Any:
        lg = self.logits
        return backend_of(lg).log_softmax(lg, axis=-1)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        lp = self._log_probs()
        be = backend_of(lp)
        xp = be.xp
        tiny = float(xp.finfo(lp.dtype).tiny)
        g = be.gumbel(key, draw_shape(sample_shape, self.batch_shape) + self.event_shape,
                      lp.dtype)
        y = (lp + g) / self.temperature[..., None]
        x = be.softmax(y, axis=-1)
        x = xp.clip(x, tiny, 1.0)
        return x / xp.sum(x, axis=-1, keepdims=True)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        lp = self._log_probs()
        be, xp, value = value_as(lp, value)
        k = self.event_shape[0]
        t = self.temperature
        log_x = xp.log(value)
        inner = lp - t[..., None] * log_x
        return (math.lgamma(k) + (k - 1) * xp.log(t)
                + xp.sum(inner - log_x, axis=-1) - k * be.logsumexp(inner, axis=-1))
