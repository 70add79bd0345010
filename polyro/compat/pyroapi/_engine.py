"""Binding compat objects to one engine: each call or handler block runs inside
``polyro.backend(engine)``.

pyro-api routes its six module slots (``pyro``, ``distributions``, ``handlers``, ``infer``,
``optim``, ``ops``) by *module name*; it knows nothing about polyro's active backend. So every
alias gets its own small modules whose functions enter ``polyro.backend(engine)`` for the
duration of the call, and whose handlers enter it for the duration of their ``with`` block.
Because ``pyroapi.pyro_backend(alias)`` itself enters ``handlers.seed(rng_seed=1)``, the
engine is also the active polyro backend for the whole ``with pyro_backend(alias):`` block --
so user code there (``dist.Normal(0., 1.)`` with Python floats, ``.sum()`` on results) builds
arrays of the right engine.

>>> import polyro
>>> f = in_engine("numpy", polyro.get_backend)
>>> f()
'numpy'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from polyro import backends
from polyro.core.runtime import get_stack

__all__ = ["EngineScoped", "engine_handler", "in_engine"]


def in_engine(engine: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``fn`` so that each call runs inside ``polyro.backend(engine)``.

    >>> import polyro
    >>> in_engine("numpy", lambda: polyro.backends.current().NAME)()
    'numpy'
    """

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with backends.backend(engine):
            return fn(*args, **kwargs)

    wrapped.__polyro_engine__ = engine  # type: ignore[attr-defined]
    return wrapped


class EngineScoped:
    """Mixin for a polyro ``Messenger``: entering the handler also enters
    ``polyro.backend(self._polyro_engine)`` until the handler exits.

    The backend context is kept on the pushed *frame* (never on the handler object), so one
    handler object may be reused and nested like any polyro handler.

    >>> from polyro.core.handlers import seed
    >>> S = engine_handler(seed, "numpy")
    >>> import polyro
    >>> with S(rng_seed=0):
    ...     polyro.get_backend()
    'numpy'
    """

    _polyro_engine: str = "numpy"

    def enter_frame(self) -> Any:
        cm = backends.backend(self._polyro_engine)
        cm.__enter__()
        try:
            frame = super().enter_frame()  # type: ignore[misc]
        except BaseException:
            cm.__exit__(None, None, None)
            raise
        frame.__dict__["_polyro_engine_cm"] = cm
        return frame

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        cm = None
        for frame in reversed(get_stack()):
            if getattr(frame, "_origin", None) is self:
                cm = frame.__dict__.get("_polyro_engine_cm")
                break
        try:
            return super().__exit__(exc_type, exc, tb)  # type: ignore[misc]
        finally:
            if cm is not None:
                cm.__exit__(None, None, None)


_HANDLER_CACHE: dict[tuple[type, str], type] = {}


def engine_handler(cls: type, engine: str) -> type:
    """A subclass of the polyro handler class ``cls`` that runs its block on ``engine``.

    ``isinstance(h, cls)`` still holds, and the subclass keeps ``cls``'s name and signature.

    >>> from polyro.core.handlers import trace
    >>> T = engine_handler(trace, "numpy")
    >>> issubclass(T, trace), T.__name__
    (True, 'trace')
    """
    key = (cls, engine)
    sub = _HANDLER_CACHE.get(key)
    if sub is None:
        sub = type(cls.__name__, (EngineScoped, cls), {
            "_polyro_engine": engine,
            "__doc__": f"``{cls.__module__}.{cls.__name__}``, its block run on the {engine!r} "
                       "engine (see :class:`polyro.compat.pyroapi._engine.EngineScoped`).",
            "__module__": f"polyro.compat.pyroapi.{engine}_.handlers",
            "__qualname__": cls.__qualname__,
        })
        _HANDLER_CACHE[key] = sub
    return sub
