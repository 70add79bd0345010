"""Time-series families: GaussianRandomWalk.

>>> import numpy as np
>>> d = GaussianRandomWalk(scale=1.0, num_steps=3)
>>> d.event_shape, d.variance.tolist()
((3,), [1.0, 2.0, 3.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import LOG_2PI, draw_shape, value_as
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import broadcast_params, validate_sample

__all__ = ["GaussianRandomWalk"]


class GaussianRandomWalk(Distribution):
    """Random walk ``x[t] = x[t-1] + scale * eps[t]`` started at ``x[-1] = 0`` with standard
    normal ``eps``, over ``num_steps`` steps (event shape ``(num_steps,)``).

    >>> import numpy as np
    >>> d = GaussianRandomWalk(2.0, num_steps=2)
    >>> round(float(d.log_prob(np.array([0.0, 0.0]))), 6)  # 2 * log N(0 | 0, 2)
    -3.224171
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.real_vector
    has_rsample = True
    reparametrized_params = ["scale"]

    def __init__(self, scale: Any = 1.0, num_steps: int = 1, *,
                 validate_args: bool | None = None) -> None:
        if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
            raise ValueError(f"GaussianRandomWalk: num_steps must be an int >= 1, got "
                             f"{num_steps!r}")
        _, _, (self.scale,), batch_shape = broadcast_params(scale)
        self.num_steps = num_steps
        super().__init__(batch_shape=batch_shape, event_shape=(num_steps,),
                         validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.scale)
        eps = be.normal(key, draw_shape(sample_shape, self.batch_shape) + self.event_shape,
                        self.scale.dtype)
        return be.xp.cumulative_sum(eps * self.scale[..., None], axis=-1)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.scale, value)
        steps = xp.concat([value[..., :1], value[..., 1:] - value[..., :-1]], axis=-1)
        s = self.scale
        z = steps / s[..., None]
        n = self.num_steps
        return -0.5 * xp.sum(z * z, axis=-1) - n * xp.log(s) - 0.5 * n * LOG_2PI

    @property
    def mean(self) -> Any:
        xp = backend_of(self.scale).xp
        return xp.zeros(self.batch_shape + self.event_shape, dtype=self.scale.dtype)

    @property
    def variance(self) -> Any:
        xp = backend_of(self.scale).xp
        t = xp.astype(xp.arange(1, self.num_steps + 1), self.scale.dtype)
        return t * (self.scale * self.scale)[..., None]

    def entropy(self) -> Any:
        xp = backend_of(self.scale).xp
        n = self.num_steps
        return 0.5 * n * (1.0 + LOG_2PI) + n * xp.log(self.scale)
