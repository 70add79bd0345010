"""Simulation-based calibration. The rank test runs in ``make test``; NUTS SBC runs in the full
conformance run only (``make conformance`` reports it through ``check_sbc``; ``pytest -m full``
runs the same cases here).

The rank statistic is first checked with exact conjugate posterior draws (no sampler): calibrated
draws pass and the canary's mis-specified posterior is rejected. Then NUTS on every gradient
backend: each real case passes (every parameter p > SBC_ALPHA) and the canary must fail.
Seeds are fixed (simulations seed 0, exact draws seed 1); the design and the false-failure rate
are in :mod:`conformance.extra_checks`.
"""

from __future__ import annotations

import numpy as np
import pytest

from .extra_checks import SBC_ALPHA, SBC_CASES, rank_test, sbc


def _exact_normal_mean_draws(prior_scale: float, S: int = 200, L: int = 99, seed: int = 1):
    """Truth mu ~ N(0, 1), y[1..5] ~ N(mu, 1), and L exact draws of the posterior under the
    prior N(0, prior_scale)."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=S)
    y = mu[:, None] + rng.normal(size=(S, 5))
    prec = 1 / prior_scale**2 + 5
    draws = y.sum(1) / prec + rng.normal(size=(L, S)) / np.sqrt(prec)
    return draws, mu


def test_rank_test_on_exact_posteriors():
    p_ok, counts = rank_test(*_exact_normal_mean_draws(1.0))
    assert counts.sum() == 200 and p_ok > SBC_ALPHA, (p_ok, counts)
    p_canary, counts = rank_test(*_exact_normal_mean_draws(0.3))
    assert p_canary < SBC_ALPHA, (p_canary, counts)


@pytest.mark.full
@pytest.mark.parametrize("case", SBC_CASES, ids=[c.name for c in SBC_CASES])
def test_nuts_sbc(case, grad_backend):
    r = sbc(grad_backend.NAME, case)
    p_min = min(r["p"].values())
    if case.canary:
        assert p_min < SBC_ALPHA, f"the canary was not rejected: {r['p']} {r['counts']}"
    else:
        assert p_min > SBC_ALPHA, f"SBC rejected NUTS: {r['p']} {r['counts']}"
