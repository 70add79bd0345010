"""Transforms: round trips, log|det J| against autodiff (torch/jax) and finite-difference
(numpy) Jacobians, biject_to images inside the support, shapes."""

from __future__ import annotations

import numpy as np
import pytest

from polyro.core.distributions import biject_to
from polyro.core.distributions import constraints as C
from polyro.core.distributions import transforms as T
from polyro.core.distributions.util import tril_matrix_to_vec
from polyro.errors import AutodiffUnavailableError

RNG_SEED = 1234


def _free_vec(k):
    """Map a transform output (event) to its free coordinates, flat."""
    if k == "elem":
        return lambda y: y
    if k == "simplex":
        return lambda y: y[..., :-1]
    if k == "tril":
        return lambda y: tril_matrix_to_vec(y)
    if k == "strict_tril":
        return lambda y: tril_matrix_to_vec(y, diagonal=-1)
    raise AssertionError(k)


# (id, transform factory(be), input sampler(rng) -> numpy vector x, output free-coords kind)
def _cases():
    def real(d):
        return lambda r: r.normal(size=d)

    def pos(d):
        return lambda r: r.uniform(0.3, 2.0, size=d)

    return [
        ("identity", lambda be: T.IdentityTransform(), real(3), "elem"),
        ("exp", lambda be: T.ExpTransform(), real(3), "elem"),
        ("affine", lambda be: T.AffineTransform(be.asarray(np.array([1.0, 2.0, 3.0])),
                                                be.asarray(np.array([2.0, -0.5, 3.0]))), real(3), "elem"),
        ("sigmoid", lambda be: T.SigmoidTransform(), real(3), "elem"),
        ("softplus", lambda be: T.SoftplusTransform(), real(3), "elem"),
        ("tanh", lambda be: T.TanhTransform(), real(3), "elem"),
        ("power", lambda be: T.PowerTransform(2.5), pos(3), "elem"),
        ("compose", lambda be: T.ComposeTransform([T.ExpTransform(),
                                                   T.AffineTransform(1.0, 2.0)]), real(3), "elem"),
        ("independent", lambda be: T.IndependentTransform(T.SoftplusTransform(), 1), real(3),
         "elem"),
        ("inverse_sigmoid", lambda be: T.SigmoidTransform().inv,
         lambda r: r.uniform(0.1, 0.9, size=3), "elem"),
        ("ordered", lambda be: T.OrderedTransform(), real(4), "elem"),
        ("stick_breaking", lambda be: T.StickBreakingTransform(), real(3), "simplex"),
        ("lower_cholesky", lambda be: T.LowerCholeskyTransform(), real(6), "tril"),
        ("scaled_unit_lower_cholesky", lambda be: T.ScaledUnitLowerCholeskyTransform(), real(6),
         "tril"),
        ("corr_cholesky", lambda be: T.CorrCholeskyTransform(), real(6), "strict_tril"),
        ("corr_matrix", lambda be: biject_to(C.corr_matrix), real(3), "strict_tril"),
        ("positive_definite", lambda be: T.PositiveDefiniteTransform(), real(6), "tril"),
        ("lower_cholesky_affine", lambda be: T.LowerCholeskyAffine(
            be.asarray(np.array([1.0, -1.0, 0.5])),
            be.asarray(np.array([[2.0, 0.0, 0.0], [0.5, 1.5, 0.0], [-1.0, 0.3, 0.7]]))), real(3), "elem"),
        ("positive_ordered", lambda be: biject_to(C.positive_ordered_vector), real(4), "elem"),
        ("interval_array", lambda be: biject_to(C.interval(be.asarray(np.array([0.0, -1.0, 2.0])),
                                                           be.asarray(np.array([1.0, 3.0, 2.5])))),
         real(3), "elem"),
        ("less_than", lambda be: biject_to(C.less_than(be.asarray(np.array([1.0, 2.0, 3.0])))), real(3),
         "elem"),
    ]


CASES = _cases()
IDS = [c[0] for c in CASES]


def _x(case):
    rng = np.random.default_rng(RNG_SEED)
    return case[2](rng)


