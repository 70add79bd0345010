"""Markov chains in a contraction: one stacked tensor and a log-depth product, not T einsums.

A model written ``for t in markov(range(T))`` leaves, after ``trace_factors``, T variables
``x_0 .. x_{T-1}`` of one size ``K`` whose factors each touch ``{x_t}`` or ``{x_t, x_{t+1}}``.
Eliminating them one by one costs T small contractions, T operations for an engine to run and,
under ``jax.jit``, T copies of the same few operations for XLA to compile (plus their
gradients). :func:`find_chain` recognises such a run among the live factors of an ordinal,
:func:`contract_chain` adds each step's factors into one ``(K, K)`` log-matrix ``N_t`` (any
other labels, such as plates, ride along as batch dims), stacks them into one ``(n, ..., K, K)``
tensor and multiplies them in log space with a balanced tree (:func:`chain_product`):
``ceil(log2 n)`` batched steps. ``infer_discrete`` needs every forward message:
:func:`chain_prefix` computes all prefix products in about ``2 log2 n`` batched steps
(the backend's ``associative_scan``). On an engine that compiles (``SUPPORTS_JIT``), chains longer than
:data:`SCAN_MIN` run instead as two nested loops over ``sqrt(n)``-sized blocks, so the compiled
program of the contraction (and of its gradient) does not grow with n; a product reduced at once
over one end's state (the marginal) runs there as one loop over vector messages
(:func:`chain_reduce`, the forward or backward algorithm).

``op="sum"`` is the log-space (sum-product) matrix product, ``op="max"`` the max-plus
(Viterbi) one. Gradients flow through every step; no value ever takes ``log(0)`` on a path
gradients use, so structural zeros (``-inf`` log-probabilities) give finite gradients.

>>> import numpy as np
>>> a = np.log(np.array([[0.5, 0.5], [0.2, 0.8]]))
>>> mats = np.stack([a, a, a])                        # three steps of one 2-state chain
>>> ref = np.log(np.linalg.matrix_power(np.exp(a), 3))
>>> bool(np.allclose(chain_product(mats), ref))
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from polyro.backends import backend_of

__all__ = ["chain_prefix", "chain_product", "chain_reduce", "contract_chain", "find_chain", "log_matmul"]

#: contract Markov chains as chains (``sum_product(chains=None)`` reads this; set it False to
#: eliminate chain variables one at a time, e.g. to time the difference)
ENABLED = True
#: the fewest variables a chain must eliminate to be contracted as a chain
MIN_CHAIN = 2
#: log_matmul forms the (..., i, j, k) terms and log-sum-exps them exactly while there are at
#: most this many of them (16 MiB in float64); beyond, it shifts and multiplies with matmul
_EXACT_MAX = 1 << 21
#: on an engine that compiles, chains of more steps than this multiply in two nested loops
#: (:func:`_blocked_product`), shorter ones by the log-depth tree
SCAN_MIN = 16
#: on an engine that compiles, a chain reduced at once (its marginal) longer than SCAN_MIN runs
#: as one loop over vector messages (:func:`chain_reduce`) instead of a blocked product
VECTOR_SCAN = True


def _where_finite(m: Any, xp: Any) -> Any:
    return xp.where(xp.isfinite(m), m, xp.zeros_like(m))


def _safe_log(s: Any, xp: Any) -> Any:
    """log(s) for s >= 0 with -inf (and a zero gradient, not NaN) where s == 0."""
    pos = s > 0
    return xp.where(pos, xp.log(xp.where(pos, s, xp.ones_like(s))),
                    xp.full_like(s, -math.inf))


def _logsumexp(x: Any, axis: int) -> Any:
    """Stable log-sum-exp over one axis; all ``-inf`` gives ``-inf`` with zero gradients."""
    be = backend_of(x)
    xp = be.xp
    m = _where_finite(be.stop_gradient(xp.max(x, axis=axis, keepdims=True)), xp)
    s = xp.sum(xp.exp(x - m), axis=axis)
    return _safe_log(s, xp) + xp.squeeze(m, axis=axis)


def log_matmul(a: Any, b: Any, op: str = "sum", exact: bool | None = None) -> Any:
    """``log(exp(a) @ exp(b))`` (``op="sum"``) or ``max_j a[..., i, j] + b[..., j, k]``
    (``op="max"``) over the last two axes, batched over the leading ones.

    ``exact`` (default: while the ``(..., i, j, k)`` intermediate has at most 2**21 entries)
    sums every ``a_ij + b_jk`` with a log-sum-exp; otherwise ``a`` and ``b`` are shifted by their row and
    column maxima and multiplied with ``matmul`` (memory ``O(K^2)``; a term can underflow only
    if it is ~700 nats (float64) below both maxima). ``op="max"`` always forms the
    intermediate.

    >>> import numpy as np
    >>> a, b = np.log(np.array([[1.0, 2.0]])), np.log(np.array([[3.0], [4.0]]))
    >>> [round(float(np.exp(log_matmul(a, b, exact=e))[0, 0]), 9) for e in (True, False)]
    [11.0, 11.0]
    >>> round(float(np.exp(log_matmul(a, b, "max"))[0, 0]), 9)
    8.0
    """
    be = backend_of(a, b)
    xp = be.xp
    if op not in ("sum", "max"):
        raise ValueError(f"log_matmul: op must be 'sum' or 'max', got {op!r}")
    if exact is None:
        n = int(a.shape[-2]) * int(a.shape[-1]) * int(b.shape[-1])
        for s in a.shape[:-2]:
            n *= int(s)
        exact = n <= _EXACT_MAX
    if op == "max" or exact:
        x = xp.expand_dims(a, axis=-1) + xp.expand_dims(b, axis=-3)   # (..., i, j, k)
        return xp.max(x, axis=-2) if op == "max" else _logsumexp(x, -2)
    am = _where_finite(be.stop_gradient(xp.max(a, axis=-1, keepdims=True)), xp)
    bm = _where_finite(be.stop_gradient(xp.max(b, axis=-2, keepdims=True)), xp)
    s = xp.matmul(xp.exp(a - am), xp.exp(b - bm))
    return _safe_log(s, xp) + am + bm


def chain_product(mats: Any, op: str = "sum") -> Any:
    """The log-space product ``mats[0] @ mats[1] @ ... @ mats[n-1]`` of a stack
    ``(n, ..., K, K)``.

    Eager engines multiply by a balanced tree of ``ceil(log2 n)`` batched :func:`log_matmul` s
    (few, wide operations). On an engine that compiles (``SUPPORTS_JIT``) a chain longer than
    :data:`SCAN_MIN` runs as two nested loops over ``sqrt(n)``-sized blocks
    (:func:`_blocked_product`): the tree's levels have ``log2 n`` different shapes, each one more
    copy of the product (and of its gradient) for the compiler, while the loops compile one body
    each whatever ``n`` is.

    >>> import numpy as np
    >>> m = np.log(np.random.default_rng(0).dirichlet(np.ones(3), size=(5, 3)))
    >>> ref = np.log(np.linalg.multi_dot(list(np.exp(m))))
    >>> bool(np.allclose(chain_product(m), ref))
    True
    """
    be = backend_of(mats)
    xp = be.xp
    if be.SUPPORTS_JIT and int(mats.shape[0]) > SCAN_MIN:
        return _blocked_product(mats, op)
    while int(mats.shape[0]) > 1:
        n = int(mats.shape[0])
        half = n // 2
        pairs = xp.reshape(mats[:2 * half], (half, 2) + tuple(mats.shape[1:]))
        prod = log_matmul(pairs[:, 0], pairs[:, 1], op)
        mats = xp.concat([prod, mats[2 * half:]], axis=0) if n % 2 else prod
    return mats[0]


def chain_prefix(mats: Any, op: str = "sum") -> Any:
    """Every prefix product: ``out[i] = mats[0] @ ... @ mats[i]`` (log space), ``(n, ..., K,
    K)``: the backend's ``associative_scan`` on eager engines (``O(n)`` products in about
    ``2 log2 n`` batched steps), two nested block loops on an engine that compiles (as in
    :func:`chain_product`).

    >>> import numpy as np
    >>> m = np.log(np.random.default_rng(1).dirichlet(np.ones(2), size=(4, 2)))
    >>> out = chain_prefix(m)
    >>> bool(np.allclose(out[2], np.log(np.exp(m[0]) @ np.exp(m[1]) @ np.exp(m[2]))))
    True
    """
    be = backend_of(mats)
    n = int(mats.shape[0])
    if be.SUPPORTS_JIT and n > SCAN_MIN:
        return _blocked_prefix(mats, op)
    return be.associative_scan(lambda a, b: log_matmul(a, b, op), mats)


def _blocks(mats: Any) -> Any:
    """The stack ``(n, ..., K, K)`` padded with log-identities to ``B * L`` matrices
    (``L = ceil(sqrt(n))``, ``B = ceil(n / L)``) and laid out as ``(L, B, ..., K, K)``:
    ``out[l, b] = mats[b * L + l]``."""
    xp = backend_of(mats).xp
    n = int(mats.shape[0])
    width = math.isqrt(n - 1) + 1
    nblocks = -(-n // width)
    rest = tuple(int(s) for s in mats.shape[1:])
    pad = nblocks * width - n
    if pad:
        eye = xp.eye(rest[-1], dtype=mats.dtype)
        ident = xp.where(eye > 0, xp.zeros_like(eye), xp.full_like(eye, -math.inf))
        mats = xp.concat([mats, xp.broadcast_to(ident, (pad,) + rest)], axis=0)
    return xp.moveaxis(xp.reshape(mats, (nblocks, width) + rest), 1, 0)


def _blocked_product(mats: Any, op: str) -> Any:
    """:func:`chain_product` as two loops (``be.scan``): the ``B`` block products advance
    together through the ``L`` steps of a block, then the block products are multiplied in
    order. ``L + B - 2`` sequential steps, two compiled loop bodies."""
    be = backend_of(mats)
    steps = _blocks(mats)

    def mul(carry: Any, m: Any) -> tuple[Any, None]:
        return log_matmul(carry, m, op), None

    within, _ = be.scan(mul, steps[0], steps[1:])
    total, _ = be.scan(mul, within[0], within[1:])
    return total


def _blocked_prefix(mats: Any, op: str) -> Any:
    """:func:`chain_prefix` from the same blocks: every prefix within a block (one loop over
    the ``L`` steps), the inclusive prefixes of the block products (one loop over the ``B``
    blocks), then one batched product joins them."""
    be = backend_of(mats)
    xp = be.xp
    n = int(mats.shape[0])
    steps = _blocks(mats)

    def mul(carry: Any, m: Any) -> tuple[Any, Any]:
        out = log_matmul(carry, m, op)
        return out, out

    _, ys = be.scan(mul, steps[0], steps[1:])
    within = xp.concat([steps[0][None], ys], axis=0)          # (L, B, ...): prefix in block
    totals = within[-1]
    _, ys = be.scan(mul, totals[0], totals[1:])
    inclusive = xp.concat([totals[:1], ys], axis=0)           # blocks 0 .. b
    before = inclusive[:-1]                                   # blocks 0 .. b-1, for b >= 1
    joined = log_matmul(xp.broadcast_to(before[None], (int(within.shape[0]),) + tuple(
        int(s) for s in before.shape)), within[:, 1:], op)
    out = xp.concat([within[:, :1], joined], axis=1)          # (L, B, ...)
    out = xp.moveaxis(out, 0, 1)
    return xp.reshape(out, (-1,) + tuple(int(s) for s in mats.shape[1:]))[:n]


def chain_reduce(mats: Any, op: str = "sum", axis: int = -2) -> Any:
    """The log-space product of the stack ``mats`` (``(n, ..., K, K)``, as
    :func:`chain_product`) reduced at once over one end's state: ``axis=-2`` sums (``op="max"``:
    maximizes) out the first state, ``axis=-1`` the last; ``(..., K)``.

    On an engine that compiles, a chain longer than :data:`SCAN_MIN` runs as one loop over
    vector messages (the forward algorithm for ``axis=-2``, the backward one for ``axis=-1``):
    ``O(n K^2)`` work and one loop body (and one for its gradient) for the compiler, where the
    blocked product has two. Elsewhere it reduces :func:`chain_product`.

    >>> import numpy as np
    >>> m = np.log(np.random.default_rng(0).dirichlet(np.ones(3), size=(5, 3)))
    >>> ref = np.log(np.linalg.multi_dot(list(np.exp(m))))
    >>> bool(np.allclose(np.exp(chain_reduce(m, axis=-1)), np.exp(ref).sum(-1)))
    True
    """
    be = backend_of(mats)
    xp = be.xp
    if axis not in (-1, -2):
        raise ValueError(f"chain_reduce: axis must be -1 or -2, got {axis!r}")
    reduce = _logsumexp if op == "sum" else (lambda x, axis: xp.max(x, axis=axis))
    if not (be.SUPPORTS_JIT and int(mats.shape[0]) > SCAN_MIN and VECTOR_SCAN):
        return reduce(chain_product(mats, op), axis)
    if axis == -1:  # the backward algorithm: the message over the first state of what follows
        def step(beta: Any, m: Any) -> tuple[Any, None]:
            return reduce(m + xp.expand_dims(beta, axis=-2), -1), None

        beta, _ = be.scan(step, reduce(mats[-1], -1), xp.flip(mats[:-1], axis=0))
        return beta

    def step_fwd(alpha: Any, m: Any) -> tuple[Any, None]:
        return reduce(xp.expand_dims(alpha, axis=-1) + m, -2), None

    alpha, _ = be.scan(step_fwd, reduce(mats[0], -2), mats[1:])
    return alpha


def find_chain(v: str, live: dict, by_label: dict, is_local: Callable[[str], bool]
               ) -> tuple[list[str], list[list[int]]] | None:
    """``(chain, groups)`` of the Markov chain that starts at variable ``v``, or None.

    ``chain = [u_0 = v, u_1, ..., u_n]`` are local variables of one size; ``groups[i]`` the ids
    (keys of ``live``, whose values are ``(tensor, labels)``) of the factors that eliminating
    ``u_i`` gathers: each touches ``u_i`` and no local variable but ``u_{i+1}``, and at least one
    touches ``u_{i+1}``. The last variable ``u_n`` is not eliminated: its own factors stay live.
    None when the chain eliminates fewer than :data:`MIN_CHAIN` variables.

    >>> import numpy as np
    >>> live = {0: (np.zeros(2), ("a",)), 1: (np.zeros((2, 2)), ("a", "b")),
    ...         2: (np.zeros((2, 2)), ("c", "b")), 3: (np.zeros(2), ("c",))}
    >>> by_label = {"a": {0, 1}, "b": {1, 2}, "c": {2, 3}}
    >>> find_chain("a", live, by_label, lambda lab: True)
    (['a', 'b', 'c'], [[0, 1], [2]])
    """
    chain, groups = [v], []
    size: int | None = None
    taken: set[int] = set()
    cur = v
    while True:
        ids = sorted(i for i in by_label.get(cur, ()) if i not in taken)
        nxt, ok, k_cur, k_nxt = None, True, None, None
        for i in ids:
            t, labs = live[i]
            for lab, n in zip(labs, t.shape, strict=True):
                if lab == cur:
                    k_cur = int(n)
                elif is_local(lab):
                    if nxt is None:
                        nxt = lab
                    if lab != nxt:
                        ok = False
                        break
                    k_nxt = int(n)
            if not ok:
                break
        if not ok or nxt is None:
            break
        size = k_cur if size is None else size
        if k_cur != size or k_nxt != size:
            break
        groups.append(ids)
        taken.update(ids)
        chain.append(nxt)
        cur = nxt
    if len(groups) < MIN_CHAIN:
        return None
    return chain, groups


def contract_chain(chain: Sequence[str], groups: Sequence[Sequence[tuple[Any, tuple]]],
                   op: str = "sum", record: list | None = None) -> tuple[Any, tuple]:
    """Eliminate ``chain[:-1]`` from the factors ``groups`` (as found by :func:`find_chain`,
    ``groups[i]`` a list of ``(tensor, labels)``): ``(message, labels)``, the log-sum (or max)
    over those variables of the product of the factors, over ``chain[-1]`` and the factors' other
    labels. With ``record`` a list, appends ``(u_i, phi_i, labels)`` per eliminated variable as
    :func:`polyro.inference.enum.sum_product` does (``phi_i`` the forward message into ``u_i``
    plus the step's factors, over the batch labels, ``u_i`` and ``u_{i+1}``).

    >>> import numpy as np
    >>> p0, a = np.log(np.array([0.3, 0.7])), np.log(np.array([[0.9, 0.1], [0.4, 0.6]]))
    >>> groups = [[(p0, ("x0",)), (a, ("x0", "x1"))], [(a, ("x1", "x2"))]]
    >>> msg, labs = contract_chain(["x0", "x1", "x2"], groups)
    >>> labs, bool(np.allclose(np.exp(msg), np.exp(p0) @ np.exp(a) @ np.exp(a)))
    (('x2',), True)
    """
    from polyro.inference.enum.contract import aligned_sum

    be = backend_of(*[t for g in groups for t, _ in g])
    xp = be.xp
    in_chain = set(chain)
    batch: list[str] = []
    sizes: dict[str, int] = {}
    for g in groups:
        for t, labs in g:
            for lab, n in zip(labs, t.shape, strict=True):
                if lab not in in_chain and lab not in batch:
                    batch.append(lab)
                sizes.setdefault(lab, int(n))
    k = sizes[chain[0]]
    full = tuple(sizes[lab] for lab in batch) + (k, k)
    steps = []
    for i, g in enumerate(groups):
        n_i = aligned_sum(g, tuple(batch) + (chain[i], chain[i + 1]))
        steps.append(xp.broadcast_to(n_i, full))
    mats = xp.stack(steps)
    reduce = _logsumexp if op == "sum" else (lambda x, axis: xp.max(x, axis=axis))
    if record is None:
        msg = chain_reduce(mats, op, -2)
    else:
        prefix = chain_prefix(mats, op)
        alpha = xp.zeros_like(mats[0, ..., 0])
        for i in range(len(groups)):
            if i:
                alpha = reduce(prefix[i - 1], -2)
            phi = xp.expand_dims(alpha, axis=-1) + mats[i]
            record.append((chain[i], phi, tuple(batch) + (chain[i], chain[i + 1])))
        msg = reduce(prefix[len(groups) - 1], -2)
    return msg, tuple(batch) + (chain[-1],)
