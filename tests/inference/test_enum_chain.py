"""Issue 7: Markov chains contracted as chains (one stacked tensor, log-depth product).

Oracles: brute-force enumeration over every assignment in numpy float64 (values, MAP paths),
central finite differences of that brute force for gradients (eps 1e-6, tol 1e-5), and polyro's
own one-variable-at-a-time elimination (``chains=False``, itself checked against brute force in
test_enum.py) for chains too long to enumerate. Every computation runs under ``be.jit`` (the
identity on numpy and torch), so JAX is tested compiled (and compiles once per test instead of
once per eager operation).
"""

import contextlib
import itertools

import numpy as np
import pytest
import scipy.stats as st
from scipy.special import logsumexp

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.errors import AutodiffUnavailableError
from polyro.inference.enum import chain as chain_mod
from polyro.inference.enum import contract, infer_discrete, log_marginal, markov, trace_factors
from polyro.inference.enum.chain import (
    chain_prefix,
    chain_product,
    chain_reduce,
    find_chain,
    log_matmul,
)
from polyro.testing import finite_difference_grad

ENUM = {"enumerate": "parallel"}
K = 3
RNG = np.random.default_rng(20261127)
INIT = RNG.dirichlet(np.ones(K))
LOGITS = RNG.normal(size=(K, K))
LOCS = np.array([-1.5, 0.2, 1.7])
YS = RNG.normal(size=10)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def hmm(init, trans, locs, ys):
    x = None
    for t in markov(range(ys.shape[-1])):
        x = polyro.sample(f"x_{t}", dist.Categorical(probs=init if t == 0 else trans[x]),
                          infer=ENUM)
        polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[..., t])
    return x


def plated_hmm(init, trans, locs, ys):
    with polyro.plate("seq", ys.shape[0], dim=-1):
        hmm(init, trans, locs, ys)


def brute_joint(init, trans, locs, ys):
    """Every path ``(K**T, T)`` (itertools.product order) and its log joint ``(K**T,)``."""
    paths = np.array(list(itertools.product(range(len(init)), repeat=len(ys))))
    lp = np.log(init[paths[:, 0]]) + st.norm.logpdf(ys, locs[paths], 1.0).sum(-1)
    lp = lp + np.log(trans[paths[:, :-1], paths[:, 1:]]).sum(-1)
    return paths, lp


def brute_lm(logits, locs, ys):
    return np.logaddexp.reduce(brute_joint(INIT, softmax(logits), locs, ys)[1])


@pytest.fixture
def count_chains(monkeypatch):
    """The number of variables of each chain ``sum_product`` contracts as a chain."""
    calls = []
    real = contract.contract_chain

    def spy(chain, *a, **k):
        calls.append(len(chain) - 1)
        return real(chain, *a, **k)

    monkeypatch.setattr(contract, "contract_chain", spy)
    return calls


def _args(be, ys):
    return [be.asarray(v) for v in (INIT, softmax(LOGITS), LOCS, ys)]


def _map_path(model, T, mpn=0):
    """A function of the model's args: the MAP values of x_0 .. x_{T-1}."""
    def fn(*args):
        tr = handlers.trace(infer_discrete(model, temperature=0, first_available_dim=-mpn - 1)
                            ).get_trace(*args)
        return tuple(tr[f"x_{t}"]["value"] for t in range(T))
    return fn


