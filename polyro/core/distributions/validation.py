"""The global switch for argument validation of distributions.

Validation is on by default. A distribution built with ``validate_args=None`` reads this switch
when it is constructed; ``validate_args=True``/``False`` overrides it for that instance.
Checks never run on traced values (inside ``jax.jit`` / ``vmap``): they are skipped silently.

>>> from polyro.core.distributions.validation import enable_validation, is_validation_enabled
>>> is_validation_enabled()
True
>>> with validation_enabled(False):
...     is_validation_enabled()
False
>>> is_validation_enabled()
True
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "enable_validation",
    "is_validation_enabled",
    "validation_enabled",
    "trusted_values",
    "values_trusted",
]

_GLOBAL: list[bool] = [True]
_LOCAL: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "polyro_validate_args", default=None
)
_TRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar("polyro_trusted", default=False)


def enable_validation(is_validate: bool = True) -> None:
    """Switch argument/support validation of every new distribution on or off (process-wide).

    >>> enable_validation(False); is_validation_enabled()
    False
    >>> enable_validation(True); is_validation_enabled()
    True
    """
    _GLOBAL[0] = bool(is_validate)
    _LOCAL.set(None)


def is_validation_enabled() -> bool:
    """Whether distributions built now validate their arguments by default.

    >>> isinstance(is_validation_enabled(), bool)
    True
    """
    local = _LOCAL.get()
    return _GLOBAL[0] if local is None else local


@contextlib.contextmanager
def validation_enabled(is_validate: bool = True) -> Iterator[None]:
    """Context manager: validation on (or off) inside the block only (thread/async-local).

    >>> with validation_enabled(False):
    ...     print(is_validation_enabled())
    False
    """
    token = _LOCAL.set(bool(is_validate))
    try:
        yield
    finally:
        _LOCAL.reset(token)


class trusted_values:
    """Inside the block, values reaching ``log_prob`` are known to lie in the support and
    distributions built there skip argument validation.

    Inference uses it around a potential whose latent values come from ``biject_to`` maps and
    whose data were checked once before the run, and around SVI steps on eager engines whose
    inputs a validated step has already checked (the guide's draws lie in the model's supports):
    the support test (and its ``-inf`` masking) would only cost time at every step. Not for user
    code. (A class rather than a generator context manager: it is entered at every step.)

    >>> with trusted_values():
    ...     print(values_trusted(), is_validation_enabled())
    True False
    """

    __slots__ = ("_t1", "_t2")

    def __enter__(self) -> None:
        self._t1 = _TRUSTED.set(True)
        self._t2 = _LOCAL.set(False)

    def __exit__(self, *exc: object) -> None:
        _LOCAL.reset(self._t2)
        _TRUSTED.reset(self._t1)

    def __call__(self, fn: Callable) -> Callable:
        """Use as a decorator (each call enters a fresh block)."""

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with trusted_values():
                return fn(*args, **kwargs)

        return inner


def values_trusted() -> bool:
    """Whether the current block promised in-support values (see :func:`trusted_values`).

    >>> values_trusted()
    False
    """
    return _TRUSTED.get()
