"""Compilation, control flow, vmap and functional index updates on the numpy backend.

The semantics are JAX's (``jax.lax.while_loop``, ``fori_loop``, ``cond``, ``scan``,
``jax.vmap``), run as plain Python loops. The loop helpers here are engine-neutral and are reused
by the torch backend.

>>> import numpy as np
>>> fori_loop(0, 5, lambda i, s: s + i, 0)
10
>>> carry, ys = scan(lambda c, x: (c + x, c * x), 0.0, np.arange(4.0))
>>> float(carry), ys.tolist()
(6.0, [0.0, 0.0, 2.0, 9.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .tree import tree_flatten, tree_leaves, tree_map, tree_unflatten

__all__ = ["associative_scan", "cond", "fori_loop", "index_add", "index_update", "jit", "scan", "vmap",
           "while_loop"]


def jit(fn: Callable | None = None, static_argnums: int | Sequence[int] = (), **kwargs: Any) -> Any:
    """The identity: numpy does not compile. Usable as ``@jit`` or ``@jit(static_argnums=...)``.

    >>> jit(abs)(-2)
    2
    """
    if fn is None:
        return lambda f: f
    return fn


def while_loop(cond_fn: Callable[[Any], Any], body_fn: Callable[[Any], Any], init: Any) -> Any:
    """``val = init; while cond_fn(val): val = body_fn(val)``; returns the final ``val``.

    >>> while_loop(lambda v: v < 10, lambda v: v * 2, 1)
    16
    """
    val = init
    while bool(cond_fn(val)):
        val = body_fn(val)
    return val


def fori_loop(lower: int, upper: int, body_fn: Callable[[Any, Any], Any], init: Any) -> Any:
    """``val = body_fn(i, val)`` for ``i`` in ``range(lower, upper)``; returns the final ``val``.

    >>> fori_loop(1, 4, lambda i, v: v * i, 1)
    6
    """
    val = init
    for i in range(int(lower), int(upper)):
        val = body_fn(i, val)
    return val


def _scalar_pred(pred: Any) -> bool:
    shape = getattr(pred, "shape", ())
    if tuple(shape) != ():
        raise TypeError(f"cond: the predicate must be a scalar, got an array of shape {tuple(shape)}")
    return bool(pred)


def cond(pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any],
         *operands: Any) -> Any:
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)`` (``pred`` a scalar).

    >>> cond(True, lambda x: x + 1, lambda x: x - 1, 10)
    11
    """
    return true_fn(*operands) if _scalar_pred(pred) else false_fn(*operands)


def scan_loop(f: Callable, init: Any, xs: Any, length: int | None, reverse: bool,
              stack: Callable[[list[Any]], Any], take: Callable[[Any, int], Any],
              empty_like_stack: Callable[[Any], Any]) -> tuple[Any, Any]:
    """Engine-neutral loop behind ``scan`` (``stack``/``take``/``empty_like_stack`` per engine).

    >>> scan_loop(lambda c, x: (c + x, c), 0, np.array([1, 2]), None, False, list,
    ...           lambda a, i: int(a[i]), lambda y: [])
    (3, [0, 1])
    """
    leaves = tree_leaves(xs)
    sizes = {int(leaf.shape[0]) for leaf in leaves}
    if length is not None:
        sizes.add(int(length))
    if len(sizes) != 1:
        if not sizes:
            raise ValueError("scan: xs has no arrays, so `length` must be given")
        raise ValueError(f"scan: xs leaves and `length` disagree on the number of steps: {sorted(sizes)}")
    n = sizes.pop()
    flat, treedef = tree_flatten(xs)
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry = init
    ys: list[Any] = []
    for i in order:
        x = tree_unflatten(treedef, [take(leaf, i) for leaf in flat])
        carry, y = f(carry, x)
        ys.append(y)
    if n == 0:
        probe_x = tree_unflatten(treedef, [empty_like_stack(leaf) for leaf in flat])
        _, y = f(init, probe_x)
        return carry, tree_map(lambda leaf: stack([leaf])[:0], y)
    if reverse:
        ys.reverse()
    return carry, tree_map(lambda *step: stack(list(step)), *ys)


