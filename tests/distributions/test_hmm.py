"""DiscreteHMM against brute force: every latent path summed in numpy with scipy densities.

Oracles: the exact sum over all ``K ** (T + 1)`` state paths (small T), the numpy forward
algorithm (T = 40, past the length where JAX switches to its compiled loop), central finite
differences of the brute-force log density (gradients), and the exact distribution of a short
discrete HMM's observation sequences (a chi-square test of the draws).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import polyro.distributions as dist
from polyro.errors import AutodiffUnavailableError
from polyro.inference.enum import chain as chain_mod
from polyro.testing import finite_difference_grad

RNG = np.random.default_rng(11)
K, T = 3, 4
INIT = RNG.normal(size=(2, K))                 # batch (2,), unnormalized logits
TRANS = RNG.normal(size=(T, K, K))             # time-varying
LOCS = RNG.normal(size=(T, K)) * 2.0
SCALE = 0.7
Y = RNG.normal(size=(2, T)) * 2.0


def _lognorm(x):
    return x - logsumexp(x, axis=-1, keepdims=True)


def _brute(init, trans, obs_lp):
    """log p(y) and log p(x[T-1] | y) by summing every path (x[-1], x[0], ..., x[T-1])."""
    li, lt = _lognorm(init), _lognorm(trans)
    n, k = obs_lp.shape
    tot, last = [], np.full(k, -np.inf)
    for path in itertools.product(range(k), repeat=n + 1):
        lp = li[path[0]] + sum(lt[min(t, len(lt) - 1)][path[t], path[t + 1]]
                               + obs_lp[t, path[t + 1]] for t in range(n))
        tot.append(lp)
        last[path[-1]] = np.logaddexp(last[path[-1]], lp)
    total = logsumexp(tot)
    return total, last - total


def _normal_lp(y, locs):
    return stats.norm.logpdf(y[:, None], locs, SCALE)          # (T, K)


def test_log_prob_and_filter_against_brute_force(backend):
    be = backend
    d = dist.DiscreteHMM(be.asarray(INIT), be.asarray(TRANS),
                         dist.Normal(be.asarray(LOCS), SCALE))
    assert d.batch_shape == (2,) and d.event_shape == (T,)
    lp = be.to_numpy(d.log_prob(be.asarray(Y)))
    post = be.to_numpy(d.filter(be.asarray(Y)).probs)
    for b in range(2):
        want, last = _brute(INIT[b], TRANS, _normal_lp(Y[b], LOCS))
        assert lp[b] == pytest.approx(want, rel=1e-10)
        np.testing.assert_allclose(post[b], np.exp(last), rtol=1e-9, atol=1e-12)


def test_homogeneous_scores_any_length(backend):
    """One transition matrix and one observation per state: event shape (1,), and log_prob
    takes data of any length (T = 2 and 5 here)."""
    be = backend
    trans = TRANS[0]
    d = dist.DiscreteHMM(be.asarray(INIT[0]), be.asarray(trans),
                         dist.Normal(be.asarray(LOCS[0]), SCALE))
    assert d.event_shape == (1,) and d.duration is None
    for n in (2, 5):
        y = Y[0, :2] if n == 2 else np.concatenate([Y[0], Y[1, :1]])
        want, _ = _brute(INIT[0], trans[None], stats.norm.logpdf(y[:, None], LOCS[0], SCALE))
        assert float(be.to_numpy(d.log_prob(be.asarray(y)))) == pytest.approx(want, rel=1e-10)


def test_long_chain_matches_forward_algorithm(backend):
    """T = 40 (JAX contracts it in its compiled loop): the numpy forward algorithm."""
    be = backend
    n = 40
    assert chain_mod.SCAN_MIN < n
    trans, locs, y = TRANS[0], LOCS[0], RNG.normal(size=n) * 2.0
    d = dist.DiscreteHMM(be.asarray(INIT[0]), be.asarray(trans),
                         dist.Normal(be.asarray(locs), SCALE))
    got = float(be.to_numpy(be.jit(d.log_prob)(be.asarray(y))))
    e = stats.norm.logpdf(y[:, None], locs, SCALE)
    alpha = _lognorm(INIT[0])
    for t in range(n):
        alpha = logsumexp(alpha[:, None] + _lognorm(trans), axis=0) + e[t]
    assert got == pytest.approx(logsumexp(alpha), rel=1e-10)


def test_gradient_against_finite_differences(backend):
    be = backend
    y = Y[0]

    def ref(v):
        return _brute(INIT[0], v.reshape(TRANS.shape), _normal_lp(y, LOCS))[0]

    def f(tr):
        return dist.DiscreteHMM(be.asarray(INIT[0]), tr,
                                dist.Normal(be.asarray(LOCS), SCALE)).log_prob(be.asarray(y))

    if not be.SUPPORTS_AUTODIFF:
        with pytest.raises(AutodiffUnavailableError):
            be.grad(f)(be.asarray(TRANS))
        return
    g = be.to_numpy(be.grad(f)(be.asarray(TRANS)))
    np.testing.assert_allclose(g.reshape(-1), finite_difference_grad(ref, TRANS.reshape(-1)),
                               atol=1e-6)


def test_samples_follow_the_exact_distribution(backend):
    """K = 2 states, T = 2 steps, Bernoulli observations: 20000 draws of (y0, y1) against the
    exact probabilities of the 4 sequences (brute force). Chi-square with 3 degrees of freedom;
    fixed key, rejection below p = 1e-6 (a correct sampler fails with probability 1e-6)."""
    be = backend
    init = np.log([0.3, 0.7])
    trans = np.log([[0.9, 0.1], [0.25, 0.75]])
    probs = np.array([0.1, 0.8])
    d = dist.DiscreteHMM(be.asarray(init), be.asarray(trans),
                         dist.Bernoulli(probs=be.asarray(probs)), duration=2)
    draws = be.to_numpy(d.sample(be.key(3), (20000,)))
    assert draws.shape == (20000, 2)
    counts = np.zeros(4)
    np.add.at(counts, (draws[:, 0] * 2 + draws[:, 1]).astype(int), 1)
    exact = []
    for y0, y1 in itertools.product((0, 1), repeat=2):
        lp = stats.bernoulli.logpmf(np.array([[y0], [y1]]), probs[None, :])
        exact.append(np.exp(_brute(init, trans[None], lp)[0]))
    assert sum(exact) == pytest.approx(1.0, rel=1e-12)
    assert stats.chisquare(counts, 20000 * np.array(exact)).pvalue > 1e-6


def test_sample_shapes_and_engines_agree(backend):
    """Draws with event dims (a 2-d observation) have shape sample + batch + (T, 2), and the
    same key gives the same draws on every engine (float64; compared with the numpy engine's)."""
    from polyro.backends import get

    def draw(be):
        obs = dist.Normal(be.asarray(np.stack([LOCS, -LOCS], -1)), SCALE).to_event(1)
        d = dist.DiscreteHMM(be.asarray(INIT), be.asarray(TRANS), obs)
        return be.to_numpy(d.sample(be.key(7), (5,)))

    got = draw(backend)
    assert got.shape == (5, 2, T, 2)
    np.testing.assert_allclose(got, draw(get("numpy")), rtol=1e-12, atol=1e-12)


def test_errors(backend):
    be = backend
    with pytest.raises(ValueError, match="3 states .* ending in \\(3, 3\\)"):
        dist.DiscreteHMM(be.asarray(INIT), be.asarray(np.zeros((2, 2))),
                         dist.Normal(be.asarray(LOCS), 1.0))
    d = dist.DiscreteHMM(be.asarray(INIT[0]), be.asarray(TRANS[0]),
                         dist.Normal(be.asarray(LOCS[0]), 1.0))
    with pytest.raises(ValueError, match="pass duration="):
        d.sample(be.key(0))
    with pytest.raises(ValueError, match="duration must be a positive int"):
        dist.DiscreteHMM(be.asarray(INIT), be.asarray(TRANS),
                         dist.Normal(be.asarray(LOCS), 1.0), duration=7)


def test_observed_site_of_any_length(backend):
    """In a model, a homogeneous HMM observes data of any length (its event shape (1,) is
    free in time, as in Pyro); the site's log density is the brute-force one; data whose
    observation dims do not fit is still the shape error naming the site."""
    import polyro
    from polyro import handlers
    from polyro.errors import ModelError

    be = backend

    def model(y):
        d = dist.DiscreteHMM(be.asarray(INIT[0]), be.asarray(TRANS[0]),
                             dist.Normal(be.asarray(LOCS[0]), SCALE))
        polyro.sample("y", d, obs=y)

    y = np.concatenate([Y[0], Y[1]])
    tr = handlers.trace(model).get_trace(be.asarray(y))
    want, _ = _brute(INIT[0], TRANS[0][None], stats.norm.logpdf(y[:, None], LOCS[0], SCALE))
    assert float(be.to_numpy(tr.log_prob_sum())) == pytest.approx(want, rel=1e-10)
    # (3, 2): three sequences of two steps, broadcast over the batch
    lp3 = handlers.trace(model).get_trace(be.asarray(np.zeros((3, 2))))["y"]["fn"].log_prob(
        be.asarray(np.zeros((3, 2))))
    assert tuple(lp3.shape) == (3,)
    with pytest.raises(ModelError, match="sample site 'y': observed value of shape \\(\\)"):
        handlers.trace(model).get_trace(be.asarray(1.0))


# ------------------------------------------------------------------------------ GaussianHMM
H, O, TG = 2, 3, 4
G_M0 = RNG.normal(size=H)
G_L0 = np.array([[1.0, 0.0], [0.4, 0.8]])
G_A = RNG.normal(size=(TG, H, H)) * 0.5 + np.eye(H)          # time-varying
G_B = RNG.normal(size=H) * 0.3
G_Q = np.array([0.6, 1.1])
G_C = RNG.normal(size=(H, O))                               # homogeneous
G_D = RNG.normal(size=O) * 0.2
G_R = np.array([0.5, 0.9, 0.7])


def _joint(A, C, n):
    """Mean and covariance of y[0..n-1] (flattened) by pushing every Gaussian input through
    the linear recursion (numpy; the oracle)."""
    def run(z0, eps, dlt):
        z, ys = z0, []
        for t in range(n):
            z = z @ A[min(t, len(A) - 1)] + eps[t]
            ys.append(z @ C + dlt[t])
        return np.concatenate(ys)

    mean_in = (G_M0, np.tile(G_B, (n, 1)), np.tile(G_D, (n, 1)))
    cov_in = [G_L0 @ G_L0.T] + [np.diag(G_Q ** 2)] * n + [np.diag(G_R ** 2)] * n
    sizes = [H] + [H] * n + [O] * n
    flat = np.concatenate([mean_in[0], mean_in[1].ravel(), mean_in[2].ravel()])

    def f(v):
        z0, rest = v[:H], v[H:]
        return run(z0, rest[:n * H].reshape(n, H), rest[n * H:].reshape(n, O))

    base = f(flat)
    J = np.stack([f(flat + e) - base for e in np.eye(flat.size)], axis=1)
    from scipy.linalg import block_diag
    cov = J @ block_diag(*cov_in) @ J.T
    assert J.shape[1] == sum(sizes)
    return base, cov


def _ghmm(be, A=G_A, duration=None, batch=False):
    m0 = np.stack([G_M0, G_M0 + 1.0]) if batch else G_M0
    init = dist.MultivariateNormal(be.asarray(m0), scale_tril=be.asarray(G_L0))
    trans = dist.Normal(be.asarray(G_B), be.asarray(G_Q)).to_event(1)
    obs = dist.Normal(be.asarray(G_D), be.asarray(G_R)).to_event(1)
    return dist.GaussianHMM(init, be.asarray(A), trans, be.asarray(G_C), obs, duration=duration)


def test_gaussian_hmm_log_prob_against_the_joint_gaussian(backend):
    """Kalman filter log_prob against scipy's multivariate normal of the joint observations
    (time-varying transitions, batch of two initial means, homogeneous observations)."""
    be = backend
    d = _ghmm(be, batch=True)
    assert d.batch_shape == (2,) and d.event_shape == (TG, O)
    y = RNG.normal(size=(2, TG, O))
    lp = be.to_numpy(d.log_prob(be.asarray(y)))
    mean, cov = _joint(G_A, G_C, TG)
    for b in range(2):
        shift = np.concatenate([(np.array([1.0, 1.0]) * b) @ _prod(G_A, t) @ G_C
                                for t in range(TG)])
        want = stats.multivariate_normal(mean + shift, cov).logpdf(y[b].ravel())
        assert lp[b] == pytest.approx(want, rel=1e-9)


def _prod(A, t):
    out = np.eye(H)
    for s in range(t + 1):
        out = out @ A[s]
    return out


def test_gaussian_hmm_homogeneous_any_length_and_gradient(backend):
    """One transition matrix: event shape (1, obs) and data of any length (T = 3, 6) against
    the joint Gaussian; the gradient in the transition matrix against finite differences."""
    be = backend
    A = G_A[0]
    d = _ghmm(be, A=A)
    assert d.event_shape == (1, O)
    for n in (3, 6):
        y = RNG.normal(size=(n, O))
        mean, cov = _joint(A[None], G_C, n)
        got = float(be.to_numpy(d.log_prob(be.asarray(y))))
        assert got == pytest.approx(stats.multivariate_normal(mean, cov).logpdf(y.ravel()),
                                    rel=1e-9)
    y = RNG.normal(size=(3, O))

    def ref(v):
        mean, cov = _joint(v.reshape(1, H, H), G_C, 3)
        return stats.multivariate_normal(mean, cov).logpdf(y.ravel())

    def f(a):
        return _ghmm(be, A=a).log_prob(be.asarray(y))

    if not be.SUPPORTS_AUTODIFF:
        with pytest.raises(AutodiffUnavailableError):
            be.grad(f)(be.asarray(A))
        return
    g = be.to_numpy(be.grad(f)(be.asarray(A)))
    np.testing.assert_allclose(g.ravel(), finite_difference_grad(ref, A.ravel()), atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 7, 33])
