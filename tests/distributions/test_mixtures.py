"""Mixtures: log_prob against numpy/scipy brute force, moments, and a KS test of the sampler
(fixed seeds; a correct sampler fails with probability 2e-5 per KS test)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import polyro.distributions as dist


def A(be, x):
    return be.asarray(np.asarray(x, dtype=np.float64))


def N(be, x):
    return np.asarray(be.to_numpy(x))


W = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
LOC = np.array([[-2.0, 0.0, 3.0], [1.0, 1.5, -1.0]])
SCALE = np.array([[0.5, 1.0, 2.0], [1.0, 0.3, 0.7]])


def _mix(be):
    return dist.MixtureSameFamily(dist.Categorical(probs=A(be, W)),
                                  dist.Normal(A(be, LOC), A(be, SCALE)))


def test_same_family_log_prob_brute_force(backend):
    m = _mix(backend)
    assert (m.batch_shape, m.event_shape) == ((2,), ())
    x = np.array([[-1.0, 0.5], [2.0, 0.0], [10.0, -30.0]])
    brute = np.log((W * stats.norm.pdf(x[..., None], LOC, SCALE)).sum(-1))
    brute[2] = np.logaddexp.reduce(np.log(W) + stats.norm.logpdf(x[2][..., None], LOC, SCALE),
                                   axis=-1)  # far tails: log-space brute force
    np.testing.assert_allclose(N(backend, m.log_prob(A(backend, x))), brute, rtol=1e-10)


def test_same_family_moments_and_cdf(backend):
    m = _mix(backend)
    mean = (W * LOC).sum(-1)
    var = (W * (SCALE**2 + LOC**2)).sum(-1) - mean**2
    np.testing.assert_allclose(N(backend, m.mean), mean, rtol=1e-12)
    np.testing.assert_allclose(N(backend, m.variance), var, rtol=1e-12)
    x = np.array([0.3, -0.4])
    np.testing.assert_allclose(N(backend, m.cdf(A(backend, x))),
                               (W * stats.norm.cdf(x[:, None], LOC, SCALE)).sum(-1), rtol=1e-10)


def test_same_family_sampler_ks(backend):
    m = _mix(backend)
    x = N(backend, m.sample(backend.key(2024), (5000,)))
    assert x.shape == (5000, 2)
    for b in range(2):
        def cdf(v, b=b):
            return (W[b] * stats.norm.cdf(np.asarray(v)[:, None], LOC[b], SCALE[b])).sum(-1)

        assert stats.kstest(x[:, b], cdf).pvalue > 2e-5


def test_same_family_multivariate_components(backend):
    rng = np.random.default_rng(3)
    w = np.array([0.3, 0.7])
    locs = rng.normal(size=(2, 3))
    trils = np.stack([np.eye(3), np.array([[1.0, 0, 0], [0.5, 2.0, 0], [0.1, -0.3, 0.4]])])
    m = dist.MixtureSameFamily(dist.Categorical(probs=A(backend, w)),
                               dist.MultivariateNormal(A(backend, locs),
                                                       scale_tril=A(backend, trils)))
    assert (m.batch_shape, m.event_shape) == ((), (3,))
    x = rng.normal(size=(4, 3))
    comp = np.stack([stats.multivariate_normal.logpdf(x, locs[k], trils[k] @ trils[k].T)
                     for k in range(2)], -1)
    np.testing.assert_allclose(N(backend, m.log_prob(A(backend, x))),
                               np.logaddexp.reduce(np.log(w) + comp, axis=-1), rtol=1e-10)
    s = N(backend, m.sample(backend.key(1), (7,)))
    assert s.shape == (7, 3)
    np.testing.assert_allclose(N(backend, m.mean), (w[:, None] * locs).sum(0), rtol=1e-12)


def test_mixture_general(backend):
    w = np.array([0.4, 0.6])
    m = dist.Mixture(dist.Categorical(probs=A(backend, w)),
                     [dist.Normal(A(backend, -1.0), 0.5), dist.Laplace(A(backend, 2.0), 1.0)])
    assert isinstance(m, dist.MixtureGeneral)
    x = np.array([-1.0, 0.0, 2.5])
    brute = np.log(w[0] * stats.norm.pdf(x, -1.0, 0.5) + w[1] * stats.laplace.pdf(x, 2.0, 1.0))
    np.testing.assert_allclose(N(backend, m.log_prob(A(backend, x))), brute, rtol=1e-10)
    np.testing.assert_allclose(float(N(backend, m.mean)), 0.4 * -1.0 + 0.6 * 2.0, rtol=1e-12)
    s = N(backend, m.sample(backend.key(9), (5000,)))

    def cdf(v):
        return w[0] * stats.norm.cdf(v, -1.0, 0.5) + w[1] * stats.laplace.cdf(v, 2.0, 1.0)

    assert stats.kstest(s, cdf).pvalue > 2e-5


def test_mixture_errors(backend):
    with pytest.raises(ValueError, match="3 categories.*2"):
        dist.MixtureSameFamily(dist.Categorical(probs=A(backend, [0.2, 0.3, 0.5])),
                               dist.Normal(A(backend, [0.0, 1.0]), 1.0))
    with pytest.raises(ValueError, match="2 categories but 1"):
        dist.MixtureGeneral(dist.Categorical(probs=A(backend, [0.5, 0.5])),
                            [dist.Normal(0.0, 1.0)])
