"""Backend selection and dispatch.

polyro runs one core on three engines. Each engine has an *adapter* package
(``polyro.backends.numpy``, ``polyro.backends.torch``, ``polyro.backends.jax``) with the same
module layout, exporting the functions listed in :mod:`polyro.backends.protocol`.

The active backend is kept in a :class:`contextvars.ContextVar`, so each thread and each asyncio
task has its own. Adapters are imported lazily: ``import polyro`` imports neither torch nor jax.

>>> import polyro
>>> polyro.get_backend()
'numpy'
>>> with polyro.backend("numpy"):
...     current().NAME
'numpy'
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from polyro.errors import BackendNotAvailableError, MixedBackendError, UnknownBackendError

__all__ = [
    "BACKENDS",
    "backend",
    "backend_of",
    "current",
    "get",
    "get_backend",
    "namespace",
    "set_backend",
]

#: Known backend names, with the engine module each needs and the pip extra that installs it.
BACKENDS: dict[str, tuple[str, str]] = {
    "numpy": ("numpy", "polyro"),
    "torch": ("torch", "polyro[torch]"),
    "jax": ("jax", "polyro[jax]"),
}

_default_name = os.environ.get("POLYRO_BACKEND", "numpy").strip().lower() or "numpy"
_active: contextvars.ContextVar[str | None] = contextvars.ContextVar("polyro_backend", default=None)
_global_name: list[str] = [_default_name]
_loaded: dict[str, ModuleType] = {}


def _check_name(name: str) -> str:
    if not isinstance(name, str) or name.strip().lower() not in BACKENDS:
        raise UnknownBackendError(
            f"unknown backend {name!r}; polyro knows {sorted(BACKENDS)} "
            "(set one with polyro.set_backend(name) or the POLYRO_BACKEND variable)"
        )
    return name.strip().lower()


def get(name: str) -> ModuleType:
    """Return the adapter module of backend ``name``, importing its engine on first use.

    >>> get("numpy").NAME
    'numpy'
    """
    name = _check_name(name)
    mod = _loaded.get(name)
    if mod is not None:
        return mod
    engine, extra = BACKENDS[name]
    try:
        importlib.import_module(engine)
    except ImportError as e:
        raise BackendNotAvailableError(
            f"backend {name!r} needs the {engine!r} package, which is not installed; "
            f"install it with: pip install '{extra}'"
        ) from e
    mod = importlib.import_module(f"polyro.backends.{name}")
    _loaded[name] = mod
    return mod


def set_backend(name: str) -> None:
    """Make ``name`` ('numpy', 'torch' or 'jax') the backend of this process.

    A ``with polyro.backend(...)`` block still overrides it inside the block.

    >>> set_backend("numpy"); get_backend()
    'numpy'
    """
    get(name)  # fail early, with the pip hint, if the engine is missing
    _global_name[0] = _check_name(name)
    _active.set(None)


def get_backend() -> str:
    """Name of the active backend in this thread/task.

    >>> get_backend() in BACKENDS
    True
    """
    name = _active.get()
    return name if name is not None else _check_name(_global_name[0])


@contextlib.contextmanager
def backend(name: str) -> Iterator[ModuleType]:
    """Context manager: use backend ``name`` inside the block (thread- and async-local).

    >>> with backend("numpy") as be:
    ...     print(be.NAME)
    numpy
    """
    mod = get(name)
    token = _active.set(_check_name(name))
    try:
        yield mod
    finally:
        _active.reset(token)


def current() -> ModuleType:
    """The adapter module of the active backend.

    >>> current().NAME == get_backend()
    True
    """
    return get(get_backend())


def _engine_of(x: Any) -> str | None:
    """Name of the backend that owns array ``x`` (None for Python scalars, lists, None)."""
    mod = type(x).__module__.split(".", 1)[0]
    if mod == "numpy":
        return "numpy"
    if mod == "torch" and "torch" in sys.modules:
        return "torch"
    if mod in ("jax", "jaxlib") and "jax" in sys.modules:
        return "jax"
    return None


def backend_of(*arrays: Any) -> ModuleType:
    """The adapter for the arrays given, or the active backend where none is an engine array.

    numpy arrays (data) combine with any backend: they are converted at the boundary.
    Arrays of two different non-numpy engines raise :class:`MixedBackendError`.

    >>> import numpy as np
    >>> backend_of(np.ones(2), 3.0).NAME == get_backend()
    True
    """
    found = None
    for a in arrays:
        eng = _engine_of(a)
        if eng is None or eng == "numpy":
            continue
        if found is None:
            found = eng
        elif eng != found:
            raise MixedBackendError(
                f"arrays from two engines ({found} and {eng}) met in one computation; "
                "convert them with polyro.backends.get(name).asarray(x) first"
            )
    active = get_backend()
    if found is None:
        return get(active)
    return get(found)


def namespace(*arrays: Any) -> Any:
    """The array-API namespace (``array_api_compat``) for ``arrays``.

    Recognises JAX tracers and torch tensors; Python scalars and numpy data fall back to the
    active backend's namespace.

    >>> namespace(1.0).__name__.endswith("numpy")
    True
    """
    return backend_of(*arrays).xp
