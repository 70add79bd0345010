"""Statistical quality of the portable draws and their reparameterized gradients.

Every test uses a fixed seed, so a pass is deterministic; the stated false-failure rate is the
chance that a *correct* generator fails the check at a fresh seed:
* goodness of fit (KS or chi-square against scipy.stats, 10,000 draws): p > 2e-5 per check;
* correlation checks: |r| < 4.5 / sqrt(n), two-sided normal tail 6.8e-6 per check;
* gradient means: within 5 Monte Carlo standard errors (5.7e-7 per check).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

P_MIN = 2e-5
N_DRAWS = 10_000


def N(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def arr(be, v):
    v = np.asarray(v, np.float64)
    return be.asarray(v if v.ndim else float(v), dtype="float64")


def chi2_discrete(x, pmf, support):
    """Chi-square of integer draws against ``pmf`` over ``support``, tail bins merged."""
    counts = np.array([(x == k).sum() for k in support], float)
    expected = pmf(np.asarray(support)) * len(x)
    expected[-1] += len(x) - expected.sum()  # the rest of the mass in the last bin
    counts[-1] += len(x) - counts.sum()
    keep = expected >= 5
    obs = np.r_[counts[keep], counts[~keep].sum()]
    exp = np.r_[expected[keep], expected[~keep].sum()]
    if exp[-1] < 5:  # fold a small remainder into the previous bin
        obs[-2] += obs[-1]
        exp[-2] += exp[-1]
        obs, exp = obs[:-1], exp[:-1]
    return st.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue


CONTINUOUS = {
    "uniform": (lambda be, k: be.uniform(k, (N_DRAWS,), minval=-1.0, maxval=3.0),
                st.uniform(-1, 4).cdf),
    "normal": (lambda be, k: be.normal(k, (N_DRAWS,)), st.norm.cdf),
    "exponential": (lambda be, k: be.exponential(k, (N_DRAWS,)), st.expon.cdf),
    "gumbel": (lambda be, k: be.gumbel(k, (N_DRAWS,)), st.gumbel_r.cdf),
    "cauchy": (lambda be, k: be.cauchy(k, (N_DRAWS,)), st.cauchy.cdf),
    "laplace": (lambda be, k: be.laplace(k, (N_DRAWS,)), st.laplace.cdf),
    "logistic": (lambda be, k: be.logistic(k, (N_DRAWS,)), st.logistic.cdf),
    "gamma_0.3": (lambda be, k: be.gamma(k, arr(be, 0.3), (N_DRAWS,)), st.gamma(0.3).cdf),
    "gamma_1": (lambda be, k: be.gamma(k, arr(be, 1.0), (N_DRAWS,)), st.gamma(1.0).cdf),
    "gamma_4.5": (lambda be, k: be.gamma(k, arr(be, 4.5), (N_DRAWS,)), st.gamma(4.5).cdf),
    "beta": (lambda be, k: be.beta(k, arr(be, 0.5), arr(be, 2.0), (N_DRAWS,)),
             st.beta(0.5, 2.0).cdf),
    "dirichlet_marginal": (
        lambda be, k: be.dirichlet(k, arr(be, [0.7, 1.5, 3.0]), (N_DRAWS,))[..., 1],
        st.beta(1.5, 3.7).cdf),
}


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_goodness_of_fit(backend, name):
    draw, cdf = CONTINUOUS[name]
    x = N(draw(backend, backend.key(2026)))
    assert x.shape == (N_DRAWS,) and np.isfinite(x).all()
    assert st.kstest(x, cdf).pvalue > P_MIN


DISCRETE = {
    "poisson_0.7": (lambda be, k: be.poisson(k, arr(be, 0.7), (N_DRAWS,)),
                    st.poisson(0.7).pmf, range(0, 8)),
    "poisson_4": (lambda be, k: be.poisson(k, arr(be, 4.0), (N_DRAWS,)),
                  st.poisson(4.0).pmf, range(0, 16)),
    "poisson_25": (lambda be, k: be.poisson(k, arr(be, 25.0), (N_DRAWS,)),
                   st.poisson(25.0).pmf, range(5, 50)),
    "poisson_300": (lambda be, k: be.poisson(k, arr(be, 300.0), (N_DRAWS,)),
                    st.poisson(300.0).pmf, range(230, 370)),
    "binomial_small": (lambda be, k: be.binomial(k, arr(be, 20.0), arr(be, 0.3), (N_DRAWS,)),
                       st.binom(20, 0.3).pmf, range(0, 21)),
    "binomial_btrs": (lambda be, k: be.binomial(k, arr(be, 500.0), arr(be, 0.6), (N_DRAWS,)),
                      st.binom(500, 0.6).pmf, range(250, 351)),
    "binomial_flip": (lambda be, k: be.binomial(k, arr(be, 40.0), arr(be, 0.93), (N_DRAWS,)),
                      st.binom(40, 0.93).pmf, range(25, 41)),
    "bernoulli": (lambda be, k: be.bernoulli(k, arr(be, 0.37), (N_DRAWS,)),
                  st.bernoulli(0.37).pmf, range(0, 2)),
    "categorical": (lambda be, k: be.categorical(k, arr(be, np.log([0.1, 0.2, 0.3, 0.4])),
                                                 shape=(N_DRAWS,)),
                    lambda s: np.array([0.1, 0.2, 0.3, 0.4])[s], range(0, 4)),
    "multinomial_marginal": (
        lambda be, k: be.multinomial(k, 15.0, arr(be, [0.2, 0.5, 0.3]), (N_DRAWS,))[..., 1],
        st.binom(15, 0.5).pmf, range(0, 16)),
}


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_goodness_of_fit(backend, name):
    draw, pmf, support = DISCRETE[name]
    x = N(draw(backend, backend.key(77))).astype(np.int64)
    assert x.shape == (N_DRAWS,)
    assert chi2_discrete(x, pmf, list(support)) > P_MIN


def test_uniformity_chi_square_and_serial_correlation(backend):
    n = 100_000
    u = N(backend.uniform(backend.key(9), (n,)))
    counts = np.bincount((u * 100).astype(int), minlength=100)
    assert st.chisquare(counts).pvalue > P_MIN
    bits = N(backend.random_bits(backend.key(9), (n,))).astype(np.uint64)
    for shift in (0, 8, 16, 24):  # every byte of the word is uniform
        c = np.bincount(((bits >> np.uint64(shift)) & np.uint64(255)).astype(int), minlength=256)
        assert st.chisquare(c).pvalue > P_MIN
    bound = 4.5 / np.sqrt(n)
    for lag in (1, 2, 7):
        assert abs(np.corrcoef(u[:-lag], u[lag:])[0, 1]) < bound


def test_split_and_fold_in_streams_are_independent(backend):
    n = 20_000
    bound = 4.5 / np.sqrt(n)
    keys = backend.split(backend.key(31), 4)
    streams = [N(backend.normal(keys[i], (n,))) for i in range(4)]
    # fold_in(k, d) equals split(k, n)[d] (JAX's partitionable Threefry): use other d's
    streams += [N(backend.normal(backend.fold_in(backend.key(31), d), (n,))) for d in (100, 101)]
    streams.append(N(backend.normal(backend.key(31), (n,))))  # the parent itself
    r = np.corrcoef(np.stack(streams))
    off = r[~np.eye(len(streams), dtype=bool)]
    assert np.abs(off).max() < bound
    # neighbouring seeds too
    a, b = N(backend.uniform(backend.key(1), (n,))), N(backend.uniform(backend.key(2), (n,)))
    assert abs(np.corrcoef(a, b)[0, 1]) < bound


# ------------------------------------------------------------------------- gradients


def _grad_mean(be, f, x0):
    """Gradient of mean(f(x)) at x0 (a float64 array), through the backend's autodiff."""
    g = be.grad(lambda p: be.xp.mean(f(p)))(arr(be, x0))
    return N(g)


