"""Compilation, control flow, vmap and functional index updates on the JAX backend.

``jit`` is ``jax.jit``; ``while_loop``, ``fori_loop``, ``cond`` and ``scan`` are ``jax.lax``'s;
``vmap`` is ``jax.vmap`` (positional arguments only, like the other backends).

>>> import jax.numpy as jnp
>>> carry, ys = scan(lambda c, x: (c + x, c), jnp.array(0.0), jnp.arange(3.0))
>>> float(carry), ys.tolist()
(3.0, [0.0, 0.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["associative_scan", "cond", "device_count", "fori_loop", "index_add", "index_update", "jit", "pmap", "scan",
           "vmap", "while_loop"]


def jit(fn: Callable | None = None, static_argnums: int | Sequence[int] = (), **kwargs: Any) -> Any:
    """``jax.jit``; usable as ``@jit`` or ``@jit(static_argnums=...)``.

    >>> jit(lambda x, n: x * n, static_argnums=1)(jnp.array(2.0), 3).item()
    6.0
    """
    if fn is None:
        return lambda f: jax.jit(f, static_argnums=static_argnums, **kwargs)
    return jax.jit(fn, static_argnums=static_argnums, **kwargs)


def while_loop(cond_fn: Callable[[Any], Any], body_fn: Callable[[Any], Any], init: Any) -> Any:
    """``jax.lax.while_loop``: ``while cond_fn(val): val = body_fn(val)``.

    >>> int(while_loop(lambda v: v < 10, lambda v: v * 2, jnp.array(1)))
    16
    """
    return jax.lax.while_loop(cond_fn, body_fn, init)


def fori_loop(lower: Any, upper: Any, body_fn: Callable[[Any, Any], Any], init: Any) -> Any:
    """``jax.lax.fori_loop``: ``val = body_fn(i, val)`` for ``i`` in ``[lower, upper)``.

    >>> int(fori_loop(1, 4, lambda i, v: v * i, jnp.array(1)))
    6
    """
    return jax.lax.fori_loop(lower, upper, body_fn, init)


def cond(pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any],
         *operands: Any) -> Any:
    """``jax.lax.cond``: ``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``.

    >>> int(cond(jnp.array(False), lambda x: x + 1, lambda x: x - 1, jnp.array(10)))
    9
    """
    return jax.lax.cond(pred, true_fn, false_fn, *operands)


def associative_scan(fn: Callable[[Any, Any], Any], elems: Any) -> Any:
    """``jax.lax.associative_scan`` along axis 0.

    >>> associative_scan(lambda a, b: a + b, jnp.arange(1.0, 6.0)).tolist()
    [1.0, 3.0, 6.0, 10.0, 15.0]
    """
    return jax.lax.associative_scan(fn, elems, axis=0)


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False) -> tuple[Any, Any]:
    """``jax.lax.scan``: returns ``(final_carry, ys)`` with ``ys`` stacked along axis 0.

    >>> carry, ys = scan(lambda c, _: (c * 2, c), jnp.array(1.0), None, length=3)
    >>> float(carry), ys.tolist()
    (8.0, [1.0, 2.0, 4.0])
    """
    return jax.lax.scan(f, init, xs, length=length, reverse=reverse)


def vmap(fn: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
    """``jax.vmap`` over positional arguments (``in_axes``: int, None or a per-argument tuple).

    >>> vmap(lambda x, y: x * y, in_axes=(0, None))(jnp.arange(3.0), 2.0).tolist()
    [0.0, 2.0, 4.0]
    """
    axes = tuple(in_axes) if isinstance(in_axes, list) else in_axes
    inner = jax.vmap(fn, in_axes=axes, out_axes=out_axes)

    def mapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError("vmap: pass the mapped function's arguments positionally "
                            f"(got keyword arguments {sorted(kwargs)})")
        return inner(*args)

    return mapped


def device_count() -> int:
    """How many devices of the default platform this process sees (``pmap`` maps over them).

    On CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (set before JAX starts) gives
    ``N`` host devices.

    >>> device_count() >= 1
    True
    """
    return jax.local_device_count()


def pmap(fn: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
    """``jax.pmap``: ``fn`` compiled once and run on one device per index of the mapped axis
    (which must not exceed :func:`device_count`). Positional arguments only, like ``vmap``.

    >>> pmap(lambda x, y: x * y, in_axes=(0, None))(jnp.arange(1.0), 2.0).tolist()
    [0.0]
    """
    axes = tuple(in_axes) if isinstance(in_axes, list) else in_axes
    inner = jax.pmap(fn, in_axes=axes, out_axes=out_axes)

    def mapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError("pmap: pass the mapped function's arguments positionally "
                            f"(got keyword arguments {sorted(kwargs)})")
        # An output of a pmapped call fed back in can carry a sharding pmap rejects (a leaf that
        # does not depend on the mapped inputs comes back replicated); host copies are sharded
        # afresh. pmap runs a few large chunks, so the copies cost little.
        return inner(*jax.tree_util.tree_map(
            lambda a: np.asarray(a) if isinstance(a, jax.Array) else a, args))

    return mapped


def index_update(x: Any, idx: Any, v: Any) -> Any:
    """``x.at[idx].set(v)``: a new array with ``v`` written at ``idx``.

    >>> index_update(jnp.zeros(3), 1, 5.0).tolist()
    [0.0, 5.0, 0.0]
    """
    return jnp.asarray(x).at[idx].set(v)


def index_add(x: Any, idx: Any, v: Any) -> Any:
    """``x.at[idx].add(v)``: a new array with ``v`` added at ``idx`` (repeats accumulate).

    >>> index_add(jnp.zeros(3), jnp.array([0, 0, 2]), 1.0).tolist()
    [2.0, 0.0, 1.0]
    """
    return jnp.asarray(x).at[idx].add(v)
