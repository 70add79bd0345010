"""``vectorized_markov``: chains written once, contracted as a log-depth matrix product.

Oracles: brute-force sums over every path in numpy/scipy float64 (and finite differences of
them for gradients); never the backend under test.
"""

import functools
import itertools

import numpy as np
import pytest
import scipy.stats as st
from scipy.special import logsumexp

import polyro
import polyro.distributions as dist
from polyro.errors import AutodiffUnavailableError, ModelError
from polyro.inference import TraceEnum_ELBO
from polyro.inference.enum import log_marginal, vectorized_markov
from polyro.testing import sample_values

ENUM = {"enumerate": "parallel"}
RNG = np.random.default_rng(7)
K, T = 3, 5
INIT = RNG.dirichlet(np.ones(K))
TRANS = RNG.dirichlet(np.ones(K), size=K)
LOCS = np.array([-1.0, 0.5, 2.0])
YS = RNG.normal(size=T)


def hmm(init, trans, locs, ys):
    x = None
    for t in vectorized_markov(name="time", size=ys.shape[0], dim=-1):
        p = init if t == 0 else trans[x]
        x = polyro.sample(f"x_{t}", dist.Categorical(probs=p), infer=ENUM)
        polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])


def hmm_brute(init, trans, locs, ys):
    n = len(ys)
    tot = []
    for xs in itertools.product(range(len(init)), repeat=n):
        lp = np.log(init[xs[0]]) + sum(np.log(trans[xs[t - 1], xs[t]]) for t in range(1, n))
        tot.append(lp + st.norm.logpdf(ys, locs[list(xs)], 1.0).sum())
    return logsumexp(tot)


def _args(be, *arrays):
    return [be.asarray(a) for a in arrays]


@pytest.mark.parametrize("n", [1, 2, 5])
def test_hmm_marginal_matches_brute_force(backend, n):
    be = backend
    lm = be.jit(lambda *a: log_marginal(hmm, *a))(*_args(be, INIT, TRANS, LOCS, YS[:n]))
    assert float(lm) == pytest.approx(hmm_brute(INIT, TRANS, LOCS, YS[:n]), rel=1e-10)


# sequences in an outer plate, several observations per step in a nested plate, and the
# emission reading the previous state as well
S, R = 2, 2
YS3 = RNG.normal(size=(T, S, R))  # (time, sequence, replicate)


def plated_hmm(init, trans, locs, ys):
    x = None
    with polyro.plate("seq", ys.shape[1], dim=-2):
        for t in vectorized_markov(name="time", size=ys.shape[0], dim=-3):
            p = init if t == 0 else trans[x]
            x_prev = x
            x = polyro.sample(f"x_{t}", dist.Categorical(probs=p), infer=ENUM)
            shift = 0.0 if t == 0 else 0.25 * locs[x_prev]
            with polyro.plate(f"rep_{t}", ys.shape[2], dim=-1):
                polyro.sample(f"y_{t}", dist.Normal(locs[x] + shift, 1.0), obs=ys[t])


def plated_brute(init, trans, locs, ys):
    total = 0.0
    for s in range(ys.shape[1]):
        tot = []
        for xs in itertools.product(range(K), repeat=ys.shape[0]):
            lp = np.log(init[xs[0]])
            for t in range(ys.shape[0]):
                shift = 0.0 if t == 0 else 0.25 * locs[xs[t - 1]]
                if t:
                    lp += np.log(trans[xs[t - 1], xs[t]])
                lp += st.norm.logpdf(ys[t, s], locs[xs[t]] + shift, 1.0).sum()
            tot.append(lp)
        total += logsumexp(tot)
    return total


def test_plates_around_and_inside_the_chain(backend):
    be = backend
    # time at dim -3 (left of both plates): ys[t] of the vectorized step is (T-1, S, R)
    lm = be.jit(lambda *a: log_marginal(plated_hmm, *a, max_plate_nesting=3))(
        *_args(be, INIT, TRANS, LOCS, YS3))
    assert float(lm) == pytest.approx(plated_brute(INIT, TRANS, LOCS, YS3), rel=1e-10)


# two chains side by side (a factorial HMM) and a per-step mixture component (enumerated in
# every step, so one more chain state, which the next step ignores)
K2 = 2
TRANS2 = RNG.dirichlet(np.ones(K2), size=K2)
W = np.array([0.6, 0.4])
LOC2 = np.array([[0.0, 1.5], [-1.0, 2.5], [0.5, -2.0]])  # (x, w) -> emission loc


