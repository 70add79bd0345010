"""Test tables for the multivariate families (shared by ``test_multivariate*.py``).

Plain numpy/scipy float64: the oracles. Each :class:`MCase` has parameter sets at batch shapes
``()``, ``(2,)`` and ``(2, 3)`` (``params(label)``), ``values(params)`` (points of the support of
shape ``(3,) + batch_shape + event_shape``) and per-batch-element scipy oracles ``oracle(**p)``
(``logpdf``, ``mean``, ``var``, ``entropy``) that the tests loop over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special as sp
import scipy.stats as st

SHAPES = {"()": (), "(2,)": (2,), "(2,3)": (2, 3)}


def _rng(seed):
    return np.random.default_rng(seed)


def random_tril(rng, bs, n):
    A = rng.normal(size=bs + (n, n)) * 0.4
    L = np.tril(A, -1) + np.eye(n) * rng.uniform(0.6, 1.6, size=bs + (n,))[..., None, :]
    return L


def random_cov(rng, bs, n):
    L = random_tril(rng, bs, n)
    return L @ np.swapaxes(L, -1, -2)


def random_corr_cholesky(rng, bs, n):
    C = random_cov(rng, bs, n) + np.eye(n)
    d = np.sqrt(np.diagonal(C, axis1=-2, axis2=-1))
    R = C / d[..., :, None] / d[..., None, :]
    return np.linalg.cholesky(R)


def lkj_log_normalizer(d, eta):
    """log of the integral of det(C)^(eta-1) over d x d correlation matrices, from the product
    form of Lewandowski, Kurowicka and Joe (2009), section 3.2."""
    eta = np.asarray(eta, float)
    out = np.zeros_like(eta)
    for k in range(1, d):
        b = eta + (d - k - 1) / 2
        out = out + (d - k) * ((2 * eta - 2 + d - k) * np.log(2) + sp.betaln(b, b))
    return out


class LKJCholeskyOracle:
    """Closed form: log p(L) = sum_i (2 (eta-1) + d - i) log L_ii - log c_d(eta)."""

    def __init__(self, d, eta):
        self.d, self.eta = d, float(eta)

    def logpdf(self, L):
        diag = np.diagonal(L)[1:]
        order = 2 * (self.eta - 1) + self.d - np.arange(2, self.d + 1)
        return float((order * np.log(diag)).sum() - lkj_log_normalizer(self.d, self.eta))


class LKJOracle:
    def __init__(self, d, eta):
        self.d, self.eta = d, float(eta)

    def logpdf(self, C):
        return float((self.eta - 1) * np.linalg.slogdet(C)[1]
                     - lkj_log_normalizer(self.d, self.eta))

    def mean(self):
        return np.eye(self.d)


class GRWOracle:
    """Gaussian random walk = MVN with covariance scale^2 min(i, j) (1-based)."""

    def __init__(self, scale, n):
        i = np.arange(1, n + 1)
        self.cov = scale**2 * np.minimum(i[:, None], i[None, :])
        self._d = st.multivariate_normal(np.zeros(n), self.cov)

    def logpdf(self, x):
        return self._d.logpdf(x)

    def mean(self):
        return np.zeros(self.cov.shape[0])

    def var(self):
        return np.diag(self.cov)

    def entropy(self):
        return self._d.entropy()


class _MVN:
    def __init__(self, loc, cov):
        self._d = st.multivariate_normal(loc, cov)
        self.loc, self.cov = loc, cov

    def logpdf(self, x):
        return self._d.logpdf(x)

    def mean(self):
        return self.loc

    def var(self):
        return np.diag(self.cov)

    def entropy(self):
        return self._d.entropy()


class _MVT:
    def __init__(self, df, loc, L):
        self.S = L @ L.T
        self._d = st.multivariate_t(loc, self.S, df=df)
        self.df, self.loc = df, loc

    def logpdf(self, x):
        return self._d.logpdf(x)

    def mean(self):
        return self.loc

    def var(self):
        return np.diag(self.S) * self.df / (self.df - 2)

    def entropy(self):
        return self._d.entropy()


class _Dir:
    def __init__(self, conc):
        self._d = st.dirichlet(conc)

    def logpdf(self, x):
        return self._d.logpdf(x)

    def mean(self):
        return self._d.mean()

    def var(self):
        return self._d.var()

    def entropy(self):
        return self._d.entropy()


class _Wishart:
    def __init__(self, df, S):
        self._d = st.wishart(df, S)
        self.df, self.S = df, S

    def logpdf(self, x):
        return self._d.logpdf(x)

    def mean(self):
        return self._d.mean()

    def var(self):
        d = np.diag(self.S)
        return self.df * (self.S**2 + d[:, None] * d[None, :])

    def entropy(self):
        return self._d.entropy()


def _mvn_points(p, n, seed):
    bs = p["_bs"]
    return _rng(seed).normal(size=(3,) + bs + (n,)) * 1.3


@dataclass
class MCase:
    id: str
    ctor: str
    make_params: Callable[[tuple[int, ...]], dict[str, np.ndarray]]
    oracle: Callable[..., Any]
    values: Callable[[dict], np.ndarray]
    event_ndim: int
    checks: tuple[str, ...] = ("log_prob", "mean", "variance", "entropy")
    fixed: dict[str, Any] = field(default_factory=dict)
    # params whose log_prob gradient is checked against central finite differences
    grad: tuple[str, ...] = ()

    def params(self, label):
        bs = SHAPES[label]
        p = self.make_params(bs)
        p["_bs"] = bs
        return p


def _mvn_params(kind):
    def f(bs):
        rng = _rng(10 + len(bs))
        loc = rng.normal(size=bs + (3,))
        L = random_tril(rng, bs, 3)
        cov = L @ np.swapaxes(L, -1, -2)
        mat = {"scale_tril": L, "covariance_matrix": cov,
               "precision_matrix": np.linalg.inv(cov)}[kind]
        return {"loc": loc, kind: mat}
    return f


def _mvn_oracle(kind):
    def f(loc, **m):
        mat = m[kind]
        cov = {"scale_tril": lambda a: a @ a.T, "covariance_matrix": lambda a: a,
               "precision_matrix": np.linalg.inv}[kind](mat)
        return _MVN(loc, cov)
    return f


def _lowrank_params(bs):
    rng = _rng(20 + len(bs))
    return {"loc": rng.normal(size=bs + (4,)), "cov_factor": rng.normal(size=bs + (4, 2)),
            "cov_diag": rng.uniform(0.5, 2.0, size=bs + (4,))}


def _mvt_params(bs):
    rng = _rng(30 + len(bs))
    return {"df": rng.uniform(3.0, 9.0, size=bs), "loc": rng.normal(size=bs + (3,)),
            "scale_tril": random_tril(rng, bs, 3)}


def _dir_params(bs):
    return {"concentration": _rng(40 + len(bs)).uniform(0.5, 4.0, size=bs + (4,))}


def _dir_points(p):
    conc = p["concentration"]
    return _rng(41).dirichlet(np.ones(4), size=(3,) + conc.shape[:-1])


def _wishart_params(bs):
    rng = _rng(50 + len(bs))
    return {"df": rng.uniform(3.5, 8.0, size=bs), "covariance_matrix": random_cov(rng, bs, 3)
            + 0.5 * np.eye(3)}


def _wishart_points(p):
    bs = p["_bs"]
    return random_cov(_rng(51), (3,) + bs, 3) + 0.3 * np.eye(3)


def _lkj_params(bs):
    return {"concentration": _rng(60 + len(bs)).uniform(0.6, 3.0, size=bs)}


def _lkj_chol_points(p):
    return random_corr_cholesky(_rng(61), (3,) + p["_bs"], 4)


def _lkj_points(p):
    L = _lkj_chol_points(p)
    return L @ np.swapaxes(L, -1, -2)


def _grw_params(bs):
    return {"scale": _rng(70 + len(bs)).uniform(0.5, 2.0, size=bs)}


MCASES: list[MCase] = [
    MCase("MVN-scale_tril", "MultivariateNormal", _mvn_params("scale_tril"),
          _mvn_oracle("scale_tril"), lambda p: _mvn_points(p, 3, 1), 1, grad=("loc",
                                                                               "scale_tril")),
    MCase("MVN-covariance", "MultivariateNormal", _mvn_params("covariance_matrix"),
          _mvn_oracle("covariance_matrix"), lambda p: _mvn_points(p, 3, 2), 1,
          grad=("covariance_matrix",)),
    MCase("MVN-precision", "MultivariateNormal", _mvn_params("precision_matrix"),
          _mvn_oracle("precision_matrix"), lambda p: _mvn_points(p, 3, 3), 1,
          grad=("precision_matrix",)),
    MCase("LowRankMVN", "LowRankMultivariateNormal", _lowrank_params,
          lambda loc, cov_factor, cov_diag: _MVN(loc, cov_factor @ cov_factor.T
                                                 + np.diag(cov_diag)),
          lambda p: _mvn_points(p, 4, 4), 1, grad=("cov_factor", "cov_diag")),
    MCase("MultivariateStudentT", "MultivariateStudentT", _mvt_params,
          lambda df, loc, scale_tril: _MVT(float(df), loc, scale_tril),
          lambda p: _mvn_points(p, 3, 5), 1, grad=("df", "scale_tril")),
    MCase("Dirichlet", "Dirichlet", _dir_params, lambda concentration: _Dir(concentration),
          _dir_points, 1, grad=("concentration",)),
    MCase("Wishart", "Wishart", _wishart_params,
          lambda df, covariance_matrix: _Wishart(float(df), covariance_matrix),
          _wishart_points, 2, grad=("df",)),
    MCase("LKJCholesky", "LKJCholesky", _lkj_params,
          lambda concentration: LKJCholeskyOracle(4, concentration), _lkj_chol_points, 2,
          checks=("log_prob",), fixed={"dimension": 4}, grad=("concentration",)),
    MCase("LKJ", "LKJ", _lkj_params, lambda concentration: LKJOracle(4, concentration),
          _lkj_points, 2, checks=("log_prob", "mean"), fixed={"dimension": 4}),
    MCase("GaussianRandomWalk", "GaussianRandomWalk", _grw_params,
          lambda scale: GRWOracle(float(scale), 5), lambda p: _mvn_points(p, 5, 6), 1,
          fixed={"num_steps": 5}, grad=("scale",)),
]
