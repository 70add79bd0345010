"""``condition``: observe sample sites at given values.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.sample("x", dist.Normal(0.0, 1.0))
>>> tr = handlers.trace(handlers.condition(model, data={"x": 0.5})).get_trace()
>>> float(tr["x"]["value"]), tr["x"]["is_observed"]
(0.5, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from polyro.backends import backend_of
from polyro.core.runtime import Message, Messenger

__all__ = ["condition"]


class condition(Messenger):
    """Make sample sites named in ``data`` (or for which ``condition_fn(msg)`` is not None)
    observed at that value.

    >>> condition(data={"x": 1.0}).data
    {'x': 1.0}
    """

    def __init__(
        self,
        fn: Callable | None = None,
        data: Mapping[str, Any] | None = None,
        condition_fn: Callable[[Message], Any] | None = None,
    ) -> None:
        if data is None and condition_fn is None:
            raise ValueError("condition needs data= (a dict name -> value) or condition_fn=")
        super().__init__(fn)
        self.data = data
        self.condition_fn = condition_fn

    def _pyro_sample(self, msg: Message) -> None:
        value = None
        if self.data is not None:
            value = self.data.get(msg["name"])
        elif self.condition_fn is not None:
            value = self.condition_fn(msg)
        if value is None:
            return
        be = backend_of(value)
        msg["value"] = value if be.is_array(value) else be.asarray(value)
        msg["is_observed"] = True