def factorial(init, trans, trans2, w, loc2, ys):
    x = v = None
    for t in vectorized_markov(name="time", size=ys.shape[0], dim=-1):
        x = polyro.sample(f"x_{t}", dist.Categorical(probs=init if t == 0 else trans[x]),
                          infer=ENUM)
        v = polyro.sample(f"v_{t}", dist.Categorical(probs=w if t == 0 else trans2[v]),
                          infer=ENUM)
        c = polyro.sample(f"c_{t}", dist.Categorical(probs=w), infer=ENUM)
        polyro.sample(f"y_{t}", dist.Normal(loc2[x, c] + 0.5 * v, 1.0), obs=ys[t])


def factorial_brute(init, trans, trans2, w, loc2, ys):
    n = len(ys)
    tot = []
    for xs in itertools.product(range(K), repeat=n):
        for vs in itertools.product(range(K2), repeat=n):
            lp = np.log(init[xs[0]]) + np.log(w[vs[0]])
            for t in range(n):
                if t:
                    lp += np.log(trans[xs[t - 1], xs[t]]) + np.log(trans2[vs[t - 1], vs[t]])
                lp += logsumexp([np.log(w[c]) + st.norm.logpdf(ys[t], loc2[xs[t], c] + 0.5 * vs[t])
                                 for c in range(K2)])
            tot.append(lp)
    return logsumexp(tot)


def test_two_chains_and_a_per_step_component(backend):
    be = backend
    ys = YS[:3]
    # one compiled program on JAX (eager JAX compiles every operation of the contraction)
    lm = be.jit(lambda *a: log_marginal(factorial, *a))(
        *_args(be, INIT, TRANS, TRANS2, W, LOC2, ys))
    want = factorial_brute(INIT, TRANS, TRANS2, W, LOC2, ys)
    assert float(lm) == pytest.approx(want, rel=1e-10)


def test_gradient_matches_finite_differences(backend):
    """d log p(y) / d locs through the chain product, against central differences of the
    brute-force sum; numpy raises its no-autodiff error."""
    be = backend
    init, trans, ys = _args(be, INIT, TRANS, YS)

    def f(locs):
        return log_marginal(hmm, init, trans, locs, ys)

    if not be.SUPPORTS_AUTODIFF:
        with pytest.raises(AutodiffUnavailableError):
            be.value_and_grad(f)(be.asarray(LOCS))
        return
    val, g = be.jit(be.value_and_grad(f))(be.asarray(LOCS))
    eps = 1e-6
    fd = []
    for i in range(K):
        d = np.zeros(K)
        d[i] = eps
        fd.append((hmm_brute(INIT, TRANS, LOCS + d, YS) - hmm_brute(INIT, TRANS, LOCS - d, YS))
                  / (2 * eps))
    assert float(val) == pytest.approx(hmm_brute(INIT, TRANS, LOCS, YS), rel=1e-10)
    np.testing.assert_allclose(be.to_numpy(g), fd, rtol=1e-6, atol=1e-8)


def test_trace_enum_elbo_is_minus_the_log_marginal(grad_backend):
    """With only discrete latents (all enumerated) the ELBO is exact: loss == -log p(y)."""
    be = grad_backend
    args = _args(be, INIT, TRANS, LOCS, YS)
    elbo = TraceEnum_ELBO(max_plate_nesting=1)
    loss = be.jit(lambda *a: elbo.loss(be.key(0), {}, hmm, lambda *_: None, *a))(*args)
    assert float(loss) == pytest.approx(-hmm_brute(INIT, TRANS, LOCS, YS), rel=1e-10)


# ------------------------------------------------------------------------------------- errors
def test_state_used_after_the_loop_is_an_error(backend):
    be = backend

    def model(ys):
        x = None
        for t in vectorized_markov(name="time", size=ys.shape[0], dim=-1):
            x = polyro.sample(f"x_{t}", dist.Categorical(probs=be.asarray(INIT)), infer=ENUM)
        polyro.sample("last", dist.Normal(be.asarray(LOCS)[x], 1.0), obs=be.asarray(0.0))

    with pytest.raises(ModelError, match="cannot be used after"):
        log_marginal(model, be.asarray(YS), max_plate_nesting=1)


