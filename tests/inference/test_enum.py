"""Enumeration: exact marginal likelihoods, infer_discrete and errors on every backend.

Oracles: brute-force summation over all discrete assignments in numpy/scipy float64.
"""

import itertools

import numpy as np
import pytest
import scipy.stats as st

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.density import log_density, potential_energy
from polyro.core.enum_config import config_enumerate
from polyro.errors import ModelError
from polyro.inference.enum import infer_discrete, log_marginal, markov
from polyro.testing import sample_values

ENUM = {"enumerate": "parallel"}
RNG = np.random.default_rng(1234)
K, T = 3, 5
INIT = RNG.dirichlet(np.ones(K))
TRANS = RNG.dirichlet(np.ones(K), size=K)
LOCS = np.array([-1.0, 0.5, 2.0])
YS = RNG.normal(size=T)


# ------------------------------------------------------------------------- models + oracles
def hmm(init, trans, locs, ys, use_markov=True, history=1):
    x = None
    steps = markov(range(len(ys)), history=history) if use_markov else range(len(ys))
    for t in steps:
        p = init if t == 0 else trans[x]
        x = polyro.sample(f"x_{t}", dist.Categorical(probs=p), infer=ENUM)
        polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])


def hmm_joint_np(xs):
    lp = np.log(INIT[xs[0]]) + sum(np.log(TRANS[xs[t - 1], xs[t]]) for t in range(1, T))
    return lp + st.norm.logpdf(YS, LOCS[list(xs)], 1.0).sum()


HMM_STATES = list(itertools.product(range(K), repeat=T))
HMM_LOGJ = np.array([hmm_joint_np(xs) for xs in HMM_STATES])


def _hmm_args(be):
    return [be.asarray(v) for v in (INIT, TRANS, LOCS, YS)]


MIX_W = np.array([0.2, 0.5, 0.3])
MIX_LOC = np.array([-2.0, 0.0, 3.0])
MIX_Y = np.array([-1.5, 0.3, 2.2, 3.1])


@config_enumerate
def mixture(w, loc, y):
    with polyro.plate("data", len(y)):
        z = polyro.sample("z", dist.Categorical(probs=w))
        polyro.sample("y", dist.Normal(loc[z], 1.0), obs=y)


def mixture_np():
    per = np.log(MIX_W)[None, :] + st.norm.logpdf(MIX_Y[:, None], MIX_LOC[None, :], 1.0)
    return np.logaddexp.reduce(per, axis=1).sum()


# nested plates: global g (2 states), per-group u_a (Bernoulli), per-cell w_ab (Bernoulli)
NA, NB = 2, 3
PG = np.array([0.4, 0.6])
PU = np.array([0.3, 0.8])      # P(u=1 | g)
PW = 0.35                      # P(w=1)
Y_NEST = RNG.normal(size=(NB, NA))


def nested(pg, pu, y):
    g = polyro.sample("g", dist.Categorical(probs=pg), infer=ENUM)
    with polyro.plate("a", NA, dim=-1):
        u = polyro.sample("u", dist.Bernoulli(pu[g]), infer=ENUM)
        with polyro.plate("b", NB, dim=-2):
            w = polyro.sample("w", dist.Bernoulli(PW), infer=ENUM)
            polyro.sample("y", dist.Normal(g + u + 0.5 * w, 1.0), obs=y)


def nested_np():
    total = []
    for g in range(2):
        lp_g = np.log(PG[g])
        for us in itertools.product(range(2), repeat=NA):
            lp = lp_g + sum(np.log(PU[g] if u else 1 - PU[g]) for u in us)
            for a in range(NA):
                for b in range(NB):  # w_ab summed in closed form per cell
                    cell = [np.log(1 - PW) + st.norm.logpdf(Y_NEST[b, a], g + us[a], 1.0),
                            np.log(PW) + st.norm.logpdf(Y_NEST[b, a], g + us[a] + 0.5, 1.0)]
                    lp += np.logaddexp(*cell)
            total.append(lp)
    return np.logaddexp.reduce(np.array(total))


# ------------------------------------------------------------------------- marginal likelihood
@pytest.mark.parametrize("use_markov", [True, False])
def test_hmm_log_marginal(backend, use_markov):
    lm = backend.jit(lambda *a: log_marginal(hmm, *a, use_markov=use_markov))(*_hmm_args(backend))
    np.testing.assert_allclose(backend.to_numpy(lm), np.logaddexp.reduce(HMM_LOGJ), rtol=1e-10)


