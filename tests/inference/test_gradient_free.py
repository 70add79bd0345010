"""Random-walk Metropolis and AIES on every backend (numpy included) against closed forms.

Tolerance: 4 MCSE from the run's own ESS (mcmc_checks.py); seeds fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from mcmc_checks import as_np, check_moments

import polyro
import polyro.distributions as dist
from polyro.inference.mcmc import AIES, MCMC, RandomWalkMetropolis

COV = np.array([[1.0, 0.5], [0.5, 2.0]])
MEAN = np.array([0.5, -1.0])


def _pot(be):
    xp = be.xp
    P = be.asarray(np.linalg.inv(COV))
    mu = be.asarray(MEAN)

    def pot(z):
        d = z["x"] - mu
        return 0.5 * xp.sum(d * xp.matmul(P, d))

    return pot


def test_rwm_gaussian_vectorized(backend):
    be = backend
    k = RandomWalkMetropolis(potential_fn=_pot(be))
    m = MCMC(k, num_warmup=400, num_samples=600, num_chains=6, chain_method="vectorized",
             progress_bar=False)
    init = {"x": be.asarray(np.random.default_rng(0).normal(size=(6, 2)))}
    m.run(be.key(0), init_params=init)
    x = m.get_samples(group_by_chain=True)["x"]
    assert tuple(x.shape) == (6, 600, 2)
    check_moments(x, MEAN, np.sqrt(np.diag(COV)), label="rwm x")
    acc = m.get_extra_fields()["accept_prob"].mean()
    assert 0.1 < acc < 0.6  # adapted towards 0.234


def test_aies_gaussian(backend):
    be = backend
    k = AIES(potential_fn=_pot(be))
    m = MCMC(k, num_warmup=300, num_samples=400, progress_bar=False)
    init = {"x": be.asarray(np.random.default_rng(1).normal(size=(12, 2)))}
    m.run(be.key(1), init_params=init)
    x = m.get_samples(group_by_chain=True)["x"]
    assert tuple(x.shape) == (12, 400, 2)
    check_moments(x, MEAN, np.sqrt(np.diag(COV)), label="aies x")


def test_rwm_model_beta_binomial(backend):
    be = backend

    def model(n, k):
        p = polyro.sample("p", dist.Beta(2.0, 3.0))
        polyro.sample("k", dist.Binomial(n, probs=p), obs=k)

    kern = RandomWalkMetropolis(model)
    m = MCMC(kern, num_warmup=300, num_samples=700, num_chains=4, chain_method="vectorized",
             progress_bar=False)
    m.run(be.key(2), 20.0, be.asarray(7.0))
    p = as_np(m.get_samples(group_by_chain=True)["p"])
    assert np.all((p > 0) & (p < 1))
    a, b = 2.0 + 7.0, 3.0 + 13.0
    check_moments(p, a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))), label="p")


def test_aies_bad_walkers():
    with pytest.raises(ValueError, match="even"):
        AIES(potential_fn=lambda z: 0.0, num_walkers=5)
    with pytest.raises(ValueError, match="exactly one"):
        RandomWalkMetropolis()
