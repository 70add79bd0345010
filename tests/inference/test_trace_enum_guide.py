"""Guide-side enumeration in TraceEnum_ELBO (issue 7).

Oracles are independent of polyro: numpy/scipy brute force over every joint assignment of the
discrete sites (``itertools.product``), central finite differences of that brute-force ELBO
(``polyro.testing.finite_difference_grad``), and the exact posterior of a mixture assignment
(Bayes' rule in numpy). Loss values need no gradients, so they run on numpy too (``backend``);
gradients and SVI run on torch and JAX (``grad_backend``), all in float64.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro.core.distributions import constraints
from polyro.errors import ModelError
from polyro.inference import SVI, TraceEnum_ELBO
from polyro.inference.enum import markov
from polyro.optim import Adam
from polyro.testing import finite_difference_grad

ENUM = {"enumerate": "parallel"}


def _a(x):
    """A constant as an array of the current engine (so discrete values can index it)."""
    return polyro.backends.current().asarray(x)


def _loss(be, elbo, params, model, guide, *args):
    """The loss as one compiled program where the engine compiles (eager JAX compiles each op)."""
    p = {k: be.asarray(v) for k, v in params.items()}
    arrays = [a for a in args if be.is_array(a)]

    def run(p, *xs):  # Python values (flags) stay static
        it = iter(xs)
        return elbo.loss(be.key(0), p, model, guide,
                         *[next(it) if be.is_array(a) else a for a in args])

    return float(be.to_numpy(be.jit(run)(p, *arrays)))


# ---------------------------------------------------------------- 1. one global site
P1 = np.array([0.2, 0.3, 0.5])
LOC1 = np.array([-1.0, 0.5, 2.0])
Y1 = 0.7
Q1 = np.array([0.15, 0.55, 0.3])


def model1():
    z = polyro.sample("z", dist.Categorical(probs=_a(P1)))
    polyro.sample("y", dist.Normal(_a(LOC1)[z], 1.0), obs=Y1)


def guide1():
    q = polyro.param("q", np.ones(3) / 3, constraint=constraints.simplex)
    polyro.sample("z", dist.Categorical(probs=q), infer=ENUM)


def brute1(q):
    q = q / q.sum()  # Categorical normalizes its probs: the finite differences leave the simplex
    lp = np.log(P1) + stats.norm.logpdf(Y1, LOC1, 1.0)
    return -float((q * (lp - np.log(q))).sum())


def test_global_site_loss(backend):
    for mpn in (0, 2, None):  # extra plate dims and the guessed nesting give the same value
        val = _loss(backend, TraceEnum_ELBO(max_plate_nesting=mpn), {"q": Q1}, model1, guide1)
        np.testing.assert_allclose(val, brute1(Q1), rtol=0, atol=1e-10)


def test_global_site_grad(grad_backend):
    be = grad_backend
    elbo = TraceEnum_ELBO(max_plate_nesting=0)
    val, grad = be.jit(be.value_and_grad(
        lambda q: elbo.loss(be.key(0), {"q": q}, model1, guide1)))(be.asarray(Q1))
    np.testing.assert_allclose(float(be.to_numpy(val)), brute1(Q1), atol=1e-10)
    ref = finite_difference_grad(brute1, Q1)
    np.testing.assert_allclose(be.to_numpy(grad), ref, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- 2. per-datum assignments
W2 = np.array([0.35, 0.65])
LOC2 = np.array([-1.5, 1.0])
Y2 = np.array([-1.2, 0.4, 2.1, -0.3])
Q2 = np.array([[0.8, 0.2], [0.3, 0.7], [0.1, 0.9], [0.55, 0.45]])


def model2(y):
    with polyro.plate("data", 4):
        z = polyro.sample("z", dist.Categorical(probs=_a(W2)))
        polyro.sample("y", dist.Normal(_a(LOC2)[z], 1.0), obs=y)


def guide2(y):
    q = polyro.param("q", np.full((4, 2), 0.5), constraint=constraints.simplex)
    with polyro.plate("data", 4):
        polyro.sample("z", dist.Categorical(probs=q), infer=ENUM)


def brute2(q):
    q = q / q.sum(-1, keepdims=True)
    total = 0.0
    for zs in itertools.product(range(2), repeat=4):  # all 2^4 joint assignments
        idx = (np.arange(4), np.array(zs))
        qz = q[idx]
        lp = np.log(W2[list(zs)]) + stats.norm.logpdf(Y2, LOC2[list(zs)], 1.0)
        total += np.prod(qz) * (lp.sum() - np.log(qz).sum())
    return -total


def test_subsampled_plate_scales_costs_not_weights(backend):
    """With subsample indices the costs are scaled by size / subsample_size = 2 but the guide
    probabilities weighting them are not (a scaled log q would weight by q^2)."""
    idx = np.array([1, 3])

    def model(y):
        with polyro.plate("data", 4, subsample=_a(idx)) as i:
            z = polyro.sample("z", dist.Categorical(probs=_a(W2)))
            polyro.sample("y", dist.Normal(_a(LOC2)[z], 1.0), obs=y[i])

    def guide(y):
        q = polyro.param("q", np.full((4, 2), 0.5), constraint=constraints.simplex)
        with polyro.plate("data", 4, subsample=_a(idx)) as i:
            polyro.sample("z", dist.Categorical(probs=q[i]), infer=ENUM)

    val = _loss(backend, TraceEnum_ELBO(max_plate_nesting=1), {"q": Q2}, model, guide,
                backend.asarray(Y2))
    lp = np.log(W2)[None, :] + stats.norm.logpdf(Y2[idx, None], LOC2[None, :], 1.0)
    q = Q2[idx]
    ref = 2.0 * (q * (lp - np.log(q))).sum()
    np.testing.assert_allclose(val, -ref, rtol=0, atol=1e-10)


# ---------------------------------------------------------------- 3. guide + model enumeration
PG = np.array([0.4, 0.6])  # p(g)
PZ = np.array([[0.3, 0.7], [0.8, 0.2]])  # p(z_i | g)
LOC3 = np.array([[-2.0, 1.0], [0.0, 3.0]])  # loc[g, z]
Y3 = np.array([-1.0, 0.8, 2.5])
QG = np.array([0.25, 0.75])


def model3(y):
    g = polyro.sample("g", dist.Categorical(probs=_a(PG)))
    with polyro.plate("data", 3):
        z = polyro.sample("z", dist.Categorical(probs=_a(PZ)[g]), infer=ENUM)
        polyro.sample("y", dist.Normal(_a(LOC3)[g, z], 1.0), obs=y)


def guide3(y):
    q = polyro.param("qg", np.ones(2) / 2, constraint=constraints.simplex)
    polyro.sample("g", dist.Categorical(probs=q), infer=ENUM)


def brute3(q):
    q = q / q.sum()
    total = 0.0
    for g in range(2):
        # log sum_z p(y, g, z) over the 2^3 joint assignments of z
        joint = [np.log(PG[g]) + sum(np.log(PZ[g, z]) + stats.norm.logpdf(Y3[i], LOC3[g, z], 1)
                                     for i, z in enumerate(zs))
                 for zs in itertools.product(range(2), repeat=3)]
        log_joint = np.logaddexp.reduce(joint)
        total += q[g] * (log_joint - np.log(q[g]))
    return -total


# the plated case (2) and the global-guide-site-with-model-enumeration case (3), each against its
# brute force: (model, guide, data, param name, param value, oracle, max_plate_nesting values)
CASES = {
    "plated_guide_sites": (model2, guide2, Y2, "q", Q2, brute2, (1,)),
    "global_guide_site_with_model_enumeration": (model3, guide3, Y3, "qg", QG, brute3, (1, None)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case_loss(backend, case):
    model, guide, y, name, value, brute, nestings = CASES[case]
    for mpn in nestings:
        val = _loss(backend, TraceEnum_ELBO(max_plate_nesting=mpn), {name: value}, model, guide,
                    backend.asarray(y))
        np.testing.assert_allclose(val, brute(value), rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", list(CASES))
def test_case_grad(grad_backend, case):
    be = grad_backend
    model, guide, y, name, value, brute, _ = CASES[case]
    elbo = TraceEnum_ELBO(max_plate_nesting=1)
    yb = be.asarray(y)
    grad = be.jit(be.grad(lambda q: elbo.loss(be.key(0), {name: q}, model, guide, yb)))(
        be.asarray(value))
    np.testing.assert_allclose(be.to_numpy(grad), finite_difference_grad(brute, value),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("vectorize", [True, False], ids=["vectorized", "loop"])
def test_several_particles(backend, vectorize):
    """num_particles=3 (vmap on JAX, the particle plate on numpy/torch, or a loop): nothing is
    sampled, so the average over particles is the brute-force value."""
    elbo = TraceEnum_ELBO(num_particles=3, vectorize_particles=vectorize)
    val = _loss(backend, elbo, {"q": Q2}, model2, guide2, backend.asarray(Y2))
    np.testing.assert_allclose(val, brute2(Q2), rtol=0, atol=1e-10)
    elbo = TraceEnum_ELBO(num_particles=3, vectorize_particles=vectorize)
    if elbo._mode() == "plate":
        # the particle plate puts the global guide site in a plate: the automatic choice warns
        # and draws the particles one per key; a forced plate gets the clear error
        with pytest.warns(UserWarning, match="particle plate.*NotImplementedError"):
            val = _loss(backend, elbo, {"qg": QG}, model3, guide3, backend.asarray(Y3))
        np.testing.assert_allclose(val, brute3(QG), rtol=0, atol=1e-10)
        forced = TraceEnum_ELBO(num_particles=3, vectorize_particles="plate")
        with pytest.raises(NotImplementedError, match=r"\['g'\].*vectorize_particles=False"):
            _loss(backend, forced, {"qg": QG}, model3, guide3, backend.asarray(Y3))
    else:
        val = _loss(backend, elbo, {"qg": QG}, model3, guide3, backend.asarray(Y3))
        np.testing.assert_allclose(val, brute3(QG), rtol=0, atol=1e-10)


def test_particle_plate_wrappers_are_reused(backend):
    """Steps in the particle plate reuse one wrapped (model, guide) pair, so the guessed plate
    nesting is computed once and the ELBO's caches do not grow with the number of steps."""
    elbo = TraceEnum_ELBO(num_particles=3, vectorize_particles="plate")
    y = backend.asarray(Y2)
    for seed in range(3):
        val = float(backend.to_numpy(elbo.loss(backend.key(seed), {"q": backend.asarray(Q2)},
                                               model2, guide2, y)))
        np.testing.assert_allclose(val, brute2(Q2), rtol=0, atol=1e-10)
    assert len(elbo._guessed) == 1 and len(elbo._nesting) == 1


