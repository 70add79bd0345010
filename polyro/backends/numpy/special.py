"""Special functions on the numpy backend (scipy.special underneath).

Every function accepts numpy arrays, numpy scalars, Python numbers and nested lists, and returns
numpy arrays with numpy's broadcasting and dtype rules.

>>> float(lgamma(4.0))  # log(3!)
1.791759469228055
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc

__all__ = [
    "betainc", "digamma", "erf", "erfc", "erfinv", "expit", "gammainc", "gammaincc", "i0e",
    "i1e", "lbeta", "lgamma", "log1mexp", "log_ndtr", "log_softmax", "logit", "logsumexp",
    "multigammaln", "ndtr", "ndtri", "polygamma", "softmax", "softplus", "xlog1py", "xlogy",
]

_A = np.asarray


def lgamma(x: Any) -> np.ndarray:
    """log |Gamma(x)|.

    >>> float(lgamma(1.0))
    0.0
    """
    return sc.gammaln(_A(x))


def digamma(x: Any) -> np.ndarray:
    """d/dx log Gamma(x).

    >>> round(float(digamma(1.0)), 10)  # -Euler gamma
    -0.5772156649
    """
    return sc.digamma(_A(x))


def polygamma(n: Any, x: Any) -> np.ndarray:
    """The n-th derivative of digamma (``n`` a non-negative integer), in ``x``'s float dtype.

    >>> round(float(polygamma(1, 1.0)), 10)  # pi**2 / 6
    1.6449340668
    >>> polygamma(1, np.float32(2.0)).dtype
    dtype('float32')
    """
    x = _A(x)
    out = np.asarray(sc.polygamma(_A(n), x))  # scipy answers float64 for any input
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


def erf(x: Any) -> np.ndarray:
    """The error function.

    >>> float(erf(0.0))
    0.0
    """
    return sc.erf(_A(x))


def erfc(x: Any) -> np.ndarray:
    """1 - erf(x), accurate for large x.

    >>> float(erfc(0.0))
    1.0
    """
    return sc.erfc(_A(x))


def erfinv(x: Any) -> np.ndarray:
    """Inverse of erf on (-1, 1).

    >>> float(erfinv(0.0))
    0.0
    """
    return sc.erfinv(_A(x))


def ndtr(x: Any) -> np.ndarray:
    """Standard normal CDF.

    >>> float(ndtr(0.0))
    0.5
    """
    return sc.ndtr(_A(x))


def log_ndtr(x: Any) -> np.ndarray:
    """log of the standard normal CDF, accurate far in the lower tail.

    >>> round(float(log_ndtr(0.0)), 12)
    -0.69314718056
    """
    return sc.log_ndtr(_A(x))


def ndtri(p: Any) -> np.ndarray:
    """Standard normal quantile function (inverse of ndtr).

    >>> float(ndtri(0.5))
    0.0
    """
    return sc.ndtri(_A(p))


def xlogy(x: Any, y: Any) -> np.ndarray:
    """x * log(y), with 0 where x == 0.

    >>> float(xlogy(0.0, 0.0))
    0.0
    """
    return sc.xlogy(_A(x), _A(y))


def xlog1py(x: Any, y: Any) -> np.ndarray:
    """x * log1p(y), with 0 where x == 0.

    >>> float(xlog1py(0.0, -1.0))
    0.0
    """
    return sc.xlog1py(_A(x), _A(y))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) over ``axis`` (None: all axes), without overflow.

    >>> round(float(logsumexp([0.0, 0.0])), 12)
    0.69314718056
    """
    return np.asarray(sc.logsumexp(_A(x), axis=axis, keepdims=keepdims))


def log_softmax(x: Any, axis: int = -1) -> np.ndarray:
    """x - logsumexp(x, axis, keepdims=True).

    >>> np.exp(log_softmax([0.0, 0.0]))
    array([0.5, 0.5])
    """
    return sc.log_softmax(_A(x), axis=axis)


def softmax(x: Any, axis: int = -1) -> np.ndarray:
    """exp(x) normalised over ``axis``.

    >>> softmax([0.0, 0.0])
    array([0.5, 0.5])
    """
    return sc.softmax(_A(x), axis=axis)


def softplus(x: Any) -> np.ndarray:
    """log(1 + exp(x)), without overflow.

    >>> round(float(softplus(0.0)), 12)
    0.69314718056
    """
    return np.logaddexp(0.0, _A(x))


def expit(x: Any) -> np.ndarray:
    """The logistic sigmoid 1 / (1 + exp(-x)).

    >>> float(expit(0.0))
    0.5
    """
    return sc.expit(_A(x))


def logit(p: Any) -> np.ndarray:
    """log(p / (1 - p)).

    >>> float(logit(0.5))
    0.0
    """
    return sc.logit(_A(p))


def log1mexp(x: Any) -> np.ndarray:
    """log(1 - exp(x)) for x <= 0, accurate near 0 and for very negative x.

    >>> round(float(log1mexp(-np.log(2.0))), 12)
    -0.69314718056
    """
    x = _A(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def lbeta(a: Any, b: Any) -> np.ndarray:
    """log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b).

    >>> float(lbeta(1.0, 1.0))
    0.0
    """
    return sc.betaln(_A(a), _A(b))


def multigammaln(a: Any, d: int) -> np.ndarray:
    """log of the multivariate gamma function of dimension ``d`` (NaN where a <= (d-1)/2).

    >>> round(float(multigammaln(3.0, 1)), 12)  # = lgamma(3)
    0.69314718056
    """
    a = _A(a)
    d = int(d)
    j = np.arange(d, dtype=a.dtype if a.dtype.kind == "f" else np.float64)
    out = np.sum(sc.gammaln(a[..., None] - j / 2), axis=-1) + d * (d - 1) / 4 * math.log(math.pi)
    return np.where(a > (d - 1) / 2, out, np.nan)


def gammainc(a: Any, x: Any) -> np.ndarray:
    """Regularized lower incomplete gamma P(a, x).

    >>> round(float(gammainc(1.0, 1.0)), 12)  # 1 - exp(-1)
    0.632120558829
    """
    return sc.gammainc(_A(a), _A(x))


def gammaincc(a: Any, x: Any) -> np.ndarray:
    """Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x).

    >>> round(float(gammaincc(1.0, 1.0)), 12)  # exp(-1)
    0.367879441171
    """
    return sc.gammaincc(_A(a), _A(x))


def betainc(a: Any, b: Any, x: Any) -> np.ndarray:
    """Regularized incomplete beta I_x(a, b).

    >>> float(betainc(1.0, 1.0, 0.25))
    0.25
    """
    return sc.betainc(_A(a), _A(b), _A(x))


def i0e(x: Any) -> np.ndarray:
    """Exponentially scaled modified Bessel function of order 0: exp(-|x|) I0(x).

    >>> float(i0e(0.0))
    1.0
    """
    return sc.i0e(_A(x))


def i1e(x: Any) -> np.ndarray:
    """Exponentially scaled modified Bessel function of order 1: exp(-|x|) I1(x).

    >>> float(i1e(0.0))
    0.0
    """
    return sc.i1e(_A(x))