def test_steps_must_enumerate_the_same_sites(backend):
    be = backend

    def model(ys):
        for t in vectorized_markov(name="time", size=ys.shape[0], dim=-1):
            if t == 0:
                polyro.sample(f"x_{t}", dist.Categorical(probs=be.asarray(INIT)), infer=ENUM)
            polyro.sample(f"y_{t}", dist.Normal(0.0, 1.0), obs=ys[t])

    with pytest.raises(ModelError, match=r"first step enumerates \['x_0'\]"):
        log_marginal(model, be.asarray(YS), max_plate_nesting=1)


def test_support_size_must_not_change(backend):
    be = backend

    def model(ys):
        for t in vectorized_markov(name="time", size=ys.shape[0], dim=-1):
            p = INIT if t == 0 else W
            polyro.sample(f"x_{t}", dist.Categorical(probs=be.asarray(p)), infer=ENUM)

    with pytest.raises(ModelError, match="support size 2.*support size 3"):
        log_marginal(model, be.asarray(YS), max_plate_nesting=1)


def test_bad_arguments():
    with pytest.raises(NotImplementedError, match="history=2"):
        vectorized_markov(name="t", size=3, history=2)
    with pytest.raises(ModelError, match="size must be a positive int"):
        vectorized_markov(name="t", size=0)
    assert [t for t in vectorized_markov(name="t", size=1)] == [0]


def _paths(n, k=K):
    return list(itertools.product(range(k), repeat=n))


def _hmm_logj(init, trans, locs, ys, xs):
    lp = np.log(init[xs[0]]) + sum(np.log(trans[xs[t - 1], xs[t]]) for t in range(1, len(xs)))
    return lp + st.norm.logpdf(ys, locs[list(xs)], 1.0).sum()


def test_infer_discrete_map_is_the_brute_force_argmax(backend):
    be = backend
    vals = sample_values(be, hmm, *_args(be, INIT, TRANS, LOCS, YS), temperature=0)
    got = [int(vals["x_0"])] + [int(v) for v in vals[f"x_{slice(1, T)}"]]
    best = max(_paths(T), key=lambda xs: _hmm_logj(INIT, TRANS, LOCS, YS, xs))
    assert tuple(got) == best


def copied_hmm(n, init, trans, locs, ys):
    """``n`` iid copies of the HMM on ``ys`` in a plate around the chain."""
    with polyro.plate("copies", n, dim=-1):
        x = None
        for t in vectorized_markov(name="time", size=ys.shape[0], dim=-2):
            p = init if t == 0 else trans[x]
            x = polyro.sample(f"x_{t}", dist.Categorical(probs=p), infer=ENUM)
            polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t][..., None])


def test_infer_discrete_samples_match_the_exact_posterior(backend):
    """Joint posterior of (x_0, x_1, x_2) of a short HMM, N iid copies in a plate around the
    chain; chi-square against the exact posterior. Seed fixed (key(3)); false-failure rate of a
    correct sampler 2e-5 per run."""
    be = backend
    n, tt = 2000, 3
    ys = YS[:tt]

    model = functools.partial(copied_hmm, n)
    logj = np.array([_hmm_logj(INIT, TRANS, LOCS, ys, xs) for xs in _paths(tt)])
    post = np.exp(logj - logsumexp(logj))
    vals = sample_values(be, model, *_args(be, INIT, TRANS, LOCS, ys), temperature=1,
                            rng_key=be.key(3))
    x0 = vals["x_0"].reshape(n)
    later = vals[f"x_{slice(1, tt)}"].reshape(tt - 1, n)
    xs = np.concatenate([x0[None], later]).T
    codes = (xs * K ** np.arange(tt)[::-1]).sum(-1)
    counts = np.bincount(codes, minlength=K ** tt).astype(float)
    big = post * n >= 5  # paths expected fewer than 5 times are pooled into one cell
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(post[big], post[~big].sum()) * n
    assert st.chisquare(obs, exp).pvalue > 2e-5


def test_infer_discrete_map_of_two_chains(backend):
    """Viterbi over the joint state of x, v and the per-step component c (a chain state the
    next step ignores), against the brute-force argmax of the complete-data log joint."""
    be = backend
    ys = YS[:3]
    vals = sample_values(be, factorial, *_args(be, INIT, TRANS, TRANS2, W, LOC2, ys),
                            temperature=0)

    def states(name):
        later = vals[f"{name}_{slice(1, len(ys))}"].reshape(-1)
        return (int(vals[f"{name}_0"]), *[int(v) for v in later])

    assert (states("x"), states("v"), states("c")) == _factorial_map(len(ys))