# ------------------------------------------------------------------------- values
def test_chain_log_marginal_brute_force(backend, count_chains):
    """T=6 (one chain of 5 eliminations); two sequences of 5 in a plate (the plate rides along
    as a batch dim of the stacked chain); x_0 with 2 states before a 3-state chain (the chain
    starts at x_1); a global g touching every step (no chain: one-at-a-time elimination)."""
    ys2 = YS[:10].reshape(2, 5)
    p0 = np.array([0.35, 0.65])
    a0 = RNG.dirichlet(np.ones(K), size=2)
    trans = softmax(LOGITS)
    pg = np.array([0.3, 0.7])
    ys = YS[:5]

    def size_change(p0, a0, trans, locs, ys):
        x = polyro.sample("x_0", dist.Categorical(probs=p0), infer=ENUM)
        for t in markov(range(1, len(ys))):
            x = polyro.sample(f"x_{t}", dist.Categorical(probs=(a0 if t == 1 else trans)[x]),
                              infer=ENUM)
            polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])

    def with_global(pg, trans, locs, ys):
        g = polyro.sample("g", dist.Categorical(probs=pg), infer=ENUM)
        x = None
        for t in markov(range(len(ys))):
            x = polyro.sample(f"x_{t}", dist.Categorical(probs=trans[0 if t == 0 else x]),
                              infer=ENUM)
            polyro.sample(f"y_{t}", dist.Normal(locs[x] + g, 1.0), obs=ys[t])

    def fn(args6, args2, p0, a0, pg):
        counts = []
        init, trans, locs, _ = args6
        out = []
        for model, args, mpn in ((hmm, args6, 0), (plated_hmm, args2, 1),
                                 (size_change, (p0, a0, trans, locs, args6[3][:5]), 0),
                                 (with_global, (pg, trans, locs, args6[3][:4]), 0)):
            out.append(log_marginal(model, *args, max_plate_nesting=mpn))
            counts.append(list(count_chains))
            count_chains.clear()
        return out, counts

    out, counts = backend.jit(fn)(_args(backend, YS[:6]), _args(backend, ys2),
                                  *[backend.asarray(v) for v in (p0, a0, pg)])
    got = [backend.to_numpy(v) for v in out]
    lps = []
    for path in itertools.product(range(K), repeat=len(ys) - 1):
        lp = np.logaddexp.reduce(np.log(p0) + np.log(a0[:, path[0]]))
        lp += sum(np.log(trans[path[i - 1], path[i]]) for i in range(1, len(path)))
        lps.append(lp + st.norm.logpdf(ys[1:], LOCS[list(path)]).sum())
    refs = [brute_lm(LOGITS, LOCS, YS[:6]), sum(brute_lm(LOGITS, LOCS, y) for y in ys2),
            np.logaddexp.reduce(lps),
            np.logaddexp.reduce([np.log(pg[g]) + np.logaddexp.reduce(
                brute_joint(trans[0], trans, LOCS + g, ys[:4])[1]) for g in range(2)])]
    for g, r in zip(got, refs, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10)
    # chains: x_0..x_4; per sequence x_0..x_3; x_1..x_3 after x_0 alone; none with g
    assert counts == [[5], [4], [3], []]


# ------------------------------------------------------------------------- gradients
def _lm_of(ys, init=INIT, trans=None):
    """log p(ys) as a function of (transition logits, locs); ``trans`` fixes the transition
    matrix instead (the logits are then unused)."""
    def f(logits, locs):
        be = polyro.backends.current()
        tr = be.softmax(logits, axis=-1) if trans is None else be.asarray(trans)
        return log_marginal(hmm, be.asarray(init), tr, locs, be.asarray(ys),
                            max_plate_nesting=0)
    return f


@contextlib.contextmanager
def unrolled_numpy():
    """numpy backend, chains eliminated one variable at a time: the reference path."""
    old = chain_mod.ENABLED
    chain_mod.ENABLED = False
    try:
        with polyro.backend("numpy"):
            yield polyro.backends.current()
    finally:
        chain_mod.ENABLED = old


def test_chain_gradients_brute_force(backend):
    """T=6 against brute force and its finite differences; a left-to-right chain (zeros in the
    transition matrix: -inf entries in the stacked products) stays exact with finite
    gradients. numpy raises its no-autodiff error."""
    ys = YS[:6]
    zeros = np.triu(RNG.dirichlet(np.ones(K), size=K) + 0.1)
    zeros /= zeros.sum(-1, keepdims=True)
    init0 = np.array([1.0, 0.0, 0.0])
    f, f0 = _lm_of(ys), _lm_of(ys, init0, zeros)
    x = (backend.asarray(LOGITS), backend.asarray(LOCS))
    with np.errstate(divide="ignore"):
        ref0 = np.logaddexp.reduce(brute_joint(init0, zeros, LOCS, ys)[1])
    if not backend.SUPPORTS_AUTODIFF:
        np.testing.assert_allclose(backend.to_numpy(f0(*x)), ref0, rtol=1e-10)
        with pytest.raises(AutodiffUnavailableError, match="value_and_grad"):
            backend.value_and_grad(f, argnums=(0, 1))(*x)
        return

    def both(logits, locs):
        return (backend.value_and_grad(f, argnums=(0, 1))(logits, locs),
                backend.value_and_grad(f0, argnums=1)(logits, locs))

    (val, (g_logits, g_locs)), (val0, g0) = backend.jit(both)(*x)
    np.testing.assert_allclose(backend.to_numpy(val), brute_lm(LOGITS, LOCS, ys), rtol=1e-10)
    ref_logits = finite_difference_grad(lambda v: brute_lm(v, LOCS, ys), LOGITS)
    ref_locs = finite_difference_grad(lambda v: brute_lm(LOGITS, v, ys), LOCS)
    np.testing.assert_allclose(backend.to_numpy(g_logits), ref_logits, atol=1e-5)
    np.testing.assert_allclose(backend.to_numpy(g_locs), ref_locs, atol=1e-5)
    np.testing.assert_allclose(backend.to_numpy(val0), ref0, rtol=1e-10)
    assert np.all(np.isfinite(backend.to_numpy(g0)))


