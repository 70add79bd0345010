"""Stan-style warmup: dual-averaging step size, windowed Welford mass-matrix estimation.

* :func:`warmup_schedule` gives the windows (initial fast buffer, doubling slow windows, final
  fast buffer: 75 / 25 doubling / 50 iterations for long warmups, 15% / 75% / 10% for short).
* Dual averaging (Hoffman & Gelman 2014, as in Stan: gamma 0.05, t0 10, kappa 0.75).
* Welford estimates of a diagonal or dense covariance per mass block, regularized towards
  ``1e-3 * I`` as in Stan: ``n/(n+5) * cov + 1e-3 * 5/(n+5) * I``.
* :func:`find_reasonable_step_size`: the heuristic initial step size (double or halve until the
  acceptance of one leapfrog step crosses 0.8).

>>> warmup_schedule(1000)
(75, [100, 150, 250, 450, 950], 950)
>>> warmup_schedule(10)
(10, [], 10)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from .integrator import MassSpec
from .util import int_dtype, masked_while

__all__ = ["warmup_schedule", "DAState", "da_init", "da_update", "WelfordState", "welford_init",
           "welford_update", "welford_covariance", "find_reasonable_step_size"]

_GAMMA, _T0, _KAPPA = 0.05, 10.0, 0.75


def warmup_schedule(num_warmup: int, init_buffer: int = 75, term_buffer: int = 50,
                    base_window: int = 25) -> tuple[int, list[int], int]:
    """``(end of the initial fast buffer, ends of the slow windows, start of the final buffer)``.

    Slow windows double in length; the last one is stretched to the final buffer. Below 20
    warmup iterations only the step size is adapted (no slow windows).

    >>> warmup_schedule(100)
    (15, [90], 90)
    """
    if num_warmup < 20:
        return num_warmup, [], num_warmup
    if init_buffer + base_window + term_buffer > num_warmup:
        init_buffer = int(0.15 * num_warmup)
        term_buffer = int(0.1 * num_warmup)
        base_window = num_warmup - init_buffer - term_buffer
    term_start = num_warmup - term_buffer
    ends: list[int] = []
    start, size = init_buffer, base_window
    while start < term_start:
        end = start + size
        # stretch the last window if the next one would not fit
        if end + 2 * size > term_start:
            end = term_start
        ends.append(end)
        start, size = end, 2 * size
    return init_buffer, ends, term_start


class DAState(NamedTuple):
    """Dual-averaging state: ``log_step``, its running average, the error sum, ``mu``, ``t``."""

    log_step: Any
    log_step_avg: Any
    h_bar: Any
    mu: Any
    t: Any


def da_init(step_size: Any, xp: Any) -> DAState:
    """Start dual averaging at ``step_size`` (``mu = log(10 * step_size)``).

    >>> import numpy as np, array_api_compat.numpy as xp
    >>> round(float(da_init(np.asarray(1.0), xp).mu), 4)
    2.3026
    """
    log_step = xp.log(step_size)
    zero = xp.zeros_like(log_step)
    return DAState(log_step, zero, zero, xp.log(10.0 * step_size), zero)


def da_update(s: DAState, accept_prob: Any, target: float, xp: Any) -> DAState:
    """One dual-averaging step towards mean acceptance ``target``."""
    t = s.t + 1.0
    w = 1.0 / (t + _T0)
    h_bar = (1.0 - w) * s.h_bar + w * (target - accept_prob)
    log_step = s.mu - xp.sqrt(t) / _GAMMA * h_bar
    eta = t ** (-_KAPPA)
    log_avg = eta * log_step + (1.0 - eta) * s.log_step_avg
    return DAState(log_step, log_avg, h_bar, s.mu, t)


class WelfordState(NamedTuple):
    """Per-block running means and sums of squared deviations, and the count."""

    n: Any
    mean: tuple
    m2: tuple


def welford_init(spec: MassSpec, batch: tuple, dtype: Any, xp: Any) -> WelfordState:
    """Empty Welford state for each block of ``spec``."""
    means, m2s = [], []
    for a, b, dense in spec.blocks:
        d = b - a
        means.append(xp.zeros(batch + (d,), dtype=dtype))
        m2s.append(xp.zeros(batch + ((d, d) if dense else (d,)), dtype=dtype))
    return WelfordState(xp.asarray(0.0, dtype=dtype), tuple(means), tuple(m2s))


def welford_update(s: WelfordState, spec: MassSpec, x: Any, xp: Any) -> WelfordState:
    """Add one draw ``x`` (``(*batch, D)``)."""
    n = s.n + 1.0
    means, m2s = [], []
    for (a, b, dense), mean, m2 in zip(spec.blocks, s.mean, s.m2, strict=False):
        xb = x[..., a:b] if len(spec.blocks) > 1 else x
        delta = xb - mean
        mean = mean + delta / n
        delta2 = xb - mean
        if dense:
            m2 = m2 + delta[..., :, None] * delta2[..., None, :]
        else:
            m2 = m2 + delta * delta2
        means.append(mean)
        m2s.append(m2)
    return WelfordState(n, tuple(means), tuple(m2s))


def welford_covariance(s: WelfordState, spec: MassSpec, xp: Any, regularize: bool = True) -> tuple:
    """Regularized covariance per block (the new inverse mass)."""
    n = s.n
    out = []
    for (a, b, dense), m2 in zip(spec.blocks, s.m2, strict=False):
        cov = m2 / xp.maximum(n - 1.0, 1.0)
        if regularize:
            shrink = n / (n + 5.0)
            jitter = 1e-3 * 5.0 / (n + 5.0)
            if dense:
                cov = shrink * cov + jitter * xp.eye(b - a, dtype=cov.dtype)
            else:
                cov = shrink * cov + jitter
        out.append(cov)
    return tuple(out)


def find_reasonable_step_size(be: Any, delta_fn: Callable[[Any], Any], step_size: Any,
                              batched: bool) -> Any:
    """Stan's heuristic: double (or halve) ``step_size`` until one leapfrog's acceptance crosses 0.8.

    ``delta_fn(step)`` returns ``log p(accept) = H0 - H1`` of one leapfrog step from a fixed
    starting point and momentum. A non-finite result (NaN, ``-inf``: a divergent step) counts as
    acceptance 0, i.e. below 0.8: the search then keeps halving. At most 100 doublings or
    halvings, and it stops outside ``[1e-8, 1e7]``.
    """
    xp = be.xp
    log08 = math.log(0.8)

    def log_acc(step: Any) -> Any:
        # NaN is acceptance 0 (log -inf), as Stan maps a NaN energy to +inf: without this, a NaN
        # would end a halving search at once (``NaN < log 0.8`` is False)
        d = delta_fn(step)
        return xp.where(xp.isnan(d), xp.full_like(d, -math.inf), d)

    d0 = log_acc(step_size)
    direction = xp.where(d0 > log08, xp.ones_like(step_size), -xp.ones_like(step_size))

    def cond(s: Any) -> Any:
        _, done, k = s
        return (~done) & (k < 100)

    def body(s: Any) -> Any:
        step, done, k = s
        new = step * xp.exp(direction * math.log(2.0))
        d = log_acc(new)
        crossed = xp.where(direction > 0, ~(d > log08), ~(d < log08))
        tiny = (new < 1e-8) | (new > 1e7)
        return new, crossed | tiny, k + 1

    init = (step_size, xp.zeros(step_size.shape, dtype=xp.bool),
            xp.zeros(step_size.shape, dtype=int_dtype(xp)))
    step, _, _ = masked_while(be, cond, body, init, batched)
    return step

