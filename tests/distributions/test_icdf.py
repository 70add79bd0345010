"""Quantile functions that invert an incomplete gamma or beta function, and the von Mises cdf.

``icdf`` of Gamma, Chi2, InverseGamma, Beta, StudentT and VonMises, and ``cdf`` of VonMises, on
numpy, torch and jax (float64), against scipy.stats (``ppf``/``cdf``, float64):

* ``icdf`` against ``ppf`` to rtol 1e-8 over q in [1e-6, 1 - 1e-6] and shape parameters
  Beta a, b in {0.3, 1, 2.5, 20}, Gamma/InverseGamma shape in {0.2, 1, 3.5, 50} (Chi2 df twice
  that), StudentT df in {0.7, 1, 3, 30}. Measured (2026, this file's grid): at most 2e-13
  relative on numpy and jax, 1e-10 on torch, whose ``gammainc`` itself is only good to ~2e-9
  relative at shape 50 (the quantile is better conditioned than the cdf there).
* ``cdf(icdf(q)) = q`` to rtol 1e-9;
* VonMises ``cdf`` against ``scipy.stats.vonmises.cdf`` (concentrations below 50, where scipy
  sums its series) to 1e-12 absolute, and for concentrations 60 to 5000 against quadrature of
  scipy's density: there scipy's own cdf switches to a normal approximation that is off by up to
  2e-6 (measured at concentration 60), so it is no oracle;
* batched and broadcast parameters; ``jit`` equal to eager (identity jit off JAX); and ``q``
  outside [0, 1] giving NaN (with and without ``validate_args``), as ``Normal.icdf`` does, with
  the ends of the support at ``q = 0`` and ``1``.

Every array has the shape (13, 16) (13 quantiles by 16 parameter sets) so that JAX compiles each
special function once per test session.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import scipy.integrate as si
import scipy.special as sp
import scipy.stats as st

from polyro.core import distributions as dist

Q = np.array([1e-6, 1e-5, 1e-3, 0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.98, 0.999, 1 - 1e-5,
              1 - 1e-6])[:, None]
SHAPE = (Q.shape[0], 16)

_A4 = np.array([0.3, 1.0, 2.5, 20.0])
_G4 = np.array([0.2, 1.0, 3.5, 50.0])
_T4 = np.array([0.7, 1.0, 3.0, 30.0])
_R4 = np.array([0.5, 1.0, 2.0, 3.0])
_L4 = np.array([-3.0, 0.0, 0.3, 5.5])


def _outer(first, second):
    """The 16 pairs of two 4-vectors, as two (16,) arrays."""
    a, b = np.meshgrid(first, second, indexing="ij")
    return a.ravel(), b.ravel()


BETA_A, BETA_B = _outer(_A4, _A4)
GAMMA_A, GAMMA_R = _outer(_G4, _R4)
T_DF, T_LOC = _outer(_T4, _L4)
T_SCALE = np.tile(_R4, 4)
CHI2_DF = 2 * np.repeat(_G4, 4)
VM_K, VM_LOC = _outer(np.array([0.01, 0.4, 1.7, 30.0]), np.array([-2.5, 0.0, 0.3, 3.0]))

# family -> (polyro parameters, scipy.stats frozen oracle)
FAMILIES = {
    "Beta": ({"concentration1": BETA_A, "concentration0": BETA_B}, st.beta(BETA_A, BETA_B)),
    "Gamma": ({"concentration": GAMMA_A, "rate": GAMMA_R}, st.gamma(GAMMA_A, scale=1 / GAMMA_R)),
    "Chi2": ({"df": CHI2_DF}, st.chi2(CHI2_DF)),
    "InverseGamma": ({"concentration": GAMMA_A, "rate": GAMMA_R},
                     st.invgamma(GAMMA_A, scale=GAMMA_R)),
    "StudentT": ({"df": T_DF, "loc": T_LOC, "scale": T_SCALE}, st.t(T_DF, T_LOC, T_SCALE)),
}
# ends of the support at q = 0 and q = 1
SUPPORT = {"Beta": (0.0, 1.0), "Gamma": (0.0, math.inf), "Chi2": (0.0, math.inf),
           "InverseGamma": (0.0, math.inf), "StudentT": (-math.inf, math.inf)}


def A(be, x):
    return be.asarray(np.asarray(x, dtype=np.float64))


def N(be, x):
    return np.asarray(be.to_numpy(x))


def make(be, name, params, **kw):
    return getattr(dist, name)(**{k: A(be, v) for k, v in params.items()}, **kw)


def q_grid(be):
    return A(be, np.array(np.broadcast_to(Q, SHAPE)))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_icdf_matches_scipy_ppf(backend, name):
    params, oracle = FAMILIES[name]
    got = N(backend, make(backend, name, params).icdf(q_grid(backend)))
    assert got.shape == SHAPE and got.dtype == np.float64
    np.testing.assert_allclose(got, oracle.ppf(Q), rtol=1e-8, atol=0)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_cdf_of_icdf_is_q(backend, name):
    """``cdf(icdf(q)) = q`` to 1e-9 relative (to the smaller tail), plus what rounding the
    quantile to a double costs: ``pdf(x) * ulp(x)`` (for Beta(20, 0.3) at q = 0.999 the quantile
    is 1 - 1e-10, which a double holds to 6 digits only)."""
    params, oracle = FAMILIES[name]
    d = make(backend, name, params)
    q = q_grid(backend)
    got = N(backend, d.cdf(d.icdf(q)))
    x = oracle.ppf(Q)
    tol = 1e-9 * np.minimum(Q, 1 - Q) + 2 * oracle.pdf(x) * np.spacing(np.abs(x))
    assert (np.abs(got - Q) <= tol).all(), np.max(np.abs(got - Q) / tol)


def test_broadcast_parameters(backend):
    """Parameters of shapes (16,) and () with q of shape (13, 1): the result is (13, 16)."""
    q = A(backend, Q)
    a, b = A(backend, BETA_A), A(backend, 2.5)
    got = N(backend, dist.Beta(a, b).icdf(q))
    np.testing.assert_allclose(got, st.beta(BETA_A, 2.5).ppf(Q), rtol=1e-8)
    got = N(backend, dist.Gamma(A(backend, GAMMA_A), A(backend, 2.0)).icdf(q))
    np.testing.assert_allclose(got, st.gamma(GAMMA_A, scale=0.5).ppf(Q), rtol=1e-8)
    got = N(backend, dist.InverseGamma(A(backend, 3.5), A(backend, GAMMA_R)).icdf(q))
    np.testing.assert_allclose(got, st.invgamma(3.5, scale=GAMMA_R).ppf(Q), rtol=1e-8)
    got = N(backend, dist.StudentT(A(backend, T_DF), A(backend, 1.0), A(backend, 2.0)).icdf(q))
    np.testing.assert_allclose(got, st.t(T_DF, 1.0, 2.0).ppf(Q), rtol=1e-8)


def _icdfs(q, a, b):
    """The two iterative solvers: the inverse incomplete beta on both sides of the median
    (StudentT: its Newton loop is the one Gamma, Chi2, InverseGamma and Beta share) and the von
    Mises Newton-bisection. Traced, both loops run as the backend's ``fori_loop``. (Gamma, too,
    is left out only for its JAX compile time, ~4 s.)"""
    return dist.StudentT(a, b, b).icdf(q), dist.VonMises(b, a).icdf(q)


def test_jit_icdf_equals_eager(backend):
    q, a, b = q_grid(backend), A(backend, GAMMA_A), A(backend, BETA_B)
    eager = [N(backend, x) for x in _icdfs(q, a, b)]
    jitted = [N(backend, x) for x in backend.jit(_icdfs)(q, a, b)]
    for e, j in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(j, e, rtol=1e-10, atol=1e-12)
    # and the eager values are right (atol: loc + scale * t cancels to 0 for df 1 at q = 1/4)
    np.testing.assert_allclose(eager[0], st.t(GAMMA_A, BETA_B, BETA_B).ppf(Q), rtol=1e-8,
                               atol=1e-11)


def _out_of_range_q():
    """The q grid with entries outside [0, 1], at the ends, and NaN."""
    q = np.array(np.broadcast_to(Q, SHAPE))
    q[0, :4], q[1, 4:8], q[2, 8:12], q[3, 12:], q[4, :8] = -0.1, 1.1, 0.0, 1.0, math.nan
    return q


@pytest.mark.parametrize("validate", [True, False])
def test_q_outside_unit_interval(backend, validate):
    """NaN outside [0, 1] and for NaN, the ends of the support at 0 and 1: the convention of
    ``Normal.icdf`` (checked here too), whether or not arguments are validated."""
    q = _out_of_range_q()
    nan = np.isnan(q) | (q < 0) | (q > 1)
    normal = N(backend, dist.Normal(A(backend, 0.0), A(backend, 1.0), validate_args=validate)
               .icdf(A(backend, q)))
    assert np.isnan(normal[nan]).all() and not np.isnan(normal[~nan]).any()
    for name, (params, _) in FAMILIES.items():
        got = N(backend, make(backend, name, params, validate_args=validate).icdf(A(backend, q)))
        assert np.isnan(got[nan]).all(), name
        assert not np.isnan(got[~nan]).any(), name
        lo, hi = SUPPORT[name]
        assert (got[q == 0] == lo).all() and (got[q == 1] == hi).all(), name
    vm = N(backend, make(backend, "VonMises", {"loc": VM_LOC, "concentration": VM_K},
                         validate_args=validate).icdf(A(backend, q)))
    assert np.isnan(vm[nan]).all() and not np.isnan(vm[~nan]).any()
    ends = np.broadcast_to(VM_LOC, SHAPE)
    np.testing.assert_allclose(vm[q == 0], (ends - math.pi)[q == 0], rtol=1e-15)
    np.testing.assert_allclose(vm[q == 1], (ends + math.pi)[q == 1], rtol=1e-15)


@functools.cache
def _vm_ppf() -> np.ndarray:
    return st.vonmises(VM_K, loc=VM_LOC).ppf(Q)  # a root search per entry: computed once


def _vm_points():
    """Angles for the von Mises cdf: the quantiles, shifted by whole turns in three rows."""
    x = _vm_ppf().copy()
    x[:3] += 2 * math.pi * np.array([[-1.0], [1.0], [2.0]])
    return x


def test_vonmises_cdf_matches_scipy(backend):
    """scipy's convention: the integral from ``loc - pi``, one more per turn beyond."""
    x = _vm_points()
    d = make(backend, "VonMises", {"loc": VM_LOC, "concentration": VM_K})
    np.testing.assert_allclose(N(backend, d.cdf(A(backend, x))),
                               st.vonmises(VM_K, loc=VM_LOC).cdf(x), rtol=0, atol=1e-12)


