"""ProjectedNormal: exact values, draws, gradients and errors on every backend.

Oracles (never the backend under test): ``log_prob`` against scipy quadrature over the radius of
``r^(d-1)`` times the multivariate normal pdf (``scipy.stats.multivariate_normal``) at batch
shapes (), (2,), (2, 3), rtol 1e-8 in float64; the far tails of ``t = <concentration, value>``
(where the code switches to a continued fraction) against 60-digit mpmath. Draws: Kolmogorov-
Smirnov tests on 20,000 draws with fixed keys against cdfs tabulated from the quadrature oracle;
each asserts p > 2e-5, the false-failure rate Pyro and NumPyro use (per test and backend).
Gradients of ``log_prob`` against central finite differences of the oracle (eps 1e-6, tol 1e-5);
reparameterized draws against finite differences of the same draw (same key) and their mean
gradient against the derivative of the numerically integrated expectation (5 standard errors,
false-failure rate ~6e-7 per coordinate).
"""

from __future__ import annotations

import functools
import math

import mpmath as mp
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


def np_(be, x):
    return np.asarray(be.to_numpy(x))


def A(be, x):
    return be.asarray(np.asarray(x, dtype=np.float64))


# ------------------------------------------------------------------------------- oracles
def oracle_log_prob(mu, u):
    """log of ``int_0^inf r^(d-1) N(r u; mu, I) dr`` by ``scipy.integrate.quad``; the pdf is
    divided by its value at ``r* = max(<mu, u>, 0)`` (and that log added back) so nothing
    underflows."""
    mu, u = np.asarray(mu, float), np.asarray(u, float)
    d = mu.shape[-1]
    mvn = st.multivariate_normal(mean=mu, cov=np.eye(d))
    rstar = max(float(mu @ u), 0.0)
    c = float(mvn.logpdf(rstar * u))

    def f(r):
        return r ** (d - 1) * math.exp(float(mvn.logpdf(r * u)) - c)

    pts = [rstar] if rstar > 0 else None
    val, _ = integrate.quad(f, 0.0, rstar + 40.0, points=pts, epsabs=0.0, epsrel=1e-13,
                            limit=200)
    return c + math.log(val)


def oracle_density_grid(mu, U):
    """The density at every row of ``U`` (unit vectors), by one vector-valued quadrature over the
    radius of ``r^(d-1)`` times the normal pdf (written out; moderate ``|mu|`` only)."""
    mu, U = np.asarray(mu, float), np.asarray(U, float)
    d = mu.shape[-1]

    def f(r):
        z = r * U - mu
        return r ** (d - 1) * np.exp(-0.5 * np.sum(z * z, axis=-1)) / (2 * np.pi) ** (d / 2)

    val, _ = integrate.quad_vec(f, 0.0, 60.0, epsabs=0.0, epsrel=1e-12)
    return val


def mp_log_prob(mu, u):
    """60-digit closed form of the log density (checked against quadrature by the tests
    above): the oracle for the far tails, where float64 quadrature loses digits."""
    with mp.workdps(60):
        mu = [mp.mpf(float(a)) for a in mu]
        u = [mp.mpf(float(a)) for a in u]
        d = len(mu)
        t = sum(a * b for a, b in zip(mu, u, strict=True))
        q = sum((a - t * b) ** 2 for a, b in zip(mu, u, strict=True))
        phi, cdf = mp.npdf(t), mp.ncdf(t)
        g = phi + t * cdf if d == 2 else (1 + t * t) * cdf + t * phi
        return float(-(d - 1) * mp.log(2 * mp.pi) / 2 - q / 2 + mp.log(g))


def unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@functools.cache
def value_case(d, label):
    """Concentrations (lengths 0 to 4.5) of batch shape ``SHAPES[label]`` and 3 unit values per
    batch entry (a random one, the mode, the antimode), with the oracle log densities."""
    bs = SHAPES[label]
    rng = np.random.default_rng(10 * d + len(bs))
    n = int(np.prod(bs))
    mu = rng.normal(size=(n, d))
    mu *= (np.linspace(0.0, 4.5, n) if n > 1 else np.array([2.3]))[:, None] / np.linalg.norm(
        mu, axis=-1, keepdims=True)
    mode = unit(np.where(np.linalg.norm(mu, axis=-1, keepdims=True) > 0, mu, 1.0))
    u = np.stack([unit(rng.normal(size=(n, d))), mode, -mode])
    want = np.array([[oracle_log_prob(mu[i], u[s, i]) for i in range(n)] for s in range(3)])
    return mu.reshape(bs + (d,)), u.reshape((3,) + bs + (d,)), want.reshape((3,) + bs)


