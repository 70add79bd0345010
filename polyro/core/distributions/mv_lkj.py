"""Distributions over correlation and covariance matrices: LKJCholesky, LKJ and Wishart.

``LKJ(d, eta)`` has density proportional to ``det(C) ** (eta - 1)`` over ``d x d`` correlation
matrices; ``LKJCholesky`` is the same law for the lower Cholesky factor of ``C``. Both draw with
the onion method (default) or the C-vine method (Lewandowski, Kurowicka and Joe, 2009).

>>> import numpy as np
>>> d = LKJCholesky(2, 1.0)  # uniform correlation in (-1, 1): density 1/2
>>> round(float(d.log_prob(np.array([[1.0, 0.0], [0.6, 0.8]]))), 6)
-0.693147
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import LOG_PI, draw_shape, tril_mask, value_as
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import (
    broadcast_params,
    broadcast_shape,
    lazy_property,
    shape_of,
    validate_sample,
    vec_to_tril_matrix,
)

__all__ = ["LKJ", "LKJCholesky", "Wishart"]

_METHODS = ("onion", "cvine")


def _check_dim(site: str, dimension: Any) -> int:
    if not isinstance(dimension, int) or isinstance(dimension, bool) or dimension < 2:
        raise ValueError(f"{site}: dimension must be an int >= 2, got {dimension!r}")
    return dimension


class LKJCholesky(Distribution):
    """LKJ distribution of the lower Cholesky factor ``L`` of a ``dimension x dimension``
    correlation matrix: density of ``C = L L^T`` proportional to ``det(C) ** (concentration -
    1)``. ``sample_method`` is ``"onion"`` (default) or ``"cvine"``. Pyro's ``dim=`` is taken for
    ``dimension``.

    >>> from polyro.backends import numpy as be
    >>> L = LKJCholesky(3, 2.0).sample(be.key(0), (2,))
    >>> L.shape, bool(abs((L * L).sum(-1) - 1).max() < 1e-12)
    ((2, 3, 3), True)
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dimension: int | None = None, concentration: Any = 1.0,
                 sample_method: str = "onion", *, dim: int | None = None,
                 validate_args: bool | None = None) -> None:
        if dim is not None:  # Pyro's name
            if dimension is not None and dimension != dim:
                raise ValueError(f"{type(self).__name__}: dimension={dimension!r} and dim={dim!r} "
                                 "(Pyro's name) disagree; give one of them")
            dimension = dim
        d = _check_dim(type(self).__name__, dimension)
        if sample_method not in _METHODS:
            raise ValueError(f"{type(self).__name__}: sample_method must be one of {_METHODS}, "
                             f"got {sample_method!r}")
        _, _, (self.concentration,), batch_shape = broadcast_params(concentration)
        self.dimension = d
        self.sample_method = sample_method
        super().__init__(batch_shape=batch_shape, event_shape=(d, d), validate_args=validate_args)

    # ------------------------------------------------------------------ sampling
    def _sample_onion(self, key: Any, shape: tuple[int, ...]) -> Any:
        # Row i (i >= 1) of L is w = sqrt(y) u with u uniform on the sphere S^{i-1} and
        # y ~ Beta(i / 2, eta + (d - 2) / 2 - (i - 1) / 2); the diagonal is sqrt(1 - y).
        eta = self.concentration
        be = backend_of(eta)
        xp = be.xp
        d = self.dimension
        k1, k2 = be.split(key)
        rows = xp.astype(xp.arange(1, d), eta.dtype)
        conc1 = xp.broadcast_to(rows / 2, shape + (d - 1,))
        conc0 = eta[..., None] + 0.5 * (d - 2) - 0.5 * (rows - 1)
        y = be.beta(k1, conc1, xp.broadcast_to(conc0, shape + (d - 1,)), shape + (d - 1,))
        y = xp.concat([xp.zeros_like(y[..., :1]), y], axis=-1)
        z = be.normal(k2, shape + (d, d), eta.dtype)
        z = xp.where(tril_mask(xp, d), z, xp.zeros_like(z))
        norm = xp.sqrt(xp.sum(z * z, axis=-1, keepdims=True))
        u = z / xp.where(norm > 0, norm, xp.ones_like(norm))
        w = xp.sqrt(y)[..., None] * u
        diag = xp.sqrt(xp.clip(1 - y, 0.0, 1.0))
        return w + diag[..., None] * xp.eye(d, dtype=eta.dtype)

    def _sample_cvine(self, key: Any, shape: tuple[int, ...]) -> Any:
        # partial correlation of (i, j | 0..j-1) ~ 2 Beta(b_j, b_j) - 1,
        # b_j = eta + (d - 2 - j) / 2; then signed stick breaking along each row.
        eta = self.concentration
        be = backend_of(eta)
        xp = be.xp
        d = self.dimension
        _, cols_np = np.tril_indices(d, k=-1)
        cols = xp.asarray(be.asarray(cols_np.astype(np.float64)), dtype=eta.dtype)
        b = xp.broadcast_to(eta[..., None] + 0.5 * (d - 2) - 0.5 * cols, shape + (len(cols_np),))
        p = vec_to_tril_matrix(2 * be.beta(key, b, b, shape + (len(cols_np),)) - 1, diagonal=-1)
        mask = tril_mask(xp, d)
        log1m = xp.where(mask, xp.log1p(-p * p), xp.zeros_like(p))
        csum = xp.cumulative_sum(log1m, axis=-1)
        excl = csum - log1m  # sum over k < j
        scale = xp.exp(0.5 * excl)
        eye = xp.eye(d, dtype=eta.dtype)
        return (p + eye) * scale

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        shape = draw_shape(sample_shape, self.batch_shape)
        if self.sample_method == "onion":
            return self._sample_onion(key, shape)
        return self._sample_cvine(key, shape)

    # ------------------------------------------------------------------ density
    @lazy_property
    def _log_normalizer(self) -> Any:
        # log of the integral of det(C)^(eta - 1) over correlation matrices:
        # (d-1)/2 log(pi) + log Gamma_{d-1}(eta + (d-2)/2) - (d-1) log Gamma(eta + (d-1)/2)
        eta = self.concentration
        be = backend_of(eta)
        dm1 = self.dimension - 1
        alpha = eta + 0.5 * dm1
        return 0.5 * dm1 * LOG_PI + be.multigammaln(alpha - 0.5, dm1) - dm1 * be.lgamma(alpha)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        eta = self.concentration
        be, xp, value = value_as(eta, value)
        d = self.dimension
        diag = xp.linalg.diagonal(value)[..., 1:]
        # density of L: prod_i L_ii ** (2 (eta - 1) + d - i), i = 2..d (1-based)
        order = 2 * (eta[..., None] - 1) + xp.astype(xp.arange(d - 2, -1, -1), eta.dtype)
        return xp.sum(order * xp.log(diag), axis=-1) - self._log_normalizer