@pytest.mark.parametrize("alpha", [0.4, 2.0, 7.5])
def test_gamma_reparameterized_gradient(grad_backend, alpha):
    be = grad_backend
    n = 20_000
    k = be.key(5)
    draw = lambda a: be.gamma(k, be.xp.broadcast_to(a, (n,)))  # noqa: E731
    # d/dalpha E[x] = 1 and d/dalpha E[x^2] = d/dalpha (alpha^2 + alpha) = 2 alpha + 1
    g1 = _grad_mean(be, draw, alpha)
    g2 = _grad_mean(be, lambda a: draw(a) ** 2, alpha)
    # per-draw gradients give the Monte Carlo standard error
    per = N(be.grad(lambda a: be.xp.sum(draw(a)))(arr(be, np.full(n, alpha))))
    se1 = per.std() / np.sqrt(n)
    assert abs(float(g1) - 1.0) < 5 * se1 + 1e-12
    x = N(draw(arr(be, alpha)))
    se2 = (2 * x * per).std() / np.sqrt(n)
    assert abs(float(g2) - (2 * alpha + 1)) < 5 * se2
    assert np.isfinite(per).all() and (per > 0).all()  # dx/dalpha > 0 for Gamma(alpha, 1)


def test_gamma_gradient_is_implicit_reparameterization(grad_backend):
    """Per draw, dx/dalpha = -(dF/dalpha)/(dF/dx) with F the Gamma CDF (finite differences
    of scipy's regularized incomplete gamma as the oracle)."""
    import scipy.special as sc

    be = grad_backend
    alpha = np.array([0.5, 1.3, 4.0, 12.0])
    k = be.key(12)
    x = N(be.gamma(k, arr(be, alpha)))
    g = N(be.grad(lambda a: be.xp.sum(be.gamma(k, a)))(arr(be, alpha)))
    h = 1e-6
    dF_da = (sc.gammainc(alpha + h, x) - sc.gammainc(alpha - h, x)) / (2 * h)
    dF_dx = np.exp((alpha - 1) * np.log(x) - x - sc.gammaln(alpha))
    np.testing.assert_allclose(g, -dF_da / dF_dx, rtol=1e-4)


