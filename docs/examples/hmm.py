"""A two-state hidden Markov model with Gaussian emissions, fitted with the forward algorithm.

The hidden states are summed out by the forward algorithm written once with ``polyro.ops``
(``logsumexp``) and ``polyro.ops.scan`` (one traced step on JAX); the marginal log likelihood enters the model through
``polyro.factor``. NUTS samples the transition matrix and the emission locations on torch and
JAX; numpy runs the gradient-free ensemble sampler (AIES). The figure shows the data, the
posterior probability of state 1 (forward-backward at the posterior mean) and the true states.

Run: python docs/examples/hmm.py --backend jax
"""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, run, save, setup

import polyro
import polyro.distributions as dist
from polyro import ops

TRUE_TRANS = np.array([[0.9, 0.1], [0.2, 0.8]])
TRUE_LOCS = np.array([-1.0, 1.5])


def simulate(t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = np.zeros(t, dtype=int)
    for i in range(1, t):
        z[i] = rng.uniform() < TRUE_TRANS[z[i - 1], 1]
    return TRUE_LOCS[z] + 0.7 * rng.normal(size=t), z


def forward_log_likelihood(log_init, log_trans, log_emit):
    """log p(y_1..T) by the forward algorithm; ``log_emit`` has shape (T, K)."""
    def step(alpha, le):
        alpha = ops.logsumexp(alpha[:, None] + log_trans, axis=0) + le
        return alpha, None

    alpha, _ = ops.scan(step, log_init + log_emit[0], log_emit[1:])
    return ops.logsumexp(alpha, axis=-1)


def model(y):
    trans = polyro.sample("trans", dist.Dirichlet(ops.asarray([[4.0, 1.0], [1.0, 4.0]])).to_event(1))
    locs = polyro.sample("locs", dist.Normal(ops.asarray([-1.0, 1.0]), 2.0).to_event(1))
    scale = polyro.sample("scale", dist.LogNormal(0.0, 1.0))
    log_emit = dist.Normal(locs, scale).log_prob(y[:, None])
    log_init = ops.log(ops.ones(2) / 2.0)
    polyro.factor("y", forward_log_likelihood(log_init, ops.log(trans), log_emit))


def smoothed(y: np.ndarray, trans: np.ndarray, locs: np.ndarray, scale: float) -> np.ndarray:
    """p(z_t = k | y) by forward-backward in plain numpy (for the figure)."""
    emit = np.exp(-0.5 * ((y[:, None] - locs) / scale) ** 2)
    t = len(y)
    fwd, bwd = np.zeros((t, 2)), np.ones((t, 2))
    fwd[0] = 0.5 * emit[0] / (0.5 * emit[0]).sum()
    for i in range(1, t):
        f = (fwd[i - 1] @ trans) * emit[i]
        fwd[i] = f / f.sum()
    for i in range(t - 2, -1, -1):
        b = trans @ (emit[i + 1] * bwd[i + 1])
        bwd[i] = b / b.sum()
    post = fwd * bwd
    return post / post.sum(1, keepdims=True)


def main() -> None:
    from polyro.inference import AIES, MCMC, NUTS

    ap = parser("hmm", __doc__, ("numpy", "torch", "jax"))
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--length", type=int, default=100)
    args = ap.parse_args()
    be = setup(args)
    depth = 3 if args.quick else 10  # NUTS tree depth cap (quick runs stay cheap)
    n = 10 if args.quick else args.samples
    length = 10 if args.quick else args.length
    y_np, z_np = simulate(length, args.seed)
    if be.SUPPORTS_AUTODIFF:
        kernel, chains, label = NUTS(model, max_tree_depth=depth), 1, "NUTS"
    else:
        kernel, chains, label = AIES(model), (10 if args.quick else 16), "AIES"
    # quick: one chain run on its own, cheaper to compile on JAX (see eight_schools.py)
    mcmc = MCMC(kernel, num_warmup=n, num_samples=n, num_chains=chains,
                chain_method="sequential" if args.quick else "vectorized", progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(be.key(args.seed), be.asarray(y_np))
    print(f"{label} on {be.NAME}: {time.perf_counter() - t0:.1f} s")
    s = {k: be.to_numpy(v) for k, v in mcmc.get_samples().items()}
    trans, locs, scale = s["trans"].mean(0), s["locs"].mean(0), float(s["scale"].mean())
    print("transition matrix (posterior mean):\n", np.round(trans, 3))
    print("emission locations:", np.round(locs, 3), " scale:", round(scale, 3))
    post = smoothed(y_np, trans, locs, scale)

    plt = pyplot()
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 4), sharex=True)
    ax0.plot(y_np, ".-", lw=0.6, ms=3, color="gray")
    ax0.set(ylabel="y", title=f"HMM, forward algorithm ({label}, {be.NAME})")
    ax1.plot(post[:, 1], label="posterior P(state 1)")
    ax1.plot(z_np, "k:", lw=1, label="true state")
    ax1.set(xlabel="t", ylabel="state")
    ax1.legend(fontsize=7, loc="upper right")
    save(fig, args.plot)


if __name__ == "__main__":
    run(main)
