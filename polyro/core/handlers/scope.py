"""``scope``: prefix site names.

>>> import polyro
>>> from polyro import handlers
>>> list(handlers.trace(handlers.scope(lambda: polyro.deterministic("d", 1.0), prefix="a"))
...      .get_trace())
['a/d']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from polyro.core.runtime import Message, Messenger

__all__ = ["scope"]


class scope(Messenger):
    """Rename sample, param and deterministic sites to ``prefix + divider + name`` (nested scopes
    give ``outer/inner/name``); ``hide_types`` lists site types left alone.

    >>> scope(prefix="enc").prefix
    'enc'
    """

    def __init__(
        self,
        fn: Callable | None = None,
        prefix: str | None = None,
        divider: str = "/",
        hide_types: Sequence[str] = (),
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"scope needs a non-empty str prefix=, got {prefix!r}")
        super().__init__(fn)
        self.prefix = prefix
        self.divider = divider
        self.hide_types = tuple(hide_types)

    def process_message(self, msg: Message) -> None:
        if msg["name"] is None or msg["type"] in self.hide_types:
            return
        if msg["type"] in ("sample", "param", "deterministic"):
            msg["name"] = f"{self.prefix}{self.divider}{msg['name']}"
