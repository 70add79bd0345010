"""``replay``: reuse the values of a recorded trace at the sites of the same names.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.sample("x", dist.Normal(0.0, 1.0))
>>> tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
>>> float(handlers.replay(model, trace=tr)()) == float(tr["x"]["value"])
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from polyro.core.runtime import Message, Messenger
from polyro.errors import ModelError

__all__ = ["replay"]


class replay(Messenger):
    """Set each unobserved sample site (and plate indices) found in ``trace`` to its value there;
    with Pyro's ``params`` (a dict by name), set those param sites too.

    >>> replay(trace={}).trace
    {}
    """

    def __init__(self, fn: Callable | None = None, trace: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        if trace is None and params is None:
            raise ValueError("replay needs trace= (a Trace from handlers.trace(...).get_trace()) "
                             "or params= (values of param sites by name)")
        super().__init__(fn)
        self.trace = trace if trace is not None else {}
        self.params = params

    def _pyro_param(self, msg: Message) -> None:
        if self.params is not None and msg["name"] in self.params:
            msg["value"] = self.params[msg["name"]]

    def _pyro_sample(self, msg: Message) -> None:
        name = msg["name"]
        if name not in self.trace or msg["is_observed"]:
            return
        site = self.trace[name]
        if site["type"] != "sample":
            raise ModelError(
                f"replay: site {name!r} is a sample site in the model but a {site['type']} site "
                "in the replayed trace"
            )
        msg["value"] = site["value"]
        msg["infer"] = {**site.get("infer", {}), **msg["infer"]}

    def _pyro_plate(self, msg: Message) -> None:
        name = msg["name"]
        if name in self.trace and self.trace[name]["type"] == "plate":
            msg["value"] = self.trace[name]["value"]
