"""Arrays made once and shared across calls on eager engines (read-only where the engine allows).

Models re-run at every step of an inference loop; constants such as a distribution's literal
parameters or a plate's full index set need not be created again each time. Engines that compile
(``SUPPORTS_JIT``) stage every array creation into the compiled code, and a cached array made
while tracing would leak the tracer: they always get a fresh one.

>>> import polyro.backends as B
>>> cache = {}
>>> a = shared_array(B.get("numpy"), cache, ("x",), lambda: B.get("numpy").xp.arange(3))
>>> a is shared_array(B.get("numpy"), cache, ("x",), lambda: None), a.flags.writeable
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["shared_array"]


def shared_array(be: Any, cache: dict, key: Hashable, make: Callable[[], Any],
                 limit: int = 4096) -> Any:
    """``make()`` once per ``key`` in ``cache`` (emptied past ``limit`` entries), read-only where
    the engine allows; never modify the result in place. A fresh ``make()`` on an engine that
    compiles."""
    if be.SUPPORTS_JIT:
        return make()
    arr = cache.get(key)
    if arr is None:
        arr = make()
        setflags = getattr(arr, "setflags", None)
        if setflags is not None:
            setflags(write=False)
        if len(cache) > limit:
            cache.clear()
        cache[key] = arr
    return arr
