"""Mass matrices and the velocity Verlet (leapfrog) integrator on flat vectors.

A mass matrix is described by a static :class:`MassSpec` (a list of contiguous blocks of the
flat vector, each diagonal or dense) and a tuple of arrays, one per block: the *inverse* mass
(the variance estimate: ``(*batch, d)`` for a diagonal block, ``(*batch, d, d)`` for a dense one)
and a matching tuple of *momentum factors* used to draw ``r ~ N(0, M)``: ``1/sqrt(inv_diag)``
for a diagonal block and ``inv(cholesky(inv_mass))`` for a dense one.

>>> import numpy as np
>>> import array_api_compat.numpy as xp
>>> spec = MassSpec([(0, 2, False)])
>>> inv = (np.array([1.0, 4.0]),)
>>> velocity(spec, inv, np.array([1.0, 1.0]), xp).tolist()
[1.0, 4.0]
>>> float(kinetic_energy(spec, inv, np.array([1.0, 1.0]), xp))
2.5
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["MassSpec", "velocity", "kinetic_energy", "sample_momentum", "leapfrog",
           "identity_mass", "momentum_factor"]


class MassSpec:
    """Static block structure of a mass matrix over a flat vector of length ``size``.

    ``blocks`` is a list of ``(start, stop, dense)``; the blocks tile ``[0, size)`` in order.

    >>> MassSpec([(0, 3, True), (3, 5, False)]).size
    5
    """

    def __init__(self, blocks: list[tuple[int, int, bool]]) -> None:
        self.blocks = [(int(a), int(b), bool(d)) for a, b, d in blocks if b > a]
        self.size = self.blocks[-1][1] if self.blocks else 0

    def __repr__(self) -> str:
        return f"MassSpec({self.blocks})"


def _diag_b(inv: Any, r: Any, xp: Any) -> Any:
    # diag inverse mass (*batch, d) against r (*batch, k..., d)
    extra = r.ndim - inv.ndim
    if extra > 0:
        inv = xp.reshape(inv, tuple(inv.shape[:-1]) + (1,) * extra + tuple(inv.shape[-1:]))
    return inv * r


def _dense_b(mat: Any, r: Any, xp: Any) -> Any:
    # r @ mat with mat (*batch, d, d) against r (*batch, d) or (*batch, k, d)
    if r.ndim == mat.ndim - 1:
        return xp.matmul(r[..., None, :], mat)[..., 0, :]
    return xp.matmul(r, mat)


def _blockwise(spec: MassSpec, mats: tuple, r: Any, xp: Any, dense_fn: Callable,
               diag_fn: Callable) -> Any:
    if len(spec.blocks) == 1:
        _, _, dense = spec.blocks[0]
        return dense_fn(mats[0], r, xp) if dense else diag_fn(mats[0], r, xp)
    parts = []
    for (a, b, dense), m in zip(spec.blocks, mats, strict=False):
        rb = r[..., a:b]
        parts.append(dense_fn(m, rb, xp) if dense else diag_fn(m, rb, xp))
    return xp.concat(parts, axis=-1)


def velocity(spec: MassSpec, inv_mass: tuple, r: Any, xp: Any) -> Any:
    """``M^{-1} r`` (``r`` may carry extra axes between the batch and the last axis)."""
    return _blockwise(spec, inv_mass, r, xp, _dense_b, _diag_b)


def kinetic_energy(spec: MassSpec, inv_mass: tuple, r: Any, xp: Any) -> Any:
    """``r^T M^{-1} r / 2`` over the last axis."""
    return 0.5 * xp.sum(r * velocity(spec, inv_mass, r, xp), axis=-1)


def sample_momentum(spec: MassSpec, factor: tuple, eps: Any, xp: Any) -> Any:
    """Turn standard normal draws ``eps`` into ``r ~ N(0, M)`` with the momentum factors."""

    def diag_fn(f: Any, e: Any, xp: Any) -> Any:
        return f * e

    return _blockwise(spec, factor, eps, xp, _dense_b, diag_fn)


def identity_mass(spec: MassSpec, batch: tuple, dtype: Any, xp: Any) -> tuple[tuple, tuple]:
    """Identity inverse mass and momentum factors for ``spec`` with batch shape ``batch``."""
    inv, fac = [], []
    for a, b, dense in spec.blocks:
        d = b - a
        if dense:
            eye = xp.eye(d, dtype=dtype)
            m = xp.broadcast_to(eye, batch + (d, d)) if batch else eye
            inv.append(m * 1.0)
            fac.append(m * 1.0)
        else:
            inv.append(xp.ones(batch + (d,), dtype=dtype))
            fac.append(xp.ones(batch + (d,), dtype=dtype))
    return tuple(inv), tuple(fac)


def momentum_factor(spec: MassSpec, inv_mass: tuple, be: Any) -> tuple:
    """Momentum factors for a new inverse mass: ``1/sqrt(diag)`` or ``inv(cholesky(inv_mass))``."""
    xp = be.xp
    out = []
    for (_, _, dense), m in zip(spec.blocks, inv_mass, strict=False):
        out.append(be.inv(be.cholesky(m)) if dense else 1.0 / xp.sqrt(m))
    return tuple(out)


def leapfrog(vg: Callable, spec: MassSpec, inv_mass: tuple, x: Any, r: Any, g: Any,
             step: Any, xp: Any) -> tuple[Any, Any, Any, Any]:
    """One velocity-Verlet step of size ``step`` (per chain; negative for backward in time).

    Returns ``(x, r, potential, grad)`` with one potential-and-gradient call.
    """
    half = 0.5 * step
    r = r - half * g
    x = x + step * velocity(spec, inv_mass, r, xp)
    pe, g = vg(x)
    r = r - half * g
    return x, r, pe, g