# ------------------------------------------------------------------------------- values
def test_exported_and_attributes():
    d = dist.ProjectedNormal(np.array([1.0, 2.0, 2.0]))
    assert dist.ProjectedNormal is polyro.distributions.ProjectedNormal
    assert d.support is dist.constraints.sphere and d.has_rsample
    assert d.batch_shape == () and d.event_shape == (3,)


def test_oracle_matches_closed_form_oracle():
    """The two oracles (quadrature, mpmath closed form) agree: the derivation is right."""
    for d in (2, 3):
        mu, u, want = value_case(d, "(2,3)")
        got = np.vectorize(mp_log_prob, signature="(d),(d)->()")(mu, u)
        np.testing.assert_allclose(got, want, rtol=1e-11)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("label", list(SHAPES))
def test_log_prob_against_quadrature(backend, d, label):
    mu, u, want = value_case(d, label)
    pn = dist.ProjectedNormal(A(backend, mu))
    assert pn.batch_shape == SHAPES[label] and pn.event_shape == (d,)
    got = np_(backend, pn.log_prob(A(backend, u)))
    assert got.shape == (3,) + SHAPES[label]
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_log_prob_far_tails(backend, d):
    """t = <mu, u> from -1e4 to 300, across the switch to the continued fraction at t = -4:
    values against 60-digit mpmath (rtol 1e-10) and finite gradients."""
    ts = np.array([-1e4, -300.0, -30.0, -8.0, -4.01, -4.0, -3.99, -2.6, 0.0, 40.0, 300.0])
    angles = np.array([1.9, 2.0, 2.9, 2.6, 1.7, 2.2, 2.4, 2.0, 0.5 * np.pi, 0.1, 0.8])
    kappa = np.where(ts == 0, 1.0, ts / np.cos(angles))
    mu = np.zeros((len(ts), d))
    mu[:, 0] = kappa
    u = np.zeros((len(ts), d))
    u[:, 0], u[:, 1] = np.cos(angles), np.sin(angles)
    want = np.array([mp_log_prob(m, v) for m, v in zip(mu, u, strict=True)])
    got = np_(backend, dist.ProjectedNormal(A(backend, mu)).log_prob(A(backend, u)))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    if backend.SUPPORTS_AUTODIFF:
        g = np_(backend, backend.grad(lambda c: backend.xp.sum(
            dist.ProjectedNormal(c).log_prob(A(backend, u))))(A(backend, mu)))
        assert np.all(np.isfinite(g))


def test_log_prob_float32(backend):
    """float32 parameters give float32 densities within 1e-5 relative of the oracle (the
    continued fraction takes over from t = -2.5 there)."""
    mu, u, want = value_case(3, "(2,3)")
    with default_dtype("float32"):
        pn = dist.ProjectedNormal(backend.asarray(mu.astype(np.float32)))
        lp = np_(backend, pn.log_prob(backend.asarray(u.astype(np.float32))))
        mu_t = np.array([[12.0, 0.0, 0.0]], np.float32)  # t = -12 and -9: the continued fraction
        u_t = np.array([[-1.0, 0.0, 0.0], [-0.75, math.sqrt(1 - 0.75**2), 0.0]], np.float32)
        got = np_(backend, dist.ProjectedNormal(backend.asarray(mu_t)).log_prob(
            backend.asarray(u_t)))
    assert lp.dtype == np.float32 and got.dtype == np.float32
    np.testing.assert_allclose(lp, want, rtol=1e-5, atol=1e-5)
    want_t = [mp_log_prob(mu_t[0], v) for v in u_t]
    np.testing.assert_allclose(got, want_t, rtol=1e-5)


