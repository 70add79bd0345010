"""Multivariate normal families: MultivariateNormal (scale_tril | covariance_matrix |
precision_matrix), LowRankMultivariateNormal and MultivariateStudentT.

All three are reparameterizable (``rsample``) and have event shape ``(n,)``.

>>> import numpy as np
>>> d = MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2))
>>> round(float(d.log_prob(np.zeros(2))), 6)  # -log(2 pi)
-1.837877
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import LOG_2PI, LOG_PI, draw_shape, value_as
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import (
    broadcast_params,
    broadcast_shape,
    lazy_property,
    shape_of,
    validate_sample,
)

__all__ = ["LowRankMultivariateNormal", "MultivariateNormal", "MultivariateStudentT"]


def _vec_mat(site: str, loc: Any, mat: Any, mat_name: str, *extra: Any) -> tuple[Any, ...]:
    """Convert ``loc`` (vector or scalar) and ``mat`` (``(..., n, n)``; ``(..., n, r)`` for a
    cov_factor) to one engine/dtype and broadcast their batch dims. ``extra`` are scalars
    (batch shaped, e.g. ``df``) broadcast along. Returns ``(be, xp, loc, mat, extra, batch)``."""
    ev = [len(shape_of(a)) for a in (loc, mat, *extra)]
    be, xp, arrays, _ = broadcast_params(loc, mat, *extra, event_dims=ev)
    loc_a, mat_a, *extra_a = arrays
    ms = shape_of(mat_a)
    if len(ms) < 2:
        raise ValueError(f"{site}: {mat_name} must be at least 2-D (..., n, n), got shape {ms}")
    n = ms[-2]
    if mat_name != "cov_factor" and ms[-1] != n:
        raise ValueError(f"{site}: {mat_name} must be square in its last two dims, got shape {ms}")
    if len(shape_of(loc_a)) == 0:
        loc_a = xp.broadcast_to(loc_a, (n,))
    if shape_of(loc_a)[-1] != n:
        raise ValueError(
            f"{site}: loc has {shape_of(loc_a)[-1]} entries in its last dim but {mat_name} has "
            f"shape {ms}; they must agree on the event size n={n}"
        )
    batch = broadcast_shape(shape_of(loc_a)[:-1], ms[:-2], *[shape_of(e) for e in extra_a])
    loc_a = xp.broadcast_to(loc_a, batch + (n,))
    mat_a = xp.broadcast_to(mat_a, batch + ms[-2:])
    extra_a = [xp.broadcast_to(e, batch) for e in extra_a]
    return be, xp, loc_a, mat_a, extra_a, batch


def _tril_solve_sq(be: Any, L: Any, diff: Any) -> Any:
    """``|| L^{-1} diff ||^2`` over the last dim, broadcasting batch dims."""
    z = be.solve_triangular(L, diff[..., None], lower=True)[..., 0]
    return be.xp.sum(z * z, axis=-1)


def _half_log_det(xp: Any, L: Any) -> Any:
    return xp.sum(xp.log(xp.linalg.diagonal(L)), axis=-1)


def _precision_to_scale_tril(be: Any, xp: Any, P: Any) -> Any:
    # P = U U^T with U upper triangular (Cholesky of P with rows and columns reversed);
    # then P^-1 = (U^-T)(U^-T)^T and U^-T is lower triangular.
    Lf = be.cholesky(xp.flip(P, axis=(-2, -1)))
    Ut = xp.flip(xp.matrix_transpose(Lf), axis=(-2, -1))  # U^T, lower triangular
    n = P.shape[-1]
    eye = xp.broadcast_to(xp.eye(n, dtype=P.dtype), shape_of(P))
    return be.solve_triangular(Ut, eye, lower=True)


class MultivariateNormal(Distribution):
    """Multivariate normal with mean ``loc`` and one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril`` (lower Cholesky factor of the covariance).

    >>> import numpy as np
    >>> d = MultivariateNormal(np.zeros(2), scale_tril=np.array([[1.0, 0.0], [0.5, 2.0]]))
    >>> d.covariance_matrix.tolist()
    [[1.0, 0.5], [0.5, 4.25]]
    >>> d.batch_shape, d.event_shape
    ((), (2,))
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True
    reparametrized_params = ["loc", "covariance_matrix", "precision_matrix", "scale_tril"]

    def __init__(self, loc: Any = 0.0, covariance_matrix: Any = None,
                 precision_matrix: Any = None, scale_tril: Any = None, *,
                 validate_args: bool | None = None) -> None:
        given = [(k, v) for k, v in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if v is not None]
        if len(given) != 1:
            raise ValueError(
                "MultivariateNormal: pass exactly one of covariance_matrix=, precision_matrix= "
                f"or scale_tril= (got {[k for k, _ in given] or 'none'})"
            )
        name, mat = given[0]
        _, _, self.loc, m, _, batch = _vec_mat("MultivariateNormal", loc, mat, name)
        self.__dict__[name] = m
        super().__init__(batch_shape=batch, event_shape=(int(m.shape[-1]),),
                         validate_args=validate_args)

    @lazy_property
    def scale_tril(self) -> Any:
        """Lower Cholesky factor of the covariance."""
        be = backend_of(self.loc)
        if "covariance_matrix" in self.__dict__:
            return be.cholesky(self.covariance_matrix)
        return _precision_to_scale_tril(be, be.xp, self.precision_matrix)

    @lazy_property
    def covariance_matrix(self) -> Any:
        """Covariance ``scale_tril @ scale_tril.T``."""
        L = self.scale_tril
        return L @ backend_of(L).xp.matrix_transpose(L)

    @lazy_property
    def precision_matrix(self) -> Any:
        """Inverse covariance."""
        L = self.scale_tril
        be = backend_of(L)
        xp = be.xp
        eye = xp.broadcast_to(xp.eye(L.shape[-1], dtype=L.dtype), shape_of(L))
        Linv = be.solve_triangular(L, eye, lower=True)
        return xp.matrix_transpose(Linv) @ Linv

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.loc)
        eps = be.normal(key, draw_shape(sample_shape, self.batch_shape) + self.event_shape,
                        self.loc.dtype)
        return self.loc + (self.scale_tril @ eps[..., None])[..., 0]

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.loc, value)
        L = self.scale_tril
        n = self.event_shape[0]
        m = _tril_solve_sq(be, L, value - self.loc)
        return -0.5 * m - _half_log_det(xp, L) - 0.5 * n * LOG_2PI

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        L = self.scale_tril
        return backend_of(L).xp.sum(L * L, axis=-1)

    def entropy(self) -> Any:
        L = self.scale_tril
        n = self.event_shape[0]
        return 0.5 * n * (1.0 + LOG_2PI) + _half_log_det(backend_of(L).xp, L)


