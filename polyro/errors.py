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


def unexpected_options(owner: str, cls: type, unknown: list[str], note: str = "") -> TypeError:
    """The TypeError for keyword arguments ``unknown`` that ``cls`` (shown as ``owner``) does not
    take: it lists the ``__init__`` parameters of ``cls`` and its bases, then ``note``.

    >>> class A:
    ...     def __init__(self, x=1, **kw): pass
    >>> str(unexpected_options("A", A, ["y"]))
    "A: unexpected keyword argument(s) ['y']; it takes ['x']"
    """
    import inspect

    names: list[str] = []
    for c in cls.__mro__:
        if "__init__" in c.__dict__ and c is not object:
            for name, p in inspect.signature(c.__dict__["__init__"]).parameters.items():
                if (name != "self" and name not in names
                        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)):
                    names.append(name)
    return TypeError(f"{owner}: unexpected keyword argument(s) {sorted(unknown)}; it takes "
                     f"{names}{note}")
