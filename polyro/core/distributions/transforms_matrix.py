"""Vector and matrix transforms: Ordered, StickBreaking, Cholesky family, LowerCholeskyAffine.

Vectorised triangular layouts are row-major (``numpy.tril_indices`` order).

>>> import numpy as np
>>> t = StickBreakingTransform()
>>> y = t(np.zeros(2)); np.round(y, 6), float(y.sum())
(array([0.333333, 0.333333, 0.333333]), 1.0)
>>> np.allclose(t.inv(y), 0.0)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from polyro.core.distributions import constraints
from polyro.core.distributions.transforms import (
    ComposeTransform,
    Transform,
    _arr,
    _xp,
)
from polyro.core.distributions.util import (
    _n_from_tril_len,
    broadcast_shape,
    exclusive_cumsum,
    shape_of,
    tril_matrix_to_vec,
    vec_to_tril_matrix,
)

__all__ = [
    "CholeskyTransform",
    "CorrCholeskyTransform",
    "CorrMatrixCholeskyTransform",
    "LowerCholeskyAffine",
    "LowerCholeskyTransform",
    "OrderedTransform",
    "PositiveDefiniteTransform",
    "ScaledUnitLowerCholeskyTransform",
    "StickBreakingTransform",
]


def _eye(xp: Any, n: int, like: Any) -> Any:
    return xp.eye(n, dtype=like.dtype)


class OrderedTransform(Transform):
    """``y_0 = x_0``, ``y_i = y_{i-1} + exp(x_i)``: real vector -> ordered vector.

    >>> import numpy as np
    >>> OrderedTransform()(np.array([0.0, 0.0, 0.0]))
    array([0., 1., 2.])
    """

    domain = constraints.real_vector
    codomain = constraints.ordered_vector

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        x = _arr(be, x)
        z = xp.concat([x[..., :1], xp.exp(x[..., 1:])], axis=-1)
        return xp.cumulative_sum(z, axis=-1)

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        return xp.concat([y[..., :1], xp.log(y[..., 1:] - y[..., :-1])], axis=-1)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x)
        x = _arr(be, x)
        return xp.sum(x[..., 1:], axis=-1)


class StickBreakingTransform(Transform):
    """Real vector of size ``K - 1`` -> simplex of size ``K`` by stick breaking (zero maps to the
    uniform point).

    >>> StickBreakingTransform().forward_shape((4, 2))
    (4, 3)
    """

    domain = constraints.real_vector
    codomain = constraints.simplex

    @staticmethod
    def _offset(xp: Any, d: int, like: Any) -> Any:
        return xp.log(xp.astype(xp.arange(d, 0, -1), like.dtype))

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        x = _arr(be, x)
        d = x.shape[-1]
        xs = x - self._offset(xp, d, x)
        log_z = -be.softplus(-xs)
        log_1mz = -be.softplus(xs)
        cum = exclusive_cumsum(log_1mz)
        head = xp.exp(log_z + cum)
        last = xp.exp(xp.sum(log_1mz, axis=-1, keepdims=True))
        return xp.concat([head, last], axis=-1)

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        d = y.shape[-1] - 1
        # remainder_i = sum_{j >= i} y_j (reverse cumulative sum, accurate near the end)
        rem = xp.flip(xp.cumulative_sum(xp.flip(y, axis=-1), axis=-1), axis=-1)
        tiny = float(xp.finfo(y.dtype).tiny)
        xs = xp.log(xp.clip(y[..., :-1], tiny, None)) - xp.log(xp.clip(rem[..., 1:], tiny, None))
        return xs + self._offset(xp, d, y)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x)
        x = _arr(be, x)
        xs = x - self._offset(xp, x.shape[-1], x)
        log_1mz = -be.softplus(xs)
        cum = exclusive_cumsum(log_1mz)
        return xp.sum(-be.softplus(-xs) + log_1mz + cum, axis=-1)

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        if len(shape) < 1:
            raise ValueError("StickBreakingTransform needs inputs with at least one dim")
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        if len(shape) < 1:
            raise ValueError("StickBreakingTransform needs inputs with at least one dim")
        return tuple(shape[:-1]) + (shape[-1] - 1,)


def _tril_vec_diagonal(be: Any, xp: Any, x: Any) -> Any:
    """The diagonal entries of the lower-triangular matrix whose row-major fill is ``x``
    (``(..., n (n + 1) / 2) -> (..., n)``)."""
    rows, cols = np.tril_indices(_n_from_tril_len(x.shape[-1], 0))
    return xp.take(x, be.asarray(np.nonzero(rows == cols)[0]), axis=-1)


class LowerCholeskyTransform(Transform):
    """Real vector of size ``n (n + 1) / 2`` -> lower-triangular matrix with positive diagonal
    (row-major fill, the diagonal exponentiated).

    >>> import numpy as np
    >>> LowerCholeskyTransform()(np.array([0.0, 2.0, 0.0]))
    array([[1., 0.],
           [2., 1.]])
    """

    domain = constraints.real_vector
    codomain = constraints.lower_cholesky

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        z = vec_to_tril_matrix(_arr(be, x))
        n = z.shape[-1]
        eye = _eye(xp, n, z)
        strict = z * (1 - eye)
        return strict + xp.exp(xp.linalg.diagonal(z))[..., None] * eye

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        eye = _eye(xp, y.shape[-1], y)
        z = y * (1 - eye) + xp.log(xp.linalg.diagonal(y))[..., None] * eye
        return tril_matrix_to_vec(z)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x)
        return xp.sum(_tril_vec_diagonal(be, xp, _arr(be, x)), axis=-1)

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        n = _n_from_tril_len(shape[-1], 0)
        return tuple(shape[:-1]) + (n, n)

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n + 1) // 2,)


class ScaledUnitLowerCholeskyTransform(LowerCholeskyTransform):
    """Real vector of size ``n (n + 1) / 2`` -> ``L = diag(softplus(d)) @ (I + S)``, ``S``
    strictly lower triangular (the same row-major fill as :class:`LowerCholeskyTransform`; the
    diagonal positions hold the raw row scales ``d``).

    The off-diagonal values are relative to their row's scale, so an optimizer's step on them
    means as much for a small scale as for a large one (with :class:`LowerCholeskyTransform`
    a step of 0.05 on an off-diagonal entry swamps a scale of 0.02): NumPyro's parametrization
    of ``AutoMultivariateNormal``'s ``scale_tril``.

    >>> import numpy as np
    >>> t = ScaledUnitLowerCholeskyTransform()
    >>> L = t(np.array([0.0, 0.5, 0.0]))
    >>> np.round(L, 4).tolist()
    [[0.6931, 0.0], [0.3466, 0.6931]]
    >>> np.allclose(t.inv(L), [0.0, 0.5, 0.0])
    True
    """

    codomain = constraints.scaled_unit_lower_cholesky

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        z = vec_to_tril_matrix(_arr(be, x))
        eye = _eye(xp, z.shape[-1], z)
        scale = be.softplus(xp.linalg.diagonal(z))
        return (z * (1 - eye) + eye) * scale[..., None]

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        eye = _eye(xp, y.shape[-1], y)
        scale = xp.linalg.diagonal(y)
        raw = scale + xp.log(-xp.expm1(-scale))  # softplus^-1
        return tril_matrix_to_vec(y / scale[..., None] * (1 - eye) + raw[..., None] * eye)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        # row i: L_ii = softplus(d_i) (derivative sigmoid(d_i)) and i entries s_ij * scale_i
        be, xp = _xp(x)
        x = _arr(be, x)
        d = _tril_vec_diagonal(be, xp, x)
        i = be.asarray(np.arange(d.shape[-1]), dtype=x.dtype)
        return xp.sum(i * xp.log(be.softplus(d)) - be.softplus(-d), axis=-1)


class CorrCholeskyTransform(Transform):
    """Real vector of size ``n (n - 1) / 2`` -> Cholesky factor of a correlation matrix: ``tanh``
    gives partial correlations, a signed stick-breaking along each row gives unit-norm rows.

    >>> import numpy as np
    >>> L = CorrCholeskyTransform()(np.array([0.3, -0.2, 0.5]))
    >>> np.allclose((L * L).sum(-1), 1.0)
    True
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky

    def _parts(self, be: Any, xp: Any, x: Any) -> tuple[Any, Any, Any]:
        ax = xp.abs(x)
        log1m_t2 = 2.0 * (math.log(2.0) - ax - be.softplus(-2.0 * ax))  # log(1 - tanh(x)^2)
        r = vec_to_tril_matrix(xp.tanh(x), diagonal=-1)
        s = exclusive_cumsum(vec_to_tril_matrix(log1m_t2, diagonal=-1))
        return r, s, log1m_t2

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        x = _arr(be, x)
        r, s, _ = self._parts(be, xp, x)
        eye = _eye(xp, r.shape[-1], r)
        return (r + eye) * xp.exp(0.5 * s)

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        cum = exclusive_cumsum(y * y)
        tiny = float(xp.finfo(y.dtype).tiny)
        r = y / xp.sqrt(xp.clip(1 - cum, tiny, None))
        t = tril_matrix_to_vec(r, diagonal=-1)
        eps = float(xp.finfo(y.dtype).eps)
        t = xp.clip(t, -1 + eps, 1 - eps)
        return 0.5 * (xp.log1p(t) - xp.log1p(-t))

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x)
        x = _arr(be, x)
        _, s, log1m_t2 = self._parts(be, xp, x)
        return xp.sum(log1m_t2, axis=-1) + 0.5 * xp.sum(
            tril_matrix_to_vec(s, diagonal=-1), axis=-1)

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        n = _n_from_tril_len(shape[-1], -1)
        return tuple(shape[:-1]) + (n, n)

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n - 1) // 2,)


