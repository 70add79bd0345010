"""Special functions of every backend against scipy.special in float64 (the oracle).

Tolerances (relative, float64) are stated per function in ``CASES``: 1e-12 for most functions;
betainc 1e-11 on torch's own continued fraction for a, b <= 100; polygamma 1e-12 (torch goes
through the Hurwitz zeta); erfinv/ndtri 1e-12. Gradients on torch and JAX are checked against
central finite differences of the scipy function (eps 1e-6, rtol 1e-6) or closed forms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sc

RNG = np.random.default_rng(20261126)
POS = np.concatenate([[0.01, 0.5, 1.0, 1.5, 2.0, 10.0, 45.3, 250.0], RNG.uniform(0.05, 30, 12)])
REAL = np.concatenate([[-30.0, -5.0, -1.0, -1e-3, 0.0, 1e-3, 0.7, 3.0, 8.0, 35.0],
                       RNG.normal(0, 4, 10)])
UNIT = np.concatenate([[1e-12, 1e-6, 0.01, 0.3, 0.5, 0.77, 0.999, 1 - 1e-9], RNG.uniform(0, 1, 8)])
OPEN11 = np.concatenate([[-0.999999, -0.9, -0.2, 0.0, 0.3, 0.95, 0.9999999], RNG.uniform(-1, 1, 8)])
NEG = -np.concatenate([[1e-10, 1e-5, 0.1, 0.69, 0.7, 1.0, 5.0, 40.0, 700.0], RNG.uniform(0, 10, 5)])

# name -> (args builder, scipy oracle, rtol, atol)
CASES = {
    "lgamma": (lambda: (np.concatenate([POS, [-2.5, -0.3]]),), sc.gammaln, 1e-12, 1e-13),
    "digamma": (lambda: (np.concatenate([POS, [-2.5, -0.3]]),), sc.digamma, 1e-12, 1e-13),
    "erf": (lambda: (REAL,), sc.erf, 1e-13, 1e-15),
    "erfc": (lambda: (REAL / 3,), sc.erfc, 1e-12, 0),
    "erfinv": (lambda: (OPEN11,), sc.erfinv, 5e-12, 1e-14),
    "ndtr": (lambda: (REAL,), sc.ndtr, 1e-12, 0),
    "log_ndtr": (lambda: (np.r_[REAL, 5.0, 6.0, 8.0, 10.0],), sc.log_ndtr, 1e-12, 0),
    "ndtri": (lambda: (UNIT,), sc.ndtri, 1e-12, 1e-13),
    "xlogy": (lambda: (np.r_[0.0, REAL[:9]], np.r_[0.0, POS[:9]]), sc.xlogy, 1e-13, 1e-14),
    "xlog1py": (lambda: (np.r_[0.0, REAL[:9]], np.r_[-1.0, UNIT[:9]]), sc.xlog1py, 1e-13, 1e-14),
    "expit": (lambda: (REAL,), sc.expit, 1e-13, 1e-300),
    "logit": (lambda: (UNIT,), sc.logit, 1e-12, 1e-14),
    "softplus": (lambda: (REAL,), lambda x: np.logaddexp(0.0, x), 1e-13, 1e-300),
    "log1mexp": (lambda: (NEG,), lambda x: np.log(-np.expm1(x)), 1e-12, 1e-14),
    "lbeta": (lambda: (POS[:10], POS[10:]), sc.betaln, 1e-11, 1e-12),
    "gammainc": (lambda: (POS[:10], POS[10:] / 2), sc.gammainc, 1e-11, 1e-14),
    "gammaincc": (lambda: (POS[:10], POS[10:] / 2), sc.gammaincc, 1e-11, 1e-14),
    "betainc": (lambda: (np.r_[POS[:8], 0.5, 7.0], np.r_[POS[10:18], 90.0, 0.1],
                         np.r_[UNIT[:8], 0.0, 1.0]), sc.betainc, 1e-11, 1e-14),
    "i0e": (lambda: (REAL,), sc.i0e, 1e-12, 0),
    "i1e": (lambda: (REAL,), sc.i1e, 1e-12, 1e-15),
}


def _np(be, x):
    return np.asarray(be.to_numpy(x), dtype=np.float64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_elementwise_against_scipy(backend, name):
    build, oracle, rtol, atol = CASES[name]
    args = build()
    expect = oracle(*args)
    got = getattr(backend, name)(*[backend.asarray(a) for a in args])
    assert backend.is_array(got)
    np.testing.assert_allclose(_np(backend, got), expect, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_polygamma(backend, n):
    x = np.r_[POS, -2.5, -0.3]
    got = backend.polygamma(n, backend.asarray(x))
    np.testing.assert_allclose(_np(backend, got), sc.polygamma(n, x), rtol=1e-12)


def test_betainc_large_parameters(backend):
    a = np.array([150.0, 800.0, 3000.0, 0.2])
    b = np.array([200.0, 500.0, 4000.0, 900.0])
    x = np.array([0.43, 0.6, 0.4285, 1e-4])
    got = backend.betainc(backend.asarray(a), backend.asarray(b), backend.asarray(x))
    np.testing.assert_allclose(_np(backend, got), sc.betainc(a, b, x), rtol=1e-9)


def test_betainc_outside_domain_is_nan(backend):
    got = _np(backend, backend.betainc(backend.asarray([1.0, -1.0]), backend.asarray([2.0, 2.0]),
                                       backend.asarray([1.5, 0.5])))
    assert np.isnan(got).all()


def test_multigammaln(backend):
    a = np.array([1.5, 2.0, 7.3, 40.0])
    for d in (1, 2, 4):
        got = backend.multigammaln(backend.asarray(a + d), d)
        expect = [sc.multigammaln(v, d) for v in a + d]
        np.testing.assert_allclose(_np(backend, got), expect, rtol=1e-12)
    bad = _np(backend, backend.multigammaln(backend.asarray([0.4]), 3))
    assert np.isnan(bad).all()


@pytest.mark.parametrize("axis,keepdims", [(None, False), (None, True), (0, False), (-1, True),
                                           ((0, 2), False)])
def test_logsumexp(backend, axis, keepdims):
    x = RNG.normal(0, 30, (3, 4, 5))
    x[0, 0, :] = -np.inf
    got = backend.logsumexp(backend.asarray(x), axis=axis, keepdims=keepdims)
    expect = sc.logsumexp(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(_np(backend, got), expect, rtol=1e-13)
    assert np.shape(_np(backend, got)) == np.shape(expect)


def test_logsumexp_all_minus_inf(backend):
    got = _np(backend, backend.logsumexp(backend.asarray([-np.inf, -np.inf])))
    assert got == -np.inf


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax(backend, axis):
    x = RNG.normal(0, 50, (4, 6))
    np.testing.assert_allclose(_np(backend, backend.log_softmax(backend.asarray(x), axis=axis)),
                               sc.log_softmax(x, axis=axis), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_np(backend, backend.softmax(backend.asarray(x), axis=axis)),
                               sc.softmax(x, axis=axis), rtol=1e-12, atol=1e-300)


def test_python_scalars_and_numpy_inputs(backend):
    assert backend.is_array(backend.lgamma(3.0)) or np.ndim(backend.lgamma(3.0)) == 0
    np.testing.assert_allclose(_np(backend, backend.lgamma(3.0)), math.log(2.0), rtol=1e-14)
    np.testing.assert_allclose(_np(backend, backend.xlogy(2.0, np.array([3.0]))),
                               [2 * math.log(3.0)], rtol=1e-14)
    np.testing.assert_allclose(_np(backend, backend.betainc(2.0, 3.0, 0.5)),
                               sc.betainc(2.0, 3.0, 0.5), rtol=1e-13)


def test_float64_results_keep_float64(backend):
    x = backend.asarray(np.array([0.5, 2.0]))
    for name in ("lgamma", "erf", "softplus", "expit", "i0e"):
        assert _np(backend, getattr(backend, name)(x)).dtype == np.float64


# ------------------------------------------------------------------------------ gradients
def _fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


GRAD_CASES = {
    "lgamma": (np.array([0.7, 3.2, 12.0]), sc.gammaln),
    "digamma": (np.array([0.7, 3.2, 12.0]), sc.digamma),
    "erf": (np.array([-1.2, 0.1, 2.0]), sc.erf),
    "erfinv": (np.array([-0.7, 0.1, 0.9]), sc.erfinv),
    "log_ndtr": (np.array([-20.0, -1.0, 3.0]), sc.log_ndtr),
    "ndtri": (np.array([0.01, 0.4, 0.97]), sc.ndtri),
    "softplus": (np.array([-40.0, 0.3, 25.0]), lambda x: np.logaddexp(0.0, x)),
    "log1mexp": (np.array([-50.0, -0.9, -1e-3]), lambda x: np.log(-np.expm1(x))),
    "logit": (np.array([0.01, 0.5, 0.9]), sc.logit),
    "i0e": (np.array([-3.0, 0.4, 7.0]), sc.i0e),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_against_finite_differences(grad_backend, name):
    be = grad_backend
    x, oracle = GRAD_CASES[name]
    g = be.grad(lambda v: getattr(be, name)(v).sum())(be.asarray(x))
    np.testing.assert_allclose(_np(be, g), _fd(oracle, x), rtol=1e-6, atol=1e-9, err_msg=name)


def test_softplus_derivatives_are_sigmoid_closed_forms(grad_backend):
    """d softplus = sigmoid exactly at 0 (the stick-breaking simplex sits there) and elsewhere;
    the second derivative sigmoid (1 - sigmoid) to 1e-13 relative or 1e-15 absolute (in the
    far tail ``1 - sigmoid`` cancels: 0 for 8.8e-27 at x = 60), against scipy's expit."""
    be = grad_backend
    x = np.array([-60.0, -3.0, -1e-8, 0.0, 1e-8, 0.4, 7.0, 60.0])
    g = be.grad(lambda v: be.softplus(v).sum())(be.asarray(x))
    np.testing.assert_allclose(_np(be, g), sc.expit(x), rtol=1e-14, atol=1e-300)
    h = be.grad(lambda v: be.grad(lambda w: be.softplus(w).sum())(v).sum())(be.asarray(x))
    np.testing.assert_allclose(_np(be, h), sc.expit(x) * sc.expit(-x), rtol=1e-13, atol=1e-15)