def _total_ladj(be, t, x):
    y = t(x)
    ladj = np.asarray(be.to_numpy(t.log_abs_det_jacobian(x, y)))
    return float(ladj.sum()), ladj.shape


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_round_trip(backend, case):
    t = case[1](backend)
    x = backend.asarray(_x(case))
    y = t(x)
    assert np.all(backend.to_numpy(t.codomain.check(y)))
    x2 = t.inv(y)
    np.testing.assert_allclose(backend.to_numpy(x2), backend.to_numpy(x), rtol=1e-9, atol=1e-9)
    assert tuple(y.shape) == t.forward_shape(tuple(x.shape))
    assert t.inverse_shape(tuple(y.shape)) == tuple(x.shape)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ladj_matches_autodiff_jacobian(grad_backend, case):
    be = grad_backend
    t = case[1](be)
    free = _free_vec(case[3])
    x = be.asarray(_x(case))
    jac = np.asarray(be.to_numpy(be.jacobian(lambda v: free(t(v)))(x)))
    assert jac.shape[0] == jac.shape[1], jac.shape
    expected = np.linalg.slogdet(jac)[1]
    got, _ = _total_ladj(be, t, x)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-8)


def _fd_jacobian(f, x, eps=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        cols.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ladj_matches_finite_differences(backend, case):
    """The engines without autodiff check log|det J| against central finite differences."""
    be = backend
    if be.SUPPORTS_AUTODIFF:
        pytest.skip("autodiff engine: checked against its exact Jacobian instead")
    t = case[1](be)
    free = _free_vec(case[3])
    x_np = _x(case)

    def f(v):
        return np.asarray(be.to_numpy(free(t(be.asarray(v)))))

    jac = _fd_jacobian(f, x_np)
    expected = np.linalg.slogdet(jac)[1]
    got, _ = _total_ladj(be, t, be.asarray(x_np))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_numpy_has_no_autodiff_jacobian(backend):
    if backend.SUPPORTS_AUTODIFF:
        pytest.skip("engine has autodiff; covered by test_ladj_matches_autodiff_jacobian")
    with pytest.raises(AutodiffUnavailableError):
        backend.jacobian(lambda v: v)(backend.asarray(np.array([1.0])))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inverse_ladj_is_negated(backend, case):
    t = case[1](backend)
    x = backend.asarray(_x(case))
    y = t(x)
    a = np.asarray(backend.to_numpy(t.log_abs_det_jacobian(x, y)))
    b = np.asarray(backend.to_numpy(t.inv.log_abs_det_jacobian(y, x)))
    np.testing.assert_allclose(b, -a, rtol=1e-9, atol=1e-9)
    assert t.inv.inv is t or type(t.inv.inv) is type(t)


def test_batched_ladj_shapes(backend):
    rng = np.random.default_rng(0)
    x = backend.asarray(rng.normal(size=(4, 2, 3)))
    assert tuple(T.ExpTransform().log_abs_det_jacobian(x, None).shape) == (4, 2, 3)
    assert tuple(T.StickBreakingTransform().log_abs_det_jacobian(x, None).shape) == (4, 2)
    assert tuple(T.IndependentTransform(T.ExpTransform(), 2).log_abs_det_jacobian(
        x, None).shape) == (4,)
    y = T.CorrCholeskyTransform()(x)
    assert tuple(y.shape) == (4, 2, 3, 3)
    assert tuple(T.CorrCholeskyTransform().log_abs_det_jacobian(x, y).shape) == (4, 2)
    comp = T.ComposeTransform([T.StickBreakingTransform(), T.ExpTransform()])
    assert tuple(comp.log_abs_det_jacobian(x, comp(x)).shape) == (4, 2)


# every constraint a latent site can have, with an unconstrained input size
BIJECT = [
    ("real", lambda be: C.real, (5,)),
    ("positive", lambda be: C.positive, (5,)),
    ("nonnegative", lambda be: C.nonnegative, (5,)),
    ("greater_than", lambda be: C.greater_than(be.asarray(np.array([1.0, -3.0, 0.0, 2.0, 5.0]))), (5,)),
    ("less_than", lambda be: C.less_than(-2.0), (5,)),
    ("interval", lambda be: C.interval(-2.0, 7.0), (5,)),
    ("interval_array", lambda be: C.interval(be.asarray(np.array([0.0, 1.0, 2.0, 3.0, 4.0])), 10.0), (5,)),
    ("unit_interval", lambda be: C.unit_interval, (5,)),
    ("half_open", lambda be: C.half_open_interval(0.0, 3.0), (5,)),
    ("circular", lambda be: C.circular, (5,)),
    ("real_vector", lambda be: C.real_vector, (2, 5)),
    ("independent", lambda be: C.independent(C.positive, 1), (2, 5)),
    ("simplex", lambda be: C.simplex, (2, 4)),
    ("ordered", lambda be: C.ordered_vector, (2, 4)),
    ("positive_ordered", lambda be: C.positive_ordered_vector, (2, 4)),
    ("lower_cholesky", lambda be: C.lower_cholesky, (2, 6)),
    ("scaled_unit_lower_cholesky", lambda be: C.scaled_unit_lower_cholesky, (2, 6)),
    ("corr_cholesky", lambda be: C.corr_cholesky, (2, 6)),
    ("corr_matrix", lambda be: C.corr_matrix, (2, 3)),
    ("positive_definite", lambda be: C.positive_definite, (2, 10)),
]


@pytest.mark.parametrize("case", BIJECT, ids=[b[0] for b in BIJECT])
def test_biject_to_image_inside_support(backend, case):
    _, make, shape = case
    c = make(backend)
    t = biject_to(c)
    rng = np.random.default_rng(7)
    x = backend.asarray(3.0 * rng.normal(size=shape))
    y = t(x)
    ok = np.asarray(backend.to_numpy(c.check(y)))
    assert ok.all(), (c, backend.to_numpy(y))
    np.testing.assert_allclose(backend.to_numpy(t.inv(y)), backend.to_numpy(x), rtol=1e-6,
                               atol=1e-6)
    ladj = np.asarray(backend.to_numpy(t.log_abs_det_jacobian(x, y)))
    assert np.all(np.isfinite(ladj))


def test_biject_to_errors():
    with pytest.raises(NotImplementedError, match="discrete"):
        biject_to(C.nonnegative_integer)
    with pytest.raises(NotImplementedError, match="dependent"):
        biject_to(C.dependent)


def test_biject_to_register_new_constraint(backend):
    class _Neg(C.Constraint):
        def check(self, x):
            return x < 0

    @biject_to.register(_Neg)
    def _f(c):
        return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0.0, -1.0)])

    y = biject_to(_Neg())(backend.asarray(np.array([0.0, 1.0])))
    np.testing.assert_allclose(backend.to_numpy(y), -np.exp([0.0, 1.0]))