# ---------------------------------------------------------------- 4. a dependent pair
P4A = np.array([0.45, 0.55])
P4B = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])  # p(b | a)
LOC4A = np.array([-1.0, 1.0])
LOC4B = np.array([0.0, 1.5, -2.0])
Y4 = np.array([0.3, -1.7, 2.2])
QA = np.array([0.7, 0.3])
QB = np.array([[0.1, 0.3, 0.6], [0.5, 0.25, 0.25]])  # q(b | a)


def model4(y, plated):
    a = polyro.sample("a", dist.Categorical(probs=_a(P4A)))
    if plated:
        with polyro.plate("data", 3):
            b = polyro.sample("b", dist.Categorical(probs=_a(P4B)[a]))
            polyro.sample("y", dist.Normal(_a(LOC4A)[a] + _a(LOC4B)[b], 1.0),
                          obs=y)
    else:
        b = polyro.sample("b", dist.Categorical(probs=_a(P4B)[a]))
        with polyro.plate("data", 3):
            polyro.sample("y", dist.Normal(_a(LOC4A)[a] + _a(LOC4B)[b], 1.0),
                          obs=y)


def guide4(y, plated):
    qa = polyro.param("qa", np.ones(2) / 2, constraint=constraints.simplex)
    qb = polyro.param("qb", np.ones((2, 3)) / 3, constraint=constraints.simplex)
    a = polyro.sample("a", dist.Categorical(probs=qa), infer=ENUM)
    if plated:
        with polyro.plate("data", 3):
            polyro.sample("b", dist.Categorical(probs=qb[a]), infer=ENUM)
    else:
        polyro.sample("b", dist.Categorical(probs=qb[a]), infer=ENUM)


