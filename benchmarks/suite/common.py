"""Shared set-up for the asv suite: backend selection, skipping and the models benchmarked."""

from __future__ import annotations

import numpy as np

import polyro
import polyro.distributions as dist
from polyro import ops

BACKENDS = ["numpy", "torch", "jax"]


def enter(name: str, need_grad: bool = False):
    """Select backend ``name`` in float64; raise NotImplementedError (asv: skipped) if unusable."""
    try:
        be = polyro.backends.get(name)
    except ImportError as e:  # engine not installed
        raise NotImplementedError(str(e)) from e
    if need_grad and not be.SUPPORTS_AUTODIFF:
        raise NotImplementedError(f"{name} has no autodiff: gradient benchmarks skip it")
    polyro.set_default_dtype("float64")
    polyro.set_backend(name)
    return be


def block(be, x):
    """Wait for asynchronous engines (JAX) so the timing covers the work."""
    for leaf in be.tree_leaves(x):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    return x


def logistic_data(n: int = 5000, d: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d) * 0.5
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(float)
    return X, y


def logistic_model(X, y=None):
    d = X.shape[1]
    w = polyro.sample("w", dist.Normal(0.0, 1.0).expand([d]).to_event(1))
    b = polyro.sample("b", dist.Normal(0.0, 5.0))
    with polyro.plate("N", X.shape[0]):
        polyro.sample("y", dist.Bernoulli(logits=ops.matmul(X, w) + b), obs=y)


EIGHT_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def eight_schools(sigma, y=None):
    mu = polyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = polyro.sample("tau", dist.HalfCauchy(5.0))
    with polyro.plate("J", 8):
        eta = polyro.sample("eta", dist.Normal(0.0, 1.0))
        polyro.sample("y", dist.Normal(mu + tau * eta, sigma), obs=y)


def seed_plated(n_groups=100, n_obs=50, X=None):
    a = polyro.sample("A", dist.Normal(0.0, 1.0))
    b = polyro.sample("B", dist.LogNormal(0.0, 1.0))
    with polyro.plate("groups", n_groups, dim=-2):
        c = polyro.sample("C", dist.LogNormal(a, b))
        with polyro.plate("obs", n_obs, dim=-1):
            return polyro.sample("X", dist.Poisson(c), obs=X)