def _weighted_logdiag(xp: Any, L: Any, weights: np.ndarray) -> Any:
    w = xp.asarray(weights, dtype=L.dtype)
    return xp.sum(w * xp.log(xp.linalg.diagonal(L)), axis=-1)


class CholeskyTransform(Transform):
    """Positive-definite matrix -> its lower Cholesky factor.

    >>> import numpy as np
    >>> CholeskyTransform()(np.array([[4.0, 2.0], [2.0, 2.0]]))
    array([[2., 0.],
           [1., 1.]])
    """

    domain = constraints.positive_definite
    codomain = constraints.lower_cholesky

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        return be.cholesky(_arr(be, x))

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        return y @ xp.matrix_transpose(y)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        # d(L L^T)/dL over the lower triangle: n log 2 + sum_j (n - j) log L_jj
        be, xp = _xp(x, y)
        L = be.cholesky(_arr(be, x)) if y is None else _arr(be, y)
        n = L.shape[-1]
        return -(n * math.log(2.0) + _weighted_logdiag(xp, L, np.arange(n, 0, -1.0)))


class CorrMatrixCholeskyTransform(CholeskyTransform):
    """Correlation matrix -> its Cholesky factor (Jacobian over the strictly-lower entries).

    >>> import numpy as np
    >>> C = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> np.allclose(CorrMatrixCholeskyTransform().inv(CorrMatrixCholeskyTransform()(C)), C)
    True
    """

    domain = constraints.corr_matrix
    codomain = constraints.corr_cholesky

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        # d C_ij / d L_ij = L_jj (i > j), triangular: log det = sum_j (n - 1 - j) log L_jj
        be, xp = _xp(x, y)
        L = be.cholesky(_arr(be, x)) if y is None else _arr(be, y)
        n = L.shape[-1]
        return -_weighted_logdiag(xp, L, np.arange(n - 1, -1, -1.0))


