"""Tensor variable elimination in log space: sum-product and max-product over plated factors.

A *factor* is ``(log_tensor, labels, ordinal)``: one label per axis (an enumerated variable's
name or a plate's name) and the set of plates the factor lives in. Variables are eliminated in
program order inside the deepest plate set first (Obermeyer et al. 2019, "Tensor variable
elimination for plated factor graphs"): the factors of an ordinal that share a local variable
are contracted with ``opt_einsum.contract`` on the backend's arrays (shifted by their maxima, so
the log-sum-exp is stable), then the plates the result no longer depends on are product-reduced
(summed in log space) and the result moves to its parent ordinal.

A Markov chain (variables linked only to their neighbours, as ``markov`` loops leave them) is
eliminated at once: its steps are stacked into one ``(T, ..., K, K)`` tensor and multiplied in
log space by a balanced tree (:mod:`polyro.inference.enum.chain`), ``O(T K^3)`` work in
``O(log T)`` batched operations, so a jitted or differentiated HMM no longer holds T copies of
the contraction. Everything else (and chains, with ``chains=False``) is eliminated one variable
at a time.

>>> import numpy as np
>>> f1 = (np.log(np.array([0.3, 0.7])), ("z",), frozenset())
>>> f2 = (np.log(np.array([[0.5, 0.5], [0.1, 0.9]])), ("z", "y"), frozenset())
>>> round(float(np.exp(sum_product([f1, f2], {"z": frozenset(), "y": frozenset()}, {}))), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import opt_einsum

from polyro.backends import backend_of
from polyro.errors import ModelError
from polyro.inference.enum import chain as _chain
from polyro.inference.enum.chain import contract_chain, find_chain

__all__ = ["align", "log_einsum", "sum_product", "Factor"]

Factor = tuple  # (log tensor, labels tuple, ordinal frozenset)


def _symbols(labels: Sequence[str], table: dict[str, str]) -> str:
    out = []
    for lab in labels:
        if lab not in table:
            table[lab] = opt_einsum.get_symbol(len(table))
        out.append(table[lab])
    return "".join(out)


def align(x: Any, labels: Sequence[str], out_labels: Sequence[str]) -> Any:
    """Permute ``x`` (axes named ``labels``) to the order of ``out_labels``, adding size-1 axes
    for the labels it lacks.

    >>> import numpy as np
    >>> align(np.zeros((2, 3)), ("a", "b"), ("b", "c", "a")).shape
    (3, 1, 2)
    """
    xp = backend_of(x).xp
    labels = tuple(labels)
    present = [lab for lab in out_labels if lab in labels]
    perm = [labels.index(lab) for lab in present]
    if perm != list(range(len(perm))):
        x = xp.permute_dims(x, tuple(perm))
    shape = []
    it = iter(x.shape)
    for lab in out_labels:
        shape.append(next(it) if lab in labels else 1)
    if len(shape) != x.ndim:
        x = xp.reshape(x, tuple(shape))
    return x


def aligned_sum(factors: Sequence[tuple[Any, tuple]], out_labels: Sequence[str]) -> Any:
    """The sum of log-factors ``(tensor, labels)``, each aligned to ``out_labels`` (broadcast).

    >>> import numpy as np
    >>> aligned_sum([(np.zeros(2), ("a",)), (np.ones(3), ("b",))], ("a", "b")).shape
    (2, 3)
    """
    total = None
    for t, labs in factors:
        a = align(t, labs, out_labels)
        total = a if total is None else total + a
    return total


def log_einsum(operands: Sequence[tuple[Any, tuple]], out_labels: Sequence[str],
               op: str = "sum") -> Any:
    """``log(sum/max over the dropped labels of prod exp(operands))``, stably.

    ``op="sum"`` contracts with ``opt_einsum.contract`` on the backend's arrays after shifting
    every operand by its maximum over the dropped labels; ``op="max"`` is the max-plus
    (tropical) product.

    >>> import numpy as np
    >>> a = np.log(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> np.round(np.exp(log_einsum([(a, ("i", "j"))], ("i",))), 9).tolist()
    [3.0, 7.0]
    """
    out_labels = tuple(out_labels)
    be = backend_of(*[t for t, _ in operands])
    xp = be.xp
    if op == "max":
        allv = list(out_labels)
        for _, labs in operands:
            allv += [lab for lab in labs if lab not in allv]
        total = aligned_sum(operands, allv)
        drop = tuple(range(len(out_labels), len(allv)))
        if drop:
            total = xp.max(total, axis=drop)
        return total
    if op != "sum":
        raise ValueError(f"log_einsum: op must be 'sum' or 'max', got {op!r}")
    if len(operands) <= 2 and _union_size(operands) <= _SMALL:
        # small pairwise products (a Markov step): broadcast + logsumexp is a few fused ops and
        # skips opt_einsum's path search
        allv = list(out_labels)
        for _, labs in operands:
            allv += [lab for lab in labs if lab not in allv]
        total = aligned_sum(operands, allv)
        drop = tuple(range(len(out_labels), len(allv)))
        return be.logsumexp(total, axis=drop) if drop else total
    table: dict[str, str] = {}
    shifted, specs, shift_total = [], [], None
    for t, labs in operands:
        labs = tuple(labs)
        drop = tuple(i for i, lab in enumerate(labs) if lab not in out_labels)
        if drop:
            m = be.stop_gradient(xp.max(t, axis=drop, keepdims=True))
            m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
            t = t - m
            kept = tuple(lab for lab in labs if lab in out_labels)
            ms = xp.reshape(m, tuple(s for i, s in enumerate(m.shape) if i not in drop))
            ms = align(ms, kept, out_labels)
            shift_total = ms if shift_total is None else shift_total + ms
        shifted.append(xp.exp(t))
        specs.append(_symbols(labs, table))
    eq = ",".join(specs) + "->" + _symbols(out_labels, table)
    out = xp.log(opt_einsum.contract(eq, *shifted))
    if shift_total is not None:
        out = out + shift_total
    return out


_SMALL = 1 << 16


def _union_size(operands: Sequence[tuple[Any, tuple]]) -> int:
    sizes: dict[str, int] = {}
    for t, labs in operands:
        for lab, n in zip(labs, t.shape, strict=True):
            sizes[lab] = int(n)
    total = 1
    for n in sizes.values():
        total *= n
    return total


def _reduce_plates(t: Any, labels: tuple, plates: frozenset, sizes: dict[str, int]
                   ) -> tuple[Any, tuple]:
    xp = backend_of(t).xp
    axes = tuple(i for i, lab in enumerate(labels) if lab in plates)
    if axes:
        t = xp.sum(t, axis=axes)
    for p in sorted(plates):
        if p not in labels:
            n = sizes.get(p, 1)
            if n != 1:
                t = t * n
    return t, tuple(lab for lab in labels if lab not in plates)


def sum_product(factors: Sequence[Factor], var_ordinals: dict[str, frozenset],
                plate_sizes: dict[str, int], op: str = "sum", order: Sequence[str] | None = None,
                record: list | None = None, chains: bool | None = None,
                keep: Sequence[str] = ()) -> Any:
    """The log of the sum (``op="sum"``) or max (``op="max"``) over every enumerated variable of
    the product of the factors (plates multiply, in log space: sum).

    ``var_ordinals[v]`` is the plate set of variable ``v``; ``order`` the elimination order
    inside an ordinal (default: ``var_ordinals``' order). With ``record`` a list, each
    elimination appends ``(var, log_tensor, labels)``: the combined factor over the variable
    and the variables eliminated after it, which :func:`polyro.inference.enum.infer_discrete`
    samples backwards.

    With ``chains`` (default :data:`polyro.inference.enum.chain.ENABLED`, True), a run of
    variables linked pairwise like the steps of a Markov chain
    (:func:`polyro.inference.enum.chain.find_chain`) is eliminated at once by a log-depth
    product of one stacked tensor (:func:`polyro.inference.enum.chain.contract_chain`);
    ``chains=False`` eliminates them one at a time (same result up to rounding).

    ``keep`` names global labels to leave free (not in ``var_ordinals``: they ride along as
    batch dims and are neither summed nor plate-reduced); the result is then a tensor with one
    axis per label of ``keep``, in that order (size 1 where no factor carries the label).

    >>> import numpy as np
    >>> lp = np.log(np.array([[0.2, 0.8], [0.6, 0.4]]))    # plate "n" of 2, var "z" of 2
    >>> f = (lp, ("n", "z"), frozenset({"n"}))
    >>> round(float(sum_product([f], {"z": frozenset({"n"})}, {"n": 2})), 6)
    0.0
    >>> g = (np.log(np.array([[0.5, 0.5], [0.1, 0.3]])), ("g", "z"), frozenset())
    >>> np.round(np.exp(sum_product([g], {"z": frozenset()}, {}, keep=("g",))), 6).tolist()
    [1.0, 0.4]
    """
    keep = tuple(keep)
    clash = [lab for lab in keep if lab in var_ordinals]
    if clash:
        raise ValueError(f"sum_product: keep={keep} names enumerated variables {clash}; "
                         "labels kept free must not be eliminated")
    order = list(var_ordinals) if order is None else list(order)
    if chains is None:
        chains = _chain.ENABLED
    rank = {v: i for i, v in enumerate(order)}
    by_ord: dict[frozenset, list] = {}
    for t, labels, ordinal in factors:
        by_ord.setdefault(frozenset(ordinal), []).append((t, tuple(labels)))
    total = None
    while by_ord:
        ordinal = max(by_ord, key=lambda o: (len(o), sorted(o)))
        fs = by_ord.pop(ordinal)
        local = sorted({lab for _, labs in fs for lab in labs
                        if lab in var_ordinals and var_ordinals[lab] == ordinal},
                       key=lambda v: rank.get(v, len(rank)))
        # index the factors by label so that each elimination touches only its own factors
        # (a chain of T steps stays O(T))
        live = dict(enumerate(fs))

        def is_local(lab: str, ordinal: frozenset = ordinal) -> bool:
            return lab in var_ordinals and var_ordinals[lab] == ordinal

        by_label: dict[str, set] = {}
        for i, (_, labs) in live.items():
            for lab in labs:
                by_label.setdefault(lab, set()).add(i)
        next_id = len(live)
        done: set[str] = set()
        for v in local:
            if v in done:
                continue
            found = find_chain(v, live, by_label, is_local) if chains else None
            if found is not None:
                chain, groups = found
                involved = [[live.pop(i) for i in ids] for ids in groups]
                for ids, fs_i in zip(groups, involved, strict=True):
                    for _, labs in fs_i:
                        for lab in labs:
                            by_label[lab].difference_update(ids)
                for u in chain[:-1]:
                    by_label.pop(u, None)
                done.update(chain[:-1])
                msg, out = contract_chain(chain, involved, op, record)
            else:
                done.add(v)
                ids = sorted(by_label.pop(v, ()))
                involved = [live.pop(i) for i in ids]
                for _, labs in involved:
                    for lab in labs:
                        if lab != v:
                            by_label[lab].difference_update(ids)
                union: list[str] = []
                for _, labs in involved:
                    union += [lab for lab in labs if lab not in union]
                out = tuple(lab for lab in union if lab != v)
                if record is not None:
                    record.append((v, aligned_sum(involved, union), tuple(union)))
                msg = log_einsum(involved, out, op)
            live[next_id] = (msg, out)
            for lab in out:
                by_label.setdefault(lab, set()).add(next_id)
            next_id += 1
        for t, labs in live.values():
            vs = [lab for lab in labs if lab in var_ordinals]
            target = frozenset().union(*[var_ordinals[v] for v in vs]) if vs else frozenset()
            if not ordinal:
                xp = backend_of(t).xp
                if keep:
                    drop = tuple(i for i, lab in enumerate(labs) if lab not in keep)
                    if drop:
                        t = xp.sum(t, axis=drop)
                        labs = tuple(lab for lab in labs if lab in keep)
                    s = align(t, labs, keep)
                else:
                    s = xp.sum(t) if labs else t
                total = s if total is None else total + s
                continue
            if target == ordinal:
                raise ModelError(
                    f"enumeration: a factor in plates {sorted(ordinal)} depends on enumerated "
                    f"variables {vs} whose plates {[sorted(var_ordinals[v]) for v in vs]} do not "
                    "nest (the plates are not tree-structured); polyro cannot contract this "
                    "exactly. Restructure the model so each enumerated variable's plates "
                    "contain those of the variables it depends on."
                )
            if not target <= ordinal:
                raise ModelError(f"enumeration: variables {vs} live outside plates "
                                 f"{sorted(ordinal)} of a factor that depends on them")
            t, labs = _reduce_plates(t, labs, ordinal - target, plate_sizes)
            by_ord.setdefault(target, []).append((t, labs))
    if total is None:
        return 0.0
    return total
