"""Small catalog models with closed-form or brute-force references.

* the seed's generative model (A, B, C, X) and its plated version;
* conjugate models whose posteriors are known exactly;
* a model with a discrete latent (marginalized by enumeration);
* a model with subsampling;
* a model with a constrained matrix site (LKJ Cholesky);
* hidden Markov models scored by ``DiscreteHMM`` and ``GaussianHMM``.
"""

from __future__ import annotations

import math

import numpy as np

import polyro as pr
import polyro.distributions as dist
from polyro import ops

# ---------------------------------------------------------------- the seed's models


def seed_generative(X=None):
    """A ~ N(0,1), B ~ LogNormal(0,1), C ~ LogNormal(A, B), X ~ Poisson(C)."""
    a = pr.sample("A", dist.Normal(0.0, 1.0))
    b = pr.sample("B", dist.LogNormal(0.0, 1.0))
    c = pr.sample("C", dist.LogNormal(a, b))
    return pr.sample("X", dist.Poisson(c), obs=X)


def seed_plated(n_groups=3, n_obs=4, X=None):
    """The generative model with a group-level C per group and observations per group."""
    a = pr.sample("A", dist.Normal(0.0, 1.0))
    b = pr.sample("B", dist.LogNormal(0.0, 1.0))
    with pr.plate("groups", n_groups, dim=-2):
        c = pr.sample("C", dist.LogNormal(a, b))
        with pr.plate("obs", n_obs, dim=-1):
            return pr.sample("X", dist.Poisson(c), obs=X)


def seed_prior_moments() -> dict[str, tuple[float, float]]:
    """Analytic prior (mean, variance) of A, B, log C and X (X by the law of total moments)."""
    e = math.e
    mean_b, var_b = math.sqrt(e), (e - 1) * e
    # log C | A, B ~ N(A, B^2): E = 0, Var = 1 + E[B^2] = 1 + e^2
    var_logc = 1.0 + e**2
    # E[C] = E[exp(A + B^2/2)] = e^{1/2} E[exp(B^2/2)] (diverges: B^2/2 ~ lognormal; infinite)
    return {"A": (0.0, 1.0), "B": (mean_b, var_b), "logC": (0.0, var_logc)}


# ---------------------------------------------------------------- conjugate models


def normal_normal(y, sigma=1.0, mu0=0.0, tau0=2.0):
    mu = pr.sample("mu", dist.Normal(mu0, tau0))
    with pr.plate("N", y.shape[0]):
        pr.sample("y", dist.Normal(mu, sigma), obs=y)


def normal_normal_posterior(y, sigma=1.0, mu0=0.0, tau0=2.0):
    prec = 1 / tau0**2 + len(y) / sigma**2
    mean = (mu0 / tau0**2 + np.sum(y) / sigma**2) / prec
    return {"mu": (mean, math.sqrt(1 / prec))}


def beta_binomial(k, n, a=2.0, b=3.0):
    p = pr.sample("p", dist.Beta(a, b))
    with pr.plate("N", k.shape[0]):
        pr.sample("k", dist.Binomial(n, probs=p), obs=k)


def beta_binomial_posterior(k, n, a=2.0, b=3.0):
    a2, b2 = a + np.sum(k), b + np.sum(n - k)
    return {"p": (a2 / (a2 + b2), math.sqrt(a2 * b2 / ((a2 + b2) ** 2 * (a2 + b2 + 1))))}


def gamma_poisson(x, a=3.0, rate=2.0):
    lam = pr.sample("lam", dist.Gamma(a, rate))
    with pr.plate("N", x.shape[0]):
        pr.sample("x", dist.Poisson(lam), obs=x)


def gamma_poisson_posterior(x, a=3.0, rate=2.0):
    a2, r2 = a + np.sum(x), rate + len(x)
    return {"lam": (a2 / r2, math.sqrt(a2) / r2)}


def subsampled_normal(y, subsample_size=20):
    """Normal mean with a subsampled likelihood; the log density is scaled by N/subsample."""
    mu = pr.sample("mu", dist.Normal(0.0, 10.0))
    with pr.plate("N", y.shape[0], subsample_size=subsample_size) as idx:
        pr.sample("y", dist.Normal(mu, 1.0), obs=ops.take(y, idx, axis=0))


# ---------------------------------------------------------------- discrete latent, LKJ


def two_component_mixture(y, locs=(-2.0, 2.0), weights=(0.3, 0.7)):
    """A mixture whose discrete assignment z is enumerated; only the scale is continuous."""
    sigma = pr.sample("sigma", dist.LogNormal(0.0, 0.5))
    probs = ops.asarray(weights)
    loc = ops.asarray(locs)
    with pr.plate("N", y.shape[0]):
        z = pr.sample("z", dist.Categorical(probs), infer={"enumerate": "parallel"})
        pr.sample("y", dist.Normal(ops.take(loc, z, axis=0), sigma), obs=y)


def lkj_model(y, dim=3, eta=2.0):
    """Correlated Gaussian data with an LKJ-Cholesky prior on the correlation."""
    L = pr.sample("L", dist.LKJCholesky(dim, eta))
    with pr.plate("N", y.shape[0]):
        pr.sample("y", dist.MultivariateNormal(ops.zeros(dim, dtype=y.dtype), scale_tril=L),
                  obs=y)


# ---------------------------------------------------------------- hidden Markov models


def discrete_hmm(y, states=2):
    """A two-state HMM with Normal emissions, the chain summed out by ``DiscreteHMM``."""
    trans = pr.sample("trans", dist.Dirichlet(ops.ones((states, states))).to_event(1))
    locs = pr.sample("locs", dist.Normal(ops.zeros(states), 3.0).to_event(1))
    pr.sample("y", dist.DiscreteHMM(ops.zeros(states), ops.log(trans),
                                    dist.Normal(locs, 1.0)), obs=y)


def gaussian_hmm(y):
    """A local level model (random walk plus noise), the level summed out by ``GaussianHMM``."""
    q = pr.sample("q", dist.HalfNormal(1.0))
    r = pr.sample("r", dist.HalfNormal(1.0))
    one = ops.ones(1)
    pr.sample("y", dist.GaussianHMM(dist.Normal(0.0 * one, 5.0 * one).to_event(1), ops.eye(1),
                                    dist.Normal(0.0 * one, q * one).to_event(1), ops.eye(1),
                                    dist.Normal(0.0 * one, r * one).to_event(1)), obs=y)
