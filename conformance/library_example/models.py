"""The library author's model package: polyro primitives, distributions and ``polyro.ops`` only.

It imports neither torch nor jax, so it works for whoever calls it, on the engine they chose.
"""

from __future__ import annotations

import polyro
import polyro.distributions as dist
from polyro import ops


def robust_regression(X, y=None):
    """Student-t regression: w ~ N(0, 1), nu ~ Gamma(2, 0.1), sigma ~ HalfNormal(1)."""
    d = X.shape[-1]
    w = polyro.sample("w", dist.Normal(0.0, 1.0).expand([d]).to_event(1))
    nu = polyro.sample("nu", dist.Gamma(2.0, 0.1))
    sigma = polyro.sample("sigma", dist.HalfNormal(1.0))
    with polyro.plate("N", X.shape[0]):
        return polyro.sample("y", dist.StudentT(nu, ops.matmul(X, w), sigma), obs=y)


def fit(X, y, num_warmup=300, num_samples=300, seed=0):
    """Fit with NUTS on the active backend; returns the posterior mean of ``w`` as numpy."""
    from polyro.inference import MCMC, NUTS

    be = polyro.backends.backend_of(X)
    mcmc = MCMC(NUTS(robust_regression), num_warmup=num_warmup, num_samples=num_samples,
                progress_bar=False)
    mcmc.run(be.key(seed), X, y)
    return be.to_numpy(mcmc.get_samples()["w"]).mean(axis=0)
