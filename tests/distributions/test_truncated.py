"""TruncatedDistribution and FoldedDistribution against scipy.stats (truncnorm, foldnorm, and
renormalised scipy densities); KS tests of the samplers with fixed seeds (false-failure
probability 2e-5 each)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import polyro.distributions as dist


def A(be, x):
    return be.asarray(np.asarray(x, dtype=np.float64))


def N(be, x):
    return np.asarray(be.to_numpy(x))


def _truncnorm(mu, s, lo, hi):
    return stats.truncnorm((lo - mu) / s, (hi - mu) / s, loc=mu, scale=s)


@pytest.mark.parametrize("lo,hi", [(-1.0, 4.0), (-1.0, None), (None, 0.5), (3.0, 9.0)])
def test_truncated_normal_vs_scipy(backend, lo, hi):
    mu, s = 1.0, 2.0
    d = dist.TruncatedDistribution(dist.Normal(A(backend, mu), A(backend, s)), low=lo, high=hi)
    ref = _truncnorm(mu, s, -np.inf if lo is None else lo, np.inf if hi is None else hi)
    x = np.array([(lo if lo is not None else -3.0) + 0.25, (hi if hi is not None else 8.0) - 0.3])
    np.testing.assert_allclose(N(backend, d.log_prob(A(backend, x))), ref.logpdf(x), rtol=1e-9)
    np.testing.assert_allclose(N(backend, d.cdf(A(backend, x))), ref.cdf(x), rtol=1e-9,
                               atol=1e-12)
    q = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(N(backend, d.icdf(A(backend, q))), ref.ppf(q), rtol=1e-8)
    draws = N(backend, d.sample(backend.key(17), (4000,)))
    assert draws.shape == (4000,)
    assert stats.kstest(draws, ref.cdf).pvalue > 2e-5


def test_truncated_batched_bounds(backend):
    lo, hi = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 5.0, 2.5])
    d = dist.TruncatedDistribution(dist.Laplace(A(backend, 0.5), 1.5), low=A(backend, lo),
                                   high=A(backend, hi))
    assert d.batch_shape == (3,)
    x = (lo + hi) / 2
    ref = stats.laplace(0.5, 1.5)
    mass = ref.cdf(hi) - ref.cdf(lo)
    np.testing.assert_allclose(N(backend, d.log_prob(A(backend, x))),
                               ref.logpdf(x) - np.log(mass), rtol=1e-10)
    s = N(backend, d.sample(backend.key(3), (50,)))
    assert s.shape == (50, 3) and np.all((s >= lo) & (s <= hi))
    with pytest.raises(ValueError, match="support"):
        d.log_prob(A(backend, [0.0, 6.0, 2.2]))


def test_truncated_errors(backend):
    with pytest.raises(ValueError, match="low must be < high"):
        dist.TruncatedDistribution(dist.Normal(0.0, 1.0), low=A(backend, 2.0),
                                   high=A(backend, 1.0))
    with pytest.raises(ValueError, match="continuous"):
        dist.TruncatedDistribution(dist.Poisson(A(backend, 2.0)), low=1.0)
    with pytest.raises(ValueError, match="univariate"):
        dist.TruncatedDistribution(dist.Dirichlet(A(backend, [1.0, 1.0])), low=0.0)
    with pytest.raises(ValueError, match="low, high or both"):
        dist.TruncatedDistribution(dist.Normal(0.0, 1.0))


@pytest.mark.parametrize("mu,s", [(0.0, 1.0), (1.5, 0.7), (-2.0, 1.3)])
def test_folded_normal_vs_scipy(backend, mu, s):
    d = dist.FoldedDistribution(dist.Normal(A(backend, mu), A(backend, s)))
    ref = stats.foldnorm(abs(mu) / s, scale=s)
    x = np.array([0.0, 0.3, 1.0, 4.0])
    np.testing.assert_allclose(N(backend, d.log_prob(A(backend, x))), ref.logpdf(x), rtol=1e-9)
    np.testing.assert_allclose(N(backend, d.cdf(A(backend, x))), ref.cdf(x), rtol=1e-9,
                               atol=1e-14)
    draws = N(backend, d.sample(backend.key(5), (4000,)))
    assert np.all(draws >= 0)
    assert stats.kstest(draws, ref.cdf).pvalue > 2e-5
    with pytest.raises(ValueError, match="support"):
        d.log_prob(A(backend, [-0.5]))


def test_folded_errors(backend):
    with pytest.raises(ValueError, match="real support"):
        dist.FoldedDistribution(dist.Exponential(A(backend, 1.0)))


def test_truncated_rsample_gradient(grad_backend):
    be = grad_backend

    def mean_draw(mu):
        d = dist.TruncatedDistribution(dist.Normal(mu, 1.0), low=0.0)
        return be.xp.mean(d.rsample(be.key(8), (4000,)))

    # E[X | X > 0] for X ~ N(mu, 1) is mu + phi(mu)/Phi(mu); d/dmu = 1 - h (mu + h), h the
    # inverse Mills ratio phi(mu)/Phi(mu)
    mu = 0.4
    h = stats.norm.pdf(mu) / stats.norm.cdf(mu)
    g = float(N(be, be.grad(mean_draw)(A(be, mu))))
    np.testing.assert_allclose(g, 1 - h * (mu + h), atol=0.05)