def test_long_chain_matches_unrolled(backend, count_chains):
    """T=10: the value, and where the engine differentiates the gradients, equal the numpy
    one-variable-at-a-time elimination and its central finite differences."""
    f = _lm_of(YS)
    x = (backend.asarray(LOGITS), backend.asarray(LOCS))
    out = backend.jit(backend.value_and_grad(f, argnums=(0, 1)) if backend.SUPPORTS_AUTODIFF
                      else f)(*x)
    assert count_chains == [len(YS) - 1]
    with unrolled_numpy() as nb:
        def ref(logits, locs):
            return float(f(nb.asarray(logits), nb.asarray(locs)))

        ref_val = ref(LOGITS, LOCS)
        if backend.SUPPORTS_AUTODIFF:
            ref_grads = (finite_difference_grad(lambda v: ref(v, LOCS), LOGITS),
                         finite_difference_grad(lambda v: ref(LOGITS, v), LOCS))
    assert count_chains == [len(YS) - 1]
    val = out[0] if backend.SUPPORTS_AUTODIFF else out
    np.testing.assert_allclose(backend.to_numpy(val), ref_val, rtol=1e-10)
    if backend.SUPPORTS_AUTODIFF:
        for g, r in zip(out[1], ref_grads, strict=True):
            np.testing.assert_allclose(backend.to_numpy(g), r, atol=1e-5)


# ------------------------------------------------------------------------- MAP
def test_chain_map(backend, count_chains):
    """infer_discrete(temperature=0) and the max-product value: T=6 and two plated sequences
    against brute force, T=10 against the numpy one-variable-at-a-time elimination."""
    ys, ys2 = YS[:6], YS[:10].reshape(2, 5)

    def fn(a6, a2, a16):
        etr = handlers.trace(handlers.enum(hmm, first_available_dim=-1)).get_trace(*a6)
        factors, var_ord, sizes, order = trace_factors(etr, 0)
        best = contract.sum_product(factors, var_ord, sizes, "max", order)
        return (_map_path(hmm, 6)(*a6), _map_path(plated_hmm, 5, 1)(*a2),
                _map_path(hmm, len(YS))(*a16), best)

    path, path2, path16, best = backend.jit(fn)(
        _args(backend, ys), _args(backend, ys2), _args(backend, YS))
    paths, lp = brute_joint(INIT, softmax(LOGITS), LOCS, ys)
    assert tuple(int(backend.to_numpy(v)) for v in path) == tuple(paths[int(np.argmax(lp))])
    np.testing.assert_allclose(backend.to_numpy(best), lp.max(), rtol=1e-10)
    got2 = np.stack([backend.to_numpy(v) for v in path2], -1)
    for n in range(2):
        paths, lp = brute_joint(INIT, softmax(LOGITS), LOCS, ys2[n])
        np.testing.assert_array_equal(got2[n], paths[int(np.argmax(lp))])
    assert sorted(count_chains) == [4, 5, 5, len(YS) - 1]
    with unrolled_numpy() as nb:
        ref16 = [int(v) for v in _map_path(hmm, len(YS))(*_args(nb, YS))]
    assert [int(backend.to_numpy(v)) for v in path16] == ref16