def test_gaussian_hmm_pairwise_contraction_any_length_and_sample_dims(backend, n):
    """log_prob contracts the step factors in pairs (a leftover factor on odd rounds): lengths
    1, 2, 7 (odd rounds) and 33 against the joint Gaussian, for values with a sample dim in front
    of the batch of two initial means (value shape (3, 2, n, obs))."""
    be = backend
    A = G_A[0]
    d = _ghmm(be, A=A, batch=True)
    y = RNG.normal(size=(3, 2, n, O))
    lp = be.to_numpy(d.log_prob(be.asarray(y)))
    assert lp.shape == (3, 2)
    mean, cov = _joint(A[None], G_C, n)
    for b in range(2):
        shift = np.concatenate([(np.array([1.0, 1.0]) * b) @ np.linalg.matrix_power(A, t + 1)
                                @ G_C for t in range(n)])
        want = stats.multivariate_normal(mean + shift, cov).logpdf(y[:, b].reshape(3, -1))
        np.testing.assert_allclose(lp[:, b], want, rtol=1e-9)


@pytest.mark.parametrize("q", [1e-3, 1e-5, 1e-7])
def test_gaussian_hmm_small_process_noise(backend, q):
    """Nearly deterministic transitions (noise scale down to 1e-7) against the joint Gaussian of
    30 observations, rel 1e-11: the covariance-form filter stays exact there (an
    information-form version was off by 1.2e-6 at 1e-5 and by 0.04 at 1e-7)."""
    be = backend
    n, A = 30, np.array([[0.9, 0.1], [0.0, 0.95]])
    C = np.array([[1.0, 0.5], [0.2, 1.0]])
    y = np.random.default_rng(5).normal(size=(n, 2))
    d = dist.GaussianHMM(dist.Normal(be.asarray(np.zeros(2)), 1.0).to_event(1), be.asarray(A),
                         dist.Normal(be.asarray(np.zeros(2)), q).to_event(1), be.asarray(C),
                         dist.Normal(be.asarray(np.zeros(2)), 1.0).to_event(1))
    got = float(be.to_numpy(d.log_prob(be.asarray(y))))
    M = np.zeros((2 * n, 2 + 2 * n))   # y as a linear map of (z[-1], e[0..n-1])
    for t in range(n):
        M[2 * t:2 * t + 2, :2] = (np.linalg.matrix_power(A, t + 1) @ C).T
        for s in range(t + 1):
            M[2 * t:2 * t + 2, 2 + 2 * s:4 + 2 * s] = (np.linalg.matrix_power(A, t - s) @ C).T
    cov = M @ np.diag([1.0, 1.0] + [q * q] * (2 * n)) @ M.T + np.eye(2 * n)
    want = stats.multivariate_normal(np.zeros(2 * n), cov).logpdf(y.ravel())
    assert got == pytest.approx(want, rel=1e-11)


