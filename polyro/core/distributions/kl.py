"""KL divergence registry: ``kl_divergence(p, q)`` and ``@register_kl(TypeP, TypeQ)``.

Dispatch picks the most specific registered pair along both classes' MROs. Closed forms for
the built-in families are registered on first use (the families are discovered when the
package is imported, so this module does not import them at import time).

>>> import numpy as np
>>> from polyro.core.distributions.combinators import Delta
>>> class Flat:
...     def log_prob(self, v):
...         return v * 0.0 - 1.0
>>> @register_kl(Delta, Flat)
... def _kl_delta_flat(p, q):
...     return -q.log_prob(p.v)
>>> float(kl_divergence(Delta(np.array(0.0)), Flat()))
1.0
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions.util import broadcast_shape, shape_of, sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL: dict[tuple[type, type], Callable[[Any, Any], Any]] = {}
_BUILTIN_DONE: list[bool] = [False]


def register_kl(type_p: type, type_q: type) -> Callable[[Callable], Callable]:
    """Decorator registering ``fn(p, q)`` as ``KL(p || q)`` for ``p: type_p``, ``q: type_q``.

    >>> class A: pass
    >>> @register_kl(A, A)
    ... def _kl_aa(p, q):
    ...     return 0.0
    >>> kl_divergence(A(), A())
    0.0
    """
    if not isinstance(type_p, type) or not isinstance(type_q, type):
        raise TypeError(f"register_kl needs two classes, got {type_p!r} and {type_q!r}")

    def decorator(fn: Callable) -> Callable:
        _KL[(type_p, type_q)] = fn
        _dispatch.cache_clear()
        return fn

    return decorator


@functools.cache
def _dispatch(tp: type, tq: type) -> Callable | None:
    best = None
    best_score = None
    mro_p, mro_q = tp.__mro__, tq.__mro__
    for (P, Q), fn in _KL.items():
        if P in mro_p and Q in mro_q:
            score = (mro_p.index(P) + mro_q.index(Q), mro_p.index(P))
            if best_score is None or score < best_score:
                best, best_score = fn, score
    return best


def kl_divergence(p: Any, q: Any) -> Any:
    """``KL(p || q)``, shape ``broadcast(p.batch_shape, q.batch_shape)``.

    Raises NotImplementedError naming both types when no closed form is registered.
    """
    _ensure_builtin()
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise NotImplementedError(
            f"no KL divergence registered for ({type(p).__name__}, {type(q).__name__}); "
            "register one with @register_kl(TypeP, TypeQ) or estimate it by Monte Carlo "
            "(e.g. Trace_ELBO)")
    return fn(p, q)


# --------------------------------------------------------------------------- helpers
def _a(be: Any, x: Any) -> Any:
    return x if be.is_array(x) else be.asarray(x)


def _bshape(p: Any, q: Any) -> tuple[int, ...]:
    return broadcast_shape(p.batch_shape, q.batch_shape)


def _kl_independent(p: Any, q: Any) -> Any:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims or \
            p.event_shape != q.event_shape:
        raise NotImplementedError(
            "KL(Independent || Independent) needs equal reinterpreted_batch_ndims and event "
            f"shapes, got {p.reinterpreted_batch_ndims}/{p.event_shape} and "
            f"{q.reinterpreted_batch_ndims}/{q.event_shape}")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


def _kl_expanded_p(p: Any, q: Any) -> Any:
    kl = kl_divergence(p.base_dist, q)
    be = backend_of(kl)
    return be.xp.broadcast_to(_a(be, kl), broadcast_shape(shape_of(kl), _bshape(p, q)))


def _kl_expanded_q(p: Any, q: Any) -> Any:
    kl = kl_divergence(p, q.base_dist)
    be = backend_of(kl)
    return be.xp.broadcast_to(_a(be, kl), broadcast_shape(shape_of(kl), _bshape(p, q)))


def _kl_masked(p: Any, q: Any) -> Any:
    kl = kl_divergence(p.base_dist, q)
    be = backend_of(kl)
    xp = be.xp
    kl = _a(be, kl)
    if p._mask is True:
        return kl
    if p._mask is False:
        return xp.zeros(broadcast_shape(shape_of(kl), p.batch_shape), dtype=kl.dtype)
    return xp.where(p._mask, kl, xp.zeros_like(kl))


def _kl_delta(p: Any, q: Any) -> Any:
    # KL(delta_v || q) = -log q(v), the point mass carrying no entropy term
    lp = q.log_prob(p.v)
    return -sum_rightmost(lp, max(len(shape_of(lp)) - len(_bshape(p, q)), 0))


def _kl_normal(p: Any, q: Any) -> Any:
    be = backend_of(p.loc, q.loc, p.scale, q.scale)
    xp = be.xp
    vr = (p.scale / q.scale) ** 2
    t = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (vr + t - 1 - xp.log(vr))


def _kl_laplace(p: Any, q: Any) -> Any:
    be = backend_of(p.loc, q.loc, p.scale, q.scale)
    xp = be.xp
    d = xp.abs(p.loc - q.loc)
    return xp.log(q.scale / p.scale) + d / q.scale + p.scale / q.scale * xp.exp(
        -d / p.scale) - 1


def _kl_half_normal(p: Any, q: Any) -> Any:
    be = backend_of(p.scale, q.scale)
    vr = (p.scale / q.scale) ** 2
    return 0.5 * (vr - 1 - be.xp.log(vr))


def _kl_poisson(p: Any, q: Any) -> Any:
    be = backend_of(p.rate, q.rate)
    return be.xlogy(p.rate, p.rate) - be.xlogy(p.rate, q.rate) - p.rate + q.rate


def _kl_uniform(p: Any, q: Any) -> Any:
    be = backend_of(p.low, q.low, p.high, q.high)
    xp = be.xp
    kl = xp.log((q.high - q.low) / (p.high - p.low))
    inside = (q.low <= p.low) & (p.high <= q.high)
    return xp.where(inside, kl, xp.full_like(kl, float("inf")))


def _kl_exponential(p: Any, q: Any) -> Any:
    be = backend_of(p.rate, q.rate)
    xp = be.xp
    r = q.rate / p.rate
    return r - 1 - xp.log(r)


def _kl_gamma(p: Any, q: Any) -> Any:
    be = backend_of(p.concentration, q.concentration, p.rate, q.rate)
    xp = be.xp
    ap, bp, aq, bq = p.concentration, p.rate, q.concentration, q.rate
    return ((ap - aq) * be.digamma(ap) - be.lgamma(ap) + be.lgamma(aq)
            + aq * (xp.log(bp) - xp.log(bq)) + ap * (bq - bp) / bp)


def _kl_beta(p: Any, q: Any) -> Any:
    be = backend_of(p.concentration1, q.concentration1)
    a1, b1 = p.concentration1, p.concentration0
    a2, b2 = q.concentration1, q.concentration0
    s1 = a1 + b1
    return (be.lbeta(a2, b2) - be.lbeta(a1, b1) + (a1 - a2) * be.digamma(a1)
            + (b1 - b2) * be.digamma(b1) + (a2 - a1 + b2 - b1) * be.digamma(s1))


def _kl_dirichlet(p: Any, q: Any) -> Any:
    be = backend_of(p.concentration, q.concentration)
    xp = be.xp
    a, b = p.concentration, q.concentration
    a0 = xp.sum(a, axis=-1)
    b0 = xp.sum(b, axis=-1)
    return (be.lgamma(a0) - xp.sum(be.lgamma(a), axis=-1) - be.lgamma(b0)
            + xp.sum(be.lgamma(b), axis=-1)
            + xp.sum((a - b) * (be.digamma(a) - be.digamma(a0)[..., None]), axis=-1))


def _log_probs_of(d: Any) -> Any:
    if "logits" in d.__dict__ or "probs" not in d.__dict__:
        lg = d.logits
        return backend_of(lg).log_softmax(lg, axis=-1)
    pr = d.probs
    xp = backend_of(pr).xp
    pr = pr / xp.sum(pr, axis=-1, keepdims=True)
    pos = pr > 0
    return xp.where(pos, xp.log(xp.where(pos, pr, xp.ones_like(pr))),
                    xp.full_like(pr, -float("inf")))


def _kl_categorical(p: Any, q: Any) -> Any:
    lp, lq = _log_probs_of(p), _log_probs_of(q)
    be = backend_of(lp, lq)
    xp = be.xp
    pp = xp.exp(lp)
    pos = pp > 0
    zero = xp.zeros_like(pp)
    term = xp.where(pos, pp * (xp.where(pos, lp, zero) - xp.where(pos, lq, zero)), zero)
    return xp.sum(term, axis=-1)


def _kl_bernoulli(p: Any, q: Any) -> Any:
    pp, qp = p.probs, q.probs
    be = backend_of(pp, qp)
    return (be.xlogy(pp, pp) - be.xlogy(pp, qp) + be.xlog1py(1 - pp, -pp)
            - be.xlog1py(1 - pp, -qp))


def _kl_mvn(p: Any, q: Any) -> Any:
    be = backend_of(p.loc, q.loc, p.scale_tril, q.scale_tril)
    xp = be.xp
    Lp, Lq = p.scale_tril, q.scale_tril
    n = Lp.shape[-1]
    if Lq.shape[-1] != n:
        raise ValueError(f"KL(MVN || MVN) needs equal dimensions, got {n} and {Lq.shape[-1]}")
    batch = broadcast_shape(shape_of(Lp)[:-2], shape_of(Lq)[:-2], shape_of(p.loc)[:-1],
                            shape_of(q.loc)[:-1])
    Lp = xp.broadcast_to(Lp, batch + (n, n))
    Lq = xp.broadcast_to(Lq, batch + (n, n))
    diff = xp.broadcast_to(q.loc - p.loc, batch + (n,))
    M = be.solve_triangular(Lq, Lp, lower=True)
    z = be.solve_triangular(Lq, diff[..., None], lower=True)[..., 0]
    logdet = xp.sum(xp.log(xp.linalg.diagonal(Lq)), axis=-1) - xp.sum(
        xp.log(xp.linalg.diagonal(Lp)), axis=-1)
    return 0.5 * (xp.sum(M * M, axis=(-2, -1)) + xp.sum(z * z, axis=-1) - n) + logdet


def _ensure_builtin() -> None:
    """Register the closed forms for whichever built-in families exist (once)."""
    if _BUILTIN_DONE[0]:
        return
    _BUILTIN_DONE[0] = True
    import polyro.core.distributions as pkg
    from polyro.core.distributions.combinators import (
        Delta,
        ExpandedDistribution,
        Independent,
        MaskedDistribution,
    )
    from polyro.core.distributions.distribution import Distribution

    pairs: list[tuple[Any, Any, Callable]] = [
        (Independent, Independent, _kl_independent),
        (ExpandedDistribution, Distribution, _kl_expanded_p),
        (Distribution, ExpandedDistribution, _kl_expanded_q),
        (MaskedDistribution, Distribution, _kl_masked),
        (Delta, Distribution, _kl_delta),
    ]
    for name, fn in [("Normal", _kl_normal), ("LogNormal", _kl_normal),
                     ("Laplace", _kl_laplace), ("HalfNormal", _kl_half_normal),
                     ("Poisson", _kl_poisson), ("Uniform", _kl_uniform),
                     ("Exponential", _kl_exponential),
                     ("Gamma", _kl_gamma), ("Beta", _kl_beta), ("Dirichlet", _kl_dirichlet),
                     ("Categorical", _kl_categorical), ("Bernoulli", _kl_bernoulli),
                     ("MultivariateNormal", _kl_mvn)]:
        cls = getattr(pkg, name, None)
        if isinstance(cls, type):
            pairs.append((cls, cls, fn))
    for P, Q, fn in pairs:
        if (P, Q) not in _KL:
            _KL[(P, Q)] = fn
    _dispatch.cache_clear()