# ------------------------------------------------------------------------- engine pieces
def test_chain_product_prefix_and_log_matmul(backend):
    """Odd and even lengths (the tree carries an odd step up a level), batch dims, -inf;
    lengths past ``SCAN_MIN`` (an engine that compiles multiplies them in blocked loops: 30
    fills its 6 x 5 blocks, 17 and 37 pad the last block); log_matmul's exact and matmul forms
    with large magnitudes."""
    mats = [np.log(RNG.dirichlet(np.ones(4), size=(n, 2, 4))) for n in (1, 5, 8, 17, 30, 37)]
    assert chain_mod.SCAN_MIN < 17
    for m in mats:
        m[:, :, 0, 1] = -np.inf
    # not stochastic, so that summing out the last state is not log(1) = 0
    shifted = [m + RNG.normal(size=m.shape) for m in mats]
    a = RNG.normal(size=(3, 5, 6)) * 30.0
    b = RNG.normal(size=(3, 6, 4)) * 30.0
    a[0, 1, :] = -np.inf

    def fn(a, b, *ms):
        out = [log_matmul(a, b, exact=True), log_matmul(a, b, exact=False)]
        for m in ms[:len(mats)]:
            out += [chain_product(m), chain_prefix(m), chain_product(m, "max"),
                    chain_prefix(m, "max")]
        for m in ms[len(mats):]:  # the forward and backward loops of an engine that compiles
            out += [chain_reduce(m, op, ax) for op in ("sum", "max") for ax in (-2, -1)]
        return out

    got = [backend.to_numpy(v) for v in backend.jit(fn)(
        *[backend.asarray(v) for v in (a, b, *mats, *shifted)])]
    with np.errstate(divide="ignore"):
        ref = np.log(np.exp(a - 100) @ np.exp(b - 100)) + 200
        for g in got[:2]:
            assert np.all(g[0, 1] == -np.inf)
            np.testing.assert_allclose(g, ref, rtol=1e-10)
        for i, m in enumerate(mats):
            prods, vit = [np.exp(m[0])], [m[0]]
            for j in range(1, len(m)):
                prods.append(prods[-1] @ np.exp(m[j]))
                vit.append((vit[-1][..., :, :, None] + m[j][..., None, :, :]).max(-2))
            ref_p = np.log(np.stack(prods))
            for g, r in zip(got[2 + 4 * i: 6 + 4 * i], (ref_p[-1], ref_p, vit[-1], np.stack(vit)),
                            strict=True):
                np.testing.assert_allclose(g, r, rtol=1e-12)
        for i, m in enumerate(shifted):
            prod, vit = np.exp(m[0]), m[0]
            for j in range(1, len(m)):
                prod = prod @ np.exp(m[j])
                vit = (vit[..., :, :, None] + m[j][..., None, :, :]).max(-2)
            want = [np.log(prod.sum(-2)), np.log(prod.sum(-1)), vit.max(-2), vit.max(-1)]
            got_r = got[2 + 4 * len(mats) + 4 * i: 6 + 4 * len(mats) + 4 * i]
            for g, r in zip(got_r, want, strict=True):
                np.testing.assert_allclose(g, r, rtol=1e-12)
    with pytest.raises(ValueError, match="axis must be"):
        chain_reduce(backend.asarray(mats[3]), axis=0)
    with pytest.raises(ValueError, match="op must be"):
        log_matmul(backend.asarray(a), backend.asarray(b), "prod")


def test_long_chain_product_gradient(backend):
    """The gradient of a weighted sum of ``chain_product`` over 37 steps with structural zeros
    (the blocked loops on an engine that compiles) equals central finite differences of the
    numpy product; numpy says it cannot differentiate."""
    m = np.log(RNG.dirichlet(np.ones(3), size=(37, 3)))
    m[4, 0, 1] = m[20, :, 2] = -np.inf
    w = RNG.normal(size=(3, 3))

    def ref(v: np.ndarray) -> float:
        p = np.eye(3)
        for x in v:
            p = p @ np.exp(x)
        lp = np.log(p)
        return float((w * lp).sum() + (w[0] * logsumexp(lp, axis=0)).sum()
                     + (w[1] * logsumexp(lp, axis=1)).sum())

    def f(x):
        # the blocked product and, reduced over either end, the forward and backward loops
        xp = backend.xp
        return (xp.sum(backend.asarray(w) * chain_product(x))
                + xp.sum(backend.asarray(w[0]) * chain_reduce(x, axis=-2))
                + xp.sum(backend.asarray(w[1]) * chain_reduce(x, axis=-1)))

    if not backend.SUPPORTS_AUTODIFF:
        with pytest.raises(AutodiffUnavailableError, match="automatic differentiation"):
            backend.grad(f)(backend.asarray(m))
        return
    g = backend.to_numpy(backend.jit(backend.grad(f))(backend.asarray(m)))
    fin = np.isfinite(m)
    with np.errstate(divide="ignore"):
        fd = finite_difference_grad(lambda v: ref(np.where(fin, v, -np.inf)), np.where(fin, m, 0))
    np.testing.assert_allclose(g[fin], fd[fin], atol=1e-6)
    assert np.all(g[~fin] == 0)


def test_find_chain_refuses_non_chains():
    z2, z3 = np.zeros((2, 2)), np.zeros((2, 2, 2))
    # a factor over three local variables (history=2) ends the walk at once
    live = {0: (z3, ("a", "b", "c")), 1: (z2, ("b", "c"))}
    assert find_chain("a", live, {"a": {0}, "b": {0, 1}, "c": {0, 1}}, lambda v: True) is None
    # a branching variable: b links to c and d
    live = {0: (z2, ("a", "b")), 1: (z2, ("b", "c")), 2: (z2, ("b", "d"))}
    by = {"a": {0}, "b": {0, 1, 2}, "c": {1}, "d": {2}}
    assert find_chain("a", live, by, lambda v: True) is None
    # non-local labels (plates, outer variables) are batch dims, not links
    live = {0: (z2, ("a", "p")), 1: (z2, ("a", "b")), 2: (z2, ("b", "c"))}
    by = {"a": {0, 1}, "b": {1, 2}, "c": {2}, "p": {0}}
    assert find_chain("a", live, by, lambda v: v != "p") == (["a", "b", "c"], [[0, 1], [2]])