def brute4(plated):
    total = 0.0
    nb = 3 if plated else 1
    for a in range(2):
        for bs in itertools.product(range(3), repeat=nb):
            b = np.array(bs) if plated else np.full(3, bs[0])
            logq = np.log(QA[a]) + np.log(QB[a, list(bs)]).sum()
            logp = (np.log(P4A[a]) + np.log(P4B[a, list(bs)]).sum()
                    + stats.norm.logpdf(Y4, LOC4A[a] + LOC4B[b], 1.0).sum())
            total += np.exp(logq) * (logp - logq)
    return -total


@pytest.mark.parametrize("plated", [False, True], ids=["global", "plated"])
def test_dependent_pair(backend, plated):
    val = _loss(backend, TraceEnum_ELBO(max_plate_nesting=1), {"qa": QA, "qb": QB}, model4,
                guide4, backend.asarray(Y4), plated)
    np.testing.assert_allclose(val, brute4(plated), rtol=0, atol=1e-10)


# ---------------------------------------------------------------- 4b. sampled + enumerated
def test_sampled_site_beside_enumerated(backend):
    """A Delta (point-mass, reparameterized) guide site next to enumerated ones: log q = 0 at
    the point, so the brute force is brute2 with the model's extra term log N(m; 0, 1)."""
    m = 0.4

    def model(y):
        mu = polyro.sample("mu", dist.Normal(0.0, 1.0))
        with polyro.plate("data", 4):
            z = polyro.sample("z", dist.Categorical(probs=_a(W2)))
            polyro.sample("y", dist.Normal(_a(LOC2)[z] + mu, 1.0), obs=y)

    def guide(y):
        polyro.sample("mu", dist.Delta(polyro.param("m", 0.0)))
        guide2(y)

    val = _loss(backend, TraceEnum_ELBO(max_plate_nesting=1), {"q": Q2, "m": m}, model, guide,
                backend.asarray(Y2))
    ref = 0.0
    for zs in itertools.product(range(2), repeat=4):
        qz = Q2[np.arange(4), list(zs)]
        lp = np.log(W2[list(zs)]) + stats.norm.logpdf(Y2, LOC2[list(zs)] + m, 1.0)
        ref += np.prod(qz) * (lp.sum() - np.log(qz).sum())
    ref += stats.norm.logpdf(m)
    np.testing.assert_allclose(val, -ref, rtol=0, atol=1e-10)


