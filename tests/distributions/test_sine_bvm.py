"""SineBivariateVonMises: exact values, draws, gradients and errors on every backend.

Oracles (never the backend under test, no Bessel functions): the normalizer as a 2-D trapezoid
sum of ``exp(k1 cos x + k2 cos y + lam sin x sin y)`` on a 2048 x 2048 grid in the log domain
(exponentially accurate for a smooth periodic integrand), itself checked against
``scipy.integrate.dblquad``; ``log_prob`` at batch shapes (), (2,), (2, 3) to rtol 1e-10,
with bimodal (``lam^2 > k1 k2``) and concentrated (50, 500) cases. Draws: 20,000 per
parameter set with fixed keys, a KS test of ``phi`` against its cdf from the oracle grid and a
chi-square test on an 8 x 8 grid of cells (cell probabilities from a fine midpoint rule on the
oracle density), and a KS test of ``phi`` at k1 + |lam| = 6000 where the modes are narrower
than an envelope arc (it fails if the rejection step is skipped or mis-weighted); each asserts
p > 2e-5, the false-failure rate Pyro and NumPyro use (per test, parameter set and backend).
Gradients of ``log_prob`` in the concentrations and the correlation against central finite
differences of the oracle (eps 1e-6, tol 1e-5). float32: ``log_prob`` within 5e-5 of the oracle.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate

import polyro
from polyro.backends.policy import default_dtype
from polyro.core import distributions as dist
from polyro.testing import finite_difference_grad

N_DRAWS = 20_000
P_MIN = 2e-5
SHAPES = {"()": (), "(2,)": (2,), "(2,3)": (2, 3)}
#: (phi_loc, psi_loc, k1, k2, lam): general, bimodal (lam^2 > k1 k2), concentrated, negative lam
PARAMS = [(0.3, -1.0, 1.0, 2.0, 3.0), (2.5, 0.4, 4.0, 3.0, -2.0), (-2.0, 3.0, 50.0, 40.0, 60.0),
          (0.0, 0.0, 0.2, 0.7, 0.1), (1.0, -3.0, 5.0, 0.5, 12.0), (-0.7, 1.4, 30.0, 50.0, -5.0)]


def np_(be, x):
    return np.asarray(be.to_numpy(x))


def A(be, x):
    return be.asarray(np.asarray(x, dtype=np.float64))


# ------------------------------------------------------------------------------- oracles
@functools.cache
def oracle_log_norm(k1, k2, lam, m=2048):
    """log C by the 2-D trapezoid rule on an m x m grid, in the log domain."""
    t = np.linspace(-np.pi, np.pi, m, endpoint=False)
    x, y = t[:, None], t[None, :]
    e = k1 * np.cos(x) + k2 * np.cos(y) + lam * np.sin(x) * np.sin(y)
    top = e.max()
    return float(top + np.log(np.exp(e - top).sum()) + 2 * np.log(2 * np.pi / m))


def oracle_log_prob(p, v):
    mu, nu, k1, k2, lam = (float(a) for a in p)
    x, y = v[..., 0] - mu, v[..., 1] - nu
    return (k1 * np.cos(x) + k2 * np.cos(y) + lam * np.sin(x) * np.sin(y)
            - oracle_log_norm(k1, k2, lam))


def make(be, p, **kw):
    mu, nu, k1, k2, lam = (A(be, a) for a in p)
    return dist.SineBivariateVonMises(mu, nu, k1, k2, correlation=lam, **kw)


@functools.cache
def value_case(label):
    """Parameters of batch shape ``SHAPES[label]`` (rows of PARAMS) and 3 values per entry
    (a random point, the location, its antipode) with the oracle log densities."""
    bs = SHAPES[label]
    n = int(np.prod(bs))
    rows = np.array([PARAMS[(i + len(bs)) % len(PARAMS)] for i in range(n)])
    rng = np.random.default_rng(len(bs))
    loc = rows[:, :2]
    v = np.stack([rng.uniform(-np.pi, np.pi, (n, 2)), loc,
                  np.remainder(loc + 2 * np.pi, 2 * np.pi) - np.pi])
    want = np.array([[oracle_log_prob(rows[i], v[s, i]) for i in range(n)] for s in range(3)])
    params = tuple(rows[:, j].reshape(bs) for j in range(5))
    return params, v.reshape((3,) + bs + (2,)), want.reshape((3,) + bs)


# ------------------------------------------------------------------------------- values
def test_exported_and_attributes():
    d = dist.SineBivariateVonMises(0.0, 1.0, 2.0, 3.0, correlation=np.array([0.5, 1.0]))
    assert dist.SineBivariateVonMises is polyro.distributions.SineBivariateVonMises
    assert d.batch_shape == (2,) and d.event_shape == (2,) and not d.has_rsample
    assert d.support.event_dim == 1 and d.weighted_correlation is None


def test_grid_oracle_matches_dblquad():
    """The grid oracle agrees with adaptive 2-D quadrature (bimodal case) to 1e-11."""
    k1, k2, lam = 1.0, 2.0, 3.0
    val, _ = integrate.dblquad(
        lambda y, x: math.exp(k1 * math.cos(x) + k2 * math.cos(y) + lam * math.sin(x)
                              * math.sin(y) - 4.0), -np.pi, np.pi, -np.pi, np.pi,
        epsabs=0.0, epsrel=1e-12)
    assert abs(math.log(val) + 4.0 - oracle_log_norm(k1, k2, lam)) < 1e-11


@pytest.mark.parametrize("label", list(SHAPES))
def test_log_prob_against_oracle(backend, label):
    params, v, want = value_case(label)
    d = make(backend, params)
    assert d.batch_shape == SHAPES[label] and d.event_shape == (2,)
    got = np_(backend, d.log_prob(A(backend, v)))
    assert got.shape == (3,) + SHAPES[label]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("p", [(0.1, -0.2, 500.0, 300.0, 200.0), (0.0, 1.0, 200.0, 20.0, -600.0),
                               (1.0, 2.0, 0.01, 0.02, 0.0)])
def test_log_prob_extreme_concentrations(backend, p):
    """The 512-node rule is exact to ~1e-12 for k1 + |lam| up to 800 (and at tiny ones)."""
    v = np.array([[p[0], p[1]], [p[0] + 0.05, p[1] - 0.03], [0.0, 0.0]])
    got = np_(backend, make(backend, p).log_prob(A(backend, v)))
    np.testing.assert_allclose(got, oracle_log_prob(p, v), rtol=1e-12, atol=1e-10)


def test_log_prob_float32(backend):
    """float32 parameters give float32 densities within 5e-5 of the oracle (|log p| up to 60)."""
    params, v, want = value_case("(2,3)")
    with default_dtype("float32"):
        d = dist.SineBivariateVonMises(
            *(backend.asarray(a.astype(np.float32)) for a in params[:4]),
            correlation=backend.asarray(params[4].astype(np.float32)))
        got = np_(backend, d.log_prob(backend.asarray(
            np.clip(v, -3.14159, 3.14159).astype(np.float32))))
        x = np_(backend, d.sample(backend.key(0), (100,)))
    assert got.dtype == np.float32 and x.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-5)
    assert np.all((x >= -np.pi) & (x <= np.pi))


def test_weighted_correlation(backend):
    """rho gives lam = rho sqrt(k1 k2): the same density as the correlation form."""
    k1, k2, rho = np.array([1.0, 4.0]), np.array([9.0, 1.0]), np.array([0.5, -1.0])
    d = dist.SineBivariateVonMises(A(backend, 0.2), A(backend, -0.1), A(backend, k1),
                                   A(backend, k2), weighted_correlation=A(backend, rho))
    np.testing.assert_allclose(np_(backend, d.correlation), rho * np.sqrt(k1 * k2), rtol=1e-15)
    v = np.array([0.7, -2.0])
    want = [oracle_log_prob((0.2, -0.1, a, b, r * math.sqrt(a * b)), v)
            for a, b, r in zip(k1, k2, rho, strict=True)]
    np.testing.assert_allclose(np_(backend, d.log_prob(A(backend, v))), want, rtol=1e-10)


def test_density_integrates_to_one(backend):
    t = np.linspace(-np.pi, np.pi, 400, endpoint=False)
    grid = np.stack(np.meshgrid(t, t, indexing="ij"), -1)[:, :, None, :]
    rows = np.array(PARAMS[:4])
    d = make(backend, tuple(rows[:, j] for j in range(5)))
    lp = np_(backend, d.log_prob(A(backend, grid)))
    np.testing.assert_allclose(np.exp(lp).sum((0, 1)) * (2 * np.pi / 400) ** 2, 1.0,
                               rtol=1e-10)


# ------------------------------------------------------------------------------- draws
@functools.cache
def cell_probs(p, m=1024, cells=8):
    """Midpoint-rule probabilities of the cells' (phi, psi) grid on [-pi, pi)^2 and the cdf of
    phi on the grid's cell edges (from the oracle density only)."""
    t = -np.pi + (np.arange(m) + 0.5) * (2 * np.pi / m)
    v = np.stack(np.meshgrid(t, t, indexing="ij"), -1)
    dens = np.exp(oracle_log_prob(p, v)) * (2 * np.pi / m) ** 2
    probs = dens.reshape(cells, m // cells, cells, m // cells).sum((1, 3))
    marg = dens.sum(1)
    edges = np.linspace(-np.pi, np.pi, m + 1)
    return probs, edges, np.concatenate([[0.0], np.cumsum(marg)])


@pytest.mark.parametrize("idx", [0, 1, 2])
def test_sample_goodness_of_fit(backend, idx):
    """Three parameter sets in one batch (a bimodal one first): KS of phi and a chi-square on
    8 x 8 cells (cells with expected count < 5 merged), 20,000 draws with key ``idx``."""
    rows = np.array([PARAMS[0], PARAMS[4], PARAMS[2]])
    rows = np.roll(rows, -idx, axis=0)
    d = make(backend, tuple(rows[:, j] for j in range(5)))
    x = np_(backend, d.sample(backend.key(idx), (N_DRAWS,)))
    assert x.shape == (N_DRAWS, 3, 2) and np.all((x >= -np.pi) & (x < np.pi))
    p = tuple(float(a) for a in rows[0])
    probs, edges, cdf = cell_probs(p)
    assert abs(cdf[-1] - 1) < 1e-9
    x0 = x[:, 0]
    p_ks = st.kstest(x0[:, 0], lambda z: np.interp(z, edges, cdf)).pvalue
    assert p_ks > P_MIN, p_ks
    cell = np.floor((x0 + np.pi) / (2 * np.pi / 8)).astype(int).clip(0, 7)
    counts = np.zeros((8, 8))
    np.add.at(counts, (cell[:, 0], cell[:, 1]), 1)
    exp_ = probs.ravel() * N_DRAWS
    big = exp_ >= 5
    obs = np.append(counts.ravel()[big], counts.ravel()[~big].sum())
    exp_ = np.append(exp_[big], exp_[~big].sum())
    if exp_[-1] < 5:  # fold a tiny remainder into the largest cell
        j = int(np.argmax(exp_[:-1]))
        obs[j] += obs[-1]
        exp_[j] += exp_[-1]
        obs, exp_ = obs[:-1], exp_[:-1]
    p_chi = st.chisquare(obs, exp_ * obs.sum() / exp_.sum()).pvalue
    assert p_chi > P_MIN, p_chi


@functools.cache
def phi_cdf_fine(p, m_phi=8192, m_psi=1024):
    """cdf of ``phi`` on a fine grid: the oracle density summed over ``psi`` (trapezoid, exact for
    a periodic integrand) and then integrated over ``phi`` (cumulative Simpson)."""
    mu, nu, k1, k2, lam = p
    x = np.linspace(-np.pi, np.pi, m_phi + 1)
    y = np.linspace(-np.pi, np.pi, m_psi, endpoint=False)
    e = (k1 * np.cos(x - mu)[:, None] + k2 * np.cos(y - nu)[None, :]
         + lam * np.sin(x - mu)[:, None] * np.sin(y - nu)[None, :])
    top = e.max()
    marg = np.exp(e - top).sum(1)
    cdf = integrate.cumulative_simpson(marg, x=x, initial=0.0)
    return x, cdf / cdf[-1]


def test_sample_concentrated_checks_the_rejection_step(backend):
    """At k1 + |lam| = 6000 (bimodal) the modes are narrower than an envelope arc, so a draw
    from the envelope without the rejection step fails this KS test (20,000 draws, key 5);
    the acceptance rate here is ~0.6."""
    p = (0.5, -2.0, 2000.0, 300.0, 4000.0)
    x = np_(backend, make(backend, p).sample(backend.key(5), (N_DRAWS,)))
    grid, cdf = phi_cdf_fine(p)
    p_ks = st.kstest(x[:, 0], lambda z: np.interp(z, grid, cdf)).pvalue
    assert p_ks > P_MIN, p_ks


def test_sample_shapes_support_and_mean(backend):
    params, _, _ = value_case("(2,3)")
    d = make(backend, params)
    x = d.sample(backend.key(3), (4,))
    assert tuple(x.shape) == (4, 2, 3, 2) == d.shape((4,))
    lp = np_(backend, d.log_prob(x))
    assert lp.shape == (4, 2, 3) and np.isfinite(lp).all()
    np.testing.assert_array_equal(np_(backend, d.sample(backend.key(3), (4,))), np_(backend, x))
    assert not np.array_equal(np_(backend, d.sample(backend.key(4), (4,))), np_(backend, x))
    np.testing.assert_array_equal(np_(backend, d.mean), np.stack(params[:2], -1))


# ------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("p", [PARAMS[0], PARAMS[2], PARAMS[4]])
def test_log_prob_grad_vs_finite_differences(grad_backend, p):
    be = grad_backend
    v = np.array([[0.4, -0.9], [2.0, 1.0]])

    def f(theta):
        d = dist.SineBivariateVonMises(A(be, p[0]), A(be, p[1]), theta[0], theta[1],
                                       correlation=theta[2])
        return be.xp.sum(d.log_prob(A(be, v)))

    theta0 = np.array(p[2:])
    g = np_(be, be.grad(f)(A(be, theta0)))
    fd = finite_difference_grad(
        lambda th: float(oracle_log_prob((p[0], p[1], *th), v).sum()), theta0, eps=1e-6)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------- jit
def test_jit_equals_eager(backend):
    """log_prob and sample compiled whole (JAX; the identity elsewhere) equal eager."""
    params, v, _ = value_case("(2,3)")

    def lp(mu, nu, k1, k2, lam, val):
        return dist.SineBivariateVonMises(mu, nu, k1, k2, correlation=lam).log_prob(val)

    def draw(key, mu, nu, k1, k2, lam):
        return dist.SineBivariateVonMises(mu, nu, k1, k2, correlation=lam).sample(key, (5,))

    args = tuple(A(backend, a) for a in params)
    vv = A(backend, v)
    np.testing.assert_allclose(np_(backend, backend.jit(lp)(*args, vv)),
                               np_(backend, lp(*args, vv)), rtol=1e-12, atol=1e-12)
    k = backend.key(9)
    np.testing.assert_allclose(np_(backend, backend.jit(draw)(k, *args)),
                               np_(backend, draw(k, *args)), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------- errors
def test_correlation_both_or_neither_raises(backend):
    one = A(backend, 1.0)
    for kw in ({}, {"correlation": one, "weighted_correlation": A(backend, 0.5)}):
        with pytest.raises(ValueError, match=r"SineBivariateVonMises.*exactly one.*"
                                             r"'correlation'.*'weighted_correlation'"):
            dist.SineBivariateVonMises(one, one, one, one, **kw)


def test_weighted_correlation_out_of_range_raises(backend):
    rho = A(backend, [0.5, 1.5])
    one = A(backend, 1.0)
    with pytest.raises(ValueError, match=r"SineBivariateVonMises.*'weighted_correlation'.*"
                                         r"interval.*weighted_correlation\[1\] = 1.5"):
        dist.SineBivariateVonMises(one, one, one, one, weighted_correlation=rho)
    dist.SineBivariateVonMises(one, one, one, one, weighted_correlation=rho, validate_args=False)


@pytest.mark.parametrize("name", ["phi_concentration", "psi_concentration"])
@pytest.mark.parametrize("bad", [0.0, -2.0, math.nan])
def test_non_positive_concentration_raises(backend, name, bad):
    kw = {"phi_loc": A(backend, 0.0), "psi_loc": A(backend, 0.0),
          "phi_concentration": A(backend, 1.0), "psi_concentration": A(backend, 1.0)}
    kw[name] = A(backend, [1.0, bad])
    with pytest.raises(ValueError, match=rf"SineBivariateVonMises.*'{name}'.*positive") as info:
        dist.SineBivariateVonMises(**kw, correlation=A(backend, 0.5))
    assert str(bad) in str(info.value)


def test_value_outside_support_raises(backend):
    d = make(backend, PARAMS[0])
    with pytest.raises(ValueError, match=r"SineBivariateVonMises.log_prob.*outside the support"):
        d.log_prob(A(backend, [0.0, 4.0]))