def test_normal_and_beta_gradients(grad_backend):
    be = grad_backend
    n = 20_000
    k = be.key(6)
    # E[(loc + scale z)^2] = loc^2 + scale^2: d/dscale = 2 scale; d/dloc = 2 loc
    g = _grad_mean(be, lambda p: be.normal(k, (n,), loc=p[0], scale=p[1]) ** 2, [0.5, 1.5])
    z = N(be.normal(k, (n,)))
    se = np.array([(2 * (0.5 + 1.5 * z)).std(), (2 * (0.5 + 1.5 * z) * z).std()]) / np.sqrt(n)
    assert (np.abs(g - [1.0, 3.0]) < 5 * se).all()
    # Beta(a, b): E = a / (a + b); d/da = b / (a + b)^2 through the two reparameterized gammas
    a0, b0 = 2.0, 3.0
    gb = _grad_mean(be, lambda p: be.beta(k, be.xp.broadcast_to(p[0], (n,)), p[1]), [a0, b0])
    want = np.array([b0, -a0]) / (a0 + b0) ** 2
    assert np.allclose(gb, want, atol=5 * 0.2 / np.sqrt(n) + 2e-3)


def test_gamma_gradient_under_jit_on_jax():
    jax = pytest.importorskip("jax")
    from polyro.backends import get

    be = get("jax")
    k = be.key(3)
    f = lambda a: be.xp.mean(be.gamma(k, be.xp.broadcast_to(a, (5000,)), dtype="float64"))  # noqa
    a = jax.numpy.asarray(1.7, jax.numpy.float64)
    g_eager = jax.grad(f)(a)
    g_jit = jax.jit(jax.grad(f))(a)
    np.testing.assert_allclose(np.asarray(g_jit), np.asarray(g_eager), rtol=1e-12)
    assert abs(float(g_eager) - 1.0) < 0.05