# ---------------------------------------------------------------- 4c. score function + enumeration
PC = np.array([0.3, 0.7])  # p(c)
PGC = np.array([[0.6, 0.4], [0.1, 0.9]])  # p(g | c)
LOC_C = np.array([-1.0, 1.0])
LOC_G = np.array([0.5, -2.0])
Y_SF = 0.4
QC = np.array([0.45, 0.55])
QGC = np.array([[0.3, 0.7], [0.8, 0.2]])  # q(g | c)


def model_sf():
    c = polyro.sample("c", dist.Categorical(probs=_a(PC)))
    g = polyro.sample("g", dist.Categorical(probs=_a(PGC)[c]))
    polyro.sample("y", dist.Normal(_a(LOC_C)[c] + _a(LOC_G)[g], 1.0), obs=Y_SF)


def guide_sf():
    qc = polyro.param("qc", np.ones(2) / 2, constraint=constraints.simplex)
    qg = polyro.param("qg", np.ones((2, 2)) / 2, constraint=constraints.simplex)
    c = polyro.sample("c", dist.Categorical(probs=qc))  # sampled: score-function gradient
    polyro.sample("g", dist.Categorical(probs=qg[c]), infer=ENUM)


def brute_sf(x):
    qc, qg = x[:2] / x[:2].sum(), x[2:].reshape(2, 2)
    qg = qg / qg.sum(-1, keepdims=True)
    total = 0.0
    for c in range(2):
        for g in range(2):
            logq = np.log(qc[c]) + np.log(qg[c, g])
            logp = (np.log(PC[c]) + np.log(PGC[c, g])
                    + stats.norm.logpdf(Y_SF, LOC_C[c] + LOC_G[g], 1.0))
            total += np.exp(logq) * (logp - logq)
    return -total


