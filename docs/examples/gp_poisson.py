"""Gaussian-process Poisson regression: counts whose log rate is a smooth unknown function.

The latent function ``f = L @ z`` (non-centered: ``L`` is the Cholesky factor of an RBF kernel
with unknown amplitude and length scale, ``z`` standard normal) drives ``y ~ Poisson(exp(f))``.
NUTS samples the kernel hyperparameters and the 40-dimensional ``z`` jointly on torch and JAX.
A 40-dimensional posterior is beyond the gradient-free samplers, so this example needs
gradients; NUTS on numpy stops with polyro's ``AutodiffUnavailableError``. The figure shows the
counts, the true rate and the posterior rate (median and 90% band).

Run: python docs/examples/gp_poisson.py --backend jax
"""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, run, save, setup

import polyro
import polyro.distributions as dist
from polyro import ops
from polyro.inference import MCMC, NUTS


def true_log_rate(x: np.ndarray) -> np.ndarray:
    return 1.0 + np.sin(2.0 * x) + 0.5 * np.cos(5.0 * x)


def simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 3.0, n)
    return x, rng.poisson(np.exp(true_log_rate(x))).astype(float)


def rbf(x, amplitude, length_scale, jitter=1e-5):
    d = (x[:, None] - x[None, :]) / length_scale
    return amplitude**2 * ops.exp(-0.5 * d**2) + jitter * ops.eye(x.shape[0])


def model(x, y=None):
    amplitude = polyro.sample("amplitude", dist.LogNormal(0.0, 1.0))
    length_scale = polyro.sample("length_scale", dist.LogNormal(-0.5, 0.5))
    offset = polyro.sample("offset", dist.Normal(0.0, 2.0))
    n = x.shape[0]
    z = polyro.sample("z", dist.Normal(ops.zeros(n), 1.0).to_event(1))
    chol = ops.cholesky(rbf(x, amplitude, length_scale))
    f = polyro.deterministic("f", offset + ops.matmul(chol, z))
    with polyro.plate("data", n):
        polyro.sample("y", dist.Poisson(ops.exp(f)), obs=y)


def main() -> None:
    ap = parser("gp_poisson", __doc__, ("torch", "jax"))
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--points", type=int, default=40)
    args = ap.parse_args()
    be = setup(args)
    depth = 3 if args.quick else 10  # NUTS tree depth cap (quick runs stay cheap)
    n_draws = 10 if args.quick else args.samples
    points = 15 if args.quick else args.points
    x_np, y_np = simulate(points, args.seed)
    mcmc = MCMC(NUTS(model, max_tree_depth=depth), num_warmup=n_draws, num_samples=n_draws, num_chains=1,
                progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(be.key(args.seed), be.asarray(x_np), y=be.asarray(y_np))
    print(f"NUTS on {be.NAME}: {time.perf_counter() - t0:.1f} s")
    s = {k: be.to_numpy(v) for k, v in mcmc.get_samples().items()}
    for k in ("amplitude", "length_scale", "offset"):
        print(f"{k:>12}: mean {s[k].mean():.3f}  sd {s[k].std():.3f}")
    lo, med, hi = np.percentile(np.exp(s["f"]), [5, 50, 95], axis=0)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(x_np, y_np, "o", ms=3, color="gray", label="counts")
    ax.plot(x_np, np.exp(true_log_rate(x_np)), "k--", lw=1, label="true rate")
    ax.plot(x_np, med, "C0", label="posterior median rate")
    ax.fill_between(x_np, lo, hi, color="C0", alpha=0.3, label="90% band")
    ax.set(xlabel="x", ylabel="count", title=f"GP Poisson regression (NUTS, {be.NAME})")
    ax.legend(fontsize=7)
    save(fig, args.plot)


if __name__ == "__main__":
    run(main)
