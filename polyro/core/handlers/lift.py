"""``lift``: turn param sites into sample sites with a prior.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.param("a", 1.0)
>>> tr = handlers.trace(handlers.seed(handlers.lift(model, prior=dist.Normal(0.0, 1.0)),
...                                    rng_seed=0)).get_trace()
>>> tr["a"]["type"]
'sample'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.core.runtime import Message, Messenger

__all__ = ["lift"]


class lift(Messenger):
    """Replace param sites by sample sites drawn from ``prior``: a distribution (for every
    param), a dict ``name -> distribution`` (only those), or a function ``msg -> distribution or
    None``.

    >>> lift(prior={}).prior
    {}
    """

    def __init__(self, fn: Callable | None = None, prior: Any = None) -> None:
        if prior is None:
            raise ValueError("lift needs prior= (a distribution, a dict or a function)")
        super().__init__(fn)
        self.prior = prior

    def _pyro_param(self, msg: Message) -> None:
        p = self.prior
        if isinstance(p, dict):
            d = p.get(msg["name"])
        elif hasattr(p, "log_prob") and hasattr(p, "sample"):
            d = p
        else:
            d = p(msg)
        if d is None:
            return
        msg["type"] = "sample"
        msg["fn"] = d
        msg["kwargs"] = {"sample_shape": (), "obs_mask": None}
        msg["is_observed"] = False