def test_score_function_site_before_enumerated(grad_backend):
    """A sampled Categorical c (score-function gradient) with an enumerated g ~ q(g | c): the
    mean over R = 8 independent estimates (2000 particles each) of the loss gradient is within
    5 standard errors (+1e-4) of the finite-difference gradient of the brute-force -ELBO; the
    loss value within 0.05 of it. Seeds fixed (key(3))."""
    be = grad_backend
    R, K = 8, 2000
    elbo = TraceEnum_ELBO(num_particles=K, max_plate_nesting=1)
    keys = be.split(be.key(3), R)

    @be.jit
    def vg(p, k):
        return be.value_and_grad(lambda q: elbo.loss(k, q, model_sf, guide_sf))(p)

    params = {"qc": be.asarray(QC), "qg": be.asarray(QGC)}
    grads, vals = [], []
    for r in range(R):
        val, g = vg(params, keys[r])
        vals.append(float(be.to_numpy(val)))
        grads.append(np.concatenate([be.to_numpy(g["qc"]), be.to_numpy(g["qg"]).ravel()]))
    grads = np.array(grads)
    mean, se = grads.mean(0), grads.std(0, ddof=1) / np.sqrt(R)
    x = np.concatenate([QC, QGC.ravel()])
    want = finite_difference_grad(brute_sf, x)
    assert np.all(np.abs(mean - want) < 5 * se + 1e-4), (mean, want, se)
    assert abs(np.mean(vals) - brute_sf(x)) < 0.05


# ---------------------------------------------------------------- 5. unsupported cases
def test_plated_guide_site_with_model_enumeration_raises(backend):
    def model(y):
        with polyro.plate("data", 3):
            z = polyro.sample("z", dist.Categorical(probs=_a(PZ[0])))
            w = polyro.sample("w", dist.Categorical(probs=_a(PZ)[z]), infer=ENUM)
            polyro.sample("y", dist.Normal(1.0 * z + w, 1.0), obs=y)

    def guide(y):
        with polyro.plate("data", 3):
            polyro.sample("z", dist.Categorical(probs=_a(PZ[1])), infer=ENUM)

    with pytest.raises(NotImplementedError,
                       match=r"enumerates site\(s\) \['z'\] inside plates \['data'\].*\['w'\]"):
        TraceEnum_ELBO(max_plate_nesting=1).loss(backend.key(0), {}, model, guide,
                                                 backend.asarray(Y3))


def test_plate_mismatch_raises(backend):
    def guide(y):
        polyro.sample("z", dist.Categorical(probs=_a(W2)), infer=ENUM)

    with pytest.raises(NotImplementedError, match=r"\['z'\] are enumerated in plates \[\] in the "
                                                  r"guide but sit in plates \['data'\]"):
        TraceEnum_ELBO(max_plate_nesting=1).loss(backend.key(0), {"q": backend.asarray(Q2)},
                                                 model2, guide, backend.asarray(Y2))


