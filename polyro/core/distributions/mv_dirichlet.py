"""The Dirichlet distribution on the probability simplex (reparameterized through gamma draws).

>>> import numpy as np
>>> d = Dirichlet(np.ones(3))
>>> round(float(d.log_prob(np.array([0.2, 0.3, 0.5]))), 6)  # log(2!)
0.693147
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import draw_shape, value_as
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import broadcast_params, shape_of, validate_sample

__all__ = ["Dirichlet"]


class Dirichlet(Distribution):
    """Dirichlet distribution with positive ``concentration`` (last dim = categories).

    ``rsample`` is differentiable in ``concentration`` (implicit reparameterization of the
    gamma draws) on torch and jax.

    >>> import numpy as np
    >>> d = Dirichlet(np.array([1.0, 3.0]))
    >>> d.mean.tolist(), d.event_shape
    ([0.25, 0.75], (2,))
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True
    reparametrized_params = ["concentration"]

    def __init__(self, concentration: Any, *, validate_args: bool | None = None) -> None:
        _, _, (c,), _ = broadcast_params(concentration, event_dims=[1])
        if len(shape_of(c)) < 1:
            raise ValueError("Dirichlet: concentration must have at least one dim (the "
                             f"categories), got shape {shape_of(c)}")
        self.concentration = c
        super().__init__(batch_shape=shape_of(c)[:-1], event_shape=shape_of(c)[-1:],
                         validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        c = self.concentration
        be = backend_of(c)
        xp = be.xp
        x = be.dirichlet(key, c, draw_shape(sample_shape, self.batch_shape))
        tiny = float(xp.finfo(c.dtype).tiny)
        return xp.clip(x, tiny, 1.0)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        c = self.concentration
        be, xp, value = value_as(c, value)
        norm = be.lgamma(xp.sum(c, axis=-1)) - xp.sum(be.lgamma(c), axis=-1)
        return xp.sum(be.xlogy(c - 1, value), axis=-1) + norm

    @property
    def mean(self) -> Any:
        c = self.concentration
        return c / backend_of(c).xp.sum(c, axis=-1, keepdims=True)

    @property
    def variance(self) -> Any:
        c = self.concentration
        c0 = backend_of(c).xp.sum(c, axis=-1, keepdims=True)
        return c * (c0 - c) / (c0 * c0 * (c0 + 1))

    def entropy(self) -> Any:
        c = self.concentration
        be = backend_of(c)
        xp = be.xp
        k = c.shape[-1]
        c0 = xp.sum(c, axis=-1)
        log_b = xp.sum(be.lgamma(c), axis=-1) - be.lgamma(c0)
        return (log_b + (c0 - k) * be.digamma(c0)
                - xp.sum((c - 1) * be.digamma(c), axis=-1))