def test_log_prob_same_on_every_backend(backend):
    mu, u, _ = value_case(3, "(2,3)")
    with polyro.backend("numpy") as ref_be:
        ref = np_(ref_be, dist.ProjectedNormal(mu).log_prob(u))
    got = np_(backend, dist.ProjectedNormal(A(backend, mu)).log_prob(A(backend, u)))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-13)


def test_density_integrates_to_one(backend):
    """On the circle: trapezoid rule over 2048 angles (exact to rounding for a smooth periodic
    density); on the 2-sphere: 200 Gauss-Legendre nodes in the height times 256 azimuths.
    Concentrations of length 0, 1.5 and 6 in general position."""
    mu2 = np.array([[0.0, 0.0], [0.9, -1.2], [3.6, 4.8]])
    a = np.linspace(-np.pi, np.pi, 2048, endpoint=False)
    U = np.stack([np.cos(a), np.sin(a)], -1)[:, None, :]
    lp = np_(backend, dist.ProjectedNormal(A(backend, mu2)).log_prob(A(backend, U)))
    np.testing.assert_allclose(np.exp(lp).sum(0) * (2 * np.pi / 2048), 1.0, rtol=1e-10)
    mu3 = np.array([[0.0, 0.0, 0.0], [0.5, -1.0, 1.0], [2.0, 4.0, -4.0]])
    z, wz = np.polynomial.legendre.leggauss(200)
    phi = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    s = np.sqrt(1 - z**2)
    U3 = np.stack([s[:, None] * np.cos(phi), s[:, None] * np.sin(phi),
                   np.broadcast_to(z[:, None], (200, 256))], -1)[:, :, None, :]
    lp3 = np_(backend, dist.ProjectedNormal(A(backend, mu3)).log_prob(A(backend, U3)))
    total = np.einsum("i,ijk->k", wz, np.exp(lp3)) * (2 * np.pi / 256)
    np.testing.assert_allclose(total, 1.0, rtol=1e-10)


# ------------------------------------------------------------------------------- draws
@functools.cache
def angle_cdf_d2(mu):
    """cdf of the angle ``atan2(u_1, u_0)`` in (-pi, pi] on a grid, from the oracle density."""
    a = np.linspace(-np.pi, np.pi, 2049)
    dens = oracle_density_grid(np.array(mu), np.stack([np.cos(a), np.sin(a)], -1))
    return a, integrate.cumulative_simpson(dens, x=a, initial=0.0)


@functools.cache
def height_cdf_d3(kappa):
    """cdf of ``w = <u, mu / |mu|>`` on [-1, 1]: surface element 2 pi dw (Archimedes)."""
    w = np.linspace(-1.0, 1.0, 2049)
    U = np.stack([w, np.sqrt(1 - w**2), np.zeros_like(w)], -1)
    dens = 2 * np.pi * oracle_density_grid(np.array([kappa, 0.0, 0.0]), U)
    return w, integrate.cumulative_simpson(dens, x=w, initial=0.0)


def test_sample_goodness_of_fit_circle(backend):
    """KS of the angle of 20,000 draws (key 0) against the oracle cdf (normalised to 1e-9)."""
    mu = (1.2, -0.6)
    grid, cdf = angle_cdf_d2(mu)
    assert abs(cdf[-1] - 1) < 1e-9
    u = np_(backend, dist.ProjectedNormal(A(backend, mu)).sample(backend.key(0), (N_DRAWS,)))
    assert u.shape == (N_DRAWS, 2)
    p = st.kstest(np.arctan2(u[:, 1], u[:, 0]), lambda x: np.interp(x, grid, cdf)).pvalue
    assert p > P_MIN, p


def test_sample_goodness_of_fit_sphere(backend):
    """Height along the mean direction against the oracle cdf and azimuth around it against
    the uniform law (KS, 20,000 draws, key 1)."""
    mu = np.array([0.5, -1.0, 1.5])
    kappa = float(np.linalg.norm(mu))
    grid, cdf = height_cdf_d3(kappa)
    assert abs(cdf[-1] - 1) < 1e-9
    u = np_(backend, dist.ProjectedNormal(A(backend, mu)).sample(backend.key(1), (N_DRAWS,)))
    np.testing.assert_allclose((u * u).sum(-1), 1.0, rtol=1e-12)
    m = mu / kappa
    p = st.kstest(u @ m, lambda x: np.interp(x, grid, cdf)).pvalue
    assert p > P_MIN, p
    e1 = unit(np.cross(m, [1.0, 0.0, 0.0]))
    e2 = np.cross(m, e1)
    p_az = st.kstest(np.arctan2(u @ e2, u @ e1), st.uniform(-np.pi, 2 * np.pi).cdf).pvalue
    assert p_az > P_MIN, p_az