def test_markov_in_guide_raises(backend):
    def model():
        for t in range(3):
            polyro.sample(f"x_{t}", dist.Bernoulli(0.5))

    def guide():
        for t in markov(range(3)):
            polyro.sample(f"x_{t}", dist.Bernoulli(0.5), infer=ENUM)

    with pytest.raises(NotImplementedError, match=r"x_0.*x_2.*share enumeration dims"):
        TraceEnum_ELBO(max_plate_nesting=0).loss(backend.key(0), {}, model, guide)


def test_score_function_site_after_enumerated_raises(grad_backend):
    be = grad_backend

    def model():
        g = polyro.sample("g", dist.Bernoulli(0.5))
        polyro.sample("c", dist.Poisson(1.0 + g))

    def guide():
        g = polyro.sample("g", dist.Bernoulli(0.5), infer=ENUM)
        polyro.sample("c", dist.Poisson(2.0 + g))

    with pytest.raises(NotImplementedError, match=r"'c' is sampled given the guide-enumerated "
                                                  r"site\(s\) \['g'\]"):
        TraceEnum_ELBO(max_plate_nesting=0).loss(be.key(0), {}, model, guide)


def test_enumerating_continuous_guide_site_raises(backend):
    def guide():
        polyro.sample("x", dist.Normal(0.0, 1.0), infer=ENUM)

    with pytest.raises(ModelError, match="'x'.*no finite support"):
        TraceEnum_ELBO(max_plate_nesting=0).loss(
            backend.key(0), {}, lambda: polyro.sample("x", dist.Normal(0.0, 1.0)), guide)


# ---------------------------------------------------------------- 6. SVI
Y6 = np.array([-2.1, -1.4, 0.2, 1.9, 2.6, -0.1])
W6 = np.array([0.4, 0.6])
LOC6 = np.array([-1.5, 1.5])


def model6(y):
    with polyro.plate("data", len(Y6)):
        z = polyro.sample("z", dist.Categorical(probs=_a(W6)))
        polyro.sample("y", dist.Normal(_a(LOC6)[z], 1.0), obs=y)


def guide6(y):
    q = polyro.param("q", np.full((len(Y6), 2), 0.5), constraint=constraints.simplex)
    with polyro.plate("data", len(Y6)):
        polyro.sample("z", dist.Categorical(probs=q), infer=ENUM)


def test_svi_fits_exact_posterior(grad_backend):
    """The guide family contains the exact posterior p(z_i | y_i) and the loss has no sampling
    noise, so SVI is deterministic gradient descent whose minimum is that posterior (loss
    -log p(y)). Adam (lr 0.1, 400 steps) gets to max |q - posterior| ~ 3e-3 on both engines
    (the slow directions are the near-0/1 posteriors); we require < 0.02, against 0.45 at the
    initial q = 0.5. Independently of convergence, the loss at the fitted q must equal
    -log p(y) + KL(q || posterior) (an identity of the ELBO, computed in numpy) to 1e-8."""
    be = grad_backend
    elbo = TraceEnum_ELBO(max_plate_nesting=1)
    svi = SVI(model6, guide6, Adam(0.1), elbo)
    y = be.asarray(Y6)
    res = svi.run(be.key(0), 400, y, progress_bar=False)
    losses = be.to_numpy(res.losses)
    dens = W6[None, :] * stats.norm.pdf(Y6[:, None], LOC6[None, :], 1.0)
    post = dens / dens.sum(1, keepdims=True)
    neg_log_evidence = -np.log(dens.sum(1)).sum()
    assert losses[-1] < losses[0] - 5.0
    assert np.all(np.diff(losses[::50]) < 0)
    q = be.to_numpy(svi.get_params(res.state)["q"])
    np.testing.assert_allclose(q, post, rtol=0, atol=0.02)
    kl = float((q * np.log(q / post)).sum())
    final = _loss(be, elbo, {"q": q}, model6, guide6, y)
    np.testing.assert_allclose(final, neg_log_evidence + kl, rtol=0, atol=1e-8)
    assert kl < 0.05
