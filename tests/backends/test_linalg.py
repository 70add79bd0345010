"""Linear-algebra extras of every backend against numpy/scipy float64, with batching and
broadcasting, the shared NaN semantics of a failed Cholesky, and gradients (closed forms)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

RNG = np.random.default_rng(7)


def _spd(*batch, n=4):
    a = RNG.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _np(be, x):
    return np.asarray(be.to_numpy(x), dtype=np.float64)


def test_cholesky_lower_batched(backend):
    a = _spd(2, 3)
    L = _np(backend, backend.cholesky(backend.asarray(a)))
    np.testing.assert_allclose(L, np.linalg.cholesky(a), rtol=1e-12, atol=1e-13)
    assert np.allclose(np.triu(L, 1), 0.0)


def test_cholesky_not_positive_definite_is_nan_everywhere(backend):
    good = _spd(n=3)
    bad = np.diag([1.0, -1.0, 2.0])
    L = _np(backend, backend.cholesky(backend.asarray(np.stack([good, bad]))))
    assert np.isfinite(L[0]).all()
    np.testing.assert_allclose(L[0], np.linalg.cholesky(good), rtol=1e-12)
    assert np.isnan(L[1]).any()
    single = _np(backend, backend.cholesky(backend.asarray(bad)))
    assert np.isnan(single).any()


@pytest.mark.parametrize("lower", [True, False])
def test_solve_triangular_vector_and_matrix(backend, lower):
    L = np.linalg.cholesky(_spd())
    a = L if lower else L.T
    b = RNG.normal(size=4)
    x = _np(backend, backend.solve_triangular(backend.asarray(a), backend.asarray(b), lower=lower))
    np.testing.assert_allclose(x, sl.solve_triangular(a, b, lower=lower), rtol=1e-12)
    B = RNG.normal(size=(4, 3))
    X = _np(backend, backend.solve_triangular(backend.asarray(a), backend.asarray(B), lower=lower))
    np.testing.assert_allclose(X, sl.solve_triangular(a, B, lower=lower), rtol=1e-12)


def test_solve_triangular_broadcasts_batches(backend):
    L = np.linalg.cholesky(_spd(2, 1))  # batch (2, 1)
    B = RNG.normal(size=(3, 4, 2))  # batch (3,)
    X = _np(backend, backend.solve_triangular(backend.asarray(L), backend.asarray(B)))
    assert X.shape == (2, 3, 4, 2)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(X[i, j], sl.solve_triangular(L[i, 0], B[j], lower=True),
                                       rtol=1e-12)
    # a single matrix against a batch of right-hand sides
    X2 = _np(backend, backend.solve_triangular(backend.asarray(L[0, 0]), backend.asarray(B)))
    np.testing.assert_allclose(X2, np.stack([sl.solve_triangular(L[0, 0], bj, lower=True)
                                             for bj in B]), rtol=1e-12)


def test_solve_shape_errors_name_the_shapes(backend):
    with pytest.raises(ValueError, match=r"solve_triangular.*\(3,\)"):
        backend.solve_triangular(backend.asarray(np.eye(4)), backend.asarray(np.ones(3)))
    with pytest.raises(ValueError, match="solve"):
        backend.solve(backend.asarray(np.ones((2, 3))), backend.asarray(np.ones(2)))


def test_cho_solve(backend):
    a = _spd(3)
    L = np.linalg.cholesky(a)
    b = RNG.normal(size=(3, 4, 2))
    x = _np(backend, backend.cho_solve(backend.asarray(L), backend.asarray(b)))
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-11)
    v = RNG.normal(size=4)
    xv = _np(backend, backend.cho_solve(backend.asarray(L[0]), backend.asarray(v)))
    np.testing.assert_allclose(xv, sl.cho_solve((L[0], True), v), rtol=1e-11)


def test_slogdet_inv_solve(backend):
    a = _spd(2) * np.array([1.0, -1.0])[:, None, None]  # one negative-definite: sign -1^n = 1
    a[1, 0] *= -1.0  # flip a row: sign -1
    sign, logdet = backend.slogdet(backend.asarray(a))
    es, el = np.linalg.slogdet(a)
    np.testing.assert_allclose(_np(backend, sign), es)
    np.testing.assert_allclose(_np(backend, logdet), el, rtol=1e-12)
    np.testing.assert_allclose(_np(backend, backend.inv(backend.asarray(a))), np.linalg.inv(a),
                               rtol=1e-11)
    b = RNG.normal(size=(2, 4, 3))
    np.testing.assert_allclose(_np(backend, backend.solve(backend.asarray(a), backend.asarray(b))),
                               np.linalg.solve(a, b), rtol=1e-11)
    v = RNG.normal(size=4)
    np.testing.assert_allclose(_np(backend, backend.solve(backend.asarray(a[0]),
                                                          backend.asarray(v))),
                               np.linalg.solve(a[0], v), rtol=1e-11)


def test_gradients_closed_forms(grad_backend):
    be = grad_backend
    a = _spd()
    # d logdet(A) / dA = A^{-T}
    g = be.grad(lambda m: be.slogdet(m)[1])(be.asarray(a))
    np.testing.assert_allclose(_np(be, g), np.linalg.inv(a).T, rtol=1e-10)
    # d/db of c . (A^{-1} b) = A^{-T} c, through cho_solve of the Cholesky factor
    b, c = RNG.normal(size=4), RNG.normal(size=4)
    L = np.linalg.cholesky(a)

    def f(bv):
        return (be.cho_solve(be.asarray(L), bv) * be.asarray(c)).sum()

    np.testing.assert_allclose(_np(be, be.grad(f)(be.asarray(b))), np.linalg.solve(a.T, c),
                               rtol=1e-10)
    # d/dA of sum(L) where L = cholesky(A): compare with central differences on numpy
    def s(m):
        return np.linalg.cholesky(0.5 * (m + m.T)).sum()

    fd = np.zeros_like(a)
    for i in range(4):
        for j in range(4):
            e = np.zeros_like(a)
            e[i, j] = 1e-6
            fd[i, j] = (s(a + e) - s(a - e)) / 2e-6
    gl = _np(be, be.grad(lambda m: be.cholesky(0.5 * (m + m.T)).sum())(be.asarray(a)))
    np.testing.assert_allclose(gl, fd, rtol=1e-5, atol=1e-8)