def test_hmm_markov_reuses_dims(backend):
    tr = handlers.trace(handlers.enum(hmm, first_available_dim=-1)).get_trace(*_hmm_args(backend))
    dims = [tr[f"x_{t}"]["infer"]["_enumerate_dim"] for t in range(T)]
    assert dims == [-1, -2, -1, -2, -1]
    tr = handlers.trace(handlers.enum(hmm, first_available_dim=-1)).get_trace(
        *_hmm_args(backend), history=2)
    assert [tr[f"x_{t}"]["infer"]["_enumerate_dim"] for t in range(T)] == [-1, -2, -3, -1, -2]


def test_mixture_log_marginal(backend):
    args = [backend.asarray(v) for v in (MIX_W, MIX_LOC, MIX_Y)]
    lm = log_marginal(mixture, *args)
    np.testing.assert_allclose(backend.to_numpy(lm), mixture_np(), rtol=1e-10)
    # density.log_density sums the enumerated sites out too
    lj, _ = log_density(mixture, tuple(args), {}, {})
    np.testing.assert_allclose(backend.to_numpy(lj), mixture_np(), rtol=1e-10)


def test_nested_plates_log_marginal(backend):
    lm = backend.jit(lambda *a: log_marginal(nested, *a))(
        backend.asarray(PG), backend.asarray(PU), backend.asarray(Y_NEST))
    np.testing.assert_allclose(backend.to_numpy(lm), nested_np(), rtol=1e-10)


def test_explicit_max_plate_nesting_larger(backend):
    lm = backend.jit(lambda *a: log_marginal(nested, *a, max_plate_nesting=4))(
        backend.asarray(PG), backend.asarray(PU), backend.asarray(Y_NEST))
    np.testing.assert_allclose(backend.to_numpy(lm), nested_np(), rtol=1e-10)


def test_potential_energy_with_continuous_site(backend):
    """A continuous latent plus an enumerated mixture indicator: -log p(s, y) with z summed."""
    y = np.array([0.4, 2.5, -0.3])

    def model(y):
        s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
        with polyro.plate("n", 3):
            z = polyro.sample("z", dist.Bernoulli(0.4), infer=ENUM)
            polyro.sample("y", dist.Normal(z * 2.0, s), obs=y)

    u = 0.3
    s = np.exp(u)
    per = np.logaddexp(np.log(0.6) + st.norm.logpdf(y, 0.0, s),
                       np.log(0.4) + st.norm.logpdf(y, 2.0, s))
    ref = -(st.lognorm.logpdf(s, 1.0) + u + per.sum())  # + log|ds/du| = u
    pe = potential_energy(model, (backend.asarray(y),), {}, {"s": backend.asarray(u)})
    np.testing.assert_allclose(backend.to_numpy(pe), ref, rtol=1e-10)


# ------------------------------------------------------------------------- infer_discrete
def test_infer_discrete_map_hmm(backend):
    vals = sample_values(backend, hmm, *_hmm_args(backend), temperature=0)
    got = tuple(int(vals[f"x_{t}"]) for t in range(T))
    assert got == HMM_STATES[int(np.argmax(HMM_LOGJ))]


def test_infer_discrete_map_nested(backend):
    vals = sample_values(backend, nested, backend.asarray(PG), backend.asarray(PU),
                         backend.asarray(Y_NEST), temperature=0, first_available_dim=-3)
    best, arg = -np.inf, None
    for g in range(2):
        for us in itertools.product(range(2), repeat=NA):
            for ws in itertools.product(range(2), repeat=NA * NB):
                w = np.array(ws).reshape(NB, NA)
                lp = (np.log(PG[g]) + sum(np.log(PU[g] if u else 1 - PU[g]) for u in us)
                      + np.where(w, np.log(PW), np.log(1 - PW)).sum()
                      + st.norm.logpdf(Y_NEST, g + np.array(us)[None, :] + 0.5 * w, 1.0).sum())
                if lp > best:
                    best, arg = lp, (g, us, w)
    assert int(vals["g"]) == arg[0]
    np.testing.assert_array_equal(vals["u"], np.array(arg[1]))
    np.testing.assert_array_equal(vals["w"], arg[2])


def _chi2_pvalue(counts, probs):
    keep = probs * counts.sum() >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(probs[keep], probs[~keep].sum()) * counts.sum()
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    return st.chisquare(obs, exp).pvalue


