"""Test tables for the continuous univariate families (shared by ``test_continuous*.py``).

Everything here is plain numpy/scipy float64: the *oracles* the backends are checked against.
Nothing in this file touches a polyro backend.

Each family has a :class:`Family` row:

* ``ranges``: for every constructor argument, six valid values. The batched parameter sets are
  built from them by :func:`param_sets`: shape ``()`` (first value), ``(2,)`` (first two values of
  every argument) and ``(2, 3)`` (first argument reshaped to ``(2, 3)``, the others of shape
  ``(3,)``, so the batch shape comes from broadcasting).
* ``oracle(**params)``: a frozen scipy.stats distribution (or a small closed-form object with the
  same method names) with the same parametrization.
* ``checks``: which of ``log_prob cdf icdf mean variance entropy`` the family provides.
* ``grad``: an rsample-gradient case ``(param, f, dE/dparam)`` where ``f`` is applied to the draws
  and ``dE/dparam(**params)`` is the derivative of ``E[f(x)]`` computed outside any backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special as sp
import scipy.stats as st

EULER = float(np.euler_gamma)
ALL_CHECKS = ("log_prob", "cdf", "icdf", "mean", "variance", "entropy")


class Kumaraswamy:
    """Closed-form oracle for Kumaraswamy(a, b) (scipy has no such family).

    pdf a b x^(a-1) (1 - x^a)^(b-1); raw moments E[x^n] = b B(1 + n/a, b);
    entropy (1 - 1/b) + (1 - 1/a) H_b - log(a b) with H_b = digamma(b + 1) + Euler's gamma.
    """

    def __init__(self, a, b):
        self.a, self.b = np.asarray(a, float), np.asarray(b, float)

    def logpdf(self, x):
        a, b = self.a, self.b
        return np.log(a) + np.log(b) + (a - 1) * np.log(x) + (b - 1) * np.log1p(-(x**a))

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def cdf(self, x):
        return -np.expm1(self.b * np.log1p(-(x**self.a)))

    def ppf(self, q):
        return (-np.expm1(np.log1p(-q) / self.b)) ** (1 / self.a)

    def moment(self, n):
        return self.b * sp.beta(1 + n / self.a, self.b)

    def mean(self):
        return self.moment(1)

    def var(self):
        return self.moment(2) - self.moment(1) ** 2

    def entropy(self):
        a, b = self.a, self.b
        harmonic = sp.digamma(b + 1) + EULER
        return (1 - 1 / b) + (1 - 1 / a) * harmonic - np.log(a * b)


class VonMises:
    """scipy's von Mises with the Pyro/NumPyro *circular* variance 1 - I1(k)/I0(k)."""

    def __init__(self, loc, concentration):
        self.loc, self.k = np.asarray(loc, float), np.asarray(concentration, float)
        self._d = st.vonmises(self.k, loc=self.loc)

    def logpdf(self, x):
        return self._d.logpdf(x)

    def cdf(self, x):
        return self._d.cdf(x)

    def mean(self):
        return np.broadcast_to(self.loc, np.broadcast_shapes(self.loc.shape, self.k.shape))

    def var(self):
        return 1 - sp.i1e(self.k) / sp.i0e(self.k)

    def entropy(self):
        return self._d.entropy()

    def ppf(self, q):
        return self._d.ppf(q)


class _Override:
    """A scipy frozen distribution with some moments replaced (Pyro's conventions)."""

    def __init__(self, base, mean=None, var=None):
        self._d, self._mean, self._var = base, mean, var

    def __getattr__(self, name):
        return getattr(self._d, name)

    def mean(self):
        return self._d.mean() if self._mean is None else self._mean

    def var(self):
        return self._d.var() if self._var is None else self._var


def _full(value, *arrays):
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    return np.full(shape, value)


def cauchy(loc, scale):
    # Pyro/NumPyro: the mean is undefined (nan), the variance infinite.
    return _Override(st.cauchy(loc, scale), _full(np.nan, loc, scale), _full(np.inf, loc, scale))


def half_cauchy(scale):
    return _Override(st.halfcauchy(scale=scale), _full(np.inf, scale), _full(np.inf, scale))


