"""Exceptions shared by every part of polyro.

They live at the top of the package (not in ``polyro.core``) so that the backend adapters,
the core and the inference code can all raise them without import cycles.
"""

from __future__ import annotations

__all__ = [
    "PolyroError",
    "BackendNotAvailableError",
    "UnknownBackendError",
    "AutodiffUnavailableError",
    "MixedBackendError",
    "ModelError",
    "InitializationError",
]


class PolyroError(Exception):
    """Base class of every error polyro raises on purpose."""


class UnknownBackendError(PolyroError, ValueError):
    """A backend name that polyro does not know.

    >>> import polyro
    >>> try:
    ...     polyro.set_backend("tensorflow")
    ... except UnknownBackendError as e:
    ...     print("numpy" in str(e))
    True
    """


class BackendNotAvailableError(PolyroError, ImportError):
    """The engine behind a known backend is not installed (names the pip extra to install)."""


class AutodiffUnavailableError(PolyroError, NotImplementedError):
    """The active backend cannot differentiate (numpy); names the backends that can."""


class MixedBackendError(PolyroError, TypeError):
    """Arrays of an engine other than the active backend reached a computation."""


class ModelError(PolyroError, ValueError):
    """A model is malformed (duplicate sites, bad shapes, observations outside the support)."""


class InitializationError(PolyroError, RuntimeError):
    """No valid initial point was found for inference."""


def init_option_names(cls: type) -> list[str]:
    """The keyword names ``cls(...)`` takes: its ``__init__``'s named parameters, then, while
    an ``__init__`` passes ``**kwargs`` on, those of the next ``__init__`` up the MRO.

    >>> class A:
    ...     def __init__(self, x=1, *, y=2): pass
    >>> class B(A):
    ...     def __init__(self, z=0, **kw): super().__init__(**kw)
    >>> init_option_names(B)
    ['z', 'x', 'y']
    """
    import inspect

    names: list[str] = []
    for c in cls.__mro__:
        if "__init__" not in c.__dict__ or c is object:
            continue
        params = inspect.signature(c.__dict__["__init__"]).parameters.values()
        names += [p.name for p in params if p.name != "self" and p.name not in names
                  and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names


def unexpected_options(owner: str, cls: type, unknown: list[str], note: str = "") -> TypeError:
    """The TypeError for keyword arguments ``unknown`` that ``cls`` (shown as ``owner``) does not
    take: it lists :func:`init_option_names`, then ``note``.

    >>> class A:
    ...     def __init__(self, x=1, **kw): pass
    >>> str(unexpected_options("A", A, ["y"]))
    "A: unexpected keyword argument(s) ['y']; it takes ['x']"
    """
    return TypeError(f"{owner}: unexpected keyword argument(s) {sorted(unknown)}; it takes "
                     f"{init_option_names(cls)}{note}")
