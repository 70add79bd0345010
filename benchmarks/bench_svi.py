"""SVI benchmark: AutoNormal + Trace_ELBO on Bayesian logistic regression.

N=5000, D=20, float64, Adam(lr=0.01), 2000 steps, one process. Times polyro on JAX
(``SVI.run``: compiled chunks of steps) and on torch (``SVI.run``: a Python loop), and the peers
NumPyro (``SVI.run``) and Pyro (an ``svi.step`` loop) when they are installed.

Usage::

    python benchmarks/bench_svi.py [--steps 2000] [--rng portable|native] [--only jax,torch]
    python benchmarks/bench_svi.py --ratio 10 --steps 30   # polyro-torch / Pyro, side by side
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np

N, D = 5000, 20


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    w = rng.normal(size=D) / 2
    y = (rng.random(N) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(np.float64)
    return X, y


def bench_polyro(backend: str, X, y, steps: int, rng_mode: str) -> dict:
    import polyro
    import polyro.distributions as dist
    from polyro.inference import SVI, Trace_ELBO
    from polyro.inference.autoguide import AutoNormal
    from polyro.optim import Adam

    polyro.set_backend(backend)
    polyro.set_default_dtype("float64")
    polyro.set_rng(rng_mode)
    be = polyro.backends.current()
    Xb, yb = be.asarray(X), be.asarray(y)

    def model(X, y):
        w = polyro.sample("w", dist.Normal(be.xp.zeros(D, dtype=X.dtype), 1.0).to_event(1))
        b = polyro.sample("b", dist.Normal(0.0, 1.0))
        with polyro.plate("data", N):
            polyro.sample("y", dist.Bernoulli(logits=X @ w + b), obs=y)

    def one_run():
        svi = SVI(model, AutoNormal(model), Adam(0.01), Trace_ELBO())
        t0 = time.perf_counter()
        res = svi.run(0, steps, Xb, yb, progress_bar=False)
        float(be.to_numpy(res.losses[-1]))
        return time.perf_counter() - t0, res

    first, res = one_run()
    out = {"name": f"polyro-{backend} ({rng_mode} rng)", "first_s": first,
           "final_loss": float(be.to_numpy(res.losses[-1]))}
    if be.SUPPORTS_JIT:  # second run of a fresh SVI: compile cost again; steady state below
        svi = SVI(model, AutoNormal(model), Adam(0.01), Trace_ELBO())
        state = svi.init(0, Xb, yb)
        svi.run(0, steps, Xb, yb, progress_bar=False, init_state=state)  # compile
        t0 = time.perf_counter()
        r2 = svi.run(0, steps, Xb, yb, progress_bar=False, init_state=state)
        float(be.to_numpy(r2.losses[-1]))
        out["steady_s"] = time.perf_counter() - t0
    out["w_mean_abs"] = float(np.abs(be.to_numpy(res.params["auto_w_loc"])).mean())
    return out


def bench_numpyro(X, y, steps: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as ndist
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal

    jax.config.update("jax_enable_x64", True)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def model(X, y):
        w = numpyro.sample("w", ndist.Normal(jnp.zeros(D), 1.0).to_event(1))
        b = numpyro.sample("b", ndist.Normal(0.0, 1.0))
        with numpyro.plate("data", N):
            numpyro.sample("y", ndist.Bernoulli(logits=X @ w + b), obs=y)

    svi = SVI(model, AutoNormal(model), numpyro.optim.Adam(0.01), Trace_ELBO())
    t0 = time.perf_counter()
    res = svi.run(jax.random.PRNGKey(0), steps, Xj, yj, progress_bar=False)
    res.losses.block_until_ready()
    first = time.perf_counter() - t0
    # steady state: a jitted update loop after one warm-up call (SVI.run recompiles per call)
    state = svi.init(jax.random.PRNGKey(0), Xj, yj)
    upd = jax.jit(svi.update)
    state, loss = upd(state, Xj, yj)
    loss.block_until_ready()
    t0 = time.perf_counter()
    for _ in range(steps):
        state, loss = upd(state, Xj, yj)
    loss.block_until_ready()
    return {"name": "numpyro SVI.run", "first_s": first, "final_loss": float(res.losses[-1]),
            "steady_s": time.perf_counter() - t0, "steady_what": "jitted update loop"}


def bench_pyro(X, y, steps: int) -> dict:
    import pyro
    import pyro.distributions as pdist
    import torch
    from pyro.infer import SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoNormal

    torch.set_default_dtype(torch.float64)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)

    def model(X, y):
        w = pyro.sample("w", pdist.Normal(torch.zeros(D), 1.0).to_event(1))
        b = pyro.sample("b", pdist.Normal(0.0, 1.0))
        with pyro.plate("data", N):
            pyro.sample("y", pdist.Bernoulli(logits=X @ w + b), obs=y)

    pyro.clear_param_store()
    svi = SVI(model, AutoNormal(model), pyro.optim.Adam({"lr": 0.01}), Trace_ELBO())
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = svi.step(Xt, yt)
    return {"name": "pyro svi.step loop", "first_s": time.perf_counter() - t0,
            "final_loss": float(loss)}


def ratio_vs_pyro(X, y, steps: int, blocks: int, rng_mode: str) -> dict:
    """polyro-torch ``update`` steps over Pyro ``svi.step`` steps, side by side in this process:
    ``blocks`` alternating blocks of ``steps`` steps each, CPU time, median of the per-block
    ratios (robust to the load of a shared machine)."""
    import statistics

    import pyro
    import pyro.distributions as pdist
    import torch
    from pyro.infer import SVI as PSVI
    from pyro.infer import Trace_ELBO as PTrace_ELBO
    from pyro.infer.autoguide import AutoNormal as PAutoNormal

    import polyro
    import polyro.distributions as dist
    from polyro.inference import SVI, Trace_ELBO
    from polyro.inference.autoguide import AutoNormal
    from polyro.optim import Adam

    torch.set_default_dtype(torch.float64)
    # one intra-op thread for both: on a shared machine a second thread makes every parallel
    # region wait for a busy core, which swamps the per-step overhead being compared
    torch.set_num_threads(1)
    polyro.set_backend("torch")
    polyro.set_default_dtype("float64")
    polyro.set_rng(rng_mode)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)

    def model(X, y):
        w = polyro.sample("w", dist.Normal(0.0, 1.0).expand((D,)).to_event(1))
        b = polyro.sample("b", dist.Normal(0.0, 1.0))
        with polyro.plate("data", N):
            polyro.sample("y", dist.Bernoulli(logits=X @ w + b), obs=y)

    def pmodel(X, y):
        w = pyro.sample("w", pdist.Normal(torch.zeros(D), 1.0).to_event(1))
        b = pyro.sample("b", pdist.Normal(0.0, 1.0))
        with pyro.plate("data", N):
            pyro.sample("y", pdist.Bernoulli(logits=X @ w + b), obs=y)

    svi = SVI(model, AutoNormal(model), Adam(0.01), Trace_ELBO())
    state = svi.init(0, Xt, yt)
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    psvi = PSVI(pmodel, PAutoNormal(pmodel), pyro.optim.Adam({"lr": 0.01}), PTrace_ELBO())
    psvi.step(Xt, yt)
    mine, theirs, ratios = [], [], []
    for _ in range(blocks):
        c = time.process_time()
        for _ in range(steps):
            state, loss = svi.update(state, Xt, yt)
        float(loss)
        a = time.process_time() - c
        c = time.process_time()
        for _ in range(steps):
            psvi.step(Xt, yt)
        b = time.process_time() - c
        mine.append(a / steps)
        theirs.append(b / steps)
        ratios.append(a / b)
    return {"polyro_torch_ms_per_step": 1e3 * statistics.median(mine),
            "pyro_ms_per_step": 1e3 * statistics.median(theirs),
            "ratio_median": statistics.median(ratios), "ratios": ratios}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--rng", default="portable", choices=["portable", "native"])
    p.add_argument("--only", default="jax,torch,numpyro,pyro")
    p.add_argument("--ratio", type=int, default=0, metavar="BLOCKS",
                   help="instead: polyro-torch / Pyro CPU-time ratio per step, side by side, "
                        "over BLOCKS alternating blocks of --steps steps")
    args = p.parse_args()
    which = args.only.split(",")
    X, y = make_data()
    if args.ratio:
        r = ratio_vs_pyro(X, y, args.steps, args.ratio, args.rng)
        print(f"polyro-torch {r['polyro_torch_ms_per_step']:.3f} ms/step, Pyro "
              f"{r['pyro_ms_per_step']:.3f} ms/step (CPU); ratio median {r['ratio_median']:.3f} "
              f"(blocks: {', '.join(f'{v:.3f}' for v in r['ratios'])})")
        return
    rows = []
    for backend in ("jax", "torch"):
        if backend in which and importlib.util.find_spec(backend):
            rows.append(bench_polyro(backend, X, y, args.steps, args.rng))
    for name, fn, mod in (("numpyro", bench_numpyro, "numpyro"), ("pyro", bench_pyro, "pyro")):
        if name not in which:
            continue
        if importlib.util.find_spec(mod) is None:
            print(f"{name}: skipped: not installed")
            continue
        rows.append(fn(X, y, args.steps))
    print(f"\nBayesian logistic regression N={N} D={D}, AutoNormal + Trace_ELBO, Adam(0.01), "
          f"{args.steps} steps, float64")
    for r in rows:
        extra = (f", steady {r['steady_s']:.2f} s ({r.get('steady_what', 'compiled run')})"
                 if "steady_s" in r else "")
        print(f"  {r['name']:<32} {r['first_s']:8.2f} s incl. setup/compile{extra}"
              f"  ({1e3 * r['first_s'] / args.steps:.3f} ms/step)  final loss "
              f"{r['final_loss']:.2f}")


if __name__ == "__main__":
    main()