def test_sample_shapes_support_and_summaries(backend):
    mu, _, _ = value_case(3, "(2,3)")
    mu = mu + np.array([0.1, 0.0, 0.0])  # no zero concentration: mean is defined
    pn = dist.ProjectedNormal(A(backend, mu))
    x = pn.sample(backend.key(3), (4,))
    assert tuple(x.shape) == (4, 2, 3, 3) == pn.shape((4,))
    np.testing.assert_allclose(np_(backend, (x * x).sum(-1)), 1.0, rtol=1e-12)
    lp = np_(backend, pn.log_prob(x))
    assert lp.shape == (4, 2, 3) and np.isfinite(lp).all()
    np.testing.assert_array_equal(np_(backend, pn.sample(backend.key(3), (4,))), np_(backend, x))
    assert not np.array_equal(np_(backend, pn.sample(backend.key(4), (4,))), np_(backend, x))
    for s in (pn.mean, pn.mode):
        np.testing.assert_allclose(np_(backend, s), unit(mu), rtol=1e-14)
    x4 = dist.ProjectedNormal(A(backend, np.ones((5, 4)))).sample(backend.key(0), (2,))
    assert tuple(x4.shape) == (2, 5, 4)  # sampling works for every d


def test_sample_is_the_projected_normal_draw(backend):
    """The draw is ``(mu + eps) / |mu + eps|`` with ``eps = normal(key, shape)``: the same key
    gives the same normal noise (what makes the reparameterization deterministic)."""
    mu = np.array([[0.3, -2.0, 1.0], [1.0, 1.0, 1.0]])
    key = backend.key(11)
    x = mu + np_(backend, backend.normal(key, (7, 2, 3)))
    got = np_(backend, dist.ProjectedNormal(A(backend, mu)).sample(key, (7,)))
    np.testing.assert_allclose(got, unit(x), rtol=1e-14, atol=1e-15)


# ------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("d", [2, 3])
def test_log_prob_grad_vs_finite_differences(grad_backend, d):
    be = grad_backend
    mu0, u, _ = value_case(d, "()")
    u = u[0]

    def f(c):
        return be.xp.sum(dist.ProjectedNormal(c).log_prob(A(be, u)))

    g = np_(be, be.grad(f)(A(be, mu0)))
    fd = finite_difference_grad(lambda c: oracle_log_prob(c, u), mu0, eps=1e-6)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("d", [2, 3])
def test_rsample_jacobian_vs_same_key_differences(grad_backend, d):
    be = grad_backend
    mu0 = np.array([0.7, -1.3, 0.4])[:d]
    key = be.key(5)

    def draw(c):
        return dist.ProjectedNormal(c).rsample(key)

    J = np_(be, be.jacobian(draw)(A(be, mu0)))
    eps = 1e-6
    fd = np.stack([(np_(be, draw(A(be, mu0 + eps * e))) - np_(be, draw(A(be, mu0 - eps * e))))
                   / (2 * eps) for e in np.eye(d)], axis=-1)
    assert np.all(np.isfinite(J))
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8)
    x = mu0 + np_(be, be.normal(key, (d,)))  # closed form (I - u u^T) / |x|
    uu = unit(x)
    np.testing.assert_allclose(J, (np.eye(d) - np.outer(uu, uu)) / np.linalg.norm(x),
                               rtol=1e-10, atol=1e-12)


def mean_length(kappa, d):
    """``m(kappa) = E <u, mu / |mu|>`` by quadrature of the oracle density (E u = m mu/|mu|)."""
    if d == 2:
        a = np.linspace(-np.pi, np.pi, 512, endpoint=False)
        dens = oracle_density_grid(np.array([kappa, 0.0]), np.stack([np.cos(a), np.sin(a)], -1))
        return float(np.sum(np.cos(a) * dens) * (2 * np.pi / 512))
    w, ww = np.polynomial.legendre.leggauss(96)
    U = np.stack([w, np.sqrt(1 - w**2), np.zeros_like(w)], -1)
    dens = oracle_density_grid(np.array([kappa, 0.0, 0.0]), U)
    return float(2 * np.pi * np.sum(ww * w * dens))


