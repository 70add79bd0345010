"""The log-likelihood of a linear-Gaussian chain in log depth: :func:`gaussian_chain_log_prob`.

The Kalman filter's steps compose associatively (Sarkka & Garcia-Fernandez, "Temporal
parallelization of Bayesian smoothers", 2021): each step is an element ``(A, b, C, eta, J)`` --
an affine-Gaussian map of the previous filtered state plus the information the step's observation
carries about that state -- and two adjacent elements combine into one by the formulas of
:func:`_combine`. All prefixes of the chain (the filtered means and covariances of every step)
come from the backend's ``associative_scan`` on eager engines (numpy, torch: ``O(T)``
combinations in about ``2 log2(T)`` rounds of batched operations instead of ``T`` sequential
steps) and from one compiled loop over the same combinations where the engine compiles
(:func:`_prefix`), in covariance form (no precision matrices, so nearly deterministic transitions
stay exact, unlike an information-form contraction). The log-likelihood is then the sum of the
one-step predictive densities, evaluated for all steps at once.

Conventions (Pyro's ``GaussianHMM``): row vectors, ``z[t] = z[t-1] @ A[t] + b[t] + e``,
``e ~ N(0, Q[t])``; ``y[t] = z[t] @ C[t] + d[t] + f``, ``f ~ N(0, R[t])``; ``z[-1] ~ N(m0, P0)``.
Inside, column form: ``F = A^T``, ``H = C^T``.

>>> import numpy as np
>>> from polyro.backends import numpy as be
>>> one = np.ones((1, 1, 1))
>>> lp = gaussian_chain_log_prob(be, np.zeros(1), np.eye(1), one, np.zeros((1, 1)), one, one,
...                              np.zeros((1, 1)), one, np.zeros((1, 1)))
>>> round(float(lp), 6)  # y[0] ~ N(0, 3): -log(2 pi 3) / 2
-1.468245
"""

from __future__ import annotations

from typing import Any

from polyro.core.distributions.cont_common import LOG_2PI
from polyro.core.distributions.mv_normal import _half_log_det, _tril_solve_sq

__all__ = ["gaussian_chain_log_prob"]


def _t(xp: Any, x: Any) -> Any:
    return xp.matrix_transpose(x)


def _mv(M: Any, v: Any) -> Any:
    return (M @ v[..., None])[..., 0]


def _sym(xp: Any, S: Any) -> Any:
    return 0.5 * (S + _t(xp, S))


def _combine(be: Any, xp: Any, ei: tuple, ej: tuple) -> tuple:
    """The element of step ``i`` followed by step ``j`` (``i`` earlier)."""
    Ai, bi, Ci, ei_, Ji = ei
    Aj, bj, Cj, ej_, Jj = ej
    eye = xp.eye(int(Ai.shape[-1]), dtype=Ai.dtype)
    # (I + C_i J_j)^-1 and (I + J_j C_i)^-1 = its transpose's analogue, by solves
    AjM = _t(xp, be.solve(_t(xp, eye + Ci @ Jj), _t(xp, Aj)))    # A_j (I + C_i J_j)^-1
    AiN = _t(xp, be.solve(_t(xp, eye + Jj @ Ci), Ai))             # A_i^T (I + J_j C_i)^-1
    A = AjM @ Ai
    b = _mv(AjM, bi + _mv(Ci, ej_)) + bj
    C = _sym(xp, AjM @ Ci @ _t(xp, Aj) + Cj)
    eta = _mv(AiN, ej_ - _mv(Jj, bi)) + ei_
    J = _sym(xp, AiN @ Jj @ Ai + Ji)
    return A, b, C, eta, J


def _elements(be: Any, xp: Any, m0: Any, P0: Any, A: Any, b: Any, Q: Any, C: Any, d: Any,
              R: Any, y: Any) -> tuple:
    """The scan's elements ``(A, b, C, eta, J)`` of every step (time-major); the first step's
    is the prior pushed through and conditioned on ``y[0]`` (it does not depend on ``z[-1]``)."""
    F, H = _t(xp, A), _t(xp, C)
    S = _sym(xp, H @ Q @ C + R)                       # H Q H^T + R
    L = be.cholesky(S)
    QHt = Q @ C                                       # Q H^T
    K = _t(xp, be.cho_solve(L, _t(xp, QHt)))          # Q H^T S^-1
    IKH = xp.eye(int(F.shape[-1]), dtype=F.dtype) - K @ H
    r = y - d - _mv(H, b)
    elem_A = IKH @ F
    elem_b = b + _mv(K, r)
    elem_C = _sym(xp, IKH @ Q)
    HF = H @ F
    SiHF = be.cho_solve(L, HF)
    elem_eta = _mv(_t(xp, HF), be.cho_solve(L, r[..., None])[..., 0])
    elem_J = _sym(xp, _t(xp, HF) @ SiHF)
    # the first step
    m1 = _mv(F[0], m0) + b[0]
    P1 = _sym(xp, F[0] @ P0 @ A[0] + Q[0])
    S1 = _sym(xp, H[0] @ P1 @ C[0] + R[0])
    L1 = be.cholesky(S1)
    K1 = _t(xp, be.cho_solve(L1, _t(xp, P1 @ C[0])))
    b1 = m1 + _mv(K1, y[0] - d[0] - _mv(H[0], m1))
    C1 = _sym(xp, P1 - K1 @ S1 @ _t(xp, K1))
    first = (xp.zeros_like(elem_A[0]), b1, C1, xp.zeros_like(elem_eta[0]),
             xp.zeros_like(elem_J[0]))
    return tuple(xp.concat([f[None], e[1:]], axis=0)
                 for f, e in zip(first, (elem_A, elem_b, elem_C, elem_eta, elem_J), strict=True))