def associative_scan_loop(fn: Callable[[Any, Any], Any], elems: Any,
                          concat: Callable[[list[Any]], Any],
                          interleave: Callable[[Any, Any], Any]) -> Any:
    """Engine-neutral inclusive scan behind ``associative_scan`` (the odd-even recursion that
    ``jax.lax.associative_scan`` uses: ``O(n)`` applications of ``fn`` in ``2 log2(n)`` rounds, each
    round one batched call). ``concat(parts)`` joins arrays along axis 0; ``interleave(a, b)``
    merges ``a`` (even positions) and ``b`` (odd positions, ``len(a) - 1 <= len(b) <= len(a)``).

    >>> il = lambda a, b: np.insert(b, range(len(a)), a) if len(b) == len(a) else np.insert(
    ...     np.append(b, 0), range(len(a)), a)[:-1]
    >>> associative_scan_loop(np.add, np.arange(1, 6), np.concatenate, il).tolist()
    [1, 3, 6, 10, 15]
    """
    flat, treedef = tree_flatten(elems)
    n = {int(leaf.shape[0]) for leaf in flat}
    if len(n) != 1:
        raise ValueError(f"associative_scan: the leaves of elems disagree on their leading size: "
                         f"{sorted(n)}")
    size = n.pop()

    def call(a: list[Any], b: list[Any]) -> list[Any]:
        out = fn(tree_unflatten(treedef, a), tree_unflatten(treedef, b))
        return tree_flatten(out)[0]

    def go(xs: list[Any], m: int) -> list[Any]:
        if m < 2:
            return xs
        odd = go(call([x[0:m - 1:2] for x in xs], [x[1:m:2] for x in xs]), m // 2)
        if m % 2 == 0:
            even = call([o[:-1] for o in odd], [x[2::2] for x in xs])
        else:
            even = call(odd, [x[2::2] for x in xs])
        even = [concat([x[:1], e]) for x, e in zip(xs, even, strict=True)]
        return [interleave(e, o) for e, o in zip(even, odd, strict=True)]

    return tree_unflatten(treedef, go(flat, size))


def _interleave_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty((a.shape[0] + b.shape[0],) + a.shape[1:], dtype=np.result_type(a, b))
    out[0::2], out[1::2] = a, b
    return out


def associative_scan(fn: Callable[[Any, Any], Any], elems: Any) -> Any:
    """``jax.lax.associative_scan`` along axis 0: the inclusive scan of an associative ``fn``
    (``fn(a, b)`` combines earlier elements ``a`` with later ones ``b``, batched along axis 0),
    over a pytree of arrays.

    >>> associative_scan(lambda a, b: a + b, np.arange(1.0, 6.0)).tolist()
    [1.0, 3.0, 6.0, 10.0, 15.0]
    """
    return associative_scan_loop(fn, elems, lambda parts: np.concatenate(parts, axis=0),
                                 _interleave_np)


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False) -> tuple[Any, Any]:
    """JAX's ``lax.scan``: ``carry, y = f(carry, x)`` over the leading axis of ``xs``.

    Returns ``(final_carry, ys)`` with the ``y`` pytrees stacked along a new axis 0. With
    ``xs=None`` give ``length``.

    >>> carry, ys = scan(lambda c, _: (c + 1, {"c": c}), 0, None, length=3)
    >>> carry, ys["c"].tolist()
    (3, [0, 1, 2])
    """
    return scan_loop(f, init, xs, length, reverse,
                     lambda items: np.stack([np.asarray(v) for v in items]),
                     lambda leaf, i: leaf[i],
                     lambda leaf: np.zeros(np.shape(leaf)[1:], dtype=np.asarray(leaf).dtype))


def _spec_leaves(spec: Any, arg: Any, where: str) -> list[Any]:
    """Broadcast an in_axes prefix ``spec`` over the leaves of ``arg``."""
    if spec is None or isinstance(spec, int):
        return [spec] * len(tree_leaves(arg))
    if isinstance(spec, dict):
        if not isinstance(arg, dict) or set(spec) != set(arg):
            raise ValueError(f"vmap: in_axes {where} is a dict with keys {sorted(spec)} but the "
                             f"argument is {type(arg).__name__}")
        return [a for k in sorted(spec) for a in _spec_leaves(spec[k], arg[k], f"{where}[{k!r}]")]
    if isinstance(spec, (tuple, list)):
        if not isinstance(arg, (tuple, list)) or len(arg) != len(spec):
            raise ValueError(f"vmap: in_axes {where} has {len(spec)} entries but the argument is "
                             f"{type(arg).__name__} of length {len(arg) if hasattr(arg, '__len__') else '?'}")
        return [a for i, (s, x) in enumerate(zip(spec, arg, strict=True)) for a in _spec_leaves(s, x, f"{where}[{i}]")]
    raise TypeError(f"vmap: in_axes entries must be int, None or a container of them, got {spec!r}")


