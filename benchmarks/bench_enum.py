"""Gaussian HMM (K hidden states, T steps) fit with TraceEnum_ELBO: polyro on JAX and torch
against Pyro's TraceEnum_ELBO and NumPyro's enumeration (``markov`` loop and ``scan``), on the
same model and the same data.

Reports per backend: compile time (JAX: the first SVI update, which traces and compiles) and the
median time of one SVI step (loss + gradient + Adam update) after it. Also polyro's step time at
T/4, T/2, T to show the cost is linear in T.

    python benchmarks/bench_enum.py [--T 1000] [--K 3] [--steps 10] [--skip pyro,numpyro]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def make_data(T: int, K: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trans = np.full((K, K), 0.1 / (K - 1))
    np.fill_diagonal(trans, 0.9)
    locs = np.linspace(-3, 3, K)
    x = 0
    ys = np.empty(T)
    for t in range(T):
        x = rng.choice(K, p=trans[x])
        ys[t] = rng.normal(locs[x], 1.0)
    return ys


def _trans0(K: int) -> np.ndarray:
    t = np.full((K, K), 1.0 / K) + 0.05 * np.eye(K)
    return t / t.sum(-1, keepdims=True)


def _block(x):
    for leaf in (x if isinstance(x, (tuple, list)) else [x]):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    return x


def _timed(fn, steps):
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times)


# ------------------------------------------------------------------------------ polyro
def bench_polyro(backend: str, ys: np.ndarray, K: int, steps: int) -> dict:
    import polyro
    import polyro.distributions as dist
    from polyro.distributions import constraints
    from polyro.inference import SVI, TraceEnum_ELBO
    from polyro.inference.enum import markov
    from polyro.inference.optim import Adam

    polyro.set_default_dtype("float64")
    polyro.set_backend(backend)
    be = polyro.backends.current()
    T = len(ys)

    def model(ys):
        trans = polyro.param("trans", _trans0(K),
                             constraint=constraints.simplex)
        locs = polyro.param("locs", np.linspace(-1.0, 1.0, K))
        scale = polyro.param("scale", np.array(1.0), constraint=constraints.positive)
        x = 0
        for t in markov(range(T)):
            x = polyro.sample(f"x_{t}", dist.Categorical(probs=trans[x]),
                              infer={"enumerate": "parallel"})
            polyro.sample(f"y_{t}", dist.Normal(locs[x], scale), obs=ys[t])

    def guide(ys):
        pass

    y = be.asarray(ys)
    svi = SVI(model, guide, Adam(0.05), TraceEnum_ELBO(max_plate_nesting=0))
    t0 = time.perf_counter()
    state = svi.init(be.key(0), y)
    init_s = time.perf_counter() - t0
    box = {"state": state}

    def step():
        box["state"], loss = svi.update(box["state"], y)
        _block(loss)

    first, per = _timed(step, steps)
    return {"init_s": init_s, "first_step_s": first, "step_s": per}


# ------------------------------------------------------------------------------ Pyro
def bench_pyro(ys: np.ndarray, K: int, steps: int) -> dict:
    import pyro
    import pyro.distributions as pdist
    import torch
    from pyro.infer import SVI, TraceEnum_ELBO, config_enumerate
    from pyro.optim import Adam

    torch.set_default_dtype(torch.float64)
    pyro.clear_param_store()
    T = len(ys)
    y = torch.tensor(ys)

    @config_enumerate
    def model(ys):
        trans = pyro.param("trans", torch.tensor(_trans0(K)),
                           constraint=pdist.constraints.simplex)
        locs = pyro.param("locs", torch.linspace(-1.0, 1.0, K))
        scale = pyro.param("scale", torch.tensor(1.0), constraint=pdist.constraints.positive)
        x = 0
        for t in pyro.markov(range(T)):
            x = pyro.sample(f"x_{t}", pdist.Categorical(trans[x]))
            pyro.sample(f"y_{t}", pdist.Normal(locs[x], scale), obs=ys[t])

    def guide(ys):
        pass

    svi = SVI(model, guide, Adam({"lr": 0.05}), TraceEnum_ELBO(max_plate_nesting=0))
    first, per = _timed(lambda: svi.step(y), steps)
    return {"first_step_s": first, "step_s": per}


# ------------------------------------------------------------------------------ NumPyro
def bench_numpyro(ys: np.ndarray, K: int, steps: int, use_scan: bool) -> dict:
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.contrib.funsor  # noqa: F401 - enumeration needs funsor
    import numpyro.distributions as ndist
    from numpyro.contrib.control_flow import scan
    from numpyro.infer import SVI, TraceEnum_ELBO

    jax.config.update("jax_enable_x64", True)
    T = len(ys)
    y = jnp.asarray(ys)

    def params():
        trans = numpyro.param("trans", jnp.asarray(_trans0(K)),
                              constraint=ndist.constraints.simplex)
        locs = numpyro.param("locs", jnp.linspace(-1.0, 1.0, K))
        scale = numpyro.param("scale", jnp.array(1.0), constraint=ndist.constraints.positive)
        return trans, locs, scale

    def model_loop(ys):
        trans, locs, scale = params()
        x = 0
        for t in numpyro.contrib.funsor.markov(range(T)):
            x = numpyro.sample(f"x_{t}", ndist.Categorical(trans[x]),
                               infer={"enumerate": "parallel"})
            numpyro.sample(f"y_{t}", ndist.Normal(locs[x], scale), obs=ys[t])

    def model_scan(ys):
        trans, locs, scale = params()

        def transition(x, y_t):
            x = numpyro.sample("x", ndist.Categorical(trans[x]), infer={"enumerate": "parallel"})
            numpyro.sample("y", ndist.Normal(locs[x], scale), obs=y_t)
            return x, None

        scan(transition, 0, ys)

    def guide(ys):
        pass

    svi = SVI(model_scan if use_scan else model_loop, guide, numpyro.optim.Adam(0.05),
              TraceEnum_ELBO(max_plate_nesting=0))
    t0 = time.perf_counter()
    state = svi.init(jax.random.PRNGKey(0), y)
    init_s = time.perf_counter() - t0
    update = jax.jit(svi.update)
    box = {"state": state}

    def step():
        box["state"], loss = update(box["state"], y)
        _block(loss)

    first, per = _timed(step, steps)
    return {"init_s": init_s, "first_step_s": first, "step_s": per}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--T", type=int, default=1000)
    ap.add_argument("--K", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--skip", default="")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    ys = make_data(a.T, a.K)
    out: dict = {"T": a.T, "K": a.K}
    runs = [("polyro-jax", lambda: bench_polyro("jax", ys, a.K, a.steps)),
            ("polyro-torch", lambda: bench_polyro("torch", ys, a.K, a.steps)),
            ("pyro", lambda: bench_pyro(ys, a.K, a.steps)),
            ("numpyro-scan", lambda: bench_numpyro(ys, a.K, a.steps, True)),
            ("numpyro-markov", lambda: bench_numpyro(ys, a.K, a.steps, False))]
    for name, fn in runs:
        if name in skip or name.split("-")[0] in skip:
            continue
        try:
            out[name] = fn()
        except Exception as e:  # noqa: BLE001 - report and go on to the next system
            out[name] = {"error": f"{type(e).__name__}: {e}"[:300]}
        print(name, json.dumps(out[name]), flush=True)
    if "linear" not in skip:
        lin = {}
        for frac in (4, 2, 1):
            t = a.T // frac
            lin[t] = bench_polyro("torch", ys[:t], a.K, max(3, a.steps // 2))["step_s"]
        out["polyro-torch-step-by-T"] = lin
        print("polyro-torch step_s by T", lin, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
