"""Linear algebra on the numpy backend (numpy.linalg + scipy.linalg).

Conventions shared by every backend:

* matrices are the last two axes; leading axes are batch axes and broadcast;
* a right-hand side ``b`` with ``b.ndim == 1`` is one vector; otherwise ``b`` is ``(..., n, k)``
  (write ``b[..., None]`` to solve for a batch of vectors);
* :func:`cholesky` returns the lower factor and gives NaN (no exception) for a matrix that is not
  positive definite, as JAX does, so a failed factorisation looks the same on every engine.

>>> import numpy as np
>>> L = cholesky(np.array([[4.0, 2.0], [2.0, 3.0]]))
>>> np.allclose(L @ L.T, [[4.0, 2.0], [2.0, 3.0]])
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sl

__all__ = ["cho_solve", "cholesky", "inv", "slogdet", "solve", "solve_triangular"]


def cholesky(a: Any) -> np.ndarray:
    """Lower Cholesky factor L of ``a`` (L @ L.T == a); NaN where ``a`` is not positive definite.

    >>> cholesky(np.eye(2))
    array([[1., 0.],
           [0., 1.]])
    """
    a = np.asarray(a)
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        pass
    flat = a.reshape((-1,) + a.shape[-2:])
    out = np.empty(flat.shape, dtype=np.result_type(a.dtype, np.float32))
    for i, m in enumerate(flat):
        try:
            out[i] = np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            out[i] = np.nan
    return out.reshape(a.shape)


def _as_matrix_rhs(a: np.ndarray, b: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: the matrix must have shape (..., n, n), got {a.shape}")
    vec = b.ndim == 1
    bm = b[:, None] if vec else b
    if bm.shape[-2] != a.shape[-1]:
        raise ValueError(
            f"{name}: the right-hand side has shape {b.shape} but the matrix has shape {a.shape}; "
            "b must be (n,) or (..., n, k) (use b[..., None] for a batch of vectors)"
        )
    batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    bm = np.broadcast_to(bm, batch + bm.shape[-2:])
    return a, bm, vec


def solve_triangular(a: Any, b: Any, lower: bool = True) -> np.ndarray:
    """Solve ``a @ x = b`` for triangular ``a`` (lower by default), batched with broadcasting.

    >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]))
    array([1., 2.])
    """
    a, b = np.asarray(a), np.asarray(b)
    am, bm, vec = _as_matrix_rhs(a, b, "solve_triangular")
    x = sl.solve_triangular(am, bm, lower=lower, check_finite=False)
    return x[..., 0] if vec else x


def cho_solve(L: Any, b: Any) -> np.ndarray:
    """Solve ``(L @ L.T) x = b`` given the lower Cholesky factor ``L``.

    >>> cho_solve(np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([4.0, 1.0]))
    array([1., 1.])
    """
    L, b = np.asarray(L), np.asarray(b)
    y = solve_triangular(L, b, lower=True)
    Lt = np.swapaxes(L, -1, -2)
    return solve_triangular(Lt, y, lower=False)


def slogdet(a: Any) -> tuple[np.ndarray, np.ndarray]:
    """(sign, log|det a|) of square matrices, batched.

    >>> sign, logdet = slogdet(np.diag([2.0, 3.0]))
    >>> float(sign), round(float(logdet), 12)
    (1.0, 1.791759469228)
    """
    sign, logdet = np.linalg.slogdet(np.asarray(a))
    return sign, logdet


def inv(a: Any) -> np.ndarray:
    """Matrix inverse, batched.

    >>> inv(np.diag([2.0, 4.0]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return np.linalg.inv(np.asarray(a))


def solve(a: Any, b: Any) -> np.ndarray:
    """Solve ``a @ x = b`` (``b`` of shape (n,) or (..., n, k)), batched with broadcasting.

    >>> solve(np.diag([2.0, 4.0]), np.array([2.0, 4.0]))
    array([1., 1.])
    """
    a, b = np.asarray(a), np.asarray(b)
    am, bm, vec = _as_matrix_rhs(a, b, "solve")
    x = np.linalg.solve(am, bm)
    return x[..., 0] if vec else x