def test_infer_discrete_samples_hmm_chisquare(backend):
    """Joint posterior of (x_0, x_1, x_2) of a short HMM, N iid copies in a plate.

    Seed fixed (rng_key=key(7)); false-failure rate 2e-5 per run of a correct sampler.
    """
    n, tt = 2000, 3
    ys = YS[:tt]

    def model(init, trans, locs, ys):
        with polyro.plate("copies", n):
            x = None
            for t in markov(range(tt)):
                p = init if t == 0 else trans[x]
                x = polyro.sample(f"x_{t}", dist.Categorical(probs=p), infer=ENUM)
                polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])

    states = list(itertools.product(range(K), repeat=tt))
    logj = np.array([np.log(INIT[s[0]]) + sum(np.log(TRANS[s[i - 1], s[i]]) for i in range(1, tt))
                     + st.norm.logpdf(ys, LOCS[list(s)], 1.0).sum() for s in states])
    post = np.exp(logj - np.logaddexp.reduce(logj))
    args = [backend.asarray(v) for v in (INIT, TRANS, LOCS, ys)]
    vals = sample_values(backend, model, *args, temperature=1, rng_key=backend.key(7))
    xs = np.stack([vals[f"x_{t}"] for t in range(tt)], axis=-1)
    assert xs.shape == (n, tt)
    codes = (xs * K ** np.arange(tt)[::-1]).sum(-1)
    counts = np.bincount(codes, minlength=K ** tt).astype(float)
    assert _chi2_pvalue(counts, post) > 2e-5


def test_infer_discrete_returns_model_value(backend):
    def model():
        z = polyro.sample("z", dist.Bernoulli(0.3), infer=ENUM)
        polyro.sample("y", dist.Normal(3.0 * z, 1.0), obs=2.9)
        return z

    assert float(backend.to_numpy(infer_discrete(model, temperature=0)())) == 1.0
    assert float(backend.to_numpy(infer_discrete(model, temperature=0)())) == 1.0


# ------------------------------------------------------------------------- errors
def test_error_no_finite_support(backend):
    def model():
        polyro.sample("x", dist.Normal(0.0, 1.0), infer=ENUM)

    with pytest.raises(ModelError, match=r"'x'.*no finite support"):
        log_marginal(model)


def test_error_too_few_plate_dims(backend):
    def model():
        with polyro.plate("a", 2):
            with polyro.plate("b", 3):
                polyro.sample("z", dist.Bernoulli(0.5), infer=ENUM)

    with pytest.raises(ModelError, match=r"plate 'b' uses dim -2.*max_plate_nesting=1"):
        log_marginal(model, max_plate_nesting=1)


def test_error_batch_dims_outside_plates(backend):
    def model():
        polyro.sample("z", dist.Bernoulli(backend.asarray(np.full((2, 3), 0.5))), infer=ENUM)

    with pytest.raises(ModelError, match=r"'z' has batch shape \(2, 3\).*dim\(s\) \[-2\]"):
        log_marginal(model, max_plate_nesting=1)


def test_error_plate_dim_clash_with_enum(backend):
    def model():
        with polyro.plate("a", 2, dim=-3):
            polyro.sample("z", dist.Bernoulli(0.5), infer=ENUM)

    with pytest.raises(ModelError, match=r"plate 'a' uses dim -3.*enumeration owns dims <= -2"):
        handlers.trace(handlers.enum(model, first_available_dim=-2)).get_trace()


def test_error_markov_history_too_short(backend):
    def bad():
        xs = []
        for t in markov(range(3), history=1):
            p = 0.5 if t == 0 else 0.2 + 0.6 * xs[0]  # depends on step 0 at step 2
            xs.append(polyro.sample(f"x{t}", dist.Bernoulli(p), infer=ENUM))

    # step 2 reuses x0's dim while depending on x0: the shapes disagree -> clear error
    with pytest.raises(ModelError, match=r"x2"):
        log_marginal(bad)


# ------------------------------------------------------------------------- engine
def test_log_einsum_opt_einsum_path_and_max(backend):
    """Three operands take the opt_einsum path; log-space result vs numpy einsum."""
    rng = np.random.default_rng(5)
    a, b, c = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(5, 3))
    from polyro.inference.enum import log_einsum

    ops = [(backend.asarray(a), ("i", "j")), (backend.asarray(b), ("j", "k")),
           (backend.asarray(c), ("k", "l"))]
    ref = np.log(np.einsum("ij,jk,kl->il", np.exp(a), np.exp(b), np.exp(c)))
    np.testing.assert_allclose(backend.to_numpy(log_einsum(ops, ("i", "l"))), ref, rtol=1e-10)
    big = a[:, :, None, None] + b[None, :, :, None] + c[None, None, :, :]
    ref_max = big.max(axis=(1, 2))
    np.testing.assert_allclose(backend.to_numpy(log_einsum(ops, ("i", "l"), "max")), ref_max,
                               rtol=1e-12)
    # stable with large magnitudes and -inf entries
    a2 = a + 1000.0
    a2[0, :] = -np.inf
    got = backend.to_numpy(log_einsum([(backend.asarray(a2), ("i", "j")),
                                       (backend.asarray(b), ("j", "k")),
                                       (backend.asarray(c), ("k", "l"))], ("i", "l")))
    assert np.all(got[0] == -np.inf)
    np.testing.assert_allclose(got[1:], ref[1:] + 1000.0, rtol=1e-12)