def test_softplus_values_are_logaddexp_bit_for_bit(backend):
    """Every engine's softplus is the value of its own logaddexp(x, 0), bit for bit, so that a
    custom derivative rule (JAX) changes no log density."""
    x = np.r_[REAL, -745.0, -36.7, 36.7, 710.0, np.inf, -np.inf]
    xs = backend.asarray(x)
    want = _np(backend, backend.xp.logaddexp(xs, backend.xp.zeros_like(xs)))
    assert np.array_equal(_np(backend, backend.softplus(xs)), want)


def test_bernoulli_logits_capability(backend):
    """The optional fused Bernoulli log-mass (torch): value * logits - softplus(logits) to 4e-15
    absolute over logits in [-40, 40] against the closed form in float64 (scipy's log_expit),
    with gradient value - sigmoid(logits); engines without it say so by not having it."""
    fused = getattr(backend, "bernoulli_logits_log_prob", None)
    if fused is None:
        assert backend.NAME in ("numpy", "jax"), "only torch is known to provide it"
        return
    lg = np.linspace(-40.0, 40.0, 2001)
    for y in (0.0, 1.0, 0.25):
        want = y * sc.log_expit(lg) + (1 - y) * sc.log_expit(-lg)
        got = _np(backend, fused(backend.asarray(lg), backend.asarray(np.full_like(lg, y))))
        np.testing.assert_allclose(got, want, rtol=0, atol=4e-15)
    yv = (RNG.uniform(size=7) > 0.5).astype(float)
    x = RNG.normal(0, 3, 7)
    g = backend.grad(lambda v: fused(v, backend.asarray(yv)).sum())(backend.asarray(x))
    np.testing.assert_allclose(_np(backend, g), yv - sc.expit(x), rtol=1e-13, atol=1e-15)
    # second derivative (Laplace approximations, Hessians): -sigmoid (1 - sigmoid)
    h = backend.grad(lambda v: backend.grad(
        lambda w: fused(w, backend.asarray(yv)).sum())(v).sum())(backend.asarray(x))
    np.testing.assert_allclose(_np(backend, h), -sc.expit(x) * sc.expit(-x), rtol=1e-12)
    # vectorized over a leading batch (vmap-vectorized particles)
    xs = RNG.normal(0, 2, (3, 7))
    got = backend.vmap(lambda v: fused(v, backend.asarray(yv)).sum())(backend.asarray(xs))
    want = (yv * sc.log_expit(xs) + (1 - yv) * sc.log_expit(-xs)).sum(-1)
    np.testing.assert_allclose(_np(backend, got), want, rtol=1e-13)
    # broadcasting a value batch against one logit, as distributions do
    got = fused(backend.asarray(0.3), backend.asarray(np.array([1.0, 0.0])))
    np.testing.assert_allclose(_np(backend, got), sc.log_expit([0.3, -0.3]), rtol=1e-14)