def test_tanh_and_sigmoid_extreme_inputs(backend):
    x = backend.asarray(np.array([-40.0, 0.0, 40.0]))
    for t in (T.TanhTransform(), T.SigmoidTransform(), T.SoftplusTransform()):
        ladj = np.asarray(backend.to_numpy(t.log_abs_det_jacobian(x, t(x))))
        assert np.all(np.isfinite(ladj)), t
    # log(1 - tanh(40)^2) = log(4) - 80 + O(e^-80)
    got = float(backend.to_numpy(T.TanhTransform().log_abs_det_jacobian(x, None))[2])
    np.testing.assert_allclose(got, np.log(4.0) - 80.0, rtol=1e-12)


def test_jitted_transforms_equal_eager(backend):
    """Under the engine's jit (identity where there is none) results equal eager to 1e-12."""
    t = biject_to(C.corr_matrix)
    comp = T.ComposeTransform([T.OrderedTransform(), T.ExpTransform()])
    x = backend.asarray(np.random.default_rng(3).normal(size=(2, 3)))

    def f(v):
        y = t(v)
        return y, t.log_abs_det_jacobian(v, y), comp.log_abs_det_jacobian(v, comp(v))

    eager = [np.asarray(backend.to_numpy(a)) for a in f(x)]
    jitted = [np.asarray(backend.to_numpy(a)) for a in backend.jit(f)(x)]
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