class LowRankMultivariateNormal(Distribution):
    """Multivariate normal with covariance ``cov_factor @ cov_factor.T + diag(cov_diag)``;
    ``log_prob`` costs O(n r^2) through the Woodbury identity.

    >>> import numpy as np
    >>> d = LowRankMultivariateNormal(np.zeros(3), np.ones((3, 1)), np.ones(3))
    >>> d.variance.tolist()
    [2.0, 2.0, 2.0]
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    has_rsample = True
    reparametrized_params = ["loc", "cov_factor", "cov_diag"]

    def __init__(self, loc: Any, cov_factor: Any, cov_diag: Any, *,
                 validate_args: bool | None = None) -> None:
        be, xp, loc_a, W, _, batch = _vec_mat("LowRankMultivariateNormal", loc, cov_factor,
                                              "cov_factor")
        n = int(W.shape[-2])
        _, _, (D,), _ = broadcast_params(cov_diag, dtype=W.dtype)
        if len(shape_of(D)) == 0:
            D = xp.broadcast_to(D, (n,))
        if shape_of(D)[-1] != n:
            raise ValueError(f"LowRankMultivariateNormal: cov_diag has shape {shape_of(D)} but "
                             f"cov_factor has shape {shape_of(W)}; the last dims must be n={n}")
        batch = broadcast_shape(batch, shape_of(D)[:-1])
        self.loc = xp.broadcast_to(loc_a, batch + (n,))
        self.cov_factor = xp.broadcast_to(W, batch + shape_of(W)[-2:])
        self.cov_diag = xp.broadcast_to(D, batch + (n,))
        super().__init__(batch_shape=batch, event_shape=(n,), validate_args=validate_args)

    @lazy_property
    def _capacitance_tril(self) -> Any:
        # Cholesky of I_r + W^T D^-1 W
        be = backend_of(self.cov_factor)
        xp = be.xp
        W = self.cov_factor
        Wt_Dinv = xp.matrix_transpose(W) / self.cov_diag[..., None, :]
        r = W.shape[-1]
        C = Wt_Dinv @ W + xp.eye(r, dtype=W.dtype)
        return be.cholesky(C)

    @lazy_property
    def covariance_matrix(self) -> Any:
        """Dense covariance ``W W^T + diag(D)``."""
        W = self.cov_factor
        xp = backend_of(W).xp
        n = W.shape[-2]
        return W @ xp.matrix_transpose(W) + self.cov_diag[..., None] * xp.eye(n, dtype=W.dtype)

    @lazy_property
    def scale_tril(self) -> Any:
        """Lower Cholesky factor of the dense covariance."""
        return backend_of(self.cov_factor).cholesky(self.covariance_matrix)

    @lazy_property
    def precision_matrix(self) -> Any:
        """Inverse covariance (dense)."""
        return backend_of(self.cov_factor).inv(self.covariance_matrix)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.loc)
        xp = be.xp
        k1, k2 = be.split(key)
        W = self.cov_factor
        shape = draw_shape(sample_shape, self.batch_shape)
        eps_w = be.normal(k1, shape + (int(W.shape[-1]),), W.dtype)
        eps_d = be.normal(k2, shape + self.event_shape, W.dtype)
        return self.loc + (W @ eps_w[..., None])[..., 0] + xp.sqrt(self.cov_diag) * eps_d

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.loc, value)
        W, D = self.cov_factor, self.cov_diag
        diff = value - self.loc
        Wt_Dinv_diff = (xp.matrix_transpose(W) @ (diff / D)[..., None])[..., 0]
        maha = xp.sum(diff * diff / D, axis=-1) - _tril_solve_sq(
            be, self._capacitance_tril, Wt_Dinv_diff)
        n = self.event_shape[0]
        return -0.5 * (n * LOG_2PI + self._log_det() + maha)

    def _log_det(self) -> Any:
        xp = backend_of(self.cov_diag).xp
        return 2 * _half_log_det(xp, self._capacitance_tril) + xp.sum(
            xp.log(self.cov_diag), axis=-1)

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        W = self.cov_factor
        return backend_of(W).xp.sum(W * W, axis=-1) + self.cov_diag

    def entropy(self) -> Any:
        n = self.event_shape[0]
        return 0.5 * n * (1.0 + LOG_2PI) + 0.5 * self._log_det()


class MultivariateStudentT(Distribution):
    """Multivariate Student's t with ``df`` degrees of freedom, location ``loc`` and scale
    ``scale_tril`` (lower Cholesky factor of the scale matrix).

    ``covariance_matrix`` and ``precision_matrix`` refer to the *scale* matrix, as in Pyro and
    NumPyro; the covariance of the distribution is ``df / (df - 2)`` times it.

    >>> import numpy as np
    >>> d = MultivariateStudentT(4.0, np.zeros(2), np.eye(2))
    >>> d.variance.tolist()
    [2.0, 2.0]
    """

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real_vector,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True
    reparametrized_params = ["df", "loc", "scale_tril"]

    def __init__(self, df: Any, loc: Any = 0.0, scale_tril: Any = None, *,
                 validate_args: bool | None = None) -> None:
        if scale_tril is None:
            raise ValueError("MultivariateStudentT: scale_tril= is required (the lower Cholesky "
                             "factor of the scale matrix)")
        _, _, self.loc, self.scale_tril, (self.df,), batch = _vec_mat(
            "MultivariateStudentT", loc, scale_tril, "scale_tril", df)
        super().__init__(batch_shape=batch, event_shape=(int(self.loc.shape[-1]),),
                         validate_args=validate_args)

    @lazy_property
    def covariance_matrix(self) -> Any:
        """The scale matrix ``scale_tril @ scale_tril.T`` (not the covariance)."""
        L = self.scale_tril
        return L @ backend_of(L).xp.matrix_transpose(L)

    @lazy_property
    def precision_matrix(self) -> Any:
        """Inverse of the scale matrix."""
        L = self.scale_tril
        be = backend_of(L)
        xp = be.xp
        eye = xp.broadcast_to(xp.eye(L.shape[-1], dtype=L.dtype), shape_of(L))
        Linv = be.solve_triangular(L, eye, lower=True)
        return xp.matrix_transpose(Linv) @ Linv

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be = backend_of(self.loc)
        xp = be.xp
        k1, k2 = be.split(key)
        shape = draw_shape(sample_shape, self.batch_shape)
        eps = be.normal(k1, shape + self.event_shape, self.loc.dtype)
        g = be.gamma(k2, 0.5 * self.df, shape)  # chi2(df) / 2
        scale = xp.sqrt(0.5 * self.df / g)
        return self.loc + (self.scale_tril @ eps[..., None])[..., 0] * scale[..., None]

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = value_as(self.loc, value)
        n = self.event_shape[0]
        df = self.df
        m = _tril_solve_sq(be, self.scale_tril, value - self.loc)
        return (be.lgamma(0.5 * (df + n)) - be.lgamma(0.5 * df) - 0.5 * n * (xp.log(df) + LOG_PI)
                - _half_log_det(xp, self.scale_tril) - 0.5 * (df + n) * xp.log1p(m / df))

    @property
    def mean(self) -> Any:
        xp = backend_of(self.loc).xp
        ok = (self.df > 1)[..., None]
        return xp.where(ok, self.loc, xp.full_like(self.loc, math.nan))

    @property
    def variance(self) -> Any:
        L = self.scale_tril
        xp = backend_of(L).xp
        df = self.df[..., None]
        diag = xp.sum(L * L, axis=-1)
        finite = diag * df / xp.where(df > 2, df - 2, xp.ones_like(df))
        return xp.where(df > 2, finite,
                        xp.where(df > 1, xp.full_like(diag, math.inf), xp.full_like(diag, math.nan)))

    def entropy(self) -> Any:
        be = backend_of(self.df)
        xp = be.xp
        n = self.event_shape[0]
        df = self.df
        h = 0.5 * (df + n)
        return (be.lgamma(0.5 * df) - be.lgamma(h) + 0.5 * n * (xp.log(df) + LOG_PI)
                + _half_log_det(xp, self.scale_tril) + h * (be.digamma(h) - be.digamma(0.5 * df)))
