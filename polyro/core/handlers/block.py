"""``block``: hide sites from the handlers outside it.

>>> import polyro
>>> from polyro import handlers
>>> def model():
...     polyro.deterministic("a", 1.0)
...     polyro.deterministic("b", 2.0)
>>> list(handlers.trace(handlers.block(model, hide=["a"])).get_trace())
['b']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from polyro.core.runtime import Message, Messenger

__all__ = ["block"]

_SITE_TYPES = ("sample", "param", "deterministic", "plate")


class block(Messenger):
    """Stop outer handlers from seeing selected sites (by default: every site).

    ``hide`` / ``hide_types`` hide exactly the named sites / site types and nothing else;
    ``expose`` / ``expose_types`` hide everything except those; ``hide_fn(msg) -> bool`` (or
    ``expose_fn``, its negation) decides alone. Pyro's switches: ``expose_all=True`` hides only
    what ``hide``/``hide_types`` name, and so does ``hide_all=False``. Only site messages
    (sample, param, deterministic, plate) are hidden unless ``hide_types`` names another type. Outer ``seed`` and ``plate`` handlers still act on hidden
    sites (they give keys and batch dims, they do not observe).

    >>> block(hide=["x"]).hidden({"name": "x", "type": "sample"})
    True
    """

    def __init__(
        self,
        fn: Callable | None = None,
        hide_fn: Callable[[Message], bool] | None = None,
        hide: Sequence[str] | None = None,
        expose: Sequence[str] | None = None,
        hide_types: Sequence[str] | None = None,
        expose_types: Sequence[str] | None = None,
        *,
        expose_fn: Callable[[Message], bool] | None = None,
        hide_all: bool = True,
        expose_all: bool = False,
    ) -> None:
        super().__init__(fn)
        if expose_all and (expose is not None or expose_types is not None):
            raise ValueError("block: expose_all=True exposes every site; drop expose/"
                             "expose_types, or drop expose_all")
        if hide_fn is not None and expose_fn is not None:
            raise ValueError("block: give hide_fn or expose_fn, not both")
        if expose_fn is not None:
            hide_fn = lambda msg: not expose_fn(msg)  # noqa: E731
        hide_s = set(hide or ())
        expose_s = set(expose or ())
        ht = set(hide_types or ())
        et = set(expose_types or ())
        if hide_s & expose_s:
            raise ValueError(f"block: sites {sorted(hide_s & expose_s)} are both hidden and exposed")
        if ht & et:
            raise ValueError(f"block: types {sorted(ht & et)} are both hidden and exposed")
        self.hide_fn = hide_fn
        self._hide, self._expose, self._ht, self._et = hide_s, expose_s, ht, et
        selective_hide = hide is not None or hide_types is not None
        selective_expose = expose is not None or expose_types is not None
        # hide everything not exposed, unless only explicit hides were given (or Pyro's
        # expose_all=True / hide_all=False ask to hide nothing else)
        self._hide_rest = selective_expose or (not selective_hide and hide_all
                                               and not expose_all)

    def hidden(self, msg: Any) -> bool:
        """Whether ``msg`` is hidden by this handler."""
        if self.hide_fn is not None:
            return bool(self.hide_fn(msg))
        name, t = msg["name"], msg["type"]
        if t in self._ht:
            return True
        if t not in _SITE_TYPES:
            return False
        if name in self._hide:
            return True
        if not self._hide_rest:
            return False
        return name not in self._expose and t not in self._et

    def process_message(self, msg: Message) -> None:
        if self.hidden(msg):
            msg["stop"] = True
