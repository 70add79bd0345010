"""Diagnostics against hand-computed values and closed forms (numpy oracles).

Statistical checks use fixed seeds; tolerances are several standard errors wide (false-failure
rate < 1e-4 per check).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from polyro.inference import diagnostics as diag


def test_autocorrelation_hand_computed():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    c = x - x.mean()
    expected = [np.sum(c[: 4 - k] * c[k:]) / 4 for k in range(4)]
    np.testing.assert_allclose(diag.autocovariance(x), expected, atol=1e-12)
    np.testing.assert_allclose(diag.autocorrelation(x), np.array(expected) / expected[0],
                               atol=1e-12)


def test_autocorrelation_axis():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    a = diag.autocorrelation(x, axis=0)
    b = np.stack([diag.autocorrelation(x[:, j]) for j in range(3)], axis=1)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_ess_iid_close_to_n():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 2000))
    n = x.size
    # sd of the ESS estimate for iid draws is a few percent of n
    assert abs(diag.effective_sample_size(x) / n - 1.0) < 0.15
    assert abs(diag.ess_bulk(x) / n - 1.0) < 0.15
    assert abs(diag.ess_tail(x) / n - 1.0) < 0.25


@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_ess_ar1_closed_form(rho):
    rng = np.random.default_rng(2)
    m, n = 4, 20000
    e = rng.normal(size=(m, n))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / np.sqrt(1 - rho ** 2)
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    expected = m * n * (1 - rho) / (1 + rho)
    assert abs(diag.effective_sample_size(x) / expected - 1.0) < 0.15
    se = 1.0 / np.sqrt(1 - rho ** 2) / np.sqrt(expected)
    assert abs(diag.mcse_mean(x) / se - 1.0) < 0.15


def test_rhat_detects_shifted_chains():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 500))
    assert diag.rhat(x) < 1.01
    assert diag.split_gelman_rubin(x) < 1.01
    shifted = x + np.array([0.0, 0.0, 0.0, 2.0])[:, None]
    assert diag.rhat(shifted) > 1.1
    assert diag.split_gelman_rubin(shifted) > 1.1
    # a trend inside each chain is caught by splitting
    trend = x + np.linspace(-3, 3, 500)[None]
    assert diag.split_gelman_rubin(trend) > 1.1
    assert diag.gelman_rubin(trend) < diag.split_gelman_rubin(trend)


def test_rhat_scale_difference_caught_by_folding():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 1000)) * np.array([1.0, 1.0, 1.0, 4.0])[:, None]
    assert diag.rhat(x) > 1.05


def test_gelman_rubin_hand_computed():
    x = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0]])
    n = 4
    W = np.mean([np.var(c, ddof=1) for c in x])
    B = n * np.var(x.mean(1), ddof=1)
    expected = np.sqrt(((n - 1) / n * W + B / n) / W)
    np.testing.assert_allclose(diag.gelman_rubin(x), expected, rtol=1e-12)


def test_hpdi_and_quantiles():
    x = np.concatenate([np.zeros(5), np.arange(100.0)])
    lo, hi = diag.hpdi(x, 0.5)
    # the densest half of the draws sits at the start
    assert lo == 0.0 and hi <= 50.0
    rng = np.random.default_rng(5)
    y = rng.normal(size=200000)
    lo, hi = diag.hpdi(y, 0.9)
    assert abs(lo + 1.6449) < 0.03 and abs(hi - 1.6449) < 0.03
    q = diag.quantiles(np.arange(101.0), [0.05, 0.5, 0.95])
    np.testing.assert_allclose(q, [5.0, 50.0, 95.0])
    with pytest.raises(ValueError, match="prob"):
        diag.hpdi(y, 1.5)


def test_hpdi_vector_axis():
    rng = np.random.default_rng(6)
    y = rng.normal(size=(3, 10000)) * np.array([1.0, 2.0, 3.0])[:, None]
    h = diag.hpdi(y, 0.9, axis=1)
    assert h.shape == (2, 3)
    np.testing.assert_allclose(h[1], 1.6449 * np.array([1.0, 2.0, 3.0]), rtol=0.05)


def test_summary_and_print(capsys):
    rng = np.random.default_rng(7)
    s = diag.summary({"a": rng.normal(size=(2, 400)), "b": rng.normal(size=(2, 400, 3))})
    assert s["b"]["mean"].shape == (3,)
    for k in ("mean", "std", "median", "5.0%", "95.0%", "n_eff", "r_hat", "ess_tail",
              "mcse_mean"):
        assert k in s["a"]
    assert abs(s["a"]["std"] - 1.0) < 0.1
    diag.print_summary({"a": rng.normal(size=(2, 400))})
    out = capsys.readouterr().out
    assert "n_eff" in out and "r_hat" in out and "a" in out
    s2 = diag.summary({"a": rng.normal(size=400)}, group_by_chain=False)
    assert np.shape(s2["a"]["mean"]) == ()


def test_too_few_draws_error():
    with pytest.raises(ValueError, match="at least 4 draws"):
        diag.effective_sample_size(np.zeros((2, 2)))


def test_accepts_engine_arrays(backend):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 500))
    arr = backend.asarray(x)
    np.testing.assert_allclose(diag.effective_sample_size(arr), diag.effective_sample_size(x))
    np.testing.assert_allclose(diag.rhat(arr), diag.rhat(x))
    np.testing.assert_allclose(diag.hpdi(arr[0]), diag.hpdi(x[0]))
    s = diag.summary({"x": arr})
    np.testing.assert_allclose(s["x"]["mean"], x.mean())


def test_to_arviz_without_arviz_names_pip(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "arviz", None)  # makes `import arviz` fail
    with pytest.raises(ImportError, match="pip install arviz"):
        diag.to_arviz(object())


@pytest.mark.skipif(importlib.util.find_spec("arviz") is None, reason="arviz not installed")
def test_against_arviz():
    import arviz as az

    rng = np.random.default_rng(9)
    x = np.cumsum(rng.normal(size=(4, 300)), axis=1) * 0.1 + rng.normal(size=(4, 300))
    np.testing.assert_allclose(diag.ess_bulk(x), az.ess(x, method="bulk"), rtol=1e-6)
    np.testing.assert_allclose(diag.ess_tail(x), az.ess(x, method="tail"), rtol=1e-6)
    np.testing.assert_allclose(diag.rhat(x), az.rhat(x), rtol=1e-6)
    np.testing.assert_allclose(diag.mcse_mean(x), az.mcse(x, method="mean"), rtol=1e-6)
    y = rng.normal(size=(2, 100))
    np.testing.assert_allclose(diag.ess_bulk(y), az.ess(y, method="bulk"), rtol=1e-6)