def test_gaussian_hmm_draws_match_the_joint_gaussian(backend):
    """20,000 draws: the mean of every coordinate within 5 standard errors of the exact one,
    every covariance entry within 6 of its standard errors (sqrt((S_ii S_jj + S_ij^2) / N));
    fixed keys, so the outcome is deterministic. The same key gives the same draws on every
    engine (compared with numpy's)."""
    from polyro.backends import get

    be = backend
    draws = be.to_numpy(_ghmm(be, duration=TG).sample(be.key(4), (20000,)))
    assert draws.shape == (20000, TG, O)
    flat = draws.reshape(20000, -1)
    mean, cov = _joint(G_A, G_C, TG)
    se = np.sqrt(np.diag(cov) / 20000)
    np.testing.assert_array_less(np.abs(flat.mean(0) - mean), 5 * se)
    dg = np.diag(cov)
    cov_se = np.sqrt((np.outer(dg, dg) + cov ** 2) / 20000)
    np.testing.assert_array_less(np.abs(np.cov(flat.T) - cov), 6 * cov_se)
    small = be.to_numpy(_ghmm(be, duration=TG).sample(be.key(9), (3,)))
    ref = get("numpy").to_numpy(_ghmm(get("numpy"), duration=TG).sample(
        get("numpy").key(9), (3,)))
    np.testing.assert_allclose(small, ref, rtol=1e-10, atol=1e-12)
