"""``scale``: multiply the log densities of sample sites by a factor.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.sample("x", dist.Normal(0.0, 1.0), obs=0.0)
>>> round(float(handlers.trace(handlers.scale(model, scale=2.0)).get_trace().log_prob_sum()), 6)
-1.837877
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.core.runtime import Message, Messenger

__all__ = ["scale"]


class scale(Messenger):
    """Multiply ``msg["scale"]`` of every sample site by ``scale`` (a positive number or array).

    >>> scale(scale=2.0).scale
    2.0
    """

    def __init__(self, fn: Callable | None = None, scale: Any = 1.0) -> None:
        if isinstance(scale, (int, float)) and not scale > 0:
            raise ValueError(f"scale: the factor must be positive, got {scale!r}")
        super().__init__(fn)
        self.scale = scale

    def _pyro_sample(self, msg: Message) -> None:
        msg["scale"] = self.scale if msg["scale"] is None else self.scale * msg["scale"]
