"""Helpers shared by the continuous univariate families (``cont_*.py``); no public names.

>>> draw_shape((3,), (2,))
(3, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of

__all__: list[str] = []

LOG_2PI = math.log(2 * math.pi)
HALF_LOG_2PI = 0.5 * LOG_2PI
LOG_PI = math.log(math.pi)
EULER = 0.57721566490153286061


def draw_shape(sample_shape: Sequence[int], batch_shape: Sequence[int]) -> tuple[int, ...]:
    """``sample_shape + batch_shape`` as a tuple of ints."""
    if isinstance(sample_shape, int):
        sample_shape = (sample_shape,)
    return tuple(int(s) for s in sample_shape) + tuple(int(b) for b in batch_shape)


def as_value(like: Any, value: Any) -> tuple[Any, Any, Any]:
    """``(be, xp, value)`` with ``value`` an array of the engine and float dtype of ``like``."""
    be = backend_of(like, value)
    xp = be.xp
    if not be.is_array(value):
        value = be.asarray(value, dtype=like.dtype)
    elif xp.isdtype(value.dtype, "integral") or xp.isdtype(value.dtype, "bool"):
        value = xp.astype(value, like.dtype)
    return be, xp, value


def uniform_open(be: Any, key: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """Uniform draws in the open interval (0, 1): never exactly 0 (so logs stay finite)."""
    xp = be.xp
    tiny = float(xp.finfo(dtype).tiny)
    return be.uniform(key, shape, dtype, minval=tiny, maxval=1.0)


def full_like(xp: Any, x: Any, value: float) -> Any:
    """An array of ``value`` with the shape and dtype of ``x``."""
    return xp.full_like(x, value)
