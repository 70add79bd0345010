"""``scope``: prefix site and plate names.

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

_RENAMED = ("sample", "param", "deterministic", "plate")


class scope(Messenger):
    """Rename sample, param and deterministic sites and the plates entered inside it to
    ``prefix + divider + name`` (nested scopes give ``outer/inner/name``), as NumPyro's ``scope``
    does: the plate's own trace entry (its subsample indices, which ``replay`` matches by name) and
    the plate frames of every site under it. Two sub-models that each use a plate ``"data"`` of
    their own size can then run in one model, and a guide run under the same scope replays each
    one's subsample. Plates entered outside the scope keep their names. ``hide_types`` lists the
    types left alone (``"plate"`` keeps plate names and frames as they are).

    >>> scope(prefix="enc").prefix
    'enc'
    >>> import polyro
    >>> from polyro import handlers
    >>> def sub():
    ...     with polyro.plate("data", 3):
    ...         polyro.deterministic("d", 1.0)
    >>> tr = handlers.trace(scope(sub, prefix="a")).get_trace()
    >>> list(tr), [f.name for f in tr["a/d"]["cond_indep_stack"]]
    (['a/data', 'a/d'], ['a/data'])
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

    def _name(self, name: str) -> str:
        return f"{self.prefix}{self.divider}{name}"

    def process_message(self, msg: Message) -> None:
        t = msg["type"]
        if msg["name"] is not None and t in _RENAMED and t not in self.hide_types:
            msg["name"] = self._name(msg["name"])
        # plates entered inside this scope are inner handlers: their frames are already here;
        # those of plates outside it are added after this handler has run, and keep their names
        if msg["cond_indep_stack"] and "plate" not in self.hide_types:
            msg["cond_indep_stack"] = tuple(f._replace(name=self._name(f.name))
                                            for f in msg["cond_indep_stack"])
