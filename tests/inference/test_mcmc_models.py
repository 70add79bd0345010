"""NUTS on models run as written (constrained sites through biject_to, Jacobian in the
potential, constrained draws, deterministic sites) against closed-form posteriors, on torch and
jax; divergences on the centered eight schools; initialization errors; numpy's clear error.

Tolerance: 4 MCSE from the run's own ESS (mcmc_checks.py); seeds fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from mcmc_checks import as_np, check_moments

import polyro
import polyro.distributions as dist
from polyro.errors import AutodiffUnavailableError, InitializationError
from polyro.inference.mcmc import MCMC, NUTS

Y = np.array([0.8, 1.9, 1.2, 0.4, 2.5, 1.1, 1.7, 0.9, 1.4, 2.2])
ES_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
ES_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def normal_normal(y):
    mu = polyro.sample("mu", dist.Normal(0.0, 2.0))
    polyro.deterministic("mu2", mu * 2.0)
    with polyro.plate("N", y.shape[0]):
        polyro.sample("y", dist.Normal(mu, 1.0), obs=y)


def beta_binomial(n, k):
    p = polyro.sample("p", dist.Beta(2.0, 3.0))
    polyro.sample("k", dist.Binomial(n, probs=p), obs=k)


def gamma_poisson(y):
    lam = polyro.sample("lam", dist.Gamma(3.0, 2.0))
    with polyro.plate("N", y.shape[0]):
        polyro.sample("y", dist.Poisson(lam), obs=y)


def test_conjugate_models(grad_backend):
    be = grad_backend
    # Normal-Normal: prior N(0, 2^2), unit noise
    prec = 1 / 4.0 + len(Y)
    m = MCMC(NUTS(normal_normal), num_warmup=200, num_samples=400, progress_bar=False)
    m.run(be.key(0), be.asarray(Y))
    s = m.get_samples(group_by_chain=True)
    check_moments(s["mu"], Y.sum() / prec, np.sqrt(1 / prec), label="mu")
    np.testing.assert_allclose(as_np(s["mu2"]), 2 * as_np(s["mu"]), rtol=1e-12)
    # Beta-Binomial: Beta(2 + 7, 3 + 13), a constrained (0, 1) site
    m = MCMC(NUTS(beta_binomial), num_warmup=200, num_samples=400, progress_bar=False)
    m.run(be.key(1), 20.0, be.asarray(7.0))
    p = as_np(m.get_samples(group_by_chain=True)["p"])
    assert np.all((p > 0) & (p < 1))
    a, b = 9.0, 16.0
    check_moments(p, a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))), label="p")
    # Gamma-Poisson: Gamma(3 + sum y, 2 + n) (rate), a positive site
    yc = np.array([2.0, 0.0, 3.0, 1.0, 4.0, 2.0])
    m = MCMC(NUTS(gamma_poisson), num_warmup=200, num_samples=400, progress_bar=False)
    m.run(be.key(2), be.asarray(yc))
    lam = as_np(m.get_samples(group_by_chain=True)["lam"])
    shape, rate = 3.0 + yc.sum(), 2.0 + len(yc)
    assert np.all(lam > 0)
    check_moments(lam, shape / rate, np.sqrt(shape) / rate, label="lam")


def eight_schools_centered(y, sigma):
    mu = polyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = polyro.sample("tau", dist.HalfCauchy(5.0))
    with polyro.plate("J", 8):
        theta = polyro.sample("theta", dist.Normal(mu, tau))
        polyro.sample("y", dist.Normal(theta, sigma), obs=y)


def test_centered_eight_schools_records_divergences(grad_backend):
    be = grad_backend
    # trees capped at depth 6: the funnel's neck otherwise drives them to 1023 leapfrog steps
    # (torch: ~3 min), and divergences are recorded at any depth
    m = MCMC(NUTS(eight_schools_centered, target_accept_prob=0.6, max_tree_depth=6),
             num_warmup=100, num_samples=200, progress_bar=False)
    m.run(be.key(3), be.asarray(ES_Y), be.asarray(ES_SIGMA))
    ex = m.get_extra_fields()
    s = m.get_samples()
    assert ex["diverging"].sum() > 0
    for v in s.values():
        assert np.all(np.isfinite(as_np(v)))
    assert np.all(as_np(s["tau"]) > 0)


def test_initialization_error_names_site(grad_backend):
    be = grad_backend

    def bad(y):
        s = polyro.sample("s", dist.HalfNormal(1.0))
        polyro.sample("obs", dist.Normal(0.0, s), obs=y)
        polyro.factor("broken", be.asarray(-np.inf))

    with pytest.raises(InitializationError, match="broken|init"):
        MCMC(NUTS(bad), num_warmup=5, num_samples=5, progress_bar=False).run(
            be.key(0), be.asarray([1.0]))


def test_subsampled_plate_gets_a_clear_error(backend):
    """HMC/NUTS and the gradient-free kernels need the full data's potential: a plate with
    subsample_size names itself and the fix (it was a missing-key error from the potential)."""
    from polyro.inference.mcmc import RandomWalkMetropolis

    be = backend

    def model(y):
        mu = polyro.sample("mu", dist.Normal(0.0, 1.0))
        with polyro.plate("data", 4, subsample_size=2) as idx:
            polyro.sample("y", dist.Normal(mu, 1.0), obs=y[idx])

    kernel = NUTS(model) if be.SUPPORTS_AUTODIFF else RandomWalkMetropolis(model)
    with pytest.raises(ValueError, match="plate 'data'.*size 2 from 4.*MCMC.*remove "
                       "subsample_size"):
        MCMC(kernel, num_warmup=5, num_samples=5, progress_bar=False).run(
            0, be.asarray(np.arange(4.0)))


def test_numpy_model_error(backend):
    be = backend
    m = MCMC(NUTS(normal_normal), num_warmup=5, num_samples=5, progress_bar=False)
    if be.SUPPORTS_AUTODIFF:
        m.run(be.key(0), be.asarray(Y))
        assert tuple(m.get_samples()["mu"].shape) == (5,)
    else:
        with pytest.raises(AutodiffUnavailableError, match="RandomWalkMetropolis"):
            m.run(be.key(0), be.asarray(Y))


# The noncentered eight schools posterior against posteriordb's Stan reference is checked on torch
# and JAX by conformance/test_conformance.py::test_posterior_matches_reference (4 chains, the
# catalog's settings): a second, shorter copy here only cost CI time.


def test_obs_mask_imputation_has_no_flat_directions(grad_backend):
    """Missing data through ``obs_mask``: the posterior of the mean and of the missing entries
    match the closed form (Normal-Normal), and the latent's entries that were observed follow
    N(0, 1) instead of drifting without bound (masked out, as in Pyro and NumPyro, they had no
    density: NUTS random-walked them to 1e13 here, and an AutoNormal's scale for them grew to
    1e42 with an ELBO that fell below minus the log evidence). The ELBO is now bounded by the
    exact log evidence (scipy)."""
    from scipy import stats

    from polyro.inference import SVI, Trace_ELBO
    from polyro.inference.autoguide import AutoNormal
    from polyro.optim import Adam

    be = grad_backend
    y = np.array([1.0, 2.0, 0.0, 0.5, 0.0])
    mask = np.array([True, True, False, True, False])

    def model(y, m):
        mu = polyro.sample("mu", dist.Normal(0.0, 10.0))
        with polyro.plate("N", 5):
            polyro.sample("y", dist.Normal(mu, 1.0), obs=y, obs_mask=m)

    args = (be.asarray(y), be.asarray(mask))
    mcmc = MCMC(NUTS(model), num_warmup=400, num_samples=1500, progress_bar=False)
    mcmc.run(be.key(0), *args)
    s = mcmc.get_samples(group_by_chain=True)
    prec = 3.0 + 0.01  # three observations and the N(0, 10^2) prior
    check_moments(s["mu"], 3.5 / prec, 1 / np.sqrt(prec), label="mu")
    unobs = as_np(s["y_unobserved"])
    check_moments(unobs[..., ~mask], 3.5 / prec, np.sqrt(1 + 1 / prec), label="missing")
    check_moments(unobs[..., mask], 0.0, 1.0, label="padding")

    res = SVI(model, AutoNormal(model), Adam(0.05), Trace_ELBO()).run(
        be.key(1), 1500, *args, progress_bar=False)
    log_evidence = stats.multivariate_normal(np.zeros(3), 100.0 + np.eye(3)).logpdf(y[mask])
    losses = as_np(res.losses)
    assert np.all(np.isfinite(losses))
    assert losses[-300:].mean() > -log_evidence - 0.5, (losses[-300:].mean(), -log_evidence)
