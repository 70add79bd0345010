"""Recursion-free NUTS trajectory (multinomial sampling, generalized U-turn, max tree depth).

The tree doubles ``max_tree_depth`` times at most. Each doubling builds a subtree of ``2^d``
leapfrog steps in a random direction with a *flat* loop (no recursion): the U-turn criterion of
every balanced sub-subtree is checked from a fixed-shape stack of checkpoints (momentum and
running momentum sum at the leftmost leaf of each open sub-subtree). For leaf ``n`` (counted from
0 inside the subtree) the stack slot is ``popcount(n)``; an even leaf stores a checkpoint, and an
odd leaf closes the sub-subtrees of sizes ``2, 4, ..., 2^t`` (``t`` = trailing ones of ``n``),
whose checkpoints are the slots ``popcount(n) - t .. popcount(n) - 1``.

All random numbers of one transition are drawn up front (momentum, directions, one uniform per
doubling and one per leaf), so the inner loop makes exactly one potential-and-gradient call per
leapfrog step and no key splitting. Everything is written with ``where`` selects and
``while_loop``, so it compiles under ``jit`` and serves a batch of chains (``batched=True``: every
per-chain scalar has a leading chain axis) as well as one chain.

>>> _popcount_ref(11), _trailing_ones_ref(11)
(3, 2)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from .integrator import MassSpec, kinetic_energy, leapfrog, sample_momentum, velocity
from .util import LazyRecording, int_dtype, make_branch, make_select, masked_while

__all__ = ["nuts_transition", "NUTSResult", "random_size", "LeafRunner"]


def _popcount_ref(n: int) -> int:
    return bin(n).count("1")


def _trailing_ones_ref(n: int) -> int:
    return _popcount_ref(n ^ (n + 1)) - 1


class NUTSResult(NamedTuple):
    """Outcome of one NUTS transition."""

    x: Any
    pe: Any
    grad: Any
    energy: Any
    accept_prob: Any
    num_steps: Any
    diverging: Any
    depth: Any


class _Tree(NamedTuple):
    xl: Any
    rl: Any
    gl: Any
    xr: Any
    rr: Any
    gr: Any
    xp: Any
    pep: Any
    gp: Any
    ep: Any
    w: Any
    rsum: Any
    depth: Any
    turning: Any
    diverging: Any
    sum_acc: Any
    n_steps: Any


class _Sub(NamedTuple):
    x: Any
    r: Any
    g: Any
    xp: Any
    pep: Any
    gp: Any
    ep: Any
    w: Any
    rsum: Any
    ck_r: Any
    ck_s: Any
    n: Any
    turning: Any
    diverging: Any
    sum_acc: Any
    go: Any  # another leaf follows: fewer leaves than the subtree's, no U-turn, no divergence


@functools.lru_cache(maxsize=8)
def _checkpoint_tables(max_depth: int) -> tuple[Any, Any]:
    """Per leaf index ``n`` of a subtree: the checkpoint slot it writes (even ``n``: slot
    ``popcount(n)``) and the slots whose sub-subtrees end at ``n`` (odd ``n``)."""
    import numpy as np

    n_max = 2 ** max(max_depth - 1, 0)
    write = np.zeros((n_max, max_depth), dtype=bool)
    check = np.zeros((n_max, max_depth), dtype=bool)
    for n in range(n_max):
        pc = _popcount_ref(n)
        if n % 2 == 0:
            write[n, pc] = True
        t1 = _trailing_ones_ref(n)
        check[n, pc - t1:pc] = True
    return write, check


def _gather(x: Any, idx: Any, xp: Any) -> Any:
    """``x[..., idx]`` with one index per batch element."""
    return xp.take_along_axis(x, idx[..., None], axis=-1)[..., 0]


def _picker(take_row: Callable | None, xp: Any) -> Callable:
    """``pick(x, i)`` = ``x[..., i]`` (one index per batch element): the backend's ``take_row``
    where one chain may use it (fewer operations), else :func:`_gather`."""
    if take_row is not None:
        return take_row
    return lambda x, i: _gather(x, i, xp)


def _gather_row(tab: Any, idx: Any, xp: Any) -> Any:
    """``tab[idx]`` (rows of a table) for a scalar or batched integer ``idx``."""
    if idx.ndim == 0:
        return xp.take(tab, xp.reshape(idx, (1,)), axis=0)[0]
    return xp.take(tab, idx, axis=0)


def random_size(dim: int, max_depth: int) -> int:
    """Number of uniforms one NUTS transition consumes."""
    return dim + 2 * max_depth + 2 ** max_depth


def _is_turning(v_left: Any, v_right: Any, rsum: Any, xp: Any) -> Any:
    return (xp.sum(v_left * rsum, axis=-1) <= 0) | (xp.sum(v_right * rsum, axis=-1) <= 0)


def _make_leaf(vg: Callable, spec: MassSpec, max_delta: float, write_tab: Any, check_tab: Any,
               xp: Any, sel: Callable, branch: Callable, take_row: Callable | None = None,
               parity: int | None = None) -> Callable:
    """``leaf(s, step_e, energy0, log_u_leaf, base, n_leaves, inv_mass, log_u_n=None,
    row_n=None) -> _Sub``: one
    leapfrog step of a subtree with its bookkeeping (multinomial weight and choice,
    checkpoints, U-turn checks, and whether another of the subtree's ``n_leaves`` follows).
    Every array it reads is an argument, so that with ``where`` selects (``sel``, ``branch``)
    it can be recorded as one graph. ``take_row(x, i)`` (one chain only: ``i`` a 0-d index)
    is the backend's ``x[i]`` for a non-negative index, where it has one (fewer operations
    than the array API's ``take``, which also wraps negative indices). ``parity`` 0 or 1
    makes a leaf for even or odd leaf indices only (the caller knows which comes: it counts
    the leaves of an eager loop), with only that half of the bookkeeping; ``None`` (the
    default) serves both, choosing by ``s.n``. A caller that knows the leaf's index also
    passes ``log_u_n`` and ``row_n``, its log-uniform and its table row (the write row of an
    even leaf, the check row of an odd one), instead of ``log_u_leaf`` and ``base``; with
    ``n_leaves=None`` it stops the loop after the subtree's last leaf itself (``go`` then
    leaves the subtree's size out)."""
    inf_f = float("inf")
    pick = _picker(take_row, xp)
    if take_row is None:
        def row(tab: Any, i: Any) -> Any:
            return _gather_row(tab, i, xp)
    else:
        row = take_row

    def leaf(s: _Sub, step_e: Any, energy0: Any, log_u_leaf: Any, base: Any, n_leaves: Any,
             inv_mass: tuple, log_u_n: Any = None, row_n: Any = None) -> _Sub:
        x1, r1, pe1, g1 = leapfrog(vg, spec, inv_mass, s.x, s.r, s.g, step_e, xp)
        v1 = velocity(spec, inv_mass, r1, xp)
        e1 = pe1 + 0.5 * xp.sum(r1 * v1, axis=-1)
        delta = e1 - energy0
        # a NaN or infinite energy error is +inf: divergent, and never taken (lw - w_new is
        # then -inf or NaN, below no log-uniform)
        delta = xp.where(xp.abs(delta) < inf_f, delta, inf_f)
        lw = -delta
        w_new = xp.logaddexp(s.w, lw)
        u_n = pick(log_u_leaf, base + s.n) if log_u_n is None else log_u_n
        take = u_n < lw - w_new
        xp_, pep, gp, ep = sel(take, (x1, pe1, g1, e1), (s.xp, s.pep, s.gp, s.ep))
        rsum = s.rsum + r1
        # even leaf: checkpoint (velocity at the first leaf of the sub-subtrees starting
        # here, momentum sum before it); odd leaf: U-turn checks of the sub-subtrees ending
        # here

        def write(op: Any) -> Any:
            ck_v, ck_s, no = op
            w = (row(write_tab, s.n) if row_n is None else row_n)[..., None]
            return (xp.where(w, v1[..., None, :], ck_v), xp.where(w, s.rsum[..., None, :], ck_s),
                    no)

        def check(op: Any) -> Any:
            ck_v, ck_s, _ = op
            sub_sum = rsum[..., None, :] - ck_s
            turn = (xp.sum(ck_v * sub_sum, axis=-1) <= 0) | \
                (xp.sum(v1[..., None, :] * sub_sum, axis=-1) <= 0)
            ends = row(check_tab, s.n) if row_n is None else row_n
            return ck_v, ck_s, xp.any(ends & turn, axis=-1)

        ops = (s.ck_r, s.ck_s, xp.zeros_like(s.turning))
        if parity is None:
            ck_v, ck_s, turning = branch(xp.bitwise_and(s.n, 1) == 1, check, write, ops)
        else:
            ck_v, ck_s, turning = (check if parity else write)(ops)
        n = s.n + 1
        diverging = delta > max_delta
        go = ~(turning | diverging)
        return _Sub(
            x1, r1, g1, xp_, pep, gp, ep,
            w_new, rsum, ck_v, ck_s, n, turning, diverging,
            s.sum_acc + xp.exp(xp.clip(lw, None, 0.0)), go if n_leaves is None else
            (n < n_leaves) & go,
        )

    return leaf


def _make_merge(spec: MassSpec, xp: Any, sel: Callable, at_depth: Callable,
                direction: bool | None = None) -> Callable:
    """``merge(t, s, fwd, log_u_top, inv_mass) -> _Tree``: a doubling's subtree ``s`` joined to
    the tree ``t`` on the side ``fwd`` (multinomial choice between the two by their weights,
    new ends, the U-turn check of the whole trajectory). Every array it reads is an argument,
    so that with ``where`` selects (``sel``) it can be recorded as one graph. ``direction``
    (True: forward) makes a merge for that side only, known to the caller (``fwd`` ignored)."""

    def merge(t: _Tree, s: _Sub, fwd: Any, log_u_top: Any, inv_mass: tuple) -> _Tree:
        valid = (~s.turning) & (~s.diverging)
        accept = valid & (at_depth(log_u_top, t.depth) < s.w - t.w)
        if direction is None:
            xl, rl, gl = sel(fwd, (t.xl, t.rl, t.gl), (s.x, s.r, s.g))
            xr, rr, gr = sel(fwd, (s.x, s.r, s.g), (t.xr, t.rr, t.gr))
        elif direction:
            (xl, rl, gl), (xr, rr, gr) = (t.xl, t.rl, t.gl), (s.x, s.r, s.g)
        else:
            (xl, rl, gl), (xr, rr, gr) = (s.x, s.r, s.g), (t.xr, t.rr, t.gr)
        rsum = t.rsum + s.rsum
        turning = _is_turning(velocity(spec, inv_mass, rl, xp),
                              velocity(spec, inv_mass, rr, xp), rsum, xp)
        return _Tree(
            xl, rl, gl, xr, rr, gr,
            *sel(accept, (s.xp, s.pep, s.gp, s.ep), (t.xp, t.pep, t.gp, t.ep)),
            xp.logaddexp(t.w, s.w), rsum, t.depth + 1,
            s.turning | (valid & turning), s.diverging,
            t.sum_acc + s.sum_acc, t.n_steps + s.n,
        )

    return merge


class LeafRunner:
    """The leaf step of one chain (no batch) on an engine that runs eagerly: the Python-branch
    form runs until the backend records the ``where`` form as one graph (potential, gradient and
    bookkeeping together; see :class:`~polyro.inference.recording.LazyRecording`). Both forms
    compute the same numbers, bit for bit. The loop that calls the runner counts its leaves
    and passes each leaf's index (and log-uniform): even and odd leaves are two recordings,
    each with its half of the bookkeeping (checkpoint writes, U-turn checks), and the table
    rows an index selects are inputs, not lookups."""

    #: Whether ``__call__`` takes the leaf's index in its subtree (known to the caller).
    takes_index = True

    def __init__(self, be: Any, vg: Callable, spec: MassSpec, max_depth: int,
                 max_delta: float) -> None:
        xp = be.xp
        write_np, check_np = _checkpoint_tables(max_depth)
        tabs = (xp.asarray(write_np), xp.asarray(check_np))
        take_row = getattr(be, "take_row", None)
        n = len(_Sub._fields)

        def flat(fn: Callable) -> Callable:  # s, step_e, energy0, log_u_n, row_n, *inv_mass
            def run(*a: Any) -> tuple:
                return tuple(fn(_Sub(*a[:n]), a[n], a[n + 1], None, None, None,
                                tuple(a[n + 4:]), a[n + 2], a[n + 3]))
            return run

        def recording(parity: int) -> LazyRecording:
            eager, where = (_make_leaf(vg, spec, max_delta, *tabs, xp, make_select(be, b),
                                       make_branch(be, b), take_row, parity) for b in (False, True))
            return LazyRecording(be, flat(eager), flat(where))

        self._recs = (recording(0), recording(1))
        # leaf n's table row: its checkpoint slot (even n) or the sub-subtrees it ends (odd n)
        self.rows = tuple(xp.asarray((check_np if i % 2 else write_np)[i])
                          for i in range(write_np.shape[0]))
        at_depth = _picker(take_row, xp)
        nt, ns = len(_Tree._fields), len(_Sub._fields)

        def flat_merge(fn: Callable) -> Callable:
            def run(*a: Any) -> tuple:  # the new tree, and whether it may grow again
                t = fn(_Tree(*a[:nt]), _Sub(*a[nt:nt + ns]), None, a[nt + ns],
                       tuple(a[nt + ns + 1:]))
                return (*t, ~(t.turning | t.diverging))
            return run

        def merge_recording(direction: bool) -> LazyRecording:
            eager, where = (_make_merge(spec, xp, make_select(be, b), at_depth, direction)
                            for b in (False, True))
            return LazyRecording(be, flat_merge(eager), flat_merge(where))

        self._merges = (merge_recording(False), merge_recording(True))

    @property
    def recorded(self) -> bool:
        """Whether leaves now run as recorded graphs (both parities)."""
        return all(r.recorded for r in self._recs)

    def merge(self, t: _Tree, s: _Sub, fwd: bool, log_u_top: Any, inv_mass: tuple
              ) -> tuple[_Tree, Any]:
        """A doubling's subtree joined to the tree (:func:`_make_merge`) on the side ``fwd``
        (a Python bool), recorded once hot; with it, whether the new tree may grow again
        (no U-turn, no divergence)."""
        out = self._merges[fwd](*t, *s, log_u_top, *inv_mass)
        return _Tree(*out[:-1]), out[-1]

    def __call__(self, s: _Sub, step_e: Any, energy0: Any, log_u_n: Any, index: int,
                 inv_mass: tuple) -> _Sub:
        """Leaf ``index`` of a subtree (counted by the caller), with its log-uniform ``log_u_n``;
        its ``go`` leaves out the subtree's size (the caller stops after the last leaf)."""
        return _Sub(*self._recs[index & 1](*s, step_e, energy0, log_u_n, self.rows[index],
                                           *inv_mass))


def nuts_transition(be: Any, vg: Callable, spec: MassSpec, inv_mass: tuple, factor: tuple,
                    x: Any, pe: Any, g: Any, step: Any, u: Any, max_depth: int,
                    max_delta: float, batched: bool, leaf: Callable | None = None,
                    depth_limit: Any = None) -> NUTSResult:
    """One NUTS transition from ``(x, pe, g)`` with per-chain step size ``step``. ``leaf``
    (a :class:`LeafRunner`, one chain on an eager engine) runs the leapfrog steps; by default
    they run as written. ``depth_limit`` (default ``max_depth``, which sizes the tables) may be
    a smaller depth, an array (NumPyro's warmup/sampling pair of depths).

    Non-finite energies (a NaN or inf potential or gradient, or an exception turned into
    ``+inf``) and energy errors above ``max_delta`` end the trajectory as divergent; such leaves
    have zero weight and are never selected, so no NaN reaches the draws.
    """
    xp = be.xp
    bshape = tuple(pe.shape)
    dt = x.dtype
    itype = int_dtype(xp)
    D = x.shape[-1]
    # all the randomness of the transition: momentum, directions, doubling and leaf uniforms
    eps_n = be.ndtri(u[..., :D])
    r0 = sample_momentum(spec, factor, eps_n, xp)
    energy0 = pe + kinetic_energy(spec, inv_mass, r0, xp)
    dirs = u[..., D:D + max_depth] < 0.5
    log_u_top = xp.log(u[..., D + max_depth:D + 2 * max_depth])
    log_u_leaf = xp.log(u[..., D + 2 * max_depth:])
    sel = make_select(be, batched)
    neg_inf = xp.full(bshape, -float("inf"), dtype=dt)
    zero_f = xp.zeros(bshape, dtype=dt)
    zero_i = xp.zeros(bshape, dtype=itype)
    false = xp.zeros(bshape, dtype=xp.bool)
    ck_zero = xp.zeros(bshape + (max_depth, D), dtype=dt)

    if leaf is None:
        write_np, check_np = _checkpoint_tables(max_depth)
        leaf = _make_leaf(vg, spec, max_delta, xp.asarray(write_np), xp.asarray(check_np), xp,
                          sel, make_branch(be, batched))

    zero_r, true = xp.zeros_like(r0), ~false

    def start(tree: _Tree, fwd: Any) -> _Sub:
        """A subtree's state before its first leaf: the tree's end on the side ``fwd``."""
        x0, ra, g0 = sel(fwd, (tree.xr, tree.rr, tree.gr), (tree.xl, tree.rl, tree.gl))
        return _Sub(x0, ra, g0, x0, pe, g0, energy0, neg_inf, zero_r, ck_zero, ck_zero, zero_i,
                    false, false, zero_f, true)

    if getattr(leaf, "takes_index", False):
        # one chain in an eager loop (a LeafRunner): the directions are read once, and Python
        # counts the depth, each subtree's leaves and the transition's leaves
        host_dirs = be.to_numpy(dirs).reshape(-1).tolist()
        host_steps = {True: step[..., None], False: (-step)[..., None]}
        host_limit = max_depth if depth_limit is None else int(be.to_numpy(depth_limit))
        done, grows, leaves = [0], [True], [0]  # doublings; still growing; leaves so far

        def tree_cond(t: _Tree) -> Any:
            return done[0] < host_limit and grows[0]

        def tree_body(t: _Tree) -> _Tree:
            fwd = host_dirs[done[0]]
            step_e, size, count = host_steps[fwd], 1 << done[0], [0]

            def body(s: _Sub) -> _Sub:
                k = count[0]
                count[0] += 1
                leaves[0] += 1
                return leaf(s, step_e, energy0, log_u_leaf[..., leaves[0] - 1], k, inv_mass)

            sub = be.while_loop(lambda s: count[0] < size and bool(s.go), body, start(t, fwd))
            done[0] += 1
            t, go = leaf.merge(t, sub, fwd, log_u_top, inv_mass)
            grows[0] = bool(go)
            return t
    else:
        limit = max_depth if depth_limit is None else depth_limit
        at_depth = _picker(None if batched else getattr(be, "take_row", None), xp)
        merge = _make_merge(spec, xp, sel, at_depth)

        def build_subtree(tree: _Tree, fwd: Any) -> _Sub:
            step_e = xp.where(fwd, step, -step)[..., None]
            n_leaves = xp.bitwise_left_shift(xp.ones_like(tree.depth), tree.depth)
            base = tree.n_steps

            def body(s: _Sub) -> _Sub:
                return leaf(s, step_e, energy0, log_u_leaf, base, n_leaves, inv_mass)

            # ``go`` is computed by the leaf itself (in its recorded graph)
            return masked_while(be, lambda s: s.go, body, start(tree, fwd), batched)

        def tree_cond(t: _Tree) -> Any:
            return (t.depth < limit) & (~t.turning) & (~t.diverging)

        def tree_body(t: _Tree) -> _Tree:
            fwd = at_depth(dirs, t.depth)  # v[..., depth]
            return merge(t, build_subtree(t, fwd), fwd, log_u_top, inv_mass)

    init = _Tree(x, r0, g, x, r0, g, x, pe, g, energy0, zero_f, r0, zero_i, false, false,
                 zero_f, zero_i)
    t = masked_while(be, tree_cond, tree_body, init, batched)
    n = t.n_steps
    mean_acc = t.sum_acc / xp.maximum(xp.astype(n, dt), xp.ones_like(t.sum_acc))
    return NUTSResult(t.xp, t.pep, t.gp, t.ep, mean_acc, n, t.diverging, t.depth)