VM_BIG_K = np.repeat(np.array([60.0, 200.0, 1000.0, 5000.0]), 4)
VM_BIG_LOC = np.tile(np.array([-2.5, 0.0, 0.3, 3.0]), 4)


@functools.cache
def _vm_big_oracle() -> tuple[np.ndarray, np.ndarray]:
    """Angles spread over the bulk and both tails, and the cdf there by quadrature of the von
    Mises density ``exp(k (cos(t - loc) - 1)) / (2 pi i0e(k))`` from ``loc - pi``."""
    k, loc = VM_BIG_K, VM_BIG_LOC
    z = np.linspace(-5.0, 5.0, SHAPE[0])[:, None]
    x = loc + 2 * np.arcsin(z / (2 * np.sqrt(k)))
    want = np.empty(SHAPE)
    for i, j in np.ndindex(*SHAPE):
        kj, lj = k[j], loc[j]
        norm = 2 * math.pi * sp.i0e(kj)

        def pdf(t, kj=kj, lj=lj, norm=norm):
            return math.exp(kj * (math.cos(t - lj) - 1)) / norm
        # the mass below loc - 10 / sqrt(k) is under 1e-20
        start = max(lj - math.pi, lj - 10 / math.sqrt(kj))
        want[i, j] = si.quad(pdf, start, x[i, j], epsabs=1e-16, epsrel=1e-13, limit=200)[0]
    return x, want


def test_vonmises_cdf_large_concentration(backend):
    """Concentrations 60 to 5000 (the large-concentration expansion) against quadrature."""
    x, want = _vm_big_oracle()
    d = make(backend, "VonMises", {"loc": VM_BIG_LOC, "concentration": VM_BIG_K})
    np.testing.assert_allclose(N(backend, d.cdf(A(backend, x))), want, rtol=1e-10, atol=1e-14)


def test_vonmises_icdf_matches_scipy(backend):
    """Values in [loc - pi, loc + pi] (scipy's ``ppf``), and back through ``cdf``. scipy's
    ``ppf`` is a numerical root of its own cdf, itself off by up to ~1e-14 absolute in the
    tails: 1e-8 absolute on the angle."""
    d = make(backend, "VonMises", {"loc": VM_LOC, "concentration": VM_K})
    q = q_grid(backend)
    got = d.icdf(q)
    np.testing.assert_allclose(N(backend, got), _vm_ppf(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(N(backend, d.cdf(got)), N(backend, q), rtol=1e-9, atol=1e-15)
