"""Contracting :class:`~polyro.core.handlers.vectorized_markov.vectorized_markov` chains.

A vectorized chain leaves two sets of factors in an enumerated trace: those of the first step
(over the first step's enumerated sites ``p_1 .. p_k``, outside the chain's plate ``M``) and
those of the vectorized step (in ``M``, over ``p_j`` read as the state at ``t - 1`` and the
vectorized step's sites ``c_j`` as the state at ``t``). :func:`contract_vectorized_chains`
replaces the second set by one factor over the ``p_j``:

1. the factors in ``M`` are combined per step, plates nested in the step reduced
   (:func:`polyro.inference.enum.sum_product` with the chain's labels kept free), into one
   ``(n, ..., K_p, K_c)`` log-matrix per step, the ``k`` states of a step flattened into one
   axis (every enumerated site of a step is paired, so a step has no other enumerated
   variables: a per-step mixture component is a chain state the next step ignores);
2. the ``n`` matrices are multiplied in log space and the last state is summed (or
   maximized) out, leaving a message over the first step's state
   (:func:`polyro.inference.enum.chain.chain_reduce`: ``ceil(log2 n)`` batched products, or
   on an engine that compiles one loop over vector messages, the backward algorithm).

The rest of the trace is then contracted as usual, so every consumer of
:func:`polyro.inference.enum.trace_factors` (``log_marginal``, ``TraceEnum_ELBO``, NUTS/HMC with
enumerated sites) handles vectorized chains without knowing about them.

>>> chains = vectorized_chains({})
>>> chains
{}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polyro.backends import backend_of
from polyro.core.handlers.vectorized_markov import VMARKOV_KEY
from polyro.errors import ModelError
from polyro.inference.enum.chain import _logsumexp, chain_reduce

__all__ = ["contract_vectorized_chains", "sample_chain", "vectorized_chains"]


def vectorized_chains(tr: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """``{chain: [(first-step site, vectorized-step site), ...]}``: the enumerated sites of each
    vectorized chain of an enumerated trace, paired in order. Chains without enumerated sites,
    or of one step, are left out.

    >>> vectorized_chains({"x": {"type": "sample", "infer": {}}})
    {}
    """
    first: dict[str, list[str]] = {}
    later: dict[str, list[str]] = {}
    vectorized: set[str] = set()
    for name, site in tr.items():
        if site.get("type") != "sample":
            continue
        mark = site["infer"].get(VMARKOV_KEY)
        if mark is None:
            continue
        if mark[1] == 1:
            vectorized.add(mark[0])
        if "_enumerate_dim" in site["infer"]:
            (first if mark[1] == 0 else later).setdefault(mark[0], []).append(name)
    chains = {}
    for m in sorted(vectorized):
        a, b = first.get(m, []), later.get(m, [])
        if len(a) != len(b):
            raise ModelError(
                f"vectorized_markov {m!r}: the first step enumerates {a} but the vectorized "
                f"step enumerates {b}; each step must enumerate the same sites (the k-th of "
                "one step is the k-th of the other, one step later). Enumerate the same "
                "variables in every step."
            )
        for p, c in zip(a, b, strict=True):
            kp, kc = tr[p]["infer"]["_enum_support"][0], tr[c]["infer"]["_enum_support"][0]
            if kp != kc:
                raise ModelError(
                    f"vectorized_markov {m!r}: site {c!r} (support size {kc}) continues "
                    f"{p!r} (support size {kp}); a chain's state must keep its support size."
                )
        if a:
            chains[m] = list(zip(a, b, strict=True))
    return chains


def contract_vectorized_chains(factors: Sequence[tuple], var_ordinals: dict[str, frozenset],
                               plate_sizes: dict[str, int], order: Sequence[str],
                               chains: dict[str, list[tuple[str, str]]], op: str = "sum",
                               steps: dict | None = None) -> tuple[list, dict, list]:
    """``(factors, var_ordinals, order)`` with every chain of ``chains`` (from
    :func:`vectorized_chains`) contracted into one factor over its first step's state; the
    vectorized steps' variables are gone from ``var_ordinals`` and ``order``.

    With ``steps`` a dict, ``steps[chain]`` is set to ``(mats, batch, pairs, sizes)``: the
    stacked per-step log-matrices ``(n, *batch, K, K)`` (the states of the chain's pairs
    flattened, first pair slowest), the labels of the batch axes, the chain's pairs and their
    support sizes (what :func:`sample_chain` and ``infer_discrete`` need).

    >>> contract_vectorized_chains([], {}, {}, [], {})
    ([], {}, [])
    """
    from polyro.inference.enum.contract import sum_product

    factors, var_ordinals, order = list(factors), dict(var_ordinals), list(order)
    for m, pairs in chains.items():
        prevs = [p for p, _ in pairs]
        currs = [c for _, c in pairs]
        inside = [f for f in factors if m in f[2]]
        rest = [f for f in factors if m not in f[2]]
        for _, labs, _ in rest:
            late = [c for c in currs if c in labs]
            if late:
                raise ModelError(
                    f"vectorized_markov {m!r}: a factor outside the chain uses {late}, the "
                    "state of the vectorized steps; the chain's state cannot be used after "
                    "the loop. Use markov(range(T)) to use the last state."
                )
        outer = frozenset.intersection(*[frozenset(o) for _, _, o in inside]) - {m}
        for p in prevs:
            if var_ordinals[p] != outer:
                raise ModelError(
                    f"vectorized_markov {m!r}: the first step's site {p!r} lives in plates "
                    f"{sorted(var_ordinals[p])} but the chain's steps in {sorted(outer)}; "
                    "enumerate the state in the plates that enclose the loop."
                )
        deeper = set().union(*[set(o) for _, _, o in inside]) - outer - {m}
        other: list[str] = []
        for _, labs, _ in inside:
            other += [lab for lab in labs if lab not in other and lab != m and lab not in outer
                      and lab not in deeper and lab not in prevs
                      and lab not in currs]
        batch = tuple(sorted(outer)) + tuple(other)
        keep = (m,) + batch + tuple(prevs) + tuple(currs)
        sub = [(t, labs, frozenset(o) - outer - {m}) for t, labs, o in inside]
        r = sum_product(sub, {}, plate_sizes, op, keep=keep)
        mats, ks = _step_matrices(r, m, batch, pairs, plate_sizes)
        if steps is not None:
            steps[m] = (mats, batch, pairs, ks)
        msg_t, msg_labs = _chain_message(mats, ks, batch, pairs, op)
        factors = rest + [(msg_t, msg_labs, outer)]
        for v in currs:
            var_ordinals.pop(v, None)
        order = [v for v in order if v in var_ordinals]
    return factors, var_ordinals, order


def _step_matrices(r: Any, m: str, batch: tuple, pairs: list[tuple[str, str]],
                   plate_sizes: dict) -> tuple[Any, list[int]]:
    """The per-step log-matrices ``r`` (axes ``(m, *batch, *prevs, *currs)``, broadcast) as one
    ``(n, *batch, K, K)`` stack over the flattened joint state, and the pairs' support sizes."""
    xp = backend_of(r).xp
    n = int(plate_sizes[m])
    nb, k = len(batch), len(pairs)
    shape = tuple(int(s) for s in r.shape)
    sizes = [max(shape[1 + nb + i], shape[1 + nb + k + i]) for i in range(k)]
    bshape = shape[1:1 + nb]
    r = xp.broadcast_to(r, (n,) + bshape + tuple(sizes) + tuple(sizes))
    kk = 1
    for s in sizes:
        kk *= s
    return xp.reshape(r, (n,) + bshape + (kk, kk)), sizes


