"""Small engine-neutral helpers shared by the MCMC kernels.

* :class:`FlatLayout` ravels a dict (or any pytree) of unconstrained arrays into one 1-D vector
  (with optional leading batch axes, one per vectorized chain) and back, with a chosen site order,
  so that the samplers work on a single vector and a blocked mass matrix is a set of contiguous
  slices.
* :func:`select` is a batched ``where`` over pytrees; :func:`masked_while` is a ``while_loop``
  that, for a batch of chains, runs while any chain is active and freezes the finished ones
  (the semantics of ``vmap`` over a ``while_loop``), so one kernel serves one chain and many.
* :func:`make_value_and_grad` wraps a potential into a fault-tolerant potential-and-gradient
  function on flat vectors: an exception raised by the model's math becomes ``+inf`` energy.

>>> import numpy as np
>>> lay = FlatLayout({"a": np.zeros((2,)), "b": np.zeros(())})
>>> flat = lay.ravel({"a": np.array([1.0, 2.0]), "b": np.array(3.0)})
>>> flat.tolist(), lay.size
([1.0, 2.0, 3.0], 3)
>>> sorted(lay.unravel(flat))
['a', 'b']
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from polyro.inference.recording import FAULT_EXCEPTIONS, LazyRecording, graph_recorder

__all__ = ["FlatLayout", "select", "masked_while", "make_value_and_grad", "expand_as",
           "FAULT_EXCEPTIONS", "gather_last", "int_dtype",
           "make_select", "make_branch", "LazyRecording"]


def _is_dict(tree: Any) -> bool:
    return isinstance(tree, dict)


class FlatLayout:
    """Maps a pytree of arrays to a flat vector ``(*batch, size)`` and back.

    ``order`` (dict trees only) lists the keys to put first, in that order; the other keys follow
    sorted. ``batch_ndim`` leading axes of every leaf are kept as batch axes.

    >>> import numpy as np
    >>> lay = FlatLayout({"x": np.zeros((3, 2))}, batch_ndim=1)
    >>> lay.ravel({"x": np.ones((3, 2))}).shape
    (3, 2)
    >>> lay.slices
    {'x': (0, 2)}
    """

    def __init__(self, tree: Any, order: Sequence[str] = (), batch_ndim: int = 0) -> None:
        from polyro import backends

        self.batch_ndim = batch_ndim
        if _is_dict(tree):
            keys = list(order) + sorted(k for k in tree if k not in set(order))
            missing = [k for k in order if k not in tree]
            if missing:
                raise ValueError(
                    f"dense_mass names sites {missing} that are not latent sites of the model; "
                    f"the latent sites are {sorted(tree)}"
                )
            self.is_dict = True
            self.keys = keys
            leaves = [tree[k] for k in keys]
            self.treedef = None
        else:
            be = backends.backend_of(*_leaves_any(tree))
            leaves, self.treedef = be.tree_flatten(tree)
            self.is_dict = False
            self.keys = [f"leaf{i}" for i in range(len(leaves))]
        self.shapes = [tuple(leaf.shape[batch_ndim:]) for leaf in leaves]
        self.sizes = [int(math.prod(s)) for s in self.shapes]
        self.slices: dict[str, tuple[int, int]] = {}
        start = 0
        for k, n in zip(self.keys, self.sizes, strict=False):
            self.slices[k] = (start, start + n)
            start += n
        self.size = start

    def leaves(self, tree: Any) -> list[Any]:
        """The leaves of ``tree`` in layout order."""
        if self.is_dict:
            return [tree[k] for k in self.keys]
        from polyro import backends

        be = backends.backend_of(*_leaves_any(tree))
        return be.tree_flatten(tree)[0]

    def ravel(self, tree: Any) -> Any:
        """Concatenate the leaves of ``tree`` into ``(*batch, size)``."""
        from polyro import backends

        leaves = self.leaves(tree)
        xp = backends.namespace(*leaves)
        parts = []
        for leaf, n in zip(leaves, self.sizes, strict=False):
            leaf = xp.asarray(leaf)
            batch = tuple(leaf.shape[: leaf.ndim - len(self.shapes[len(parts)])])
            parts.append(xp.reshape(leaf, batch + (n,)))
        if len(parts) == 1:
            return parts[0]
        return xp.concat(parts, axis=-1)

    def unravel(self, flat: Any) -> Any:
        """Split ``flat`` (``(*batch, size)``) back into the tree structure."""
        from polyro import backends

        be = backends.backend_of(flat)
        xp = be.xp
        batch = tuple(flat.shape[:-1])
        split = getattr(be, "split_last", None)  # one operation for all pieces (torch)
        if split is not None and len(self.sizes) > 1:
            parts = split(flat, self.sizes)
        else:
            parts = [flat if (a == 0 and b == self.size) else flat[..., a:b]
                     for a, b in (self.slices[k] for k in self.keys)]
        out = [xp.reshape(part, batch + shape)
               for part, shape in zip(parts, self.shapes, strict=True)]
        if self.is_dict:
            return dict(zip(self.keys, out, strict=False))
        return be.tree_unflatten(self.treedef, out)


def _leaves_any(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [v for t in tree.values() for v in _leaves_any(t)]
    if isinstance(tree, (list, tuple)):
        return [v for t in tree for v in _leaves_any(t)]
    return [tree]


def expand_as(pred: Any, x: Any, xp: Any) -> Any:
    """Append singleton axes to ``pred`` so it broadcasts against ``x`` from the left (a 0-d
    ``pred`` broadcasts as it is)."""
    extra = x.ndim - pred.ndim
    if extra <= 0 or pred.ndim == 0:
        return pred
    return xp.reshape(pred, tuple(pred.shape) + (1,) * extra)


def select(pred: Any, a: Any, b: Any, xp: Any) -> Any:
    """Elementwise ``where(pred, a, b)`` over two pytrees of identical structure.

    ``pred`` has the batch shape (``()`` for one chain); it is broadcast over trailing axes.

    >>> import numpy as np
    >>> import array_api_compat.numpy as xp
    >>> select(np.array([True, False]), (np.ones((2, 3)),), (np.zeros((2, 3)),), xp)[0].sum()
    np.float64(3.0)
    """
    if isinstance(a, dict):
        return {k: select(pred, a[k], b[k], xp) for k in a}
    if isinstance(a, tuple) and hasattr(a, "_fields"):
        return type(a)(*[select(pred, x, y, xp) for x, y in zip(a, b, strict=False)])
    if isinstance(a, (tuple, list)):
        return type(a)(select(pred, x, y, xp) for x, y in zip(a, b, strict=False))
    if a is None:
        return None
    return xp.where(expand_as(pred, a, xp), a, b)


def make_select(be: Any, batched: bool) -> Callable:
    """``sel(pred, a, b)`` over pytrees: a Python branch where the engine runs eagerly (no
    ``SUPPORTS_JIT``) and there is one chain (``pred`` a concrete scalar), else :func:`select`."""
    xp = be.xp
    if not batched and not getattr(be, "SUPPORTS_JIT", False):
        def sel_eager(pred: Any, a: Any, b: Any) -> Any:
            return a if bool(pred) else b

        return sel_eager

    def sel(pred: Any, a: Any, b: Any) -> Any:
        return select(pred, a, b, xp)

    return sel


def make_branch(be: Any, batched: bool) -> Callable:
    """``branch(pred, true_fn, false_fn, operand)``: ``be.cond`` for one chain; for a batch of
    chains (one predicate per chain) both branches are computed and selected."""
    xp = be.xp
    if not batched:
        return be.cond

    def branch(pred: Any, tf: Callable, ff: Callable, op: Any) -> Any:
        return select(pred, tf(op), ff(op), xp)

    return branch


def masked_while(be: Any, cond_fn: Callable, body_fn: Callable, init: Any, batched: bool) -> Any:
    """``while_loop`` for one chain (``batched=False``) or a batch of chains.

    For a batch, ``cond_fn`` returns one flag per chain; the loop runs while any chain is active
    and the state of finished chains is kept unchanged.
    """
    if not batched:
        return be.while_loop(cond_fn, body_fn, init)
    xp = be.xp

    def c(s: Any) -> Any:
        return xp.any(cond_fn(s))

    def b(s: Any) -> Any:
        active = cond_fn(s)
        return select(active, body_fn(s), s, xp)

    return be.while_loop(c, b, init)


def gather_last(x: Any, idx: Any, xp: Any) -> Any:
    """``x[..., idx]`` with a per-batch integer ``idx`` (shape ``x.shape[:-1]``), as a one-hot sum."""
    ar = xp.arange(x.shape[-1], dtype=idx.dtype)
    hit = ar == idx[..., None]
    if x.dtype == xp.bool:
        return xp.any(hit & x, axis=-1)
    return xp.sum(xp.where(hit, x, xp.zeros_like(x)), axis=-1)


def make_value_and_grad(be: Any, potential_fn: Callable, layout: FlatLayout,
                        batched: bool) -> Callable:
    """Fault-tolerant ``x -> (potential, grad)`` on flat vectors ``(*batch, D)``.

    An exception from :data:`FAULT_EXCEPTIONS` raised by the model's math gives ``+inf``
    potential and a zero gradient (the transition is then rejected as divergent). For a batch of
    chains the potential is vectorized with ``be.vmap``; where that is impossible (or one chain
    raises) the chains are evaluated one by one.
    """
    xp = be.xp

    def pe_flat(x: Any) -> Any:
        return potential_fn(layout.unravel(x))

    vg_single = be.value_and_grad(pe_flat)
    if getattr(be, "SUPPORTS_JIT", False):
        vg_single = be.jit(vg_single)

    if not batched and graph_recorder(be) is not None:
        # engines that run eagerly: once the potential is recorded, potential and gradient are
        # recorded as one graph
        vg_single = LazyRecording(be, vg_single, vg_single)

    def safe_single(x: Any) -> tuple[Any, Any]:
        try:
            v, g = vg_single(x)
        except FAULT_EXCEPTIONS:
            return xp.asarray(math.inf, dtype=x.dtype), xp.zeros_like(x)
        return v, g

    if not batched:
        return safe_single

    def summed(X: Any) -> tuple[Any, Any]:
        vals = be.vmap(pe_flat)(X)
        return xp.sum(vals), vals

    vg_batch = be.value_and_grad(summed, has_aux=True)
    if getattr(be, "SUPPORTS_JIT", False):
        # outside a compiled loop (a kernel's init) an eager vmapped gradient would compile
        # hundreds of one-operation programs; inside one, jit is inlined
        vg_batch = be.jit(vg_batch)
    mode = {"vmap": True}

    def loop(X: Any) -> tuple[Any, Any]:
        vs, gs = zip(*[safe_single(X[c]) for c in range(X.shape[0])], strict=True)
        return xp.stack(vs), xp.stack(gs)

    def safe_batch(X: Any) -> tuple[Any, Any]:
        if mode["vmap"]:
            try:
                (_, vals), g = vg_batch(X)
                return vals, g
            except FAULT_EXCEPTIONS:
                out = loop(X)
                if bool(xp.all(xp.isfinite(out[0]))):
                    warnings.warn("the potential could not be vectorized with vmap; vectorized "
                                  "chains evaluate it one chain at a time", stacklevel=2)
                    mode["vmap"] = False
                return out
        return loop(X)

    return safe_batch


def int_dtype(xp: Any) -> Any:
    """The default integer dtype of the namespace (usable as an index on every engine)."""
    return xp.asarray(0).dtype


def draw_uniforms(be: Any, key: Any, batch: tuple, size: int, dtype: Any) -> tuple[Any, Any]:
    """The next key and ``batch + (size,)`` uniforms in (0, 1) from ONE call to the generator.

    One ``random_bits`` call gives both (its first two words are the next key, as a key is a
    pair of 32-bit words), so a transition costs a single hash on engines where that is slow.
    Uniforms have 32-bit resolution and never touch 0 or 1.
    """
    xp = be.xp
    n = int(math.prod(batch)) * size
    fused = getattr(be, "open_uniforms", None)  # the same numbers in one call (torch on CPU)
    if fused is not None:
        key_next, u = fused(key, n, dtype)
        return key_next, xp.reshape(u, batch + (size,))
    bits = be.random_bits(key, (n + 2,))
    key_next = bits[:2]
    u = (xp.astype(bits[2:], dtype) + 0.5) * (2.0 ** -32)
    eps = float(xp.finfo(dtype).eps)
    u = xp.clip(u, eps, 1.0 - eps)
    return key_next, xp.reshape(u, batch + (size,))
