"""The `make demo` example: one model, fitted on numpy, torch and JAX, posteriors side by side.

The model is eight schools (non-centered), with the data of Rubin (1981). torch and JAX run NUTS
(gradients); numpy has no autodiff, so it runs the gradient-free ensemble sampler (AIES). Before
the fit, the seed's generative model A ~ N(0,1), B ~ LogNormal(0,1), C ~ LogNormal(A,B),
X ~ Poisson(C) is simulated forward on each engine from one seed: the portable random stream
makes the draws the same everywhere.

Run: python docs/examples/demo.py [--backends numpy,torch,jax] [--samples 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import polyro
import polyro.distributions as dist
from polyro import handlers

J = 8
Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def seed_model():
    a = polyro.sample("A", dist.Normal(0.0, 1.0))
    b = polyro.sample("B", dist.LogNormal(0.0, 1.0))
    c = polyro.sample("C", dist.LogNormal(a, b))
    return polyro.sample("X", dist.Poisson(c))


def eight_schools(sigma, y=None):
    mu = polyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = polyro.sample("tau", dist.HalfCauchy(5.0))
    with polyro.plate("J", J):
        eta = polyro.sample("eta", dist.Normal(0.0, 1.0))
        theta = polyro.deterministic("theta", mu + tau * eta)
        polyro.sample("y", dist.Normal(theta, sigma), obs=y)


def forward(name: str) -> dict[str, float]:
    be = polyro.backends.get(name)
    tr = handlers.trace(handlers.seed(seed_model, rng_seed=0)).get_trace()
    return {k: float(be.to_numpy(v["value"])) for k, v in tr.nodes.items() if v["type"] == "sample"}


def fit(name: str, num_samples: int) -> tuple[dict[str, np.ndarray], float]:
    from polyro.inference import AIES, MCMC, NUTS

    be = polyro.backends.get(name)
    kernel = NUTS(eight_schools) if be.SUPPORTS_AUTODIFF else AIES(eight_schools)
    chains = 1 if be.SUPPORTS_AUTODIFF else 20
    # one NUTS chain runs unbatched (on torch its leaf steps are then recorded as graphs);
    # AIES's walkers are one batched ensemble
    mcmc = MCMC(kernel, num_warmup=num_samples, num_samples=num_samples, num_chains=chains,
                chain_method="sequential" if chains == 1 else "vectorized", progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(be.key(0), be.asarray(SIGMA), y=be.asarray(Y))
    samples = {k: be.to_numpy(v) for k, v in mcmc.get_samples().items()}
    return samples, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="numpy,torch,jax")
    ap.add_argument("--samples", type=int, default=1000)
    args = ap.parse_args()
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    polyro.set_default_dtype("float64")

    print("Seed model, forward simulation from rng_seed=0 (the same draws on every engine):")
    print(f"{'site':>6} " + " ".join(f"{n:>14}" for n in names))
    sims = {}
    for n in names:
        with polyro.backend(n):
            sims[n] = forward(n)
    for site in sims[names[0]]:
        print(f"{site:>6} " + " ".join(f"{sims[n][site]:>14.6f}" for n in names))

    print("\nEight schools (non-centered): posterior mean (sd), float64")
    fits = {}
    for n in names:
        with polyro.backend(n):
            fits[n] = fit(n, args.samples)
    print(f"{'param':>10} " + " ".join(f"{n:>18}" for n in names))
    rows = [("mu", None), ("tau", None)] + [("theta", j) for j in range(J)]
    for site, j in rows:
        label = site if j is None else f"{site}[{j + 1}]"
        cells = []
        for n in names:
            v = fits[n][0][site]
            v = v if j is None else v[..., j]
            cells.append(f"{v.mean():8.3f} ({v.std():6.3f})")
        print(f"{label:>10} " + " ".join(f"{c:>18}" for c in cells))
    print(f"{'seconds':>10} " + " ".join(f"{fits[n][1]:>18.2f}" for n in names))
    kind = {n: ("NUTS" if polyro.backends.get(n).SUPPORTS_AUTODIFF else "AIES") for n in names}
    print("samplers: " + ", ".join(f"{n}={k}" for n, k in kind.items()))


if __name__ == "__main__":
    main()
