"""Combinators: Independent, ExpandedDistribution, MaskedDistribution, Delta, Unit,
ImproperUniform, TransformedDistribution (oracles: scipy.stats and closed forms)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import polyro.distributions as dist
from polyro.core.distributions import constraints as C
from polyro.core.distributions import transforms as T


def A(be, x):
    return be.asarray(np.asarray(x, dtype=np.float64))


def N(be, x):
    return np.asarray(be.to_numpy(x))


def test_independent_log_prob_entropy_mean(backend):
    loc, scale = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]), np.array([1.0, 2.0, 0.5])
    d = dist.Independent(dist.Normal(A(backend, loc), A(backend, scale)), 2)
    assert (d.batch_shape, d.event_shape) == ((), (2, 3))
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    np.testing.assert_allclose(N(backend, d.log_prob(A(backend, x))),
                               stats.norm.logpdf(x, loc, scale).sum((-1, -2)), rtol=1e-10)
    np.testing.assert_allclose(N(backend, d.entropy()),
                               np.broadcast_to(stats.norm.entropy(loc, scale), (2, 3)).sum(),
                               rtol=1e-10)
    np.testing.assert_allclose(N(backend, d.mean), loc)
    assert d.has_rsample and not d.is_discrete
    assert d.support.event_dim == 2
    e = d.expand((4,))
    assert (e.batch_shape, e.event_shape) == ((4,), (2, 3))


def test_expanded_draws_are_independent(backend):
    d = dist.Normal(A(backend, 1.0), 2.0).expand((4000,))
    x = N(backend, d.sample(backend.key(11)))
    assert x.shape == (4000,)
    # KS against N(1, 2): fixed seed; a correct sampler fails with probability 2e-5
    assert stats.kstest(x, stats.norm(1.0, 2.0).cdf).pvalue > 2e-5
    # neighbours are uncorrelated (|r| < 5/sqrt(n) ~ 0.08)
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.08


def test_expanded_interstitial_dims(backend):
    # base batch (3, 1) expanded to (2, 3, 4): new leading and new trailing size
    loc = np.array([[0.0], [100.0], [200.0]])
    d = dist.Normal(A(backend, loc), 1.0).expand((2, 3, 4))
    x = N(backend, d.sample(backend.key(5), (6,)))
    assert x.shape == (6, 2, 3, 4)
    np.testing.assert_allclose(x.mean(axis=(0, 1, 3)), loc[:, 0], atol=1.5)
    assert len(np.unique(x)) == x.size
    np.testing.assert_allclose(N(backend, d.variance), np.ones((2, 3, 4)))


def test_masked(backend):
    rate = np.array([1.0, 2.0, 3.0])
    mask = np.array([True, False, True])
    d = dist.MaskedDistribution(dist.Exponential(A(backend, rate)), backend.asarray(mask))
    x = np.array([0.5, 0.5, 0.5])
    lp = N(backend, d.log_prob(A(backend, x)))
    np.testing.assert_allclose(lp, np.where(mask, stats.expon.logpdf(x, scale=1 / rate), 0.0),
                               rtol=1e-12)
    assert tuple(d.sample(backend.key(0), (2,)).shape) == (2, 3)
    np.testing.assert_allclose(N(backend, d.mean), 1 / rate)
    with pytest.raises(TypeError, match="boolean"):
        dist.MaskedDistribution(dist.Normal(0.0, 1.0), A(backend, [1.0]))


def test_masked_event_distribution(backend):
    d = dist.Dirichlet(A(backend, np.ones((2, 3)))).mask(backend.asarray(np.array([False, True])))
    x = np.array([[1.5, -1.0, 0.0], [0.2, 0.3, 0.5]])  # first row invalid, masked out
    lp = N(backend, d.log_prob(A(backend, x)))
    np.testing.assert_allclose(lp, [0.0, math.log(2.0)], rtol=1e-12)


def test_delta(backend):
    v = np.array([[1.0, 2.0], [3.0, 4.0]])
    d = dist.Delta(A(backend, v), log_density=A(backend, 0.5), event_dim=1)
    assert (d.batch_shape, d.event_shape) == ((2,), (2,))
    assert tuple(d.sample(backend.key(0), (3,)).shape) == (3, 2, 2)
    lp = N(backend, d.log_prob(A(backend, [[1.0, 2.0], [3.0, 5.0]])))
    np.testing.assert_array_equal(lp, [0.5, -np.inf])
    np.testing.assert_array_equal(N(backend, d.mean), v)
    np.testing.assert_array_equal(N(backend, d.variance), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="event_dim"):
        dist.Delta(A(backend, 1.0), event_dim=1)


def test_delta_rsample_gradient(grad_backend):
    be = grad_backend

    def f(v):
        return be.xp.sum(dist.Delta(v).rsample(be.key(0), (3,)) ** 2)

    g = N(be, be.grad(f)(A(be, [1.0, -2.0])))
    np.testing.assert_allclose(g, [6.0, -12.0])  # d/dv sum_3 v^2 = 6 v


def test_unit(backend):
    u = dist.Unit(A(backend, [-1.0, 2.0]))
    assert (u.batch_shape, u.event_shape) == ((2,), (0,))
    assert tuple(u.sample(backend.key(0), (3,)).shape) == (3, 2, 0)
    np.testing.assert_array_equal(N(backend, u.log_prob(A(backend, np.zeros((3, 2, 0))))),
                                  np.broadcast_to([-1.0, 2.0], (3, 2)))


def test_improper_uniform(backend):
    d = dist.ImproperUniform(C.positive, batch_shape=(3,), event_shape=())
    np.testing.assert_array_equal(N(backend, d.log_prob(A(backend, [1.0, 2.0, 3.0]))), 0.0)
    with pytest.raises(ValueError, match="support"):
        d.log_prob(A(backend, [1.0, -2.0, 3.0]))
    with dist.validation_enabled(False):
        d2 = dist.ImproperUniform(C.positive, batch_shape=(3,))
    np.testing.assert_array_equal(N(backend, d2.log_prob(A(backend, [1.0, -2.0, 3.0]))),
                                  [0.0, -np.inf, 0.0])
    with pytest.raises(NotImplementedError, match="improper"):
        d.sample(backend.key(0))
    v = dist.ImproperUniform(C.real, (), (2, 4))
    assert v.support.event_dim == 2
    assert tuple(v.log_prob(A(backend, np.zeros((5, 2, 4)))).shape) == (5,)


def test_transformed_lognormal(backend):
    mu, sigma = np.array([0.0, 0.5]), np.array([1.0, 0.3])
    d = dist.TransformedDistribution(dist.Normal(A(backend, mu), A(backend, sigma)),
                                     T.ExpTransform())
    assert d.batch_shape == (2,) and d.support is C.positive
    y = np.array([[0.5, 2.0], [1.5, 0.1]])
    ref = stats.lognorm(s=sigma, scale=np.exp(mu))
    np.testing.assert_allclose(N(backend, d.log_prob(A(backend, y))), ref.logpdf(y), rtol=1e-10)
    np.testing.assert_allclose(N(backend, d.cdf(A(backend, y))), ref.cdf(y), rtol=1e-10)
    np.testing.assert_allclose(N(backend, d.icdf(A(backend, [0.2, 0.7]))),
                               ref.ppf([0.2, 0.7]), rtol=1e-9)
    x = N(backend, d.sample(backend.key(3), (5,)))
    assert x.shape == (5, 2) and np.all(x > 0)


def test_transformed_negative_affine_cdf(backend):
    d = dist.TransformedDistribution(dist.Exponential(A(backend, 2.0)),
                                     [T.AffineTransform(1.0, -3.0)])
    y = np.array([0.5, -2.0])  # Y = 1 - 3 X, X ~ Exp(2)
    x = (1 - y) / 3
    np.testing.assert_allclose(N(backend, d.log_prob(A(backend, y))),
                               stats.expon.logpdf(x, scale=0.5) - np.log(3.0), rtol=1e-10)
    np.testing.assert_allclose(N(backend, d.cdf(A(backend, y))), stats.expon.sf(x, scale=0.5),
                               rtol=1e-10)


def test_transformed_event_dims(backend):
    base = dist.Normal(A(backend, np.zeros((2, 3))), 1.0)
    d = dist.TransformedDistribution(base, T.StickBreakingTransform())
    assert (d.batch_shape, d.event_shape) == ((2,), (4,))
    assert d.support is C.simplex
    y = d.sample(backend.key(1), (5,))
    assert tuple(y.shape) == (5, 2, 4)
    assert np.all(N(backend, C.simplex.check(y)))
    t = T.StickBreakingTransform()
    x = N(backend, t.inv(y))
    expected = stats.norm.logpdf(x).sum(-1) - N(backend, t.log_abs_det_jacobian(A(backend, x), y))
    np.testing.assert_allclose(N(backend, d.log_prob(y)), expected, rtol=1e-10)
    # an elementwise transform over a vector base keeps the event
    e = dist.TransformedDistribution(dist.Dirichlet(A(backend, np.ones(3))), T.ExpTransform())
    assert (e.batch_shape, e.event_shape) == ((), (3,))
    with pytest.raises(ValueError, match="event dims"):
        dist.TransformedDistribution(dist.Normal(0.0, 1.0), T.StickBreakingTransform())


def test_transformed_rsample_gradient(grad_backend):
    be = grad_backend

    def mean_draw(mu):
        d = dist.TransformedDistribution(dist.Normal(mu, 0.5), T.ExpTransform())
        return be.xp.mean(d.rsample(be.key(4), (200,)))

    mu = A(be, 0.3)
    g = float(N(be, be.grad(mean_draw)(mu)))
    # d/dmu exp(mu + 0.5 z) = exp(mu + 0.5 z): the gradient equals the mean draw itself
    np.testing.assert_allclose(g, float(N(be, mean_draw(mu))), rtol=1e-12)
    # and, with E[exp(mu + s z)] = exp(mu + s^2 / 2), the analytic gradient within MC error
    np.testing.assert_allclose(g, math.exp(0.3 + 0.125), rtol=0.1)


def test_jitted_log_prob_equals_eager(backend):
    """Combinators built and evaluated inside the engine's jit match eager to 1e-12."""

    def f(loc, y):
        base = dist.Normal(loc, 0.5)
        d = dist.TransformedDistribution(base, T.ExpTransform()).to_event(1)
        m = dist.MaskedDistribution(dist.Normal(loc, 1.0).expand((2, 3)),
                                    backend.asarray(np.array([True, False, True])))
        return d.log_prob(y), m.log_prob(y)

    loc = A(backend, [0.0, 0.5, -0.5])
    y = A(backend, [[0.5, 1.0, 2.0], [1.5, 0.2, 0.9]])
    eager = [N(backend, a) for a in f(loc, y)]
    jitted = [N(backend, a) for a in backend.jit(f)(loc, y)]
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def test_unit_accepts_minus_infinity(backend):
    u = dist.Unit(A(backend, [-np.inf, 0.0]))
    np.testing.assert_array_equal(N(backend, u.log_prob(A(backend, np.zeros((2, 0))))),
                                  [-np.inf, 0.0])