def _chain_message(mats: Any, sizes: list[int], batch: tuple, pairs: list[tuple[str, str]],
                   op: str) -> tuple[Any, tuple]:
    """Multiply the step matrices along time and reduce the last state: ``(message, labels)``
    over ``batch`` and the first step's sites (size-1 axes dropped)."""
    xp = backend_of(mats).xp
    msg = chain_reduce(mats, op, -1)
    bshape = tuple(int(s) for s in mats.shape[1:-2])
    msg = xp.reshape(msg, bshape + tuple(sizes))
    labels = batch + tuple(p for p, _ in pairs)
    keep_axes = [i for i, s in enumerate(msg.shape) if int(s) != 1]
    if len(keep_axes) != len(labels):
        msg = xp.reshape(msg, tuple(int(msg.shape[i]) for i in keep_axes))
        labels = tuple(labels[i] for i in keep_axes)
    return msg, labels


def sample_chain(mats: Any, first: Any, temperature: int, draw: Any = None) -> Any:
    """The joint states of steps ``1 .. n`` of a chain given its first state: ``(n, *batch)``
    integer indices. ``mats`` is the ``(n, *batch, K, K)`` stack of step log-matrices
    (``mats[t][a, b]``: from state ``a`` at step ``t`` to ``b`` at ``t + 1``), ``first`` the
    ``(*batch)`` indices of the first step's state.

    ``temperature=1`` draws each state from its exact conditional given the one before and
    every later factor (forward filtering is already in ``first``; the backward messages are
    suffix products, :func:`~polyro.inference.enum.chain.chain_prefix`); ``draw(shape)`` returns
    the Gumbel noise of all ``n`` steps at once, ``shape = (n, *batch, K)``. ``temperature=0``
    takes the max-product (Viterbi) path. The forward pass is one ``be.scan`` over the steps
    (a compiled loop on JAX, whatever ``n``).

    >>> import numpy as np
    >>> m = np.log(np.array([[[0.9, 0.1], [0.1, 0.9]]] * 3))   # a sticky 2-state chain
    >>> sample_chain(m, np.array(1), 0).tolist()
    [1, 1, 1]
    """
    from polyro.inference.enum.chain import chain_prefix

    be = backend_of(mats)
    xp = be.xp
    op = "sum" if temperature == 1 else "max"
    n = int(mats.shape[0])
    k = int(mats.shape[-1])
    shape = tuple(int(s) for s in mats.shape[1:-2])
    fshape = tuple(int(s) for s in getattr(first, "shape", ()))
    full = tuple(int(s) for s in np.broadcast_shapes(shape, fshape))
    mats = xp.broadcast_to(mats, (n,) + full + (k, k))
    x = xp.broadcast_to(xp.asarray(first), full)
    # suffix products S_j = mats[j] @ ... @ mats[n-1]: prefix products of the reversed,
    # transposed stack, transposed back
    pre = chain_prefix(xp.flip(xp.matrix_transpose(mats), axis=0), op)
    suf = xp.flip(xp.matrix_transpose(pre), axis=0)
    reduce = _logsumexp if op == "sum" else (lambda a, axis: xp.max(a, axis=axis))
    zero = xp.zeros(full + (1, k), dtype=mats.dtype)
    betas = xp.concat([reduce(suf[1:], -1), zero[..., 0, :][None]], axis=0) if n > 1 else (
        zero[..., 0, :][None])
    xs = (mats, betas) if temperature != 1 else (
        mats, betas, xp.asarray(draw((n,) + full + (k,)), dtype=mats.dtype))

    def step(x: Any, inp: tuple) -> tuple[Any, Any]:
        idx = xp.broadcast_to(xp.reshape(x, full + (1, 1)), full + (1, k))
        row = xp.take_along_axis(inp[0], xp.astype(idx, xp.int64), axis=-2)[..., 0, :]
        logits = row + inp[1] if len(inp) == 2 else row + inp[1] + inp[2]
        x = xp.argmax(logits, axis=-1)
        return x, x

    x, x1 = step(x, tuple(v[0] for v in xs))   # the carry takes argmax's dtype
    if n == 1:
        return x1[None]
    _, rest = be.scan(step, x, tuple(v[1:] for v in xs))
    return xp.concat([x1[None], rest], axis=0)