def student_t(df, loc, scale):
    df, loc, scale = np.broadcast_arrays(*(np.asarray(a, float) for a in (df, loc, scale)))
    mean = np.where(df > 1, loc, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(df > 2, scale**2 * df / (df - 2), np.where(df > 1, np.inf, np.nan))
    return _Override(st.t(df, loc, scale), mean, var)


def pareto(scale, alpha):
    scale, alpha = np.broadcast_arrays(np.asarray(scale, float), np.asarray(alpha, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(alpha > 1, alpha * scale / (alpha - 1), np.inf)
        var = np.where(alpha > 2, scale**2 * alpha / ((alpha - 1) ** 2 * (alpha - 2)), np.inf)
    return _Override(st.pareto(alpha, scale=scale), mean, var)


def inverse_gamma(concentration, rate):
    a, r = np.broadcast_arrays(np.asarray(concentration, float), np.asarray(rate, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(a > 1, r / (a - 1), np.inf)
        var = np.where(a > 2, r**2 / ((a - 1) ** 2 * (a - 2)), np.inf)
    return _Override(st.invgamma(a, scale=r), mean, var)


def truncated_normal(loc, scale, low, high):
    a, b = (np.asarray(low) - loc) / scale, (np.asarray(high) - loc) / scale
    return st.truncnorm(a, b, loc=loc, scale=scale)


def _uniform_d2(low, high):
    return (2 * np.asarray(high) + low) / 3


def _loguniform_d(low, high):
    lr = np.log(high / low)
    return 1 / lr - (high - low) / (high * lr**2)


def _numeric_derivative(mean_fn: Callable[..., Any], name: str, h: float = 1e-5):
    """Central difference of a closed-form (numpy/scipy) expectation: an oracle outside the
    backend for families whose derivative is long to write out."""

    def d(**params):
        hi = dict(params, **{name: params[name] + h})
        lo = dict(params, **{name: params[name] - h})
        return (np.asarray(mean_fn(**hi)) - np.asarray(mean_fn(**lo))) / (2 * h)

    return d


@dataclass
class Family:
    name: str
    ranges: dict[str, list[float]]
    oracle: Callable[..., Any]
    checks: tuple[str, ...] = ALL_CHECKS
    # rsample-gradient case: (parameter, f name, derivative of E[f(x)] w.r.t. the parameter)
    grad: tuple[str, str, Callable[..., Any]] | None = None
    # sampling: parameters (shape (2,)) and whether second moments are finite and well estimated
    sample_moments: bool = True
    rsample: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


FAMILIES: list[Family] = [
    Family(
        "Normal",
        {"loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0], "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        lambda loc, scale: st.norm(loc, scale),
        grad=("loc", "x2", lambda loc, scale: 2 * loc),
    ),
    Family(
        "LogNormal",
        {"loc": [0.3, -1.2, 1.0, 0.0, 0.5, -0.3], "scale": [0.7, 0.4, 0.5, 1.0, 0.3, 0.8]},
        lambda loc, scale: st.lognorm(scale, scale=np.exp(loc)),
        grad=("scale", "x", lambda loc, scale: scale * np.exp(loc + scale**2 / 2)),
    ),
    Family(
        "HalfNormal",
        {"scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        lambda scale: st.halfnorm(scale=scale),
        grad=("scale", "x", lambda scale: np.sqrt(2 / np.pi) + 0 * scale),
    ),
    Family(
        "TruncatedNormal",
        {
            "loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0],
            "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8],
            "low": [-1.0, -0.5, 1.0, -2.0, 3.0, -6.0],
            "high": [2.0, 0.5, 8.0, 0.5, 9.0, -2.0],
        },
        truncated_normal,
        checks=("log_prob", "cdf", "icdf", "mean", "variance", "entropy"),
        grad=(
            "loc",
            "x",
            _numeric_derivative(
                lambda loc, scale, low, high: truncated_normal(loc, scale, low, high).mean(), "loc"
            ),
        ),
        extra={"coupled": True},
    ),
    Family(
        "Cauchy",
        {"loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0], "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        cauchy,
        grad=("scale", "cos", lambda loc, scale: -np.exp(-scale) * np.cos(loc)),
        sample_moments=False,
    ),
    Family(
        "HalfCauchy",
        {"scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        half_cauchy,
        # E[log x] = log s (x/s and s/x have the same law)
        grad=("scale", "log", lambda scale: 1 / scale),
        sample_moments=False,
    ),
    Family(
        "StudentT",
        {
            "df": [3.5, 12.0, 1.5, 0.8, 30.0, 5.0],
            "loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0],
            "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8],
        },
        student_t,
        checks=("log_prob", "cdf", "mean", "variance", "entropy"),
        grad=("df", "x2", lambda df, loc, scale: -2 * scale**2 / (df - 2) ** 2),
        extra={"sample_params": {"df": [14.0, 20.0], "loc": [0.5, -1.0], "scale": [1.5, 0.7]},
               "grad_params": {"df": 6.0, "loc": 0.5, "scale": 1.3}},
    ),
    Family(
        "Laplace",
        {"loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0], "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        lambda loc, scale: st.laplace(loc, scale),
        grad=("scale", "x2", lambda loc, scale: 4 * scale),
    ),
    Family(
        "AsymmetricLaplace",
        {
            "loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0],
            "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8],
            "asymmetry": [2.0, 0.5, 1.0, 1.5, 0.3, 3.0],
        },
        lambda loc, scale, asymmetry: st.laplace_asymmetric(asymmetry, loc, scale),
        grad=("asymmetry", "x", lambda loc, scale, asymmetry: -scale * (1 / asymmetry**2 + 1)),
    ),
    Family(
        "SoftLaplace",
        {"loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0], "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        # the hyperbolic secant law: density 1 / (pi cosh z), exactly scipy's hypsecant
        lambda loc, scale: st.hypsecant(loc, scale),
        grad=("scale", "x2", lambda loc, scale: np.pi**2 * scale / 2),
    ),
    Family(
        "Logistic",
        {"loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0], "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        lambda loc, scale: st.logistic(loc, scale),
        grad=("scale", "x2", lambda loc, scale: 2 * scale * np.pi**2 / 3),
    ),
    Family(
        "Gumbel",
        {"loc": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0], "scale": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        lambda loc, scale: st.gumbel_r(loc, scale),
        grad=("scale", "x", lambda loc, scale: EULER + 0 * scale),
    ),
    Family(
        "Exponential",
        {"rate": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        lambda rate: st.expon(scale=1 / np.asarray(rate)),
        grad=("rate", "x", lambda rate: -1 / rate**2),
    ),
    Family(
        "Gamma",
        {"concentration": [2.5, 0.7, 5.0, 1.0, 12.0, 0.3], "rate": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        lambda concentration, rate: st.gamma(concentration, scale=1 / np.asarray(rate)),
        checks=("log_prob", "cdf", "mean", "variance", "entropy"),
        grad=("concentration", "x", lambda concentration, rate: 1 / rate),
    ),
    Family(
        "InverseGamma",
        {"concentration": [2.5, 0.7, 5.0, 1.5, 12.0, 3.3], "rate": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        inverse_gamma,
        checks=("log_prob", "cdf", "mean", "variance", "entropy"),
        grad=("concentration", "x", lambda concentration, rate: -rate / (concentration - 1) ** 2),
        extra={"sample_params": {"concentration": [14.0, 20.0], "rate": [1.5, 0.7]},
               "grad_params": {"concentration": 6.0, "rate": 1.3}},
    ),
    Family(
        "Chi2",
        {"df": [2.5, 0.7, 5.0, 1.0, 12.0, 3.0]},
        lambda df: st.chi2(df),
        checks=("log_prob", "cdf", "mean", "variance", "entropy"),
        grad=("df", "x", lambda df: 1.0 + 0 * df),
    ),
    Family(
        "Beta",
        {
            "concentration1": [2.5, 0.7, 5.0, 1.0, 12.0, 0.6],
            "concentration0": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8],
        },
        lambda concentration1, concentration0: st.beta(concentration1, concentration0),
        checks=("log_prob", "cdf", "mean", "variance", "entropy"),
        grad=("concentration1", "x", lambda concentration1, concentration0:
              concentration0 / (concentration1 + concentration0) ** 2),
    ),
    Family(
        "Kumaraswamy",
        {
            "concentration1": [2.5, 0.7, 5.0, 1.0, 12.0, 0.6],
            "concentration0": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8],
        },
        lambda concentration1, concentration0: Kumaraswamy(concentration1, concentration0),
        grad=(
            "concentration0",
            "x",
            _numeric_derivative(lambda concentration1, concentration0: Kumaraswamy(
                concentration1, concentration0).mean(), "concentration0"),
        ),
    ),
    Family(
        "Uniform",
        {"low": [0.3, -1.2, 2.0, 0.0, 5.5, -3.0], "high": [1.7, 0.4, 2.5, 6.0, 9.0, 0.8]},
        lambda low, high: st.uniform(low, np.asarray(high) - low),
        grad=("high", "x2", _uniform_d2),
        extra={"sample_params": {"low": [0.3, -1.2], "high": [1.7, 0.4]}, "coupled": True},
    ),
    Family(
        "LogUniform",
        {"low": [0.3, 0.01, 2.0, 1.0, 5.5, 0.1], "high": [1.7, 0.4, 2.5, 6.0, 90.0, 0.8]},
        lambda low, high: st.loguniform(low, high),
        grad=("high", "x", _loguniform_d),
        extra={"coupled": True},
    ),
    Family(
        "Pareto",
        {"scale": [0.3, 1.2, 2.0, 0.5, 5.5, 3.0], "alpha": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        pareto,
        grad=("alpha", "x", lambda scale, alpha: -scale / (alpha - 1) ** 2),
        extra={"sample_params": {"scale": [0.3, 1.2], "alpha": [12.0, 15.0]},
               "grad_params": {"scale": 1.3, "alpha": 6.0}},
    ),
    Family(
        "Weibull",
        {"scale": [0.3, 1.2, 2.0, 0.5, 5.5, 3.0], "concentration": [1.7, 0.4, 2.5, 1.0, 3.0, 0.8]},
        lambda scale, concentration: st.weibull_min(concentration, scale=scale),
        grad=("concentration", "x", lambda scale, concentration: -scale * sp.gamma(
            1 + 1 / concentration) * sp.digamma(1 + 1 / concentration) / concentration**2),
        extra={"sample_params": {"scale": [0.3, 1.2], "concentration": [1.7, 2.5]}},
    ),
    Family(
        "VonMises",
        {"loc": [0.3, -1.2, 2.0, 0.0, -2.5, 3.0], "concentration": [1.7, 0.4, 2.5, 1.0, 30.0,
                                                                     0.01]},
        lambda loc, concentration: VonMises(loc, concentration),
        checks=("log_prob", "mean", "variance", "entropy"),
        rsample=False,
        sample_moments=False,
    ),
]

BY_NAME = {f.name: f for f in FAMILIES}


def param_sets(fam: Family) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The three parameter sets of a family: batch shapes (), (2,) and (2, 3) (broadcast)."""
    names = list(fam.ranges)
    scalar = {k: np.float64(v[0]) for k, v in fam.ranges.items()}
    vector = {k: np.asarray(v[:2], float) for k, v in fam.ranges.items()}
    idx = np.array([[0, 1, 2], [3, 4, 5]])
    first = names[0]
    matrix = {first: np.asarray(fam.ranges[first], float)[idx]}
    for k in names[1:]:
        v = np.asarray(fam.ranges[k], float)
        # coupled arguments (low < high) stay paired; the others broadcast from shape (3,)
        matrix[k] = v[idx] if fam.extra.get("coupled") else v[:3]
    return [("()", scalar), ("(2,)", vector), ("(2,3)", matrix)]


def batch_shape(params: dict[str, np.ndarray]) -> tuple[int, ...]:
    return np.broadcast_shapes(*(np.shape(v) for v in params.values()))


QUANTILES = np.array([0.02, 0.25, 0.5, 0.75, 0.98])


def points(fam: Family, params: dict[str, np.ndarray]) -> np.ndarray:
    """Values inside the support: the oracle's quantiles, shape (5,) + batch_shape."""
    bshape = batch_shape(params)
    q = QUANTILES.reshape((5,) + (1,) * len(bshape))
    bparams = {k: np.broadcast_to(v, bshape) for k, v in params.items()}
    x = np.asarray(fam.oracle(**bparams).ppf(q), float)
    if fam.name == "VonMises":  # scipy's quantiles lie in [loc - pi, loc + pi]: wrap them
        x = np.remainder(x + np.pi, 2 * np.pi) - np.pi
    return x


def to_oracle_domain(fam: Family, x: np.ndarray, loc: Any = None) -> np.ndarray:
    """Draws in the domain of the oracle's cdf: scipy's von Mises lives on [loc - pi, loc + pi],
    polyro's on [-pi, pi); other families are unchanged."""
    if fam.name != "VonMises":
        return x
    return loc + np.remainder(x - loc + np.pi, 2 * np.pi) - np.pi


def sample_params(fam: Family) -> dict[str, np.ndarray]:
    sp_ = fam.extra.get("sample_params")
    if sp_ is None:
        sp_ = {k: v[:2] for k, v in fam.ranges.items()}
    return {k: np.asarray(v, float) for k, v in sp_.items()}


def grad_params(fam: Family) -> dict[str, float]:
    gp = fam.extra.get("grad_params")
    if gp is None:
        gp = {k: v[0] for k, v in fam.ranges.items()}
    return {k: float(v) for k, v in gp.items()}


F_OF_X: dict[str, Callable[[Any, Any], Any]] = {
    # (xp, x) -> f(x); only array-API calls
    "x": lambda xp, x: x,
    "x2": lambda xp, x: x * x,
    "log": lambda xp, x: xp.log(x),
    "cos": lambda xp, x: xp.cos(x),
}

# parameters that are invalid for each family (for the validation tests): (kwargs, bad name)
INVALID: dict[str, tuple[dict[str, float], str]] = {
    "Normal": ({"loc": 0.0, "scale": -1.0}, "scale"),
    "LogNormal": ({"loc": 0.0, "scale": 0.0}, "scale"),
    "HalfNormal": ({"scale": -2.0}, "scale"),
    "TruncatedNormal": ({"loc": 0.0, "scale": -1.0, "low": -1.0, "high": 1.0}, "scale"),
    "Cauchy": ({"loc": math.nan, "scale": 1.0}, "loc"),
    "HalfCauchy": ({"scale": 0.0}, "scale"),
    "StudentT": ({"df": -1.0, "loc": 0.0, "scale": 1.0}, "df"),
    "Laplace": ({"loc": 0.0, "scale": -1.0}, "scale"),
    "AsymmetricLaplace": ({"loc": 0.0, "scale": 1.0, "asymmetry": -1.0}, "asymmetry"),
    "SoftLaplace": ({"loc": math.inf, "scale": 1.0}, "loc"),
    "Logistic": ({"loc": 0.0, "scale": -1.0}, "scale"),
    "Gumbel": ({"loc": 0.0, "scale": -1.0}, "scale"),
    "Exponential": ({"rate": -1.0}, "rate"),
    "Gamma": ({"concentration": -1.0, "rate": 1.0}, "concentration"),
    "InverseGamma": ({"concentration": 1.0, "rate": -1.0}, "rate"),
    "Chi2": ({"df": 0.0}, "df"),
    "Beta": ({"concentration1": 1.0, "concentration0": -1.0}, "concentration0"),
    "Kumaraswamy": ({"concentration1": -1.0, "concentration0": 1.0}, "concentration1"),
    "Uniform": ({"low": 0.0, "high": math.nan}, "high"),
    "LogUniform": ({"low": -1.0, "high": 2.0}, "low"),
    "Pareto": ({"scale": 1.0, "alpha": -1.0}, "alpha"),
    "Weibull": ({"scale": 1.0, "concentration": -1.0}, "concentration"),
    "VonMises": ({"loc": 0.0, "concentration": -1.0}, "concentration"),
}

# a value outside the support of each family, at its scalar parameters (None: support is R)
OUTSIDE: dict[str, float | None] = {
    "Normal": None, "Cauchy": None, "StudentT": None, "Laplace": None,
    "AsymmetricLaplace": None, "SoftLaplace": None, "Logistic": None, "Gumbel": None,
    "LogNormal": -1.0, "HalfNormal": -1.0, "HalfCauchy": -1.0, "Exponential": -1.0,
    "Gamma": -1.0, "InverseGamma": -1.0, "Chi2": -1.0, "Weibull": -1.0,
    "TruncatedNormal": 5.0, "Beta": 1.5, "Kumaraswamy": -0.5, "Uniform": 3.0,
    "LogUniform": 0.1, "Pareto": 0.1, "VonMises": 4.0,
}
