"""Contracting :class:`~polyro.core.handlers.vectorized_markov.vectorized_markov` chains.

A vectorized chain leaves two sets of factors in an enumerated trace: those of the first step
(over the first step's enumerated sites ``p_1 .. p_k``, outside the chain's plate ``M``) and
those of the vectorized step (in ``M``, over ``p_j`` read as the state at ``t - 1`` and the
vectorized step's sites ``c_j`` as the state at ``t``). :func:`contract_vectorized_chains`
replaces the second set by one factor over the ``p_j``:

1. the factors in ``M`` are combined per step, with the step's own local enumerated variables
   and nested plates contracted (:func:`polyro.inference.enum.sum_product` with the chain's
   labels kept free), into one ``(n, ..., K_p, K_c)`` log-matrix per step, the ``k`` states of a
   step flattened into one axis;
2. the ``n`` matrices are multiplied in log space by a balanced tree
   (:func:`polyro.inference.enum.chain.chain_product`, ``ceil(log2 n)`` batched products);
3. the last state is summed (or maximized) out, leaving a message over the first step's state.

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

from polyro.backends import backend_of
from polyro.core.handlers.vectorized_markov import VMARKOV_KEY
from polyro.errors import ModelError
from polyro.inference.enum.chain import _logsumexp, chain_product

__all__ = ["contract_vectorized_chains", "vectorized_chains"]


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
                               chains: dict[str, list[tuple[str, str]]], op: str = "sum"
                               ) -> tuple[list, dict, list]:
    """``(factors, var_ordinals, order)`` with every chain of ``chains`` (from
    :func:`vectorized_chains`) contracted into one factor over its first step's state; the
    vectorized steps' variables are gone from ``var_ordinals`` and ``order``.

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
        local = {v: o - outer - {m} for v, o in var_ordinals.items()
                 if m in o and v not in currs}
        deeper = set().union(*[set(o) for _, _, o in inside]) - outer - {m}
        other: list[str] = []
        for _, labs, _ in inside:
            other += [lab for lab in labs if lab not in other and lab != m and lab not in outer
                      and lab not in local and lab not in deeper and lab not in prevs
                      and lab not in currs]
        batch = tuple(sorted(outer)) + tuple(other)
        keep = (m,) + batch + tuple(prevs) + tuple(currs)
        sub = [(t, labs, frozenset(o) - outer - {m}) for t, labs, o in inside]
        r = sum_product(sub, local, plate_sizes, op, [v for v in order if v in local],
                        keep=keep)
        msg_t, msg_labs = _chain_message(r, m, batch, pairs, plate_sizes, op)
        factors = rest + [(msg_t, msg_labs, outer)]
        for v in list(local) + currs:
            var_ordinals.pop(v, None)
        order = [v for v in order if v in var_ordinals]
    return factors, var_ordinals, order


def _chain_message(r: Any, m: str, batch: tuple, pairs: list[tuple[str, str]],
                   plate_sizes: dict, op: str) -> tuple[Any, tuple]:
    """Multiply the per-step log-matrices ``r`` (axes ``(m, *batch, *prevs, *currs)``) along
    ``m`` and reduce the last state: ``(message, labels)`` over ``batch`` and the prevs."""
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
    mats = xp.reshape(r, (n,) + bshape + (kk, kk))
    prod = chain_product(mats, op)
    msg = _logsumexp(prod, -1) if op == "sum" else xp.max(prod, axis=-1)
    msg = xp.reshape(msg, bshape + tuple(sizes))
    labels = batch + tuple(p for p, _ in pairs)
    keep_axes = [i for i, s in enumerate(msg.shape) if int(s) != 1]
    if len(keep_axes) != len(labels):
        msg = xp.reshape(msg, tuple(int(msg.shape[i]) for i in keep_axes))
        labels = tuple(labels[i] for i in keep_axes)
    return msg, labels
