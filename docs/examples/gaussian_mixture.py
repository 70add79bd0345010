"""A two-component Gaussian mixture whose discrete assignments are enumerated out.

Each observation's component ``z`` is a discrete latent site marked
``infer={"enumerate": "parallel"}``: inference sums it out exactly (tensor variable elimination)
instead of sampling it. NUTS samples the continuous parameters (weights, locations, scale) on
torch and JAX; ``infer_discrete`` then recovers the assignments. On numpy the same enumerated
model is sampled with the gradient-free ensemble sampler (AIES). ``--marginalize manual`` runs
the same mixture with the sum over components written by hand (``logsumexp`` in a ``factor``),
a check of the enumeration.

Run: python docs/examples/gaussian_mixture.py --backend jax
"""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, run, save, setup

import polyro
import polyro.distributions as dist
from polyro import ops
from polyro.inference import AIES, MCMC, NUTS

K = 2


def simulate(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.uniform(size=n) < 0.3
    return np.where(z, rng.normal(-2.0, 0.8, n), rng.normal(2.0, 0.8, n))


def priors():
    weights = polyro.sample("weights", dist.Dirichlet(ops.ones(K) * 2.0))
    locs = polyro.sample("locs", dist.Normal(ops.asarray([-1.0, 1.0]), 3.0).to_event(1))
    scale = polyro.sample("scale", dist.LogNormal(0.0, 1.0))
    return weights, locs, scale


def enum_model(data):
    weights, locs, scale = priors()
    with polyro.plate("data", data.shape[0]):
        z = polyro.sample("z", dist.Categorical(weights), infer={"enumerate": "parallel"})
        polyro.sample("obs", dist.Normal(locs[z], scale), obs=data)


def manual_model(data):
    weights, locs, scale = priors()
    lp = ops.log(weights) + dist.Normal(locs, scale).log_prob(data[:, None])  # (N, K)
    polyro.factor("obs", ops.sum(ops.logsumexp(lp, axis=-1)))


def main() -> None:
    ap = parser("gaussian_mixture", __doc__, ("numpy", "torch", "jax"))
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--marginalize", choices=["enum", "manual"], default="enum")
    args = ap.parse_args()
    be = setup(args)
    depth = 3 if args.quick else 10  # NUTS tree depth cap (quick runs stay cheap)
    n = 10 if args.quick else args.samples
    data_np = simulate(200, args.seed)
    data = be.asarray(data_np)
    model = enum_model if args.marginalize == "enum" else manual_model
    if be.SUPPORTS_AUTODIFF:
        kernel, chains, label = NUTS(model, max_tree_depth=depth), 1, "NUTS"
    else:
        kernel, chains, label = AIES(model), 16, "AIES"
    # quick: one chain run on its own, cheaper to compile on JAX (see eight_schools.py)
    mcmc = MCMC(kernel, num_warmup=n, num_samples=n, num_chains=chains,
                chain_method="sequential" if args.quick else "vectorized", progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(be.key(args.seed), data)
    print(f"{label} ({args.marginalize}) on {be.NAME}: {time.perf_counter() - t0:.1f} s")
    s = {k: be.to_numpy(v) for k, v in mcmc.get_samples().items()}
    for k in ("weights", "locs", "scale"):
        print(f"{k:>8}: mean {np.round(s[k].mean(0), 3)}")

    # posterior responsibility of component 1 at the posterior mean (closed form)
    grid = np.linspace(data_np.min() - 1, data_np.max() + 1, 200)
    w, mu, sd = s["weights"].mean(0), s["locs"].mean(0), s["scale"].mean()
    dens = w * np.exp(-0.5 * ((grid[:, None] - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))

    plt = pyplot()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax0.hist(data_np, bins=30, density=True, alpha=0.4, color="gray", label="data")
    for k in range(K):
        ax0.plot(grid, dens[:, k], label=f"component {k}")
    ax0.plot(grid, dens.sum(1), "k", lw=1, label="mixture")
    ax0.set(title=f"mixture fit ({label}, {be.NAME})")
    ax0.legend(fontsize=7)
    for k in range(K):
        ax1.hist(s["locs"][:, k], bins=25, alpha=0.6, label=f"locs[{k}]")
    ax1.set(title="posterior of the locations")
    ax1.legend(fontsize=7)
    save(fig, args.plot)


if __name__ == "__main__":
    run(main)
