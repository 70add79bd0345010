"""Bayesian logistic regression on simulated data, with NUTS and with SVI (AutoNormal).

On torch and JAX both run: NUTS for the exact posterior and SVI with a mean-field normal guide;
the figure overlays the two posteriors of each coefficient and marks the true value. numpy has
no gradients: there the posterior comes from the gradient-free ensemble sampler (AIES) and SVI
is skipped.

Run: python docs/examples/logistic_regression.py --backend torch
"""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, run, save, setup

import polyro
import polyro.distributions as dist
from polyro.inference import AIES, MCMC, NUTS, SVI, Trace_ELBO
from polyro.inference.autoguide import AutoNormal
from polyro.optim import Adam

TRUE_W = np.array([1.5, -2.0, 0.5])
TRUE_B = -0.5


def simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(TRUE_W)))
    p = 1.0 / (1.0 + np.exp(-(x @ TRUE_W + TRUE_B)))
    return x, (rng.uniform(size=n) < p).astype(float)


def model(x, y=None):
    w = polyro.sample("w", dist.Normal(0.0, 2.0).expand([x.shape[-1]]).to_event(1))
    b = polyro.sample("b", dist.Normal(0.0, 2.0))
    with polyro.plate("data", x.shape[0]):
        polyro.sample("y", dist.Bernoulli(logits=x @ w + b), obs=y)


def main() -> None:
    ap = parser("logistic_regression", __doc__, ("numpy", "torch", "jax"))
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--steps", type=int, default=2000)
    args = ap.parse_args()
    be = setup(args)
    depth = 3 if args.quick else 10  # NUTS tree depth cap (quick runs stay cheap)
    n_draws = 10 if args.quick else args.samples
    steps = 20 if args.quick else args.steps
    x_np, y_np = simulate(200, args.seed)
    x, y = be.asarray(x_np), be.asarray(y_np)

    posts: dict[str, np.ndarray] = {}
    if be.SUPPORTS_AUTODIFF:
        kernel, chains, label = NUTS(model, max_tree_depth=depth), 1, "NUTS"
    else:
        kernel, chains, label = AIES(model), 16, "AIES"
    # quick: one chain run on its own, cheaper to compile on JAX (see eight_schools.py)
    mcmc = MCMC(kernel, num_warmup=n_draws, num_samples=n_draws, num_chains=chains,
                chain_method="sequential" if args.quick else "vectorized", progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(be.key(args.seed), x, y=y)
    s = mcmc.get_samples()
    posts[label] = np.concatenate([be.to_numpy(s["w"]), be.to_numpy(s["b"])[:, None]], axis=1)
    print(f"{label} on {be.NAME}: {time.perf_counter() - t0:.1f} s")

    losses = None
    if be.SUPPORTS_AUTODIFF:
        guide = AutoNormal(model)
        svi = SVI(model, guide, Adam(0.02), Trace_ELBO())
        t0 = time.perf_counter()
        res = svi.run(be.key(args.seed + 1), steps, x, y=y, progress_bar=False)
        print(f"SVI on {be.NAME}: {steps} steps in {time.perf_counter() - t0:.1f} s")
        losses = be.to_numpy(res.losses)
        n_post = 100 if args.quick else 1000  # guide draws (torch draws them one by one)
        d = guide.sample_posterior(be.key(2), res.params, sample_shape=(n_post,))
        posts["SVI (AutoNormal)"] = np.concatenate(
            [be.to_numpy(d["w"]), be.to_numpy(d["b"])[:, None]], axis=1)

    truth = np.append(TRUE_W, TRUE_B)
    names = ["w[0]", "w[1]", "w[2]", "b"]
    for k, v in posts.items():
        print(f"{k:>18}: " + "  ".join(f"{nm}={m:6.3f}" for nm, m in zip(names, v.mean(0), strict=True)))
    print(f"{'truth':>18}: " + "  ".join(f"{nm}={m:6.3f}" for nm, m in zip(names, truth, strict=True)))

    plt = pyplot()
    ncols = 5 if losses is not None else 4
    fig, axes = plt.subplots(1, ncols, figsize=(2.3 * ncols, 2.6))
    for j, ax in enumerate(axes[:4]):
        for k, v in posts.items():
            ax.hist(v[:, j], bins=25, density=True, alpha=0.5, label=k)
        ax.axvline(truth[j], color="k", lw=1)
        ax.set_title(names[j])
    axes[0].legend(fontsize=7)
    if losses is not None:
        axes[4].plot(losses, lw=0.7)
        axes[4].set(title="SVI loss", xlabel="step")
    fig.suptitle(f"logistic regression on {be.NAME}", fontsize=10)
    save(fig, args.plot)


if __name__ == "__main__":
    run(main)
