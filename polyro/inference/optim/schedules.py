"""Learning-rate schedules: functions ``lr(step)`` of the (integer array) step count.

Written in array-API math so they also run on a traced step under ``be.jit``. Pass one as the
``lr`` of any optimizer.

>>> import numpy as np
>>> from polyro.inference.optim import Adam, exponential_decay
>>> sched = exponential_decay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(float(sched(np.asarray(10))), 6)
0.05
>>> opt = Adam(sched)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polyro.backends as backends

__all__ = [
    "constant_schedule",
    "exponential_decay",
    "inverse_time_decay",
    "polynomial_decay",
    "cosine_decay",
    "piecewise_constant",
    "linear_warmup",
]


def _f(step: Any) -> tuple[Any, Any]:
    xp = backends.namespace(step)
    if not backends.backend_of(step).is_array(step):
        step = backends.backend_of(step).asarray(step)
    dt = backends.backend_of(step).float_dtype()
    return xp, xp.astype(step, dt)


def constant_schedule(value: float) -> Callable[[Any], Any]:
    """Always ``value``.

    >>> constant_schedule(0.3)(5)
    0.3
    """
    return lambda step: value


def exponential_decay(init_value: float, decay_steps: int, decay_rate: float,
                      staircase: bool = False) -> Callable[[Any], Any]:
    """``init_value * decay_rate ** (step / decay_steps)`` (floored exponent when ``staircase``).

    >>> import numpy as np
    >>> round(float(exponential_decay(1.0, 2, 0.5, staircase=True)(np.asarray(3))), 6)
    0.5
    """
    if decay_steps <= 0:
        raise ValueError(f"decay_steps must be positive, got {decay_steps!r}")

    def sched(step: Any) -> Any:
        xp, s = _f(step)
        e = s / decay_steps
        if staircase:
            e = xp.floor(e)
        return init_value * decay_rate ** e

    return sched


def inverse_time_decay(init_value: float, decay_steps: int, decay_rate: float,
                       staircase: bool = False) -> Callable[[Any], Any]:
    """``init_value / (1 + decay_rate * step / decay_steps)``.

    >>> import numpy as np
    >>> round(float(inverse_time_decay(1.0, 1, 1.0)(np.asarray(1))), 6)
    0.5
    """

    def sched(step: Any) -> Any:
        xp, s = _f(step)
        e = s / decay_steps
        if staircase:
            e = xp.floor(e)
        return init_value / (1.0 + decay_rate * e)

    return sched


def polynomial_decay(init_value: float, end_value: float, decay_steps: int,
                     power: float = 1.0) -> Callable[[Any], Any]:
    """From ``init_value`` to ``end_value`` over ``decay_steps`` as ``(1 - step/decay_steps)**power``.

    >>> import numpy as np
    >>> round(float(polynomial_decay(1.0, 0.0, 4)(np.asarray(2))), 6)
    0.5
    """

    def sched(step: Any) -> Any:
        xp, s = _f(step)
        frac = 1.0 - xp.clip(s, 0.0, float(decay_steps)) / decay_steps
        return (init_value - end_value) * frac ** power + end_value

    return sched


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Callable[[Any], Any]:
    """Cosine annealing from ``init_value`` to ``alpha * init_value`` over ``decay_steps``.

    >>> import numpy as np
    >>> round(float(cosine_decay(1.0, 10)(np.asarray(5))), 6)
    0.5
    """

    def sched(step: Any) -> Any:
        xp, s = _f(step)
        frac = xp.clip(s, 0.0, float(decay_steps)) / decay_steps
        cos = 0.5 * (1.0 + xp.cos(frac * 3.141592653589793))
        return init_value * ((1.0 - alpha) * cos + alpha)

    return sched


def piecewise_constant(boundaries: Sequence[int], values: Sequence[float]) -> Callable[[Any], Any]:
    """``values[i]`` for ``boundaries[i-1] <= step < boundaries[i]``.

    >>> import numpy as np
    >>> s = piecewise_constant([10, 20], [1.0, 0.1, 0.01])
    >>> [round(float(s(np.asarray(k))), 6) for k in (0, 10, 25)]
    [1.0, 0.1, 0.01]
    """
    boundaries, values = list(boundaries), list(values)
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            f"piecewise_constant needs len(values) == len(boundaries) + 1, got {len(values)} "
            f"values and {len(boundaries)} boundaries"
        )

    def sched(step: Any) -> Any:
        xp, s = _f(step)
        out = values[0] + 0.0 * s
        for b, lo, hi in zip(boundaries, values[:-1], values[1:], strict=False):
            out = out + xp.where(s >= b, hi - lo, 0.0 * s)
        return out

    return sched


def linear_warmup(schedule: Callable[[Any], Any] | float, warmup_steps: int,
                  init_value: float = 0.0) -> Callable[[Any], Any]:
    """Ramp linearly from ``init_value`` to ``schedule`` over ``warmup_steps``, then follow it.

    >>> import numpy as np
    >>> round(float(linear_warmup(1.0, 4)(np.asarray(2))), 6)
    0.5
    """
    base = schedule if callable(schedule) else constant_schedule(float(schedule))

    def sched(step: Any) -> Any:
        xp, s = _f(step)
        target = base(step)
        frac = xp.clip(s / warmup_steps, 0.0, 1.0)
        return init_value + frac * (target - init_value)

    return sched