@pytest.mark.parametrize("d", [2, 3])
def test_rsample_gradient_of_expectation(grad_backend, d):
    """d/dmu E<u, a> from 20,000 reparameterized draws (key 2) against the derivative of
    ``E<u, a> = m(|mu|) <mu/|mu|, a>``, m by quadrature, within 5 standard errors."""
    be = grad_backend
    mu0 = np.array([1.1, -0.4, 0.6])[:d]
    a = np.array([0.3, 0.8, -0.5])[:d]
    key = be.key(2)

    def f(c):
        return be.xp.mean(dist.ProjectedNormal(c).rsample(key, (N_DRAWS,)) @ A(be, a))

    g = np_(be, be.grad(f)(A(be, mu0)))
    kappa = float(np.linalg.norm(mu0))
    m = mu0 / kappa
    h = 1e-4
    dm = (mean_length(kappa + h, d) - mean_length(kappa - h, d)) / (2 * h)
    want = dm * m * (m @ a) + mean_length(kappa, d) / kappa * (a - m * (m @ a))
    x = mu0 + np_(be, be.normal(key, (N_DRAWS, d)))  # per-draw gradients, for the error bar
    r = np.linalg.norm(x, axis=-1, keepdims=True)
    uu = x / r
    per = (a - uu * (uu @ a)[:, None]) / r
    se = per.std(0) / np.sqrt(N_DRAWS)
    np.testing.assert_allclose(per.mean(0), g, rtol=1e-9, atol=1e-12)
    assert np.all(np.abs(g - want) < 5 * se), (g, want, se)


# ------------------------------------------------------------------------------- jit
def test_jit_equals_eager(backend):
    """log_prob and sample compiled whole (JAX; the identity elsewhere) equal eager."""
    mu, u, _ = value_case(2, "(2,3)")

    def lp(c, v):
        return dist.ProjectedNormal(c).log_prob(v)

    def draw(key, c):
        return dist.ProjectedNormal(c).sample(key, (5,))

    args = (A(backend, mu), A(backend, u))
    np.testing.assert_allclose(np_(backend, backend.jit(lp)(*args)), np_(backend, lp(*args)),
                               rtol=1e-12, atol=1e-12)
    k = backend.key(9)
    np.testing.assert_allclose(np_(backend, backend.jit(draw)(k, args[0])),
                               np_(backend, draw(k, args[0])), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_concentration_raises(backend, bad):
    c = np.array([[1.0, 2.0], [0.5, bad]])
    with pytest.raises(ValueError, match=r"ProjectedNormal.*'concentration'.*real") as info:
        dist.ProjectedNormal(A(backend, c), validate_args=True)
    assert str(bad) in str(info.value)
    dist.ProjectedNormal(A(backend, c), validate_args=False)  # no check when validation is off


@pytest.mark.parametrize("shape", [(), (1,), (3, 1)])
def test_event_size_below_two_raises(backend, shape):
    with pytest.raises(ValueError, match=rf"ProjectedNormal.*'concentration'.*d >= 2.*"
                                         rf"{re_shape(shape)}"):
        dist.ProjectedNormal(A(backend, np.ones(shape)))


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_log_prob_other_dimensions_not_implemented(backend):
    pn = dist.ProjectedNormal(A(backend, np.ones(4)))
    with pytest.raises(NotImplementedError, match=r"ProjectedNormal.log_prob.*d = 4"):
        pn.log_prob(A(backend, np.full(4, 0.5)))


def test_value_off_the_sphere(backend):
    v = np.array([[0.6, 0.8], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"ProjectedNormal.log_prob: value outside the support "
                                         r"sphere: value\[1\]"):
        dist.ProjectedNormal(A(backend, [1.0, 0.0]), validate_args=True).log_prob(A(backend, v))
    lp = np_(backend, dist.ProjectedNormal(A(backend, [1.0, 0.0]), validate_args=False).log_prob(
        A(backend, v)))
    assert np.isfinite(lp[0]) and lp[1] == -np.inf
