"""``substitute``: set the values of latent sample, param and deterministic sites.

>>> import polyro
>>> from polyro import handlers
>>> float(handlers.substitute(lambda: polyro.param("a", 1.0), data={"a": 2.0})())
2.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from polyro.core.runtime import Message, Messenger

__all__ = ["substitute"]

_TYPES = ("sample", "param", "deterministic", "plate")


class substitute(Messenger):
    """Give unobserved sample sites, param sites (constrained values), deterministic sites and
    plates (subsample indices) the values in ``data``, or ``substitute_fn(msg)`` when that is not
    None. Observed sites keep their data. Unlike ``condition`` the sites stay latent.

    >>> substitute(data={"a": 1.0}).data
    {'a': 1.0}
    """

    def __init__(
        self,
        fn: Callable | None = None,
        data: Mapping[str, Any] | None = None,
        substitute_fn: Callable[[Message], Any] | None = None,
    ) -> None:
        if data is None and substitute_fn is None:
            raise ValueError("substitute needs data= (a dict name -> value) or substitute_fn=")
        super().__init__(fn)
        self.data = data
        self.substitute_fn = substitute_fn

    def process_message(self, msg: Message) -> None:
        if msg["type"] not in _TYPES or msg["name"] is None:
            return
        if msg["type"] == "sample" and msg["is_observed"]:
            return
        if self.data is not None:
            value = self.data.get(msg["name"])
        else:
            value = self.substitute_fn(msg)  # type: ignore[misc]
        if value is not None:
            msg["value"] = value
