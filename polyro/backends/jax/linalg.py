"""Linear algebra on the JAX backend, with the conventions of every backend.

* matrices are the last two axes; leading axes broadcast;
* ``b.ndim == 1`` is one vector, otherwise ``b`` is ``(..., n, k)``;
* :func:`cholesky` is lower and gives NaN where the matrix is not positive definite.

>>> import jax.numpy as jnp
>>> L = cholesky(jnp.array([[4.0, 2.0], [2.0, 3.0]]))
>>> bool(jnp.allclose(L @ L.T, jnp.array([[4.0, 2.0], [2.0, 3.0]])))
True
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import jax.scipy.linalg as jsl

from .special import _f, _fs

__all__ = ["cho_solve", "cholesky", "inv", "slogdet", "solve", "solve_triangular"]


def cholesky(a: Any) -> Any:
    """Lower Cholesky factor L (L @ L.T == a); NaN where ``a`` is not positive definite.

    >>> cholesky(jnp.eye(2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return jnp.linalg.cholesky(_f(a))


def _prep(a: Any, b: Any, name: str) -> tuple[Any, Any, bool]:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: the matrix must have shape (..., n, n), got {a.shape}")
    vec = b.ndim == 1
    bm = b[:, None] if vec else b
    if bm.shape[-2] != a.shape[-1]:
        raise ValueError(
            f"{name}: the right-hand side has shape {b.shape} but the matrix has shape {a.shape};"
            " b must be (n,) or (..., n, k) (use b[..., None] for a batch of vectors)"
        )
    batch = jnp.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    return (jnp.broadcast_to(a, batch + a.shape[-2:]), jnp.broadcast_to(bm, batch + bm.shape[-2:]),
            vec)


def solve_triangular(a: Any, b: Any, lower: bool = True) -> Any:
    """Solve ``a @ x = b`` for triangular ``a`` (lower by default), batched with broadcasting.

    >>> solve_triangular(jnp.array([[2.0, 0.0], [1.0, 1.0]]), jnp.array([2.0, 3.0])).tolist()
    [1.0, 2.0]
    """
    a, b = _fs(a, b)
    am, bm, vec = _prep(a, b, "solve_triangular")
    x = jsl.solve_triangular(am, bm, lower=lower)
    return x[..., 0] if vec else x


def cho_solve(L: Any, b: Any) -> Any:
    """Solve ``(L @ L.T) x = b`` given the lower Cholesky factor ``L``.

    >>> cho_solve(jnp.array([[2.0, 0.0], [0.0, 1.0]]), jnp.array([4.0, 1.0])).tolist()
    [1.0, 1.0]
    """
    L, b = _fs(L, b)
    am, bm, vec = _prep(L, b, "cho_solve")
    y = jsl.solve_triangular(am, bm, lower=True)
    x = jsl.solve_triangular(am, y, lower=True, trans=1)
    return x[..., 0] if vec else x


def slogdet(a: Any) -> tuple[Any, Any]:
    """(sign, log|det a|), batched.

    >>> sign, logdet = slogdet(jnp.diag(jnp.array([2.0, 3.0])))
    >>> float(sign), round(float(logdet), 5)
    (1.0, 1.79176)
    """
    sign, logdet = jnp.linalg.slogdet(_f(a))
    return sign, logdet


def inv(a: Any) -> Any:
    """Matrix inverse, batched.

    >>> inv(jnp.diag(jnp.array([2.0, 4.0]))).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return jnp.linalg.inv(_f(a))


def solve(a: Any, b: Any) -> Any:
    """Solve ``a @ x = b`` (``b`` of shape (n,) or (..., n, k)), batched with broadcasting.

    >>> solve(jnp.diag(jnp.array([2.0, 4.0])), jnp.array([2.0, 4.0])).tolist()
    [1.0, 1.0]
    """
    a, b = _fs(a, b)
    am, bm, vec = _prep(a, b, "solve")
    x = jnp.linalg.solve(am, bm)
    return x[..., 0] if vec else x
