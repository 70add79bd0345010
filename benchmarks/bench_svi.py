"""SVI benchmark: AutoNormal + Trace_ELBO on Bayesian logistic regression.

N=5000, D=20, float64, Adam(lr=0.01), 2000 steps, one process. Times polyro on JAX
(``SVI.run``: compiled chunks of steps) and on torch (``SVI.run``: a Python loop), and the peers
NumPyro (``SVI.run``) and Pyro (an ``svi.step`` loop) when they are installed.

Usage::

    python benchmarks/bench_svi.py [--steps 2000] [--rng portable|native] [--only jax,torch]
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


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--rng", default="portable", choices=["portable", "native"])
    p.add_argument("--only", default="jax,torch,numpyro,pyro")
    args = p.parse_args()
    which = args.only.split(",")
    X, y = make_data()
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
