"""``do``: causal interventions.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> def model():
...     x = polyro.sample("x", dist.Normal(0.0, 1.0))
...     return polyro.sample("y", dist.Normal(x, 1.0))
>>> tr = handlers.trace(handlers.seed(handlers.do(model, data={"x": 5.0}), rng_seed=0)).get_trace()
>>> float(tr["y"]["fn"].loc)
5.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from polyro.backends import backend_of
from polyro.core.runtime import Message, Messenger, apply_stack

__all__ = ["do"]


class do(Messenger):
    """Set sites in ``data`` to fixed values for everything downstream (an intervention).

    The site itself is still sampled as usual (it stays in the trace with its own value), and
    the intervened value is what the model's code receives; the intervened copy, named
    ``{name}__CF``, is hidden from outer handlers so it adds no log density.

    >>> do(data={"x": 1.0}).data
    {'x': 1.0}
    """

    def __init__(self, fn: Callable | None = None, data: Mapping[str, Any] | None = None) -> None:
        if data is None:
            raise ValueError("do needs data= (a dict name -> intervened value)")
        super().__init__(fn)
        self.data = data

    def _pyro_sample(self, msg: Message) -> None:
        name = msg["name"]
        if name not in self.data or msg["infer"].get("_do_id") == id(self):
            return
        value = self.data[name]
        if value is None:
            return
        fresh = dict(msg)
        fresh["infer"] = {**msg["infer"], "_do_id": id(self)}
        # inner handlers see the copy again: undo what they added the first time
        fresh["cond_indep_stack"] = ()
        fresh["scale"] = None
        fresh["mask"] = None
        fresh["intermediates"] = []
        apply_stack(fresh)  # type: ignore[arg-type]
        be = backend_of(value)
        msg["name"] = f"{name}__CF"
        msg["value"] = value if be.is_array(value) else be.asarray(value)
        msg["is_observed"] = True
        msg["stop"] = True
        msg["done"] = True