class LKJ(LKJCholesky):
    """LKJ distribution over ``dimension x dimension`` correlation matrices, density
    proportional to ``det(C) ** (concentration - 1)``.

    >>> import numpy as np
    >>> d = LKJ(2, 1.0)
    >>> round(float(d.log_prob(np.array([[1.0, 0.3], [0.3, 1.0]]))), 6)
    -0.693147
    >>> d.mean.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """

    support = constraints.corr_matrix

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        L = super().sample(key, sample_shape)
        xp = backend_of(L).xp
        return L @ xp.matrix_transpose(L)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        eta = self.concentration
        be, xp, value = value_as(eta, value)
        L = be.cholesky(value)
        log_det = 2 * xp.sum(xp.log(xp.linalg.diagonal(L)), axis=-1)
        return (eta - 1) * log_det - self._log_normalizer

    @property
    def mean(self) -> Any:
        eta = self.concentration
        xp = backend_of(eta).xp
        d = self.dimension
        return xp.broadcast_to(xp.eye(d, dtype=eta.dtype), self.batch_shape + (d, d))


class Wishart(Distribution):
    """Wishart distribution with ``df`` degrees of freedom and scale matrix given by one of
    ``covariance_matrix`` (the scale matrix ``S``), ``precision_matrix`` (``S^-1``) or
    ``scale_tril`` (lower Cholesky factor of ``S``). NumPyro's names ``concentration``,
    ``scale_matrix`` and ``rate_matrix`` are accepted as keyword aliases.

    Reparameterized (Bartlett decomposition with reparameterized gamma draws).

    >>> import numpy as np
    >>> d = Wishart(4.0, covariance_matrix=np.eye(2))
    >>> d.mean.tolist(), d.variance.tolist()
    ([[4.0, 0.0], [0.0, 4.0]], [[8.0, 4.0], [4.0, 8.0]])
    """

    arg_constraints = {
        "df": constraints.positive,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.positive_definite
    has_rsample = True
    reparametrized_params = ["df", "covariance_matrix", "precision_matrix", "scale_tril"]

    def __init__(self, df: Any = None, covariance_matrix: Any = None,
                 precision_matrix: Any = None, scale_tril: Any = None, *,
                 concentration: Any = None, scale_matrix: Any = None, rate_matrix: Any = None,
                 validate_args: bool | None = None) -> None:
        if concentration is not None:
            if df is not None:
                raise ValueError("Wishart: pass df= or its alias concentration=, not both")
            df = concentration
        if df is None:
            raise ValueError("Wishart: df= (degrees of freedom, > dimension - 1) is required")
        for alias, value, target in (("scale_matrix", scale_matrix, "covariance_matrix"),
                                     ("rate_matrix", rate_matrix, "precision_matrix")):
            if value is None:
                continue
            if (covariance_matrix if target == "covariance_matrix" else precision_matrix) \
                    is not None:
                raise ValueError(f"Wishart: pass {target}= or its alias {alias}=, not both")
            if target == "covariance_matrix":
                covariance_matrix = value
            else:
                precision_matrix = value
        given = [(k, v) for k, v in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if v is not None]
        if len(given) != 1:
            raise ValueError(
                "Wishart: pass exactly one of covariance_matrix= (scale_matrix=), "
                "precision_matrix= (rate_matrix=) or scale_tril= "
                f"(got {[k for k, _ in given] or 'none'})"
            )
        name, mat = given[0]
        be, xp, (df_a, m), _ = broadcast_params(df, mat, event_dims=[len(shape_of(df)),
                                                                    len(shape_of(mat))])
        ms = shape_of(m)
        if len(ms) < 2 or ms[-1] != ms[-2]:
            raise ValueError(f"Wishart: {name} must have shape (..., n, n), got {ms}")
        n = ms[-1]
        batch = broadcast_shape(shape_of(df_a), ms[:-2])
        self.df = xp.broadcast_to(df_a, batch)
        self.__dict__[name] = xp.broadcast_to(m, batch + (n, n))
        self.arg_constraints = {**type(self).arg_constraints,
                                "df": constraints.greater_than(float(n - 1))}
        super().__init__(batch_shape=batch, event_shape=(n, n), validate_args=validate_args)

    @lazy_property
    def scale_tril(self) -> Any:
        """Lower Cholesky factor of the scale matrix."""
        be = backend_of(self.df)
        if "covariance_matrix" in self.__dict__:
            return be.cholesky(self.covariance_matrix)
        from polyro.core.distributions.mv_normal import _precision_to_scale_tril

        return _precision_to_scale_tril(be, be.xp, self.precision_matrix)

    @lazy_property
    def covariance_matrix(self) -> Any:
        """The scale matrix ``S``."""
        L = self.scale_tril
        return L @ backend_of(L).xp.matrix_transpose(L)

    @lazy_property
    def precision_matrix(self) -> Any:
        """``S^-1``."""
        L = self.scale_tril
        be = backend_of(L)
        xp = be.xp
        eye = xp.broadcast_to(xp.eye(L.shape[-1], dtype=L.dtype), shape_of(L))
        Linv = be.solve_triangular(L, eye, lower=True)
        return xp.matrix_transpose(Linv) @ Linv

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        df = self.df
        be = backend_of(df)
        xp = be.xp
        n = self.event_shape[0]
        shape = draw_shape(sample_shape, self.batch_shape)
        k1, k2 = be.split(key)
        i = xp.astype(xp.arange(n), df.dtype)
        half_chi2 = be.gamma(k1, 0.5 * (df[..., None] - i), shape + (n,))
        z = be.normal(k2, shape + (n, n), df.dtype)
        A = xp.where(tril_mask(xp, n), z, xp.zeros_like(z))
        A = A + xp.sqrt(2 * half_chi2)[..., None] * xp.eye(n, dtype=df.dtype)
        LA = self.scale_tril @ A
        return LA @ xp.matrix_transpose(LA)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        df = self.df
        be, xp, value = value_as(df, value)
        n = self.event_shape[0]
        L = self.scale_tril
        Lx = be.cholesky(value)
        log_det_x = 2 * xp.sum(xp.log(xp.linalg.diagonal(Lx)), axis=-1)
        M = be.solve_triangular(L, Lx, lower=True)
        trace = xp.sum(M * M, axis=(-2, -1))
        half_log_det_s = xp.sum(xp.log(xp.linalg.diagonal(L)), axis=-1)
        return (0.5 * (df - n - 1) * log_det_x - 0.5 * trace - 0.5 * df * n * math.log(2)
                - df * half_log_det_s - be.multigammaln(0.5 * df, n))

    @property
    def mean(self) -> Any:
        return self.df[..., None, None] * self.covariance_matrix

    @property
    def variance(self) -> Any:
        S = self.covariance_matrix
        xp = backend_of(S).xp
        d = xp.linalg.diagonal(S)
        return self.df[..., None, None] * (S * S + d[..., :, None] * d[..., None, :])

    def entropy(self) -> Any:
        df = self.df
        be = backend_of(df)
        xp = be.xp
        n = self.event_shape[0]
        i = xp.astype(xp.arange(n), df.dtype)
        mv_digamma = xp.sum(be.digamma(0.5 * (df[..., None] - i)), axis=-1)
        log_det_s = 2 * xp.sum(xp.log(xp.linalg.diagonal(self.scale_tril)), axis=-1)
        return (0.5 * (n + 1) * log_det_s + 0.5 * n * (n + 1) * math.log(2)
                + be.multigammaln(0.5 * df, n) - 0.5 * (df - n - 1) * mv_digamma
                + 0.5 * df * n)
