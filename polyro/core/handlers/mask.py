"""``mask``: zero the log densities of sample sites where a boolean mask is False.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.sample("x", dist.Normal(0.0, 1.0), obs=0.0)
>>> float(handlers.trace(handlers.mask(model, mask=False)).get_trace().log_prob_sum())
0.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.backends import backend_of
from polyro.core.runtime import Message, Messenger

__all__ = ["mask"]


class mask(Messenger):
    """Combine ``mask`` (bool or boolean array broadcasting with the batch shape) into the
    ``msg["mask"]`` of every sample site (logical and).

    >>> mask(mask=True).mask
    True
    """

    def __init__(self, fn: Callable | None = None, mask: Any = True) -> None:
        if mask is None:
            raise TypeError("mask: expected a bool or a boolean array, got None (for no "
                            "masking pass mask=True)")
        if not isinstance(mask, bool):
            be = backend_of(mask)
            mask = mask if be.is_array(mask) else be.asarray(mask)
            if not be.xp.isdtype(mask.dtype, "bool"):
                raise TypeError(f"mask: expected a boolean mask, got dtype {mask.dtype}")
        super().__init__(fn)
        self.mask = mask

    def _pyro_sample(self, msg: Message) -> None:
        old = msg["mask"]
        if old is None:
            msg["mask"] = self.mask
        elif isinstance(old, bool) and isinstance(self.mask, bool):
            msg["mask"] = old and self.mask
        elif isinstance(old, bool):
            msg["mask"] = self.mask if old else False
        elif isinstance(self.mask, bool):
            msg["mask"] = old if self.mask else False
        else:
            msg["mask"] = backend_of(old, self.mask).xp.logical_and(old, self.mask)
