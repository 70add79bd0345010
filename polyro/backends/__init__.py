"""Backend selection and dispatch.

polyro runs one core on three engines. Each engine has an *adapter* package
(``polyro.backends.numpy``, ``polyro.backends.torch``, ``polyro.backends.jax``) with the same
module layout, exporting the functions listed in :mod:`polyro.backends.protocol`.

The active backend is kept in a :class:`contextvars.ContextVar`, so each thread and each asyncio
task has its own (a new thread starts on the process-wide choice of :func:`set_backend`, or the
``POLYRO_BACKEND`` environment variable, default ``numpy``). Adapters are imported lazily:
``import polyro`` imports neither torch nor jax.

Mixed inputs: numpy arrays, lists and Python numbers are *data* and work with every backend (the
adapter's ``asarray`` converts them once, at the boundary). torch tensors and JAX arrays/tracers
must belong to the active backend: :func:`backend_of` raises
:class:`~polyro.errors.MixedBackendError` naming both engines and the fix, rather than copying
arrays between engines inside a hot loop.

Dataclasses become pytrees on every engine with :func:`register_dataclass`.

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
import operator
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from polyro.errors import BackendNotAvailableError, MixedBackendError, UnknownBackendError

__all__ = [
    "BACKENDS",
    "as_key",
    "backend",
    "backend_of",
    "current",
    "engine_of",
    "get",
    "get_backend",
    "namespace",
    "register_dataclass",
    "set_backend",
    "sync_engine_registrations",
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
    if type(name) is str:  # fast path: an adapter already loaded under its exact name
        mod = _loaded.get(name)
        if mod is not None:
            return mod
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
    # host-side checks of data (validation) always run on the numpy adapter: load it now, at
    # set-up, not inside the first inference run (0.3 s of imports: array_api_compat, scipy)
    get("numpy")
    _global_name[0] = _check_name(name)
    _active.set(None)


def get_backend() -> str:
    """Name of the active backend in this thread/task.

    >>> get_backend() in BACKENDS
    True
    """
    name = _active.get()
    if name is not None:
        return name
    name = _global_name[0]
    return name if name in BACKENDS else _check_name(name)


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


_ENGINE_CACHE: dict[type, str | None] = {}


def _engine_of(x: Any) -> str | None:
    """Name of the backend that owns array ``x`` (None for Python scalars, lists, None).

    Decided once per type (cached): by the defining module ('numpy', 'torch', 'jax'/'jaxlib' --
    which covers JAX tracers, whose classes live in ``jax._src.interpreters``), then by
    ``isinstance`` against the engines already imported (subclasses defined elsewhere). It never
    imports an engine.
    """
    t = type(x)
    try:
        return _ENGINE_CACHE[t]
    except KeyError:
        pass
    mod = t.__module__.split(".", 1)[0] if isinstance(t.__module__, str) else ""
    eng: str | None = None
    if mod == "numpy":
        eng = "numpy"
    elif mod == "torch" and "torch" in sys.modules:
        eng = "torch"
    elif mod in ("jax", "jaxlib") and "jax" in sys.modules:
        eng = "jax"
    elif isinstance(x, (int, float, complex, bool, str, list, tuple, dict, type(None))):
        eng = None
    else:
        np_mod = sys.modules.get("numpy")
        torch_mod = sys.modules.get("torch")
        jax_mod = sys.modules.get("jax")
        if np_mod is not None and isinstance(x, (np_mod.ndarray, np_mod.generic)):
            eng = "numpy"
        elif torch_mod is not None and isinstance(x, torch_mod.Tensor):
            eng = "torch"
        elif jax_mod is not None and isinstance(x, jax_mod.Array):
            eng = "jax"
    _ENGINE_CACHE[t] = eng
    return eng


def engine_of(x: Any) -> str | None:
    """The engine owning ``x``: 'numpy', 'torch', 'jax', or None (Python values, containers).

    >>> import numpy as np
    >>> engine_of(np.zeros(2)), engine_of(1.0)
    ('numpy', None)
    """
    return _engine_of(x)


def backend_of(*arrays: Any) -> ModuleType:
    """The adapter that computes on ``arrays``: the active backend, after checking the inputs.

    * Python scalars, lists and numpy arrays are *data*: they combine with any backend and are
      converted once, at the boundary, by the adapter's ``asarray``.
    * torch tensors and JAX arrays (including JAX tracers under ``jit``/``vmap``/``grad``) must
      belong to the active backend. Otherwise :class:`~polyro.errors.MixedBackendError` names both
      engines and the fix, instead of a silent copy between engines inside a hot loop.

    >>> import numpy as np
    >>> backend_of(np.ones(2), 3.0).NAME == get_backend()
    True
    """
    active = get_backend()
    for a in arrays:
        eng = _ENGINE_CACHE.get(type(a), "?")
        if eng == "?":
            eng = _engine_of(a)
        if eng is None or eng == "numpy" or eng == active:
            continue
        raise MixedBackendError(
            f"a {eng} array ({type(a).__name__}) reached a computation while the active polyro "
            f"backend is {active!r}. polyro does not copy arrays between engines implicitly. Fix: "
            f"run it under `with polyro.backend({eng!r}):` (or polyro.set_backend({eng!r})), or "
            f"convert the input first with polyro.backends.get({active!r}).asarray("
            f"polyro.backends.get({eng!r}).to_numpy(x))."
        )
    return get(active)


def as_key(rng_key: Any, be: ModuleType | None = None) -> Any:
    """A PRNG key of backend ``be`` (default: the active one) from what a user passes as a key.

    ``None`` gives ``key(0)``, an int ``key(rng_key)``; a typed JAX key
    (``jax.random.key(seed)``) gives its raw words where the adapter offers ``key_data``; any
    other value is returned as an array of ``be`` (its shape is checked where it is used).

    >>> as_key(3).tolist() == current().key(3).tolist()
    True
    """
    be = current() if be is None else be
    if rng_key is None:
        return be.key(0)
    if not hasattr(rng_key, "shape") or tuple(rng_key.shape) == ():
        try:
            return be.key(operator.index(rng_key))
        except TypeError:
            pass
    raw = getattr(be, "key_data", None)
    if raw is not None:
        k = raw(rng_key)
        if k is not None:
            return k
    return rng_key if be.is_array(rng_key) else be.asarray(rng_key)


def namespace(*arrays: Any) -> Any:
    """The array-API namespace (``array_api_compat``) for ``arrays``: the active backend's.

    Recognises torch tensors and JAX arrays and tracers (and checks them against the active
    backend, see :func:`backend_of`); Python scalars and numpy data use the active backend.

    >>> namespace(1.0).__name__.endswith("numpy")
    True
    """
    return backend_of(*arrays).xp


# --------------------------------------------------------------------------------------------
# dataclasses as pytrees on every engine

_DATACLASSES: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}
_REGISTERED_WITH: dict[str, set[type]] = {"jax": set(), "torch": set()}


def _dc_flatten(cls: type) -> tuple[Any, Any]:
    data, meta = _DATACLASSES[cls]

    def flatten(obj: Any) -> tuple[list[Any], tuple[Any, ...]]:
        return [getattr(obj, f) for f in data], tuple(getattr(obj, f) for f in meta)

    def unflatten(context: Any, children: Any) -> Any:
        kw = dict(zip(data, children, strict=True))
        kw.update(zip(meta, context, strict=True))
        return cls(**kw)

    return flatten, unflatten


def sync_engine_registrations() -> None:
    """Register every :func:`register_dataclass` class with the engines imported so far.

    The torch and JAX adapters call this when they load; it never imports an engine.

    >>> sync_engine_registrations()
    """
    for cls, (data, meta) in list(_DATACLASSES.items()):
        if "jax" in sys.modules and cls not in _REGISTERED_WITH["jax"]:
            import jax

            jax.tree_util.register_dataclass(cls, data_fields=list(data), meta_fields=list(meta))
            _REGISTERED_WITH["jax"].add(cls)
        if "torch" in sys.modules and cls not in _REGISTERED_WITH["torch"]:
            import torch.utils._pytree as tpt

            flatten, unflatten = _dc_flatten(cls)
            tpt.register_pytree_node(
                cls,
                lambda obj, _f=flatten: _f(obj),
                lambda values, context, _u=unflatten: _u(context, values),
            )
            _REGISTERED_WITH["torch"].add(cls)


def register_dataclass(cls: type | None = None, *, data_fields: Any = None,
                       meta_fields: Any = None) -> Any:
    """Make a dataclass a pytree on every backend (optree; JAX and torch when they are loaded).

    Fields listed in ``meta_fields`` -- by default those declared with
    ``field(metadata={"static": True})`` -- are static structure; the others are children.
    Usable as a decorator, with or without arguments. Returns the class.

    >>> import dataclasses
    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class State:
    ...     x: float
    ...     n: int = dataclasses.field(default=0, metadata={"static": True})
    >>> current().tree_leaves(State(1.5, 3))
    [1.5]
    """
    if cls is None:
        return lambda c: register_dataclass(c, data_fields=data_fields, meta_fields=meta_fields)
    import dataclasses

    import optree

    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"register_dataclass: {cls!r} is not a dataclass (decorate it with "
                        "@dataclasses.dataclass first)")
    if cls in _DATACLASSES:
        return cls
    fields = [f for f in dataclasses.fields(cls) if f.init]
    if meta_fields is None:
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
    if data_fields is None:
        data_fields = [f.name for f in fields if f.name not in set(meta_fields)]
    data, meta = tuple(data_fields), tuple(meta_fields)
    _DATACLASSES[cls] = (data, meta)
    flatten, unflatten = _dc_flatten(cls)
    optree.register_pytree_node(
        cls,
        lambda obj: (*flatten(obj), data),
        lambda context, children: unflatten(context, children),
        namespace="polyro",
    )
    sync_engine_registrations()
    return cls