class PositiveDefiniteTransform(ComposeTransform):
    """Real vector of size ``n (n + 1) / 2`` -> positive-definite matrix ``L L^T``.

    >>> import numpy as np
    >>> PositiveDefiniteTransform()(np.array([0.0, 1.0, 0.0]))
    array([[1., 1.],
           [1., 2.]])
    """

    def __init__(self) -> None:
        super().__init__([LowerCholeskyTransform(), CholeskyTransform().inv])

    def __repr__(self) -> str:
        return "PositiveDefiniteTransform()"


class LowerCholeskyAffine(Transform):
    """``y = loc + scale_tril @ x`` on vectors (``scale_tril`` lower triangular).

    >>> import numpy as np
    >>> t = LowerCholeskyAffine(np.zeros(2), np.array([[2.0, 0.0], [1.0, 1.0]]))
    >>> t(np.array([1.0, 1.0])), float(t.log_abs_det_jacobian(np.zeros(2), None))
    (array([2., 2.]), 0.6931471805599453)
    """

    domain = constraints.real_vector
    codomain = constraints.real_vector

    def __init__(self, loc: Any, scale_tril: Any) -> None:
        if len(shape_of(scale_tril)) < 2:
            raise ValueError("LowerCholeskyAffine: scale_tril must be at least 2-D, got shape "
                             f"{shape_of(scale_tril)}")
        if len(shape_of(loc)) < 1:
            raise ValueError(f"LowerCholeskyAffine: loc must be at least 1-D, got shape "
                             f"{shape_of(loc)}")
        self.loc = loc
        self.scale_tril = scale_tril

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x, self.loc, self.scale_tril)
        x = _arr(be, x)
        L = _arr(be, self.scale_tril)
        return _arr(be, self.loc) + (L @ x[..., None])[..., 0]

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y, self.loc, self.scale_tril)
        L = _arr(be, self.scale_tril)
        b = _arr(be, y) - _arr(be, self.loc)
        batch = broadcast_shape(shape_of(b)[:-1], shape_of(L)[:-2])
        n = L.shape[-1]
        L = xp.broadcast_to(L, batch + (n, n))
        b = xp.broadcast_to(b, batch + (n,))
        return be.solve_triangular(L, b[..., None], lower=True)[..., 0]

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x, self.scale_tril)
        x = _arr(be, x)
        L = _arr(be, self.scale_tril)
        ld = xp.sum(xp.log(xp.abs(xp.linalg.diagonal(L))), axis=-1)
        return xp.broadcast_to(ld, broadcast_shape(shape_of(x)[:-1], shape_of(ld)))

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return broadcast_shape(shape, shape_of(self.loc), shape_of(self.scale_tril)[:-1])

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return broadcast_shape(shape, shape_of(self.loc), shape_of(self.scale_tril)[:-1])

    def __repr__(self) -> str:
        return "LowerCholeskyAffine(loc, scale_tril)"
