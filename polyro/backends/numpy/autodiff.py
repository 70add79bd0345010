"""Autodiff on the numpy backend: there is none, and asking for it fails at once.

``value_and_grad``, ``grad`` and ``jacobian`` raise
:class:`~polyro.errors.AutodiffUnavailableError` when called (not later, deep inside an
algorithm), naming the backends that can differentiate and the gradient-free alternatives.
``stop_gradient`` is the identity.

>>> from polyro.errors import AutodiffUnavailableError
>>> try:
...     grad(lambda x: x * x)
... except AutodiffUnavailableError as e:
...     print("torch" in str(e) and "jax" in str(e))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from polyro.errors import AutodiffUnavailableError

__all__ = ["grad", "jacobian", "stop_gradient", "value_and_grad"]

_MESSAGE = (
    "{what} needs automatic differentiation, which the numpy backend does not have. "
    "Run it on a backend that can differentiate: polyro.set_backend('torch') or "
    "polyro.set_backend('jax') (pip install 'polyro[torch]' / 'polyro[jax]'). "
    "Gradient-free alternatives that run on numpy: forward sampling and Predictive, "
    "importance sampling, enumeration, and gradient-free MCMC (random-walk Metropolis, slice)."
)


def _fail(what: str) -> NoReturn:
    raise AutodiffUnavailableError(_MESSAGE.format(what=what))


def value_and_grad(fn: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """Always raises :class:`~polyro.errors.AutodiffUnavailableError` on numpy.

    >>> value_and_grad(sum)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    polyro.errors.AutodiffUnavailableError: ...
    """
    _fail("value_and_grad")


def grad(fn: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """Always raises :class:`~polyro.errors.AutodiffUnavailableError` on numpy.

    >>> grad(sum)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    polyro.errors.AutodiffUnavailableError: ...
    """
    _fail("grad")


def jacobian(fn: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """Always raises :class:`~polyro.errors.AutodiffUnavailableError` on numpy.

    >>> jacobian(sum)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    polyro.errors.AutodiffUnavailableError: ...
    """
    _fail("jacobian")


def stop_gradient(x: Any) -> Any:
    """The identity (numpy arrays carry no gradient).

    >>> stop_gradient(3.0)
    3.0
    """
    return x
