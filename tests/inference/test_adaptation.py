"""Warmup pieces against Stan's values and numpy oracles: window schedule, dual averaging,
Welford (regularized) covariance, heuristic initial step size."""

from __future__ import annotations

import math

import array_api_compat.numpy as xnp
import numpy as np
import pytest

from polyro.inference.mcmc import adaptation as ad
from polyro.inference.mcmc.integrator import MassSpec


def test_warmup_schedule_stan():
    # Stan's default: 75 fast, slow windows 25, 50, 100, 200, 500 (last stretched), 50 fast
    assert ad.warmup_schedule(1000) == (75, [100, 150, 250, 450, 950], 950)
    assert ad.warmup_schedule(500) == (75, [100, 150, 250, 450], 450)
    # short warmups: 15% / 75% / 10%
    assert ad.warmup_schedule(100) == (15, [90], 90)
    assert ad.warmup_schedule(10) == (10, [], 10)
    w0, ends, w1 = ad.warmup_schedule(2000)
    sizes = np.diff([w0] + ends)
    assert w0 == 75 and w1 == 1950 and ends[-1] == 1950
    assert all(sizes[i + 1] >= 2 * sizes[i] for i in range(len(sizes) - 2))


def test_dual_averaging_finds_target():
    # acceptance falls with the step size: a(eps) = exp(-eps); target 0.8 -> eps* = -log 0.8
    s = ad.da_init(np.asarray(1.0), xnp)
    for _ in range(2000):
        acc = math.exp(-math.exp(float(s.log_step)))
        s = ad.da_update(s, np.asarray(acc), 0.8, xnp)
    assert abs(math.exp(float(s.log_step_avg)) - (-math.log(0.8))) < 0.01


def test_dual_averaging_first_step_hand_computed():
    s = ad.da_init(np.asarray(0.5), xnp)
    s1 = ad.da_update(s, np.asarray(0.3), 0.8, xnp)
    h = (0.8 - 0.3) / 11.0
    log_step = math.log(5.0) - math.sqrt(1.0) / 0.05 * h
    assert math.isclose(float(s1.h_bar), h)
    assert math.isclose(float(s1.log_step), log_step)
    assert math.isclose(float(s1.log_step_avg), log_step)  # weight 1**-0.75 = 1


@pytest.mark.parametrize("dense", [False, True])
def test_welford_matches_numpy(dense):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 2.0, 0.3], [0, 0, 0.5]])
    spec = MassSpec([(0, 3, dense)])
    s = ad.welford_init(spec, (), np.float64, xnp)
    for x in X:
        s = ad.welford_update(s, spec, x, xnp)
    raw = ad.welford_covariance(s, spec, xnp, regularize=False)[0]
    cov = np.cov(X.T)
    np.testing.assert_allclose(raw, cov if dense else np.diag(cov), rtol=1e-10)
    reg = ad.welford_covariance(s, spec, xnp, regularize=True)[0]
    n = 200.0
    expect = n / (n + 5) * cov + 1e-3 * 5 / (n + 5) * np.eye(3)
    np.testing.assert_allclose(reg, expect if dense else np.diag(expect), rtol=1e-10)


def test_welford_blocks_and_batch():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2, 3))  # 50 draws of 2 chains
    spec = MassSpec([(0, 2, True), (2, 3, False)])
    s = ad.welford_init(spec, (2,), np.float64, xnp)
    for x in X:
        s = ad.welford_update(s, spec, x, xnp)
    dense, diag = ad.welford_covariance(s, spec, xnp, regularize=False)
    for c in range(2):
        np.testing.assert_allclose(dense[c], np.cov(X[:, c, :2].T), rtol=1e-10)
        np.testing.assert_allclose(diag[c], X[:, c, 2].var(ddof=1), rtol=1e-10)


def test_find_reasonable_step_size(backend):
    be = backend
    xp = be.xp
    # log acceptance of one step falls like -(eps/0.3)^2: crossing log(0.8) at eps ~ 0.142
    crit = 0.3 * math.sqrt(-math.log(0.8))

    def delta_fn(eps):
        return -((eps / 0.3) ** 2)

    for start in (1.0, 1e-3):
        eps = float(ad.find_reasonable_step_size(be, delta_fn, xp.asarray(start), False))
        # the result is the first power-of-two multiple past the crossing
        assert crit / 2 <= eps <= 2 * crit
    # batched: each chain finds its own
    eps = be.to_numpy(ad.find_reasonable_step_size(be, delta_fn, be.asarray([1.0, 1e-3, 4.0]),
                                                   True))
    assert np.all((eps >= crit / 2) & (eps <= 2 * crit))


@pytest.mark.parametrize("bad", [float("nan"), -float("inf")])
def test_find_reasonable_step_size_nonfinite_is_acceptance_zero(backend, bad):
    # Issue 6: a non-finite one-step log acceptance (NaN from a potential that fails, -inf
    # from an infinite energy) is acceptance 0, below 0.8, in both directions of the search.
    # delta(eps) = 0 (acceptance 1) for eps <= 0.1, non-finite above. By hand:
    #  from 0.5 (non-finite): halve 0.25, 0.125 (non-finite), 0.0625 (accepted) -> 0.0625;
    #  from 0.01 (accepted): double 0.02, 0.04, 0.08 (accepted), 0.16 (non-finite) -> 0.16.
    # (A NaN used to end the halving at once, at 0.25: NaN < log 0.8 is False as well.)
    be = backend
    xp = be.xp

    def delta_fn(eps):
        return xp.where(eps <= 0.1, xp.zeros_like(eps), xp.full_like(eps, bad))

    assert float(ad.find_reasonable_step_size(be, delta_fn, be.asarray(0.5), False)) == 0.0625
    assert float(ad.find_reasonable_step_size(be, delta_fn, be.asarray(0.01), False)) == 0.16
    eps = be.to_numpy(ad.find_reasonable_step_size(be, delta_fn, be.asarray([0.5, 0.01]), True))
    np.testing.assert_array_equal(eps, [0.0625, 0.16])
    # never finite: the halving is bounded, it stops at the first step below 1e-8
    # (0.5 / 2**26 = 7.45e-9)
    never = lambda eps: xp.full_like(eps, bad)  # noqa: E731
    eps = float(ad.find_reasonable_step_size(be, never, be.asarray(0.5), False))
    assert eps == 0.5 / 2 ** 26