def test_config_enumerate_marks_only_finite_support(backend):
    def model():
        polyro.sample("z", dist.Bernoulli(0.5))
        polyro.sample("x", dist.Normal(0.0, 1.0))
        polyro.sample("y", dist.Bernoulli(0.5), obs=backend.asarray(1.0))

    tr = handlers.trace(handlers.seed(config_enumerate(model), rng_seed=0)).get_trace()
    assert tr["z"]["infer"] == {"enumerate": "parallel"}
    assert tr["x"]["infer"] == {} and tr["y"]["infer"] == {}


def test_max_plate_nesting_too_small_for_unplated_batch_dims(backend):
    """A site with batch dims outside any plate and max_plate_nesting too small: enumeration
    dims would land on those dims; with K == the batch size nothing failed and the loss was
    wrong (1.342 against the exact 4.544). Now a clear error names the site and the fix, and
    the right max_plate_nesting (or None) gives the brute-force value."""
    from polyro.inference import TraceEnum_ELBO

    be = backend
    p, locs, y = np.array([0.2, 0.3, 0.5]), np.array([-1.0, 0.0, 2.0]), np.array([0.5, -0.3, 1.0])

    def model():
        z = polyro.sample("z", dist.Categorical(be.asarray(p)), infer={"enumerate": "parallel"})
        polyro.sample("y", dist.Normal(be.asarray(locs)[z] * be.asarray(np.ones(3)), 1.0),
                      obs=be.asarray(y))

    def guide():
        pass

    exact = -np.log(sum(p[k] * np.prod(st.norm(locs[k], 1).pdf(y)) for k in range(3)))
    with pytest.raises(ValueError, match=r"max_plate_nesting=0\): site 'y'.*\(3,\).*"
                                         r"max_plate_nesting=1"):
        TraceEnum_ELBO(max_plate_nesting=0).loss(be.key(0), {}, model, guide)
    for mpn in (1, None):
        loss = TraceEnum_ELBO(max_plate_nesting=mpn).loss(be.key(0), {}, model, guide)
        assert float(be.to_numpy(loss)) == pytest.approx(exact, rel=1e-6)
    # the same check in log_marginal and infer_discrete (the MAP was 2, the exact one is 1)
    with pytest.raises(ValueError, match=r"log_marginal\(max_plate_nesting=0\): site 'y'"):
        log_marginal(model, max_plate_nesting=0)
    assert float(be.to_numpy(log_marginal(model, max_plate_nesting=1))) == pytest.approx(
        -exact, rel=1e-6)
    with pytest.raises(ValueError, match=r"first_available_dim=-1\): site 'y'.*"
                                         r"first_available_dim=-2"):
        infer_discrete(model, temperature=0, first_available_dim=-1)()
    tr = handlers.trace(handlers.seed(infer_discrete(model, temperature=0,
                                                     first_available_dim=-2), rng_seed=0)).get_trace()
    post = [p[k] * np.prod(st.norm(locs[k], 1).pdf(y)) for k in range(3)]
    assert int(be.to_numpy(tr["z"]["value"])) == int(np.argmax(post)) == 1


def test_enumerated_sites_score_with_the_distribution_table(backend):
    """An enumerated site's log density is ``fn.enumerated_log_prob(dim)`` (Categorical's
    table, no gather); a value put in its place afterwards is scored with ``log_prob``. Both,
    and the marginal likelihood, against brute force."""
    from polyro.core.handlers.trace import site_log_density

    be = backend
    calls = []

    class Spy(dist.Categorical):
        def enumerated_log_prob(self, dim):
            calls.append(dim)
            return super().enumerated_log_prob(dim)

    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    locs, y = np.array([-1.0, 0.5, 2.0]), np.array([0.3, 1.7])

    def model():
        with polyro.plate("n", 2):
            z = polyro.sample("z", Spy(be.asarray(p)), infer={"enumerate": "parallel"})
            polyro.sample("y", dist.Normal(be.asarray(locs)[z], 1.0), obs=be.asarray(y))

    tr = handlers.trace(handlers.enum(model, first_available_dim=-2)).get_trace()
    site = tr["z"]
    lp = site_log_density(site)
    assert calls == [-2]
    np.testing.assert_allclose(be.to_numpy(lp), np.log(p).T, rtol=1e-12)
    site = dict(site, value=be.asarray(np.array([[2], [1], [0]])))  # not the enum value
    lp = site_log_density(site)
    assert calls == [-2]
    np.testing.assert_allclose(be.to_numpy(lp), np.log(p[:, [2, 1, 0]]).T, rtol=1e-12)
    exact = sum(np.log(sum(p[i, k] * st.norm(locs[k], 1.0).pdf(y[i]) for k in range(3)))
                for i in range(2))
    got = float(be.to_numpy(log_marginal(model, max_plate_nesting=1)))
    assert got == pytest.approx(exact, rel=1e-12)
