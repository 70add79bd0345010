"""Compilation, control flow, vmap and functional index updates on the torch backend.

Loops run eagerly in Python with JAX's semantics (``while_loop``, ``fori_loop``, ``scan``,
``cond``); ``vmap`` is ``torch.func.vmap``; ``jit`` is the identity. Under ``vmap`` a ``cond``
whose predicate is batched evaluates both branches and selects element-wise (as JAX does).

>>> import torch
>>> carry, ys = scan(lambda c, x: (c + x, c), torch.tensor(0.0), torch.arange(3.0))
>>> float(carry), ys.tolist()
(3.0, [0.0, 0.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from polyro.backends.numpy.control_flow import (
    arg_axes,
    associative_scan_loop,
    fori_loop,
    scan_loop,
    while_loop,
)

from .tree import tree_flatten, tree_map

__all__ = ["associative_scan", "cond", "fori_loop", "index_add", "index_update", "jit", "scan", "vmap",
           "while_loop"]


def jit(fn: Callable | None = None, static_argnums: int | Sequence[int] = (), **kwargs: Any) -> Any:
    """The identity: the torch backend runs eagerly. Usable as ``@jit`` or ``@jit(...)``.

    >>> jit(abs)(-2)
    2
    """
    if fn is None:
        return lambda f: f
    return fn


def _where_tree(pred: torch.Tensor, a: Any, b: Any) -> Any:
    return tree_map(lambda x, y: torch.where(pred, torch.as_tensor(x), torch.as_tensor(y)), a, b)


def cond(pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any],
         *operands: Any) -> Any:
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)`` (``pred`` a scalar).

    >>> cond(torch.tensor(False), lambda x: x + 1, lambda x: x - 1, 10)
    9
    """
    if isinstance(pred, torch.Tensor):
        if pred.ndim != 0:
            raise TypeError(f"cond: the predicate must be a scalar, got shape {tuple(pred.shape)}")
        if torch._C._are_functorch_transforms_active():
            try:
                flag = bool(pred)
            except RuntimeError:  # batched predicate under vmap: compute both, select
                return _where_tree(pred, true_fn(*operands), false_fn(*operands))
            return true_fn(*operands) if flag else false_fn(*operands)
        return true_fn(*operands) if bool(pred) else false_fn(*operands)
    if np.ndim(pred) != 0:
        raise TypeError(f"cond: the predicate must be a scalar, got shape {np.shape(pred)}")
    return true_fn(*operands) if bool(pred) else false_fn(*operands)


def _stack(items: list[Any]) -> torch.Tensor:
    from polyro.backends.torch import asarray

    return torch.stack([asarray(v) for v in items])


def _empty_slice(leaf: Any) -> torch.Tensor:
    from polyro.backends.torch import asarray

    t = asarray(leaf)
    return torch.zeros(t.shape[1:], dtype=t.dtype, device=t.device)


def _interleave(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.shape[0] == b.shape[0]:
        return torch.stack([a, b], dim=1).reshape((-1,) + tuple(a.shape[1:]))
    body = torch.stack([a[:-1], b], dim=1).reshape((-1,) + tuple(a.shape[1:]))
    return torch.cat([body, a[-1:]], dim=0)


def associative_scan(fn: Callable[[Any, Any], Any], elems: Any) -> Any:
    """``jax.lax.associative_scan`` along axis 0 (the odd-even recursion: ``O(n)`` calls of
    ``fn``, batched, in ``2 log2(n)`` rounds), differentiable.

    >>> associative_scan(lambda a, b: a + b, torch.arange(1.0, 6.0)).tolist()
    [1.0, 3.0, 6.0, 10.0, 15.0]
    """
    return associative_scan_loop(fn, elems, lambda parts: torch.cat(parts, dim=0), _interleave)


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False) -> tuple[Any, Any]:
    """JAX's ``lax.scan``: ``carry, y = f(carry, x)`` over the leading axis of ``xs``.

    Returns ``(final_carry, ys)`` with the ``y`` pytrees stacked along a new axis 0.

    >>> carry, ys = scan(lambda c, _: (c * 2, c), torch.tensor(1.0), None, length=3)
    >>> float(carry), ys.tolist()
    (8.0, [1.0, 2.0, 4.0])
    """
    return scan_loop(f, init, xs, length, reverse, _stack, lambda leaf, i: leaf[i], _empty_slice)


def vmap(fn: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
    """``torch.func.vmap``: map ``fn`` over an axis of its positional arguments.

    ``in_axes``: an int or None for every argument, or a tuple with one entry per argument (an int,
    None, or a container of them matching that argument). Outputs may be pytrees of tensors.

    >>> vmap(lambda x, y: x * y, in_axes=(0, None))(torch.arange(3.0), torch.tensor(2.0)).tolist()
    [0.0, 2.0, 4.0]
    """
    def mapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError("vmap: pass the mapped function's arguments positionally "
                            f"(got keyword arguments {sorted(kwargs)})")
        arg_axes(in_axes, args)  # same validation and messages as the other backends
        from polyro.backends.torch import asarray

        conv = []
        for a in args:
            leaves, td = tree_flatten(a)
            conv.append(td.unflatten([asarray(x) if isinstance(x, (np.ndarray, np.generic, float))
                                      else x for x in leaves]))
        axes = tuple(in_axes) if isinstance(in_axes, list) else in_axes
        return torch.func.vmap(fn, in_dims=axes, out_dims=out_axes)(*conv)
    return mapped


def index_update(x: Any, idx: Any, v: Any) -> torch.Tensor:
    """A copy of ``x`` with ``x[idx] = v`` (JAX's ``x.at[idx].set(v)``); differentiable.

    >>> index_update(torch.zeros(3), 1, 5.0).tolist()
    [0.0, 5.0, 0.0]
    """
    from .special import _t

    x = _t(x) if not isinstance(x, torch.Tensor) else x
    y = x.clone()
    y[_index(idx)] = v if isinstance(v, torch.Tensor) else torch.as_tensor(v, dtype=x.dtype)
    return y


def _index(idx: Any) -> Any:
    if isinstance(idx, np.ndarray):
        return torch.from_numpy(idx)
    if isinstance(idx, tuple):
        return tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in idx)
    return idx


def index_add(x: Any, idx: Any, v: Any) -> torch.Tensor:
    """A copy of ``x`` with ``v`` added at ``idx``; repeated indices accumulate; differentiable.

    >>> index_add(torch.zeros(3), torch.tensor([0, 0, 2]), 1.0).tolist()
    [2.0, 0.0, 1.0]
    """
    x = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    pos = torch.arange(x.numel(), device=x.device).reshape(x.shape)[_index(idx)]
    src = v if isinstance(v, torch.Tensor) else torch.as_tensor(v, dtype=x.dtype)
    src = torch.broadcast_to(src.to(x.dtype), pos.shape)
    return x.reshape(-1).index_add(0, pos.reshape(-1), src.reshape(-1)).reshape(x.shape)
