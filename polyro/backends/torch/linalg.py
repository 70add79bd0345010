"""Linear algebra on the torch backend (``torch.linalg``), with the conventions of every backend.

* matrices are the last two axes; leading axes broadcast;
* ``b.ndim == 1`` is one vector, otherwise ``b`` is ``(..., n, k)``;
* :func:`cholesky` is lower and gives NaN (no exception) where the matrix is not positive
  definite, as on JAX.

>>> import torch
>>> L = cholesky(torch.tensor([[4.0, 2.0], [2.0, 3.0]], dtype=torch.float64))
>>> bool(torch.allclose(L @ L.T, torch.tensor([[4.0, 2.0], [2.0, 3.0]], dtype=torch.float64)))
True
"""

from __future__ import annotations

from typing import Any

import torch

from .special import _t, _ts

__all__ = ["cho_solve", "cholesky", "inv", "slogdet", "solve", "solve_triangular"]


def cholesky(a: Any) -> torch.Tensor:
    """Lower Cholesky factor L (L @ L.T == a); NaN where ``a`` is not positive definite.

    >>> cholesky(torch.eye(2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    a = _t(a)
    L, info = torch.linalg.cholesky_ex(a)
    # always the select, never a Python branch on ``info``: the same values, and a potential
    # that factors a matrix can then be recorded (record.py refuses branches on values)
    return torch.where((info != 0)[..., None, None], torch.full_like(L, float("nan")), L)


def _prep(a: torch.Tensor, b: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor, bool]:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: the matrix must have shape (..., n, n), got {tuple(a.shape)}")
    vec = b.ndim == 1
    bm = b[:, None] if vec else b
    if bm.shape[-2] != a.shape[-1]:
        raise ValueError(
            f"{name}: the right-hand side has shape {tuple(b.shape)} but the matrix has shape "
            f"{tuple(a.shape)}; b must be (n,) or (..., n, k) (use b[..., None] for a batch of "
            "vectors)"
        )
    batch = torch.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    return a.expand(batch + a.shape[-2:]), bm.expand(batch + bm.shape[-2:]), vec


def solve_triangular(a: Any, b: Any, lower: bool = True) -> torch.Tensor:
    """Solve ``a @ x = b`` for triangular ``a`` (lower by default), batched with broadcasting.

    >>> solve_triangular(torch.tensor([[2.0, 0.0], [1.0, 1.0]]), torch.tensor([2.0, 3.0])).tolist()
    [1.0, 2.0]
    """
    a, b = _ts(a, b)
    am, bm, vec = _prep(a, b, "solve_triangular")
    x = torch.linalg.solve_triangular(am, bm, upper=not lower)
    return x[..., 0] if vec else x


def cho_solve(L: Any, b: Any) -> torch.Tensor:
    """Solve ``(L @ L.T) x = b`` given the lower Cholesky factor ``L``.

    >>> cho_solve(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([4.0, 1.0])).tolist()
    [1.0, 1.0]
    """
    L, b = _ts(L, b)
    am, bm, vec = _prep(L, b, "cho_solve")
    x = torch.cholesky_solve(bm, am, upper=False)
    return x[..., 0] if vec else x


def slogdet(a: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(sign, log|det a|), batched.

    >>> sign, logdet = slogdet(torch.diag(torch.tensor([2.0, 3.0], dtype=torch.float64)))
    >>> float(sign), round(float(logdet), 12)
    (1.0, 1.791759469228)
    """
    sign, logdet = torch.linalg.slogdet(_t(a))
    return sign, logdet


def inv(a: Any) -> torch.Tensor:
    """Matrix inverse, batched.

    >>> inv(torch.diag(torch.tensor([2.0, 4.0]))).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return torch.linalg.inv(_t(a))


def solve(a: Any, b: Any) -> torch.Tensor:
    """Solve ``a @ x = b`` (``b`` of shape (n,) or (..., n, k)), batched with broadcasting.

    >>> solve(torch.diag(torch.tensor([2.0, 4.0])), torch.tensor([2.0, 4.0])).tolist()
    [1.0, 1.0]
    """
    a, b = _ts(a, b)
    am, bm, vec = _prep(a, b, "solve")
    x = torch.linalg.solve(am, bm)
    return x[..., 0] if vec else x