def arg_axes(in_axes: Any, args: tuple[Any, ...]) -> list[list[Any]]:
    """Per argument, the list of mapped axes (int or None) of its leaves.

    >>> arg_axes((0, None), (np.ones(2), 3.0))
    [[0], [None]]
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if isinstance(in_axes, tuple):
        if len(in_axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(in_axes)} entries but the function got "
                             f"{len(args)} positional arguments")
        return [_spec_leaves(s, a, f"[{i}]") for i, (s, a) in enumerate(zip(in_axes, args, strict=True))]
    return [_spec_leaves(in_axes, a, f"[{i}]") for i, a in enumerate(args)]


def vmap_loop(fn: Callable, in_axes: Any, out_axes: Any, args: tuple[Any, ...],
              asarray: Callable[[Any], Any], stack: Callable[[list[Any], int], Any]) -> Any:
    """Engine-neutral loop behind the numpy ``vmap``.

    >>> vmap_loop(lambda a: a * 2, 0, 0, (np.arange(3),), np.asarray, np.stack).tolist()
    [0, 2, 4]
    """
    axes = arg_axes(in_axes, args)
    flat = [tree_flatten(a) for a in args]
    sizes = {}
    for (leaves, _), ax in zip(flat, axes, strict=True):
        for leaf, a in zip(leaves, ax, strict=True):
            if a is not None:
                leaf = asarray(leaf)
                sizes[int(leaf.shape[a])] = tuple(leaf.shape)
    if not sizes:
        raise ValueError("vmap: no argument is mapped (every in_axes entry is None)")
    if len(sizes) > 1:
        raise ValueError(f"vmap: mapped arguments have different sizes along their mapped axes: "
                         f"{sorted(sizes)} (shapes {list(sizes.values())})")
    n = next(iter(sizes))
    outs = []
    for i in range(n):
        call = []
        for (leaves, treedef), ax in zip(flat, axes, strict=True):
            sl = [leaf if a is None else _take(asarray(leaf), i, a) for leaf, a in zip(leaves, ax, strict=True)]
            call.append(tree_unflatten(treedef, sl))
        outs.append(fn(*call))
    if n == 0:
        raise ValueError("vmap: the mapped axis has size 0")
    out_tree = tree_flatten(outs[0])[1]
    out_spec = tree_leaves(out_axes) if not isinstance(out_axes, int) else None
    per_leaf = [tree_flatten(o)[0] for o in outs]
    stacked = []
    for j in range(len(per_leaf[0])):
        axis = out_axes if out_spec is None else out_spec[j]
        stacked.append(stack([asarray(p[j]) for p in per_leaf], axis))
    return tree_unflatten(out_tree, stacked)


def _take(leaf: Any, i: int, axis: int) -> Any:
    index = [slice(None)] * leaf.ndim
    index[axis] = i
    return leaf[tuple(index)]


def vmap(fn: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
    """Map ``fn`` over an axis of its positional arguments (a Python loop, JAX semantics).

    ``in_axes``: an int or None for every argument, or a tuple with one entry per argument (each an
    int, None, or a matching container of them). ``out_axes``: an int, or a pytree matching the
    output. Outputs may be pytrees; their leaves are stacked.

    >>> vmap(lambda x, y: x * y, in_axes=(0, None))(np.arange(3.0), 2.0).tolist()
    [0.0, 2.0, 4.0]
    """
    def mapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError("vmap: pass the mapped function's arguments positionally "
                            f"(got keyword arguments {sorted(kwargs)})")
        return vmap_loop(fn, in_axes, out_axes, args, np.asarray,
                         lambda items, axis: np.stack(items, axis=axis))
    return mapped


def index_update(x: Any, idx: Any, v: Any) -> np.ndarray:
    """A copy of ``x`` with ``x[idx] = v`` (JAX's ``x.at[idx].set(v)``); ``x`` is unchanged.

    >>> index_update(np.zeros(3), 1, 5.0).tolist()
    [0.0, 5.0, 0.0]
    """
    y = np.array(x, copy=True)
    y[idx] = v
    return y


def index_add(x: Any, idx: Any, v: Any) -> np.ndarray:
    """A copy of ``x`` with ``v`` added at ``idx``; repeated indices accumulate (``x.at[idx].add``).

    >>> index_add(np.zeros(3), np.array([0, 0, 2]), 1.0).tolist()
    [2.0, 0.0, 1.0]
    """
    y = np.array(x, copy=True)
    np.add.at(y, idx, v)
    return y
