"""``escape``: leave the model at the first site matching a predicate.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> def model():
...     polyro.deterministic("a", 1.0)
...     polyro.sample("x", dist.Normal(0.0, 1.0))
...     raise AssertionError("never reached")
>>> try:
...     handlers.escape(model, escape_fn=lambda msg: msg["name"] == "x")()
... except handlers.NonlocalExit as e:
...     print(e.site["name"])
x
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.core.runtime import Message, Messenger

__all__ = ["NonlocalExit", "escape"]


class NonlocalExit(Exception):
    """Raised by ``escape`` at the matching site; ``.site`` is the site's message.

    >>> NonlocalExit({"name": "x"}).site["name"]
    'x'
    """

    def __init__(self, site: Any) -> None:
        super().__init__(f"escaped at site {site.get('name')!r}")
        self.site = site


class escape(Messenger):
    """At the first sample site with ``escape_fn(msg)`` true, stop and raise
    :class:`NonlocalExit` (outer handlers do not see the site).

    >>> escape(escape_fn=bool).escape_fn is bool
    True
    """

    def __init__(
        self, fn: Callable | None = None, escape_fn: Callable[[Message], bool] | None = None
    ) -> None:
        if escape_fn is None:
            raise ValueError("escape needs escape_fn= (msg -> bool)")
        super().__init__(fn)
        self.escape_fn = escape_fn

    def _pyro_sample(self, msg: Message) -> None:
        if self.escape_fn(msg):
            msg["done"] = True
            msg["stop"] = True

            def _leave(m: Any) -> None:
                raise NonlocalExit(m)

            msg["continuation"] = _leave