def test_polygamma_gradient_is_next_order(grad_backend):
    be = grad_backend
    x = np.array([0.6, 2.5, 9.0])
    g = be.grad(lambda v: be.polygamma(1, v).sum())(be.asarray(x))
    np.testing.assert_allclose(_np(be, g), sc.polygamma(2, x), rtol=1e-10)


def test_betainc_gradient_in_x_is_the_beta_density(grad_backend):
    be = grad_backend
    a, b = np.array([0.7, 2.0, 30.0]), np.array([1.5, 5.0, 20.0])
    x = np.array([0.2, 0.5, 0.66])
    g = be.grad(lambda v: be.betainc(be.asarray(a), be.asarray(b), v).sum())(be.asarray(x))
    dens = np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - sc.betaln(a, b))
    np.testing.assert_allclose(_np(be, g), dens, rtol=1e-9)


def test_gammainc_gradient_in_x(grad_backend):
    be = grad_backend
    a, x = np.array([0.5, 3.0, 12.0]), np.array([0.2, 2.5, 14.0])
    g = be.grad(lambda v: be.gammainc(be.asarray(a), v).sum())(be.asarray(x))
    dens = np.exp((a - 1) * np.log(x) - x - sc.gammaln(a))
    np.testing.assert_allclose(_np(be, g), dens, rtol=1e-9)


