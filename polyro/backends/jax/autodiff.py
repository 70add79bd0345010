"""Autodiff on the JAX backend: ``jax.value_and_grad``, ``jax.grad``, ``jax.jacrev``.

>>> import jax.numpy as jnp
>>> val, g = value_and_grad(lambda p: (p["w"] ** 2).sum())({"w": jnp.array([1.0, -2.0])})
>>> float(val), g["w"].tolist()
(5.0, [2.0, -4.0])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

__all__ = ["grad", "jacobian", "stop_gradient", "value_and_grad"]


def _nums(argnums: Any) -> Any:
    return tuple(argnums) if isinstance(argnums, list) else argnums


def value_and_grad(fn: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """``fn(*args)`` and its gradient w.r.t. ``args[argnums]`` (pytrees of float arrays).

    >>> import jax.numpy as jnp
    >>> val, (gx, gy) = value_and_grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(
    ...     jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0]))
    >>> gx.tolist(), gy.tolist()
    ([3.0, 4.0], [1.0, 2.0])
    """
    return jax.value_and_grad(fn, argnums=_nums(argnums), has_aux=has_aux)


def grad(fn: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient of scalar ``fn`` w.r.t. ``args[argnums]`` (``(grad, aux)`` with ``has_aux``).

    >>> import jax.numpy as jnp
    >>> grad(lambda x: (x ** 3).sum())(jnp.array([2.0])).tolist()
    [12.0]
    """
    return jax.grad(fn, argnums=_nums(argnums), has_aux=has_aux)


def jacobian(fn: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Jacobian of ``fn`` w.r.t. ``args[argnums]`` (reverse mode), shape out + in.

    >>> import jax.numpy as jnp
    >>> jacobian(lambda x: x * 2.0)(jnp.array([1.0, 1.0])).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    return jax.jacrev(fn, argnums=_nums(argnums))


def stop_gradient(x: Any) -> Any:
    """``x`` with no gradient flowing back through it (works on pytrees).

    >>> import jax.numpy as jnp
    >>> float(jax.grad(lambda v: stop_gradient(v) * v)(jnp.array(3.0)))
    3.0
    """
    return jax.lax.stop_gradient(x)
