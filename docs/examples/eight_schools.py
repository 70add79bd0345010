"""Eight schools: a hierarchical model of the SAT coaching experiments (Rubin, 1981).

The non-centered parameterization ``theta = mu + tau * eta`` is sampled with NUTS on torch and
JAX; numpy has no gradients, so there it runs the gradient-free affine-invariant ensemble sampler
(AIES). The figure shows each school's posterior effect (median and 90% interval) next to its
observed effect, and the trace of ``tau``.

Run: python docs/examples/eight_schools.py --backend jax
"""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, run, save, setup

import polyro
import polyro.distributions as dist
from polyro.inference import AIES, MCMC, NUTS
from polyro.inference.diagnostics import summary

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def model(sigma, y=None):
    mu = polyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = polyro.sample("tau", dist.HalfCauchy(5.0))
    with polyro.plate("school", sigma.shape[0]):
        eta = polyro.sample("eta", dist.Normal(0.0, 1.0))
        theta = polyro.deterministic("theta", mu + tau * eta)
        polyro.sample("y", dist.Normal(theta, sigma), obs=y)


def main() -> None:
    ap = parser("eight_schools", __doc__, ("numpy", "torch", "jax"))
    ap.add_argument("--samples", type=int, default=1000)
    args = ap.parse_args()
    be = setup(args)
    depth = 3 if args.quick else 10  # NUTS tree depth cap (quick runs stay cheap)
    n = 10 if args.quick else args.samples
    if be.SUPPORTS_AUTODIFF:
        kernel, chains, label = NUTS(model, max_tree_depth=depth), (1 if args.quick else 2), "NUTS"
    else:
        kernel, chains, label = AIES(model), 20, "AIES"
    # quick: one chain run on its own ("sequential"): JAX compiles its potential and gradient as
    # one program, where vectorized chains evaluate them op by op (each op compiled) at start-up
    mcmc = MCMC(kernel, num_warmup=n, num_samples=n, num_chains=chains,
                chain_method="sequential" if args.quick else "vectorized", progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(be.key(args.seed), be.asarray(SIGMA), y=be.asarray(Y))
    print(f"{label} on {be.NAME}: {time.perf_counter() - t0:.1f} s")
    grouped = {k: be.to_numpy(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    stats = summary({k: grouped[k] for k in ("mu", "tau")})
    for site, s in stats.items():
        print(f"{site:>4}: mean {float(s['mean']):7.3f}  sd {float(s['std']):6.3f}  "
              f"r_hat {float(s['r_hat']):5.3f}")
    theta = grouped["theta"].reshape(-1, len(Y))

    plt = pyplot()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.4))
    lo, med, hi = np.percentile(theta, [5, 50, 95], axis=0)
    idx = np.arange(len(Y))
    ax0.errorbar(idx, med, yerr=[med - lo, hi - med], fmt="o", capsize=3, label="posterior 90%")
    ax0.plot(idx, Y, "x", color="C3", label="observed effect")
    ax0.set(xlabel="school", ylabel="effect", title=f"eight schools ({label}, {be.NAME})")
    ax0.legend(fontsize=8)
    for c in range(grouped["tau"].shape[0]):
        ax1.plot(grouped["tau"][c], lw=0.6)
    ax1.set(xlabel="draw", ylabel="tau", title="trace of tau (per chain)")
    save(fig, args.plot)


if __name__ == "__main__":
    run(main)
