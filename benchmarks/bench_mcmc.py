"""NUTS benchmarks (plain script): eight schools noncentered (1000 + 1000) and Bayesian logistic
regression (N=5000, D=20, 500 + 500), float64, one chain, on polyro-jax and polyro-torch, and on
NumPyro / Pyro when they are importable (otherwise reported as skipped).

Reports the total wall time (and CPU time) of ``MCMC.run`` (compilation included), the number of
leapfrog steps, the time per leapfrog step, with Pyro the CPU-time ratio polyro-torch / Pyro (CPU
time: what survives a busy machine), and on JAX the time of one jitted potential-and-gradient
call (measured inside a compiled loop) and the overhead ratio per-leapfrog / per-gradient.

    python benchmarks/bench_mcmc.py [--only jax|torch] [--quick] [--iters N]
                                    [--cases eight_schools,logistic_5000x20] [--peers pyro]
                                    [--seeds K]

With ``--seeds K`` every implementation runs seeds 0..K-1 (seed by seed, the implementations in
turn) and the table gives each run, the medians, and the median of the per-seed CPU-time ratios
polyro-torch / Pyro: one seed's time depends on where its step-size adaptation lands (the
number of leapfrog steps per transition), so a ratio of single runs can be luck.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import statistics
import time

import numpy as np

import polyro
import polyro.distributions as dist
from polyro.inference.mcmc import MCMC, NUTS

ES_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
ES_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def eight_schools(y, sigma):
    mu = polyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = polyro.sample("tau", dist.HalfCauchy(5.0))
    with polyro.plate("J", 8):
        tt = polyro.sample("theta_trans", dist.Normal(0.0, 1.0))
        polyro.sample("y", dist.Normal(mu + tau * tt, sigma), obs=y)


def logistic(X, y):
    D = X.shape[1]
    w = polyro.sample("w", dist.Normal(0.0, 1.0).expand((D,)).to_event(1))
    b = polyro.sample("b", dist.Normal(0.0, 1.0))
    logits = polyro.ops.matmul(X, w) + b
    with polyro.plate("N", X.shape[0]):
        polyro.sample("y", dist.Bernoulli(logits=logits), obs=y)


def logistic_data(seed=0, N=5000, D=20):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    w = rng.normal(size=D) * 0.5
    y = (rng.uniform(size=N) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(float)
    return X, y


def grad_call_time(be, kernel, state, n=500):
    """Seconds per potential-and-gradient call inside a compiled loop (JAX)."""
    vg = kernel._vg
    x0 = kernel._layout.ravel(state.z)

    def loop(x):
        def body(i, c):
            x, acc = c
            v, g = vg(x)
            return x + 1e-12 * g, acc + v
        return be.fori_loop(0, n, body, (x, x[0] * 0.0))

    f = be.jit(loop)
    be.to_numpy(f(x0)[1])
    t = time.perf_counter()
    be.to_numpy(f(x0)[1])
    return (time.perf_counter() - t) / n


def sample_loop_time(be, kernel, state, n=200):
    """Seconds per leapfrog step of the compiled post-warmup transition loop (JAX)."""
    def loop(s):
        def body(i, c):
            s, steps = c
            s = kernel.sample(s)
            return s, steps + s.num_steps
        return be.fori_loop(0, n, body, (s, state.num_steps * 0))

    f = be.jit(loop)
    be.to_numpy(f(state)[1])
    t = time.perf_counter()
    _, steps = f(state)
    steps = int(be.to_numpy(steps))
    return (time.perf_counter() - t) / max(steps, 1)


def run_polyro(name, model, args, warmup, samples, seed=0):
    polyro.set_default_dtype("float64")
    with polyro.backend(name) as be:
        args = tuple(be.asarray(a) for a in args)
        kernel = NUTS(model)
        m = MCMC(kernel, num_warmup=warmup, num_samples=samples, progress_bar=False)
        t, c = time.perf_counter(), time.process_time()
        m.run(be.key(seed), *args)
        total, cpu = time.perf_counter() - t, time.process_time() - c
        ex = m.get_extra_fields()
        steps = int(ex["num_steps"].sum())
        out = {"total_s": total, "cpu_s": cpu, "sampling_leapfrogs": steps,
               "divergences": int(ex["diverging"].sum()),
               "mean_tree_steps": float(ex["num_steps"].mean()),
               "step_size": float(ex["step_size"][-1])}
        if getattr(be, "SUPPORTS_JIT", False) and seed == 0:
            state = m.last_state
            g = grad_call_time(be, kernel, state)
            lf = sample_loop_time(be, kernel, state)
            out.update(grad_call_us=g * 1e6, leapfrog_us=lf * 1e6, overhead_ratio=lf / g)
        return out


def run_numpyro(model_name, args, warmup, samples, seed=0):  # pragma: no cover - optional peer
    import jax
    import numpyro
    import numpyro.distributions as nd
    from numpyro.infer import MCMC as NMCMC
    from numpyro.infer import NUTS as NNUTS

    jax.config.update("jax_enable_x64", True)

    if model_name == "eight_schools":
        def model(y, sigma):
            mu = numpyro.sample("mu", nd.Normal(0.0, 5.0))
            tau = numpyro.sample("tau", nd.HalfCauchy(5.0))
            with numpyro.plate("J", 8):
                tt = numpyro.sample("theta_trans", nd.Normal(0.0, 1.0))
                numpyro.sample("y", nd.Normal(mu + tau * tt, sigma), obs=y)
    else:
        def model(X, y):
            w = numpyro.sample("w", nd.Normal(0.0, 1.0).expand((X.shape[1],)).to_event(1))
            b = numpyro.sample("b", nd.Normal(0.0, 1.0))
            with numpyro.plate("N", X.shape[0]):
                numpyro.sample("y", nd.Bernoulli(logits=X @ w + b), obs=y)
    m = NMCMC(NNUTS(model), num_warmup=warmup, num_samples=samples, progress_bar=False)
    t = time.perf_counter()
    m.run(jax.random.PRNGKey(seed), *args)
    return {"total_s": time.perf_counter() - t}


def run_pyro(model_name, args, warmup, samples, seed=0):  # pragma: no cover - optional peer
    """Pyro's NUTS on the same model and data (float64, one chain); CPU time as well as wall
    time, since CPU time is what a side-by-side ratio on a busy machine can rely on."""
    import pyro
    import pyro.distributions as pd
    import torch
    from pyro.infer import MCMC as PMCMC
    from pyro.infer import NUTS as PNUTS

    torch.set_default_dtype(torch.float64)
    pyro.set_rng_seed(seed)
    if model_name == "eight_schools":
        def model(y, sigma):
            mu = pyro.sample("mu", pd.Normal(0.0, 5.0))
            tau = pyro.sample("tau", pd.HalfCauchy(5.0))
            with pyro.plate("J", 8):
                tt = pyro.sample("theta_trans", pd.Normal(0.0, 1.0))
                pyro.sample("y", pd.Normal(mu + tau * tt, sigma), obs=y)
    else:
        def model(X, y):
            w = pyro.sample("w", pd.Normal(0.0, 1.0).expand((X.shape[1],)).to_event(1))
            b = pyro.sample("b", pd.Normal(0.0, 1.0))
            with pyro.plate("N", X.shape[0]):
                pyro.sample("y", pd.Bernoulli(logits=X @ w + b), obs=y)
    m = PMCMC(PNUTS(model), warmup_steps=warmup, num_samples=samples, disable_progbar=True)
    t, c = time.perf_counter(), time.process_time()
    m.run(*(torch.as_tensor(a) for a in args))
    return {"total_s": time.perf_counter() - t, "cpu_s": time.process_time() - c}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["jax", "torch"], default=None)
    ap.add_argument("--quick", action="store_true", help="10x fewer iterations")
    ap.add_argument("--iters", type=int, default=None,
                    help="warmup = samples = ITERS for both cases (overrides --quick)")
    ap.add_argument("--cases", default="eight_schools,logistic_5000x20")
    ap.add_argument("--peers", default="numpyro,pyro",
                    help="peers to run (comma separated; '' for none)")
    ap.add_argument("--seeds", type=int, default=1,
                    help="run seeds 0..K-1 of every implementation and report medians")
    opts = ap.parse_args()
    q = 10 if opts.quick else 1
    X, y = logistic_data()
    cases = [("eight_schools", eight_schools, (ES_Y, ES_SIGMA), 1000 // q, 1000 // q),
             ("logistic_5000x20", logistic, (X, y), 500 // q, 500 // q)]
    if opts.iters:
        cases = [(c, m, a, opts.iters, opts.iters) for c, m, a, _, _ in cases]
    cases = [c for c in cases if c[0] in opts.cases.split(",")]
    peers = [p for p in opts.peers.split(",") if p]
    results = {}
    for case, model, args, w, s in cases:
        impls = {}  # key -> run(seed): polyro's engines, then the peers
        for name in ("jax", "torch"):
            if opts.only and name != opts.only:
                continue
            if importlib.util.find_spec(name) is None:
                results[f"{case}/polyro-{name}"] = "skipped (engine not installed)"
                continue
            impls[f"polyro-{name}"] = functools.partial(run_polyro, name, model, args, w, s)
        short = case.split("_5000")[0]
        for peer, fn in (("numpyro", run_numpyro), ("pyro", run_pyro)):
            if peer not in peers:
                continue
            if importlib.util.find_spec(peer if peer == "numpyro" else "pyro") is None:
                results[f"{case}/{peer}"] = f"skipped ({peer} not installed)"
                continue
            impls[peer] = functools.partial(fn, short, args, w, s)
        # seed by seed, every implementation in turn: a machine whose speed drifts affects
        # all of them alike
        runs: dict[str, list] = {k: [] for k in impls}
        for seed in range(opts.seeds):
            for key, fn in impls.items():
                runs[key].append(fn(seed=seed))
                print(case, key, f"seed {seed}", json.dumps(runs[key][-1]), flush=True)
        for key, out in runs.items():
            if len(out) == 1:
                results[f"{case}/{key}"] = out[0]
            else:
                results[f"{case}/{key}"] = {
                    "median": {f: statistics.median(r[f] for r in out) for f in out[0]
                               if isinstance(out[0][f], (int, float))},
                    "runs": out}
        if "polyro-torch" in runs and "pyro" in runs:
            ratios = [a["cpu_s"] / b["cpu_s"]
                      for a, b in zip(runs["polyro-torch"], runs["pyro"], strict=True)]
            results[f"{case}/torch_over_pyro_cpu"] = statistics.median(ratios)
            if len(ratios) > 1:
                results[f"{case}/torch_over_pyro_cpu_per_seed"] = ratios
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
