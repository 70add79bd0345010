"""``infer_config``: add inference hints to sample (and param) sites.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.sample("x", dist.Normal(0.0, 1.0), obs=0.0)
>>> h = handlers.infer_config(model, config_fn=lambda msg: {"tag": 1})
>>> handlers.trace(h).get_trace()["x"]["infer"]
{'tag': 1}
"""

from __future__ import annotations

from collections.abc import Callable

from polyro.core.runtime import Message, Messenger

__all__ = ["infer_config"]


class infer_config(Messenger):
    """Merge ``config_fn(msg)`` (a dict) into ``msg["infer"]`` of sample and param sites.

    >>> infer_config(config_fn=dict).config_fn is dict
    True
    """

    def __init__(
        self, fn: Callable | None = None, config_fn: Callable[[Message], dict] | None = None
    ) -> None:
        if config_fn is None:
            raise ValueError("infer_config needs config_fn= (msg -> dict)")
        super().__init__(fn)
        self.config_fn = config_fn

    def _pyro_sample(self, msg: Message) -> None:
        msg["infer"] = {**msg["infer"], **(self.config_fn(msg) or {})}

    _pyro_param = _pyro_sample