def test_logsumexp_gradient_is_softmax(grad_backend):
    be = grad_backend
    x = RNG.normal(size=(2, 5))
    g = be.grad(lambda v: be.logsumexp(v, axis=-1).sum())(be.asarray(x))
    np.testing.assert_allclose(_np(be, g), sc.softmax(x, axis=-1), rtol=1e-12)


def test_special_under_jax_jit():
    jax = pytest.importorskip("jax")
    import polyro
    from polyro import backends

    polyro.set_default_dtype("float64")
    be = backends.get("jax")
    x = np.array([0.3, 1.7, 6.0])
    with polyro.backend("jax"):
        f = jax.jit(lambda v: (be.lgamma(v), be.betainc(v, v + 1.0, v / 10), be.log_ndtr(-v),
                               be.logsumexp(v), be.log1mexp(-v)))
        out = [np.asarray(o) for o in f(be.asarray(x))]
    np.testing.assert_allclose(out[0], sc.gammaln(x), rtol=1e-12)
    np.testing.assert_allclose(out[1], sc.betainc(x, x + 1, x / 10), rtol=1e-10)
    np.testing.assert_allclose(out[2], sc.log_ndtr(-x), rtol=1e-12)
    np.testing.assert_allclose(out[3], sc.logsumexp(x), rtol=1e-13)
    np.testing.assert_allclose(out[4], np.log(-np.expm1(-x)), rtol=1e-12)


def test_torch_betainc_under_vmap_and_func_grad():
    torch = pytest.importorskip("torch")
    from polyro.backends.torch import special as ts

    x = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    out = torch.func.vmap(lambda v: ts.betainc(2.0, 3.0, v))(x)
    np.testing.assert_allclose(out.numpy(), sc.betainc(2.0, 3.0, x.numpy()), rtol=1e-12)
    g = torch.func.grad(lambda v: ts.betainc(2.0, 3.0, v))(torch.tensor(0.3, dtype=torch.float64))
    dens = 0.3 * 0.7 ** 2 / math.exp(sc.betaln(2.0, 3.0))
    assert abs(float(g) - dens) < 1e-10
