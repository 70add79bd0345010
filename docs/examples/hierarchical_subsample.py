"""A hierarchical linear regression fitted by SVI on random mini-batches (data subsampling).

Ten groups share a population distribution of intercepts; 2,000 observations are visited 100 at a
time with ``polyro.plate("data", N, subsample_size=100)``, which rescales the likelihood by
``N / 100`` so each step's ELBO is an unbiased estimate of the full one. The guide is
``AutoNormal`` (a mean-field normal over the unconstrained latents). SVI needs gradients, so this
example runs on torch and JAX; on numpy it stops with polyro's ``AutodiffUnavailableError``.
The figure shows the loss curve and each group's intercept (guide median and 90% interval)
against the truth.

Run: python docs/examples/hierarchical_subsample.py --backend jax
"""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, run, save, setup

import polyro
import polyro.distributions as dist
from polyro.inference import SVI, Trace_ELBO
from polyro.inference.autoguide import AutoNormal
from polyro.optim import Adam

G, N, BATCH = 10, 2000, 100


def simulate(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(1.0, 1.5, size=G)
    group = rng.integers(0, G, size=N)
    x = rng.normal(size=N)
    y = a[group] + 0.8 * x + rng.normal(0.0, 0.5, size=N)
    return a, group, x, y


def model(group, x, y=None):
    mu_a = polyro.sample("mu_a", dist.Normal(0.0, 5.0))
    sigma_a = polyro.sample("sigma_a", dist.HalfNormal(2.0))
    slope = polyro.sample("slope", dist.Normal(0.0, 5.0))
    sigma = polyro.sample("sigma", dist.HalfNormal(2.0))
    with polyro.plate("group", G):
        a = polyro.sample("a", dist.Normal(mu_a, sigma_a))
    with polyro.plate("data", x.shape[0], subsample_size=BATCH) as idx:
        loc = a[group[idx]] + slope * x[idx]
        polyro.sample("y", dist.Normal(loc, sigma), obs=None if y is None else y[idx])


def main() -> None:
    ap = parser("hierarchical_subsample", __doc__, ("torch", "jax"))
    ap.add_argument("--steps", type=int, default=3000)
    args = ap.parse_args()
    be = setup(args)
    steps = 30 if args.quick else args.steps
    a_true, group, x, y = simulate(args.seed)
    guide = AutoNormal(model)
    svi = SVI(model, guide, Adam(0.02), Trace_ELBO())
    t0 = time.perf_counter()
    res = svi.run(be.key(args.seed), steps, be.asarray(group), be.asarray(x), y=be.asarray(y),
                  progress_bar=False)
    dt = time.perf_counter() - t0
    print(f"SVI (AutoNormal, batch {BATCH} of {N}) on {be.NAME}: {steps} steps in {dt:.1f} s")
    losses = be.to_numpy(res.losses)
    q = {k: be.to_numpy(v) for k, v in guide.quantiles([0.05, 0.5, 0.95], res.params).items()}
    for k in ("mu_a", "sigma_a", "slope", "sigma"):
        print(f"{k:>8}: median {float(q[k][1]):7.3f}  90% [{float(q[k][0]):.3f}, "
              f"{float(q[k][2]):.3f}]")
    print("true slope 0.8, sigma 0.5")

    plt = pyplot()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax0.plot(losses, lw=0.5)
    ax0.set(xlabel="step", ylabel="-ELBO (mini-batch estimate)", title=f"SVI loss ({be.NAME})")
    if len(losses) > 50:
        ax0.set_ylim(np.percentile(losses, 1), np.percentile(losses, 95))
    lo, med, hi = q["a"]
    idx = np.arange(G)
    ax1.errorbar(idx, med, yerr=[med - lo, hi - med], fmt="o", capsize=3, label="guide 90%")
    ax1.plot(idx, a_true, "x", color="C3", label="true intercept")
    ax1.set(xlabel="group", ylabel="intercept", title="group intercepts")
    ax1.legend(fontsize=7)
    save(fig, args.plot)


if __name__ == "__main__":
    run(main)
