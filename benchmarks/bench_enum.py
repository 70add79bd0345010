"""Gaussian HMM (K hidden states, T steps) fit with TraceEnum_ELBO: polyro on JAX and torch
against Pyro's TraceEnum_ELBO and NumPyro's enumeration (``markov`` loop and ``scan``), on the
same model and the same data. polyro runs the chain in both its forms: a ``markov`` loop
(``polyro-jax``, ``polyro-torch``; T sites traced per step) and ``vectorized_markov``
(``polyro-*-vectorized``; two steps traced, the chain multiplied as one log-depth product, the
form to compare with NumPyro's ``scan``).

Reports per implementation: the first SVI update (JAX: it traces and compiles; the JAX rows
split it into ``trace_s``, Python tracing and lowering to MLIR, and ``xla_s``, XLA's compile, as
JAX reports them through ``jax.monitoring``) and the median time of one SVI step (loss + gradient
+ Adam update) after it. Then polyro's step time at several T (``--linear-T``) to show the cost
is linear in T.

    python benchmarks/bench_enum.py [--T 100,1000] [--K 3] [--steps 10] [--skip pyro,numpyro]
        [--validate on|off] [--chains on|off] [--linear-T 250,500,1000] [--linear-backends torch]

``--validate off`` builds polyro's distributions without argument validation (NumPyro's default);
``--chains off`` makes polyro eliminate the chain one variable at a time (the contraction before
issue 7), to time the difference.
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


class _JaxClock:
    """Seconds JAX reports spending in tracing/lowering and in XLA compilation."""

    TRACE = ("/jax/core/compile/jaxpr_trace_duration",
             "/jax/core/compile/jaxpr_to_mlir_module_duration")
    XLA = ("/jax/core/compile/backend_compile_duration",)
    _installed: _JaxClock | None = None

    def __init__(self) -> None:
        self.trace = self.xla = 0.0

    @classmethod
    def get(cls) -> _JaxClock:
        if cls._installed is None:
            import jax.monitoring

            clock = cls._installed = cls()

            def listener(event: str, duration: float, **_) -> None:
                if event in cls.TRACE:
                    clock.trace += duration
                elif event in cls.XLA:
                    clock.xla += duration

            jax.monitoring.register_event_duration_secs_listener(listener)
        return cls._installed

    def reset(self) -> None:
        self.trace = self.xla = 0.0


def _timed(fn, steps, clock=None):
    """``(first call s, median step s, extras)``; extras hold the JAX compile split and the
    median CPU seconds of a step (``time.process_time``, all threads: on a shared machine less
    sensitive to other load than wall time)."""
    if clock is not None:
        clock.reset()
    t0 = time.perf_counter()
    c0 = time.process_time()
    fn()
    first = time.perf_counter() - t0
    extra = {"first_step_cpu_s": time.process_time() - c0}
    if clock is not None:
        extra.update(trace_s=clock.trace, xla_s=clock.xla)
    times, cpu = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    extra["step_cpu_s"] = statistics.median(cpu)
    return first, statistics.median(times), extra


# ------------------------------------------------------------------------------ polyro
def bench_polyro(backend: str, ys: np.ndarray, K: int, steps: int, validate: bool = True,
                 chains: bool = True, vectorized: bool = False) -> dict:
    import polyro
    import polyro.distributions as dist
    from polyro.distributions import constraints
    from polyro.inference import SVI, TraceEnum_ELBO
    from polyro.inference.enum import chain, markov, vectorized_markov
    from polyro.inference.optim import Adam

    dist.enable_validation(validate)
    chain.ENABLED = chains
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
        loop = (vectorized_markov(name="time", size=T, dim=-1) if vectorized
                else markov(range(T)))
        for t in loop:
            x = polyro.sample(f"x_{t}", dist.Categorical(probs=trans[x]),
                              infer={"enumerate": "parallel"})
            polyro.sample(f"y_{t}", dist.Normal(locs[x], scale), obs=ys[t])

    def guide(ys):
        pass

    y = be.asarray(ys)
    svi = SVI(model, guide, Adam(0.05), TraceEnum_ELBO(max_plate_nesting=int(vectorized)))
    t0 = time.perf_counter()
    state = svi.init(be.key(0), y)
    init_s = time.perf_counter() - t0
    box = {"state": state}

    def step():
        box["state"], loss = svi.update(box["state"], y)
        _block(loss)

    clock = _JaxClock.get() if backend == "jax" else None
    first, per, split = _timed(step, steps, clock)
    return {"init_s": init_s, "first_step_s": first, "step_s": per, **split}


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
    first, per, extra = _timed(lambda: svi.step(y), steps)
    return {"first_step_s": first, "step_s": per, **extra}


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

    first, per, split = _timed(step, steps, _JaxClock.get())
    return {"init_s": init_s, "first_step_s": first, "step_s": per, **split}


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--T", default="1000", help="chain lengths, comma-separated")
    ap.add_argument("--K", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--skip", default="", help="implementations to leave out (or 'linear')")
    ap.add_argument("--validate", choices=("on", "off"), default="on",
                    help="polyro's distribution validation (default on, polyro's default)")
    ap.add_argument("--chains", choices=("on", "off"), default="on",
                    help="polyro's chain contraction (off: one variable at a time)")
    ap.add_argument("--linear-T", dest="linear_T", default="",
                    help="T values for polyro's step-time scaling (default T/4, T/2, T)")
    ap.add_argument("--linear-backends", dest="linear_backends", default="torch")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    pkw = {"validate": a.validate == "on", "chains": a.chains == "on"}
    out: dict = {"K": a.K, "validate": a.validate, "chains": a.chains, "runs": {}}
    for T in _ints(a.T):
        ys = make_data(T, a.K)
        runs = [("polyro-jax-vectorized", lambda ys=ys: bench_polyro("jax", ys, a.K, a.steps,
                                                                     vectorized=True, **pkw)),
                ("polyro-torch-vectorized", lambda ys=ys: bench_polyro("torch", ys, a.K, a.steps,
                                                                       vectorized=True, **pkw)),
                ("polyro-jax", lambda ys=ys: bench_polyro("jax", ys, a.K, a.steps, **pkw)),
                ("polyro-torch", lambda ys=ys: bench_polyro("torch", ys, a.K, a.steps, **pkw)),
                ("pyro", lambda ys=ys: bench_pyro(ys, a.K, a.steps)),
                ("numpyro-scan", lambda ys=ys: bench_numpyro(ys, a.K, a.steps, True)),
                ("numpyro-markov", lambda ys=ys: bench_numpyro(ys, a.K, a.steps, False))]
        res = out["runs"].setdefault(str(T), {})
        for name, fn in runs:
            if name in skip or name.split("-")[0] in skip or (
                    name.endswith("-vectorized") and "vectorized" in skip):
                continue
            try:
                res[name] = fn()
            except Exception as e:  # noqa: BLE001 - report and go on to the next system
                res[name] = {"error": f"{type(e).__name__}: {e}"[:300]}
            print(f"T={T}", name, json.dumps(res[name]), flush=True)
    if "linear" not in skip:
        t_max = max(_ints(a.T))
        ts = _ints(a.linear_T) or [t_max // 4, t_max // 2, t_max]
        for be in filter(None, a.linear_backends.split(",")):
            lin = {}
            for t in ts:
                r = bench_polyro(be, make_data(t, a.K), a.K, max(3, a.steps // 2), **pkw)
                lin[t] = {"step_s": r["step_s"], "step_cpu_s": r["step_cpu_s"]}
                print(f"polyro-{be} T={t} step_s {r['step_s']:.5f} "
                      f"step_cpu_s {r['step_cpu_s']:.5f}", flush=True)
            out[f"polyro-{be}-step-by-T"] = lin
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