@functools.cache
def _factorial_map(n):
    """The brute-force argmax over every (x, v, c) path of ``factorial`` on ``YS[:n]``."""
    ys = YS[:n]
    emit = st.norm.logpdf(ys[:, None, None, None], LOC2[None, :, None, :]
                          + 0.5 * np.arange(K2)[None, None, :, None], 1.0)  # (t, x, v, c)

    def logj(xs, vs, cs):
        lp = np.log(INIT[xs[0]]) + np.log(W[vs[0]])
        for t in range(n):
            if t:
                lp += np.log(TRANS[xs[t - 1], xs[t]]) + np.log(TRANS2[vs[t - 1], vs[t]])
            lp += np.log(W[cs[t]]) + emit[t, xs[t], vs[t], cs[t]]
        return lp

    return max(((xs, vs, cs) for xs in _paths(n) for vs in _paths(n, K2) for cs in _paths(n, K2)),
               key=lambda a: logj(*a))


# a chain long enough for the blocked loops an engine that compiles uses (chain.SCAN_MIN);
# oracles: the forward algorithm, Viterbi and forward-backward marginals in plain numpy
TL = 40
YSL = RNG.normal(size=TL) * 1.5


def _emissions(ys):
    return st.norm.logpdf(ys[:, None], LOCS[None, :], 1.0)          # (t, state)


def _forward(ys):
    e, lt = _emissions(ys), np.log(TRANS)
    alpha = [np.log(INIT) + e[0]]
    for t in range(1, len(ys)):
        alpha.append(logsumexp(alpha[-1][:, None] + lt, axis=0) + e[t])
    return np.array(alpha)


def _viterbi(ys):
    e, lt = _emissions(ys), np.log(TRANS)
    delta, back = np.log(INIT) + e[0], []
    for t in range(1, len(ys)):
        s = delta[:, None] + lt
        back.append(s.argmax(0))
        delta = s.max(0) + e[t]
    path = [int(delta.argmax())]
    for b in reversed(back):
        path.append(int(b[path[-1]]))
    return path[::-1]


def _marginals(ys):
    e, lt, alpha = _emissions(ys), np.log(TRANS), _forward(ys)
    beta = [np.zeros(K)]
    for t in range(len(ys) - 1, 0, -1):
        beta.append(logsumexp(lt + (e[t] + beta[-1])[None, :], axis=1))
    lp = alpha + np.array(beta[::-1])
    return np.exp(lp - logsumexp(lp, axis=1, keepdims=True))


def test_long_chain_marginal_and_map(backend):
    """T=40: the log marginal equals the numpy forward algorithm and the MAP path its Viterbi
    path (through ``chain_product`` / ``chain_prefix`` and the forward pass of
    ``sample_chain``, blocked loops on JAX)."""
    be = backend
    args = _args(be, INIT, TRANS, LOCS, YSL)
    lm = be.jit(lambda *a: log_marginal(hmm, *a))(*args)
    assert float(lm) == pytest.approx(float(logsumexp(_forward(YSL)[-1])), rel=1e-10)
    vals = sample_values(be, hmm, *args, temperature=0)
    got = [int(vals["x_0"])] + [int(v) for v in vals[f"x_{slice(1, TL)}"]]
    assert got == _viterbi(YSL)


def test_long_chain_samples_match_forward_backward(backend):
    """T=40, 3000 iid copies in a plate: the sampled state at steps 0, 17 and 39 against the
    forward-backward marginals (chi-square each; seed fixed, key(5); false-failure rate of a
    correct sampler below 3e-5 per run)."""
    be = backend
    n = 3000

    model = functools.partial(copied_hmm, n)
    vals = sample_values(be, model, *_args(be, INIT, TRANS, LOCS, YSL), temperature=1,
                         rng_key=be.key(5))
    xs = np.concatenate([vals["x_0"].reshape(1, n), vals[f"x_{slice(1, TL)}"].reshape(TL - 1, n)])
    post = _marginals(YSL)
    for t in (0, 17, TL - 1):
        counts = np.bincount(xs[t], minlength=K).astype(float)
        small = post[t] * n < 5             # states expected fewer than 5 times: pooled
        obs, exp = counts[~small], post[t][~small] * n
        if small.any():
            obs, exp = np.append(obs, counts[small].sum()), np.append(exp, post[t][small].sum() * n)
        assert st.chisquare(obs, exp).pvalue > 1e-5, (t, counts, post[t] * n)