def _gauss_logpdf(be: Any, xp: Any, r: Any, S: Any) -> Any:
    L = be.cholesky(_sym(xp, S))
    return -0.5 * _tril_solve_sq(be, L, r) - _half_log_det(xp, L) - 0.5 * int(r.shape[-1]) * LOG_2PI


def _prefix(be: Any, xp: Any, el: tuple) -> tuple:
    """Every prefix combination of the elements (inclusive). Eager engines: the backend's
    ``associative_scan`` (about ``2 log2 T`` batched rounds). An engine that compiles
    (``SUPPORTS_JIT``): one ``be.scan`` over the steps, as ``chain_prefix`` in
    :mod:`polyro.inference.enum.chain` does -- every level of a log-depth scan has its own shapes
    and is compiled separately (``jax.jit`` of the value and gradient took 11 s at T = 200
    against 1 s for the loop), while the loop compiles one body whatever ``T`` is."""
    if not be.SUPPORTS_JIT:
        return be.associative_scan(lambda a, c: _combine(be, xp, a, c), el)

    def step(acc: tuple, e: tuple) -> tuple:
        acc = _combine(be, xp, acc, e)
        return acc, acc

    _, rest = be.scan(step, tuple(x[0] for x in el), tuple(x[1:] for x in el))
    return tuple(xp.concat([x[:1], r], axis=0) for x, r in zip(el, rest, strict=True))


def gaussian_chain_log_prob(be: Any, m0: Any, P0: Any, A: Any, b: Any, Q: Any, C: Any, d: Any,
                            R: Any, y: Any) -> Any:
    """``log p(y[0], ..., y[T-1])`` of the chain in the module docstring, the states summed
    out, by a log-depth scan of Kalman elements.

    ``A, b, Q, C, d, R, y`` are time-major (leading axis ``T``), all with the same batch shape
    ``...`` after it (broadcast them first): ``A (T, ..., h, h)``, ``b (T, ..., h)``,
    ``Q (T, ..., h, h)``, ``C (T, ..., h, o)``, ``d (T, ..., o)``, ``R (T, ..., o, o)``,
    ``y (T, ..., o)``; ``m0`` and ``P0`` broadcast to ``(..., h)`` and ``(..., h, h)``. Returns
    shape ``...``.

    >>> import numpy as np
    >>> from polyro.backends import numpy as be
    >>> e = np.repeat(np.eye(1)[None], 3, 0)
    >>> ys = np.array([[0.5], [-0.2], [1.0]])
    >>> lp = gaussian_chain_log_prob(be, np.zeros(1), np.eye(1), e, np.zeros((3, 1)), e, e,
    ...                              np.zeros((3, 1)), e, ys)
    >>> from scipy.stats import multivariate_normal  # the joint: cov of sums of unit noises
    >>> cov = np.minimum.outer(np.arange(3), np.arange(3)) + 2.0 + np.eye(3)
    >>> bool(np.isclose(lp, multivariate_normal(np.zeros(3), cov).logpdf(ys[:, 0]), rtol=1e-12))
    True
    """
    xp = be.xp
    m0 = xp.broadcast_to(m0, tuple(b.shape[1:]))
    P0 = xp.broadcast_to(P0, tuple(Q.shape[1:]))
    el = _elements(be, xp, m0, P0, A, b, Q, C, d, R, y)
    el = _prefix(be, xp, el)
    mf, Pf = el[1], el[2]                     # filtered mean and covariance of z[t], every t
    # one-step predictive of y[t] for t >= 1 from the filtered z[t-1]; y[0] from the prior
    m_prev = xp.concat([m0[None], mf[:-1]], axis=0)
    P_prev = xp.concat([P0[None], Pf[:-1]], axis=0)
    F, H = _t(xp, A), _t(xp, C)
    mp = _mv(F, m_prev) + b
    Pp = F @ P_prev @ A + Q
    ll = _gauss_logpdf(be, xp, y - _mv(H, mp) - d, H @ Pp @ C + R)
    return xp.sum(ll, axis=0)
