"""Shared checks for the MCMC tests: compare draws with exact moments at 4 Monte Carlo
standard errors computed from the run's own effective sample size (numpy oracle).

With ~10 compared quantities per test at 4 MCSE, the false-failure rate is about 1e-3 per test
when the ESS estimate is right; the seeds are fixed, so a run either passes or fails every time.
"""

from __future__ import annotations

import numpy as np

from polyro.inference import diagnostics as diag


def as_np(x) -> np.ndarray:
    return diag.to_numpy(x)


def check_moments(draws, mean, sd, k: float = 4.0, label: str = "") -> dict:
    """``draws``: ``(chains, draws, *shape)``. Checks the mean and the variance of every
    component against ``mean`` / ``sd`` (broadcast to ``shape``) at ``k`` MCSE."""
    x = as_np(draws)
    if x.ndim == 1:
        x = x[None]
    shape = x.shape[2:]
    mean = np.broadcast_to(np.asarray(mean, float), shape)
    sd = np.broadcast_to(np.asarray(sd, float), shape)
    flat = x.reshape(x.shape[:2] + (-1,))
    out = {"z_mean": [], "z_var": [], "ess": []}
    for j in range(flat.shape[2]):
        c = flat[:, :, j]
        m_hat = c.mean()
        mcse_m = diag.mcse_mean(c)
        sq = (c - mean.reshape(-1)[j]) ** 2
        v_hat = sq.mean()
        mcse_v = diag.mcse_mean(sq)
        zm = (m_hat - mean.reshape(-1)[j]) / mcse_m
        zv = (v_hat - sd.reshape(-1)[j] ** 2) / mcse_v
        out["z_mean"].append(float(zm))
        out["z_var"].append(float(zv))
        out["ess"].append(float(diag.ess_mean(c)))
        assert abs(zm) < k, (f"{label}[{j}]: mean {m_hat:.4f} vs exact {mean.reshape(-1)[j]:.4f}"
                             f" is {zm:.2f} MCSE off (mcse {mcse_m:.4f})")
        assert abs(zv) < k, (f"{label}[{j}]: variance {v_hat:.4f} vs exact "
                             f"{sd.reshape(-1)[j] ** 2:.4f} is {zv:.2f} MCSE off")
    return out
