"""Special functions on the JAX backend (``jax.scipy.special`` and ``jax.nn``).

All work under ``jit``/``vmap``/``grad``; inputs may be JAX arrays, numpy arrays or Python
numbers.

>>> import jax.numpy as jnp
>>> round(float(lgamma(jnp.array(4.0))), 5)  # log(3!)
1.79176
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special as jss

__all__ = [
    "betainc", "digamma", "erf", "erfc", "erfinv", "expit", "gammainc", "gammaincc", "i0e",
    "i1e", "lbeta", "lgamma", "log1mexp", "log_ndtr", "log_softmax", "logit", "logsumexp",
    "multigammaln", "ndtr", "ndtri", "polygamma", "softmax", "softplus", "xlog1py", "xlogy",
]

_LOG2 = math.log(2.0)


def _f(x: Any) -> Any:
    """A floating JAX array for ``x`` (policy float for Python/numpy data)."""
    if isinstance(x, jax.Array):
        return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(_float())
    from polyro.backends.jax import asarray

    out = asarray(x)
    return out if jnp.issubdtype(out.dtype, jnp.inexact) else out.astype(_float())


def _float() -> Any:
    from polyro.backends.jax import float_dtype

    return float_dtype()


def _fs(*xs: Any) -> list[Any]:
    """Like ``_f``, but Python numbers take the dtype of the first JAX float array."""
    like = next((x.dtype for x in xs if isinstance(x, jax.Array)
                 and jnp.issubdtype(x.dtype, jnp.inexact)), None)
    return [jnp.asarray(x, dtype=like) if like is not None and isinstance(x, (int, float))
            else _f(x) for x in xs]


def lgamma(x: Any) -> Any:
    """log |Gamma(x)|.

    >>> abs(float(lgamma(1.0))) < 1e-6
    True
    """
    return jss.gammaln(_f(x))


def digamma(x: Any) -> Any:
    """d/dx log Gamma(x).

    >>> round(float(digamma(1.0)), 5)
    -0.57722
    """
    return jss.digamma(_f(x))


def polygamma(n: Any, x: Any) -> Any:
    """The n-th derivative of digamma (``n`` a non-negative integer).

    >>> round(float(polygamma(1, 1.0)), 5)
    1.64493
    """
    return jss.polygamma(jnp.asarray(n), _f(x))


def erf(x: Any) -> Any:
    """The error function.

    >>> float(erf(0.0))
    0.0
    """
    return jss.erf(_f(x))


def erfc(x: Any) -> Any:
    """1 - erf(x), accurate for large x.

    >>> float(erfc(0.0))
    1.0
    """
    return jss.erfc(_f(x))


def erfinv(x: Any) -> Any:
    """Inverse of erf on (-1, 1).

    >>> float(erfinv(0.0))
    0.0
    """
    return jss.erfinv(_f(x))


def ndtr(x: Any) -> Any:
    """Standard normal CDF.

    >>> float(ndtr(0.0))
    0.5
    """
    return jss.ndtr(_f(x))


def log_ndtr(x: Any) -> Any:
    """log of the standard normal CDF, accurate in the lower tail.

    >>> round(float(log_ndtr(0.0)), 5)
    -0.69315
    """
    x = _f(x)
    # upper tail: log1p(-ndtr(-x)) keeps relative accuracy where jax's log_ndtr does not (x ~ 5..10)
    xs = jnp.where(x > 0, x, 1.0)
    return jnp.where(x > 0, jnp.log1p(-jss.ndtr(-xs)), jss.log_ndtr(x))


def ndtri(p: Any) -> Any:
    """Standard normal quantile function.

    >>> float(ndtri(0.5))
    0.0
    """
    return jss.ndtri(_f(p))


def xlogy(x: Any, y: Any) -> Any:
    """x * log(y), with 0 where x == 0.

    >>> float(xlogy(0.0, 0.0))
    0.0
    """
    return jss.xlogy(*_fs(x, y))


def xlog1py(x: Any, y: Any) -> Any:
    """x * log1p(y), with 0 where x == 0.

    >>> float(xlog1py(0.0, -1.0))
    0.0
    """
    return jss.xlog1py(*_fs(x, y))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """log(sum(exp(x))) over ``axis`` (None: all axes), without overflow.

    >>> round(float(logsumexp(jnp.zeros(2))), 5)
    0.69315
    """
    return jss.logsumexp(_f(x), axis=axis, keepdims=keepdims)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """x - logsumexp(x, axis, keepdims=True).

    >>> jnp.exp(log_softmax(jnp.zeros(2))).tolist()
    [0.5, 0.5]
    """
    return jax.nn.log_softmax(_f(x), axis=axis)


def softmax(x: Any, axis: int = -1) -> Any:
    """exp(x) normalised over ``axis``.

    >>> softmax(jnp.zeros(2)).tolist()
    [0.5, 0.5]
    """
    return jax.nn.softmax(_f(x), axis=axis)


@jax.custom_jvp
def _softplus(x: Any) -> Any:
    # bit for bit ``jnp.logaddexp(x, 0.0)`` (its formula with the second argument 0), without
    # that function's rule for the derivative, which also differentiates the constant 0 and
    # costs a quarter of a logistic regression's value-and-gradient
    return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


@_softplus.defjvp
def _softplus_jvp(primals: tuple, tangents: tuple) -> tuple:
    (x,), (t,) = primals, tangents
    return _softplus(x), jax.nn.sigmoid(x) * t


def softplus(x: Any) -> Any:
    """log(1 + exp(x)), without overflow.

    The values of ``logaddexp(x, 0)``, bit for bit; the derivative is ``sigmoid(x)`` everywhere
    (a custom rule), also at ``x = 0`` where ``maximum(x, 0) + log1p(exp(-|x|))`` would
    differentiate to 0 (the stick-breaking simplex bijection sits at 0 for uniform or tied
    probabilities). Higher derivatives follow from ``sigmoid``.

    >>> round(float(softplus(0.0)), 5)
    0.69315
    >>> float(jax.grad(softplus)(0.0))
    0.5
    >>> float(jax.grad(jax.grad(softplus))(0.0))
    0.25
    """
    return _softplus(_f(x))


def expit(x: Any) -> Any:
    """The logistic sigmoid.

    >>> float(expit(0.0))
    0.5
    """
    return jss.expit(_f(x))


def logit(p: Any) -> Any:
    """log(p / (1 - p)).

    >>> float(logit(0.5))
    0.0
    """
    return jss.logit(_f(p))


def log1mexp(x: Any) -> Any:
    """log(1 - exp(x)) for x <= 0, accurate everywhere (NaN-free gradients).

    >>> round(float(log1mexp(-math.log(2.0))), 5)
    -0.69315
    """
    x = _f(x)
    near = x > -_LOG2
    a = jnp.where(near, x, -1.0)
    b = jnp.where(near, -1.0, x)
    return jnp.where(near, jnp.log(-jnp.expm1(a)), jnp.log1p(-jnp.exp(b)))


def lbeta(a: Any, b: Any) -> Any:
    """log B(a, b).

    >>> abs(float(lbeta(1.0, 1.0))) < 1e-6
    True
    """
    a, b = _fs(a, b)
    # (jax.scipy.special.betaln is only ~1e-7 accurate in float64 on jax 0.10)
    return jss.gammaln(a) + jss.gammaln(b) - jss.gammaln(a + b)


def multigammaln(a: Any, d: int) -> Any:
    """log of the multivariate gamma function of dimension ``d`` (NaN where a <= (d-1)/2).

    >>> round(float(multigammaln(3.0, 1)), 5)
    0.69315
    """
    a = _f(a)
    d = int(d)
    j = jnp.arange(d, dtype=a.dtype)
    out = jss.gammaln(a[..., None] - j / 2).sum(-1) + d * (d - 1) / 4 * math.log(math.pi)
    return jnp.where(a > (d - 1) / 2, out, jnp.nan)


def gammainc(a: Any, x: Any) -> Any:
    """Regularized lower incomplete gamma P(a, x).

    >>> round(float(gammainc(1.0, 1.0)), 5)
    0.63212
    """
    return jss.gammainc(*_fs(a, x))


def gammaincc(a: Any, x: Any) -> Any:
    """Regularized upper incomplete gamma Q(a, x).

    >>> round(float(gammaincc(1.0, 1.0)), 5)
    0.36788
    """
    return jss.gammaincc(*_fs(a, x))


def betainc(a: Any, b: Any, x: Any) -> Any:
    """Regularized incomplete beta I_x(a, b).

    >>> round(float(betainc(1.0, 1.0, 0.25)), 5)
    0.25
    """
    return jss.betainc(*_fs(a, b, x))


def i0e(x: Any) -> Any:
    """exp(-|x|) I0(x).

    >>> round(float(i0e(0.0)), 5)
    1.0
    """
    return jss.i0e(_f(x))


def i1e(x: Any) -> Any:
    """exp(-|x|) I1(x).

    >>> float(i1e(0.0))
    0.0
    """
    return jss.i1e(_f(x))
