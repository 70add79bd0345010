"""KL registry: closed forms against Monte Carlo estimates computed with numpy/scipy.

The oracle is independent of the engine under test: draws come from numpy's Generator (fixed
seed) and log densities from scipy.stats. Tolerance: 5 Monte Carlo standard errors of the
estimate (plus 1e-3 absolute): a correct closed form fails with probability < 6e-7 per
comparison (the seeds are fixed, so the outcome is deterministic).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import polyro.distributions as dist

N_MC = 200_000


def _mc(logp, logq, draws):
    d = logp(draws) - logq(draws)
    d = d.reshape(d.shape[0], -1)
    return d.mean(0), d.std(0) / np.sqrt(d.shape[0])


def _check(got, mean, se, shape):
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == shape, (got.shape, shape)
    np.testing.assert_array_less(np.abs(got.reshape(-1) - mean), 5 * se + 1e-3)


def test_normal_normal(backend):
    rng = np.random.default_rng(0)
    mp, sp = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 2.0])
    mq, sq = np.array([0.5, 0.0, -1.0]), np.array([2.0, 1.0, 1.5])
    p = dist.Normal(backend.asarray(mp), backend.asarray(sp))
    q = dist.Normal(backend.asarray(mq), backend.asarray(sq))
    x = rng.normal(mp, sp, size=(N_MC, 3))
    mean, se = _mc(lambda v: stats.norm.logpdf(v, mp, sp), lambda v: stats.norm.logpdf(v, mq, sq),
                   x)
    _check(backend.to_numpy(dist.kl_divergence(p, q)), mean, se, (3,))


def test_gamma_gamma(backend):
    rng = np.random.default_rng(1)
    ap, bp, aq, bq = np.array([2.0, 0.7]), np.array([1.0, 3.0]), np.array([3.0, 1.0]), 2.0
    p = dist.Gamma(backend.asarray(ap), backend.asarray(bp))
    q = dist.Gamma(backend.asarray(aq), bq)
    x = rng.gamma(ap, 1 / bp, size=(N_MC, 2))
    mean, se = _mc(lambda v: stats.gamma.logpdf(v, ap, scale=1 / bp),
                   lambda v: stats.gamma.logpdf(v, aq, scale=1 / bq), x)
    _check(backend.to_numpy(dist.kl_divergence(p, q)), mean, se, (2,))


def test_beta_beta(backend):
    rng = np.random.default_rng(2)
    a1, b1, a2, b2 = np.array([2.0, 0.5]), np.array([3.0, 0.8]), np.array([1.0, 2.0]), 1.5
    p = dist.Beta(backend.asarray(a1), backend.asarray(b1))
    q = dist.Beta(backend.asarray(a2), b2)
    x = np.clip(rng.beta(a1, b1, size=(N_MC, 2)), 1e-300, 1 - 1e-16)
    mean, se = _mc(lambda v: stats.beta.logpdf(v, a1, b1), lambda v: stats.beta.logpdf(v, a2, b2),
                   x)
    _check(backend.to_numpy(dist.kl_divergence(p, q)), mean, se, (2,))


def test_exponential_exponential(backend):
    rng = np.random.default_rng(3)
    rp, rq = np.array([1.0, 4.0]), np.array([2.0, 0.5])
    p, q = dist.Exponential(backend.asarray(rp)), dist.Exponential(backend.asarray(rq))
    x = rng.exponential(1 / rp, size=(N_MC, 2))
    mean, se = _mc(lambda v: stats.expon.logpdf(v, scale=1 / rp),
                   lambda v: stats.expon.logpdf(v, scale=1 / rq), x)
    _check(backend.to_numpy(dist.kl_divergence(p, q)), mean, se, (2,))


def test_dirichlet_dirichlet(backend):
    rng = np.random.default_rng(4)
    a, b = np.array([2.0, 1.0, 3.5]), np.array([1.0, 1.0, 1.0])
    p, q = dist.Dirichlet(backend.asarray(a)), dist.Dirichlet(backend.asarray(b))
    x = rng.dirichlet(a, size=N_MC)

    def logpdf(alpha):  # Dirichlet log density, written out with scipy's gammaln
        return lambda v: ((np.log(v) * (alpha - 1)).sum(-1) + _lnorm(alpha))[:, None]

    mean, se = _mc(logpdf(a), logpdf(b), x)
    _check(backend.to_numpy(dist.kl_divergence(p, q)), mean, se, ())


def _lnorm(alpha):
    from scipy.special import gammaln

    return gammaln(alpha.sum()) - gammaln(alpha).sum()


def _exact_discrete_kl(p, q):
    p, q = np.asarray(p), np.asarray(q)
    return np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - np.log(q)), 0).sum(-1)


def test_categorical_categorical(backend):
    # a finite support: the oracle is the exact sum (no Monte Carlo needed)
    pp = np.array([[0.2, 0.3, 0.5], [0.0, 0.4, 0.6]])
    pq = np.array([0.1, 0.6, 0.3])
    p = dist.Categorical(probs=backend.asarray(pp))
    q = dist.Categorical(logits=backend.asarray(np.log(pq) + 1.7))
    np.testing.assert_allclose(backend.to_numpy(dist.kl_divergence(p, q)),
                               _exact_discrete_kl(pp, pq), rtol=1e-10, atol=1e-12)


def test_bernoulli_bernoulli(backend):
    pp, pq = np.array([0.2, 0.0, 0.9, 1.0]), np.array([0.5, 0.3, 0.1, 0.7])
    p = dist.Bernoulli(probs=backend.asarray(pp))
    q = dist.Bernoulli(logits=backend.asarray(np.log(pq) - np.log1p(-pq)))
    expected = _exact_discrete_kl(np.stack([pp, 1 - pp], -1), np.stack([pq, 1 - pq], -1))
    np.testing.assert_allclose(backend.to_numpy(dist.kl_divergence(p, q)), expected,
                               rtol=1e-9, atol=1e-12)


def test_mvn_mvn(backend):
    rng = np.random.default_rng(5)
    Lp = np.array([[1.0, 0.0, 0.0], [0.5, 1.2, 0.0], [-0.3, 0.2, 0.8]])
    Sq = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 1.5]])
    mp, mq = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.5, 0.0])
    p = dist.MultivariateNormal(backend.asarray(mp), scale_tril=backend.asarray(Lp))
    q = dist.MultivariateNormal(backend.asarray(mq), covariance_matrix=backend.asarray(Sq))
    x = rng.multivariate_normal(mp, Lp @ Lp.T, size=N_MC)
    mean, se = _mc(lambda v: stats.multivariate_normal.logpdf(v, mp, Lp @ Lp.T)[:, None],
                   lambda v: stats.multivariate_normal.logpdf(v, mq, Sq)[:, None], x)
    _check(backend.to_numpy(dist.kl_divergence(p, q)), mean, se, ())


def test_independent_expanded_masked(backend):
    mp, sp, mq, sq = 0.3, 0.8, -0.2, 1.3
    exact = np.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5
    p = dist.Normal(backend.asarray(mp), sp).expand((2, 3))
    q = dist.Normal(backend.asarray(np.array([mq, mq, mq])), sq)
    kl = backend.to_numpy(dist.kl_divergence(p, q))
    np.testing.assert_allclose(kl, np.full((2, 3), exact), rtol=1e-12)
    kl_ind = backend.to_numpy(dist.kl_divergence(p.to_event(1), q.expand((2, 3)).to_event(1)))
    np.testing.assert_allclose(kl_ind, np.full((2,), 3 * exact), rtol=1e-12)
    mask = backend.asarray(np.array([[True, False, True], [False, False, True]]))
    kl_m = backend.to_numpy(dist.kl_divergence(p.mask(mask), q))
    np.testing.assert_allclose(kl_m, np.where(backend.to_numpy(mask), exact, 0.0), rtol=1e-12)


def test_delta_any(backend):
    v = np.array([0.5, -1.0])
    q = dist.Normal(backend.asarray(np.array([0.0, 1.0])), 2.0)
    kl = backend.to_numpy(dist.kl_divergence(dist.Delta(backend.asarray(v)), q))
    np.testing.assert_allclose(kl, -stats.norm.logpdf(v, [0.0, 1.0], 2.0), rtol=1e-12)


def test_unknown_pair_names_both_types(backend):
    with pytest.raises(NotImplementedError, match=r"\(Normal, Gamma\)"):
        dist.kl_divergence(dist.Normal(0.0, 1.0), dist.Gamma(1.0, 1.0))


def test_register_kl_most_specific_wins(backend):
    class MyNormal(dist.Normal):
        pass

    @dist.register_kl(MyNormal, dist.Normal)
    def _kl(p, q):
        return "specific"

    assert dist.kl_divergence(MyNormal(0.0, 1.0), dist.Normal(0.0, 1.0)) == "specific"
    out = backend.to_numpy(dist.kl_divergence(dist.Normal(0.0, 1.0), MyNormal(0.0, 1.0)))
    np.testing.assert_allclose(out, 0.0, atol=1e-15)


def _quad_kl(logp, logq, lo, hi, points=None):
    """KL by adaptive quadrature of p (log p - log q) over (lo, hi) (scipy)."""
    from scipy import integrate

    return integrate.quad(lambda v: np.exp(logp(v)) * (logp(v) - logq(v)), lo, hi,
                          epsabs=1e-12, epsrel=1e-10, limit=400, points=points)[0]


@pytest.mark.parametrize("family", ["LogNormal", "Laplace", "HalfNormal"])
def test_continuous_closed_forms_against_quadrature(backend, family):
    """LogNormal, Laplace and HalfNormal pairs against scipy quadrature of the densities."""
    if family == "LogNormal":
        pars = [((0.3, 0.8), (-0.5, 1.3)), ((1.0, 0.4), (1.2, 0.5))]
        make = dist.LogNormal
        logpdf = lambda a, b: (lambda v: stats.lognorm.logpdf(v, b, scale=np.exp(a)))  # noqa: E731
        lo, hi = 0.0, np.inf
    elif family == "Laplace":
        pars = [((0.0, 1.0), (0.7, 2.0)), ((-1.0, 0.5), (0.5, 0.3))]
        make = dist.Laplace
        logpdf = lambda a, b: (lambda v: stats.laplace.logpdf(v, a, b))  # noqa: E731
        lo, hi = -60.0, 60.0  # both densities below 1e-50 beyond
    else:
        pars = [((1.0,), (2.0,)), ((1.5,), (0.4,))]
        make = dist.HalfNormal
        logpdf = lambda s, *_: (lambda v: stats.halfnorm.logpdf(v, scale=s))  # noqa: E731
        lo, hi = 0.0, np.inf
    for pp, qq in pars:
        p = make(*[backend.asarray(v) for v in pp])
        q = make(*[backend.asarray(v) for v in qq])
        kinks = [pp[0], qq[0]] if family == "Laplace" else None
        want = _quad_kl(logpdf(*pp), logpdf(*qq), lo, hi, kinks)
        got = float(backend.to_numpy(dist.kl_divergence(p, q)))
        assert got == pytest.approx(want, rel=1e-7, abs=1e-10)


def test_poisson_and_uniform_closed_forms(backend):
    """Poisson against the exact sum over its support (scipy pmf, truncated where the tail is
    below 1e-300); Uniform against log((b2 - a2) / (b1 - a1)), and +inf when p's support is
    not inside q's."""
    lp, lq = np.array([0.5, 3.0, 12.0]), np.array([2.0, 3.5, 9.0])
    k = np.arange(200)[:, None]
    pm = stats.poisson.pmf(k, lp)
    want = (pm * (stats.poisson.logpmf(k, lp) - stats.poisson.logpmf(k, lq))).sum(0)
    got = backend.to_numpy(dist.kl_divergence(dist.Poisson(backend.asarray(lp)),
                                              dist.Poisson(backend.asarray(lq))))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    p = dist.Uniform(backend.asarray(np.array([0.0, 0.0])), backend.asarray(np.array([1.0, 3.0])))
    q = dist.Uniform(backend.asarray(np.array([-1.0, 0.5])), backend.asarray(np.array([2.0, 4.0])))
    got = backend.to_numpy(dist.kl_divergence(p, q))
    assert got[0] == pytest.approx(np.log(3.0), rel=1e-12) and got[1] == np.inf
