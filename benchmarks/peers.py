"""polyro side by side with NumPyro and Pyro on the same workloads, data and settings.

Workloads (float64, one chain, seed 0 everywhere a seed is taken):

* ``nuts_eight_schools``: NUTS on eight schools (noncentered), 1000 warmup + 1000 samples;
* ``nuts_logistic``: NUTS on Bayesian logistic regression (N=5000, D=20), 500 + 500;
* ``svi_logistic``: AutoNormal + Trace_ELBO on the same regression, Adam(lr=0.01), 2000 steps
  (polyro and NumPyro: ``SVI.run``; Pyro: an ``svi.step`` loop);
* ``hmm_enum``: a Gaussian HMM (K=3, T=1000) whose hidden states are summed out with
  ``TraceEnum_ELBO`` (parameters as ``param`` sites, empty guide); the figure is the time per SVI
  step. Each library writes the chain in its form for long chains: polyro with
  ``vectorized_markov``, NumPyro with ``scan``, Pyro with a ``markov`` loop (its vectorized form
  needs ``pyro.contrib.funsor``). Skipped where an implementation lacks enumeration (polyro without ``TraceEnum_ELBO``,
  NumPyro without ``funsor``).

Every run is a fresh subprocess (fresh in-memory JAX caches, nothing shared between
implementations), repeated ``--repeats`` times; the tables show medians. The JAX persistent
compilation cache is off in every run unless ``--cache`` is given (then the JAX rows are measured
again with a cache folder filled by one unmeasured run: what a user re-running a script sees).

JAX compile time is the wall time spent inside JAX tracing, lowering and XLA compilation during
the run (the union of the intervals JAX reports through ``jax.monitoring``); steady-state time is
total minus compile. (A literal "second call" cannot be used: ``MCMC.run`` and NumPyro's
``SVI.run`` build fresh compiled functions on every call.)

Usage::

    python benchmarks/peers.py [--repeats 3] [--only nuts_logistic,svi_logistic]
                               [--impls polyro-jax,numpyro,polyro-torch,pyro] [--cache]
                               [--scale 1.0] [--json benchmarks/results_peers.json]

``--scale 0.1`` shrinks every iteration count tenfold (a smoke run; the figures are then not the
published workloads).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ["nuts_eight_schools", "nuts_logistic", "svi_logistic", "hmm_enum"]
IMPLS = ["polyro-jax", "numpyro", "polyro-torch", "pyro"]
JAX_IMPLS = ("polyro-jax", "numpyro")
PAIRS = [("polyro-jax", "numpyro"), ("polyro-torch", "pyro")]
TARGETS = {  # issue 9: (ratio on total time, ratio on steady-state time or None)
    ("nuts_eight_schools", "polyro-jax"): 1.0, ("nuts_logistic", "polyro-jax"): 1.0,
    ("nuts_eight_schools", "polyro-torch"): 0.2, ("nuts_logistic", "polyro-torch"): 0.5,
    ("svi_logistic", "polyro-jax"): 1.0, ("svi_logistic", "polyro-torch"): 0.5,
}

ES_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
ES_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
N, D = 5000, 20
HMM_K = 3


def logistic_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    w = rng.normal(size=D) * 0.5
    y = (rng.uniform(size=N) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(np.float64)
    return X, y


def hmm_data(T: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trans = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    locs = np.array([-3.0, 0.0, 3.0])
    x, ys = 0, []
    for _ in range(T):
        x = rng.choice(HMM_K, p=trans[x])
        ys.append(locs[x] + rng.normal())
    return np.asarray(ys)


HMM_INIT_TRANS = np.full((HMM_K, HMM_K), 0.1) + 0.7 * np.eye(HMM_K)
HMM_INIT_LOCS = np.array([-1.0, 0.0, 1.0])


# --------------------------------------------------------------------------- JAX compile time
class _CompileClock:
    """Union of the JAX tracing / lowering / compiling intervals reported while running."""

    EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
              "/jax/core/compile/jaxpr_to_mlir_module_duration",
              "/jax/core/compile/backend_compile_duration")

    def __init__(self) -> None:
        import jax.monitoring

        self.spans: list[tuple[float, float]] = []

        def listener(event: str, duration: float, **_: Any) -> None:
            if event in self.EVENTS:
                end = time.perf_counter()
                self.spans.append((end - duration, end))

        jax.monitoring.register_event_duration_secs_listener(listener)

    def seconds(self, since: float, until: float) -> float:
        spans = sorted((max(a, since), min(b, until)) for a, b in self.spans
                       if b > since and a < until)
        total, cur_a, cur_b = 0.0, None, None
        for a, b in spans:
            if cur_b is None or a > cur_b:
                if cur_b is not None:
                    total += cur_b - cur_a
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        if cur_b is not None:
            total += cur_b - cur_a
        return total


def _setup_jax(cache_dir: str | None) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    if cache_dir:
        jax.config.update("jax_compilation_cache_dir", cache_dir)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    else:
        jax.config.update("jax_enable_compilation_cache", False)


# --------------------------------------------------------------------------- models per library
def _models(impl: str) -> dict:
    """The four models written with ``impl``'s own primitives (same priors everywhere)."""
    if impl.startswith("polyro"):
        import polyro as P
        import polyro.distributions as dist
        from polyro.core.distributions import constraints
        from polyro.core.handlers import markov
        matmul = P.ops.matmul
        enum_kw = {"infer": {"enumerate": "parallel"}}
    elif impl == "numpyro":
        import numpyro as P
        import numpyro.distributions as dist
        from numpyro.distributions import constraints

        try:
            from numpyro.contrib.funsor import markov
        except ImportError:  # pragma: no cover - optional funsor
            markov = None
        matmul = lambda a, b: a @ b  # noqa: E731
        enum_kw = {"infer": {"enumerate": "parallel"}}
    else:
        import pyro as P
        import pyro.distributions as dist
        from pyro.distributions import constraints
        markov = P.markov
        matmul = lambda a, b: a @ b  # noqa: E731
        enum_kw = {"infer": {"enumerate": "parallel"}}

    def eight_schools(sigma, y):
        mu = P.sample("mu", dist.Normal(0.0, 5.0))
        tau = P.sample("tau", dist.HalfCauchy(5.0))
        with P.plate("J", 8):
            eta = P.sample("eta", dist.Normal(0.0, 1.0))
            P.sample("y", dist.Normal(mu + tau * eta, sigma), obs=y)

    def logistic(X, y):
        w = P.sample("w", dist.Normal(0.0, 1.0).expand([X.shape[1]]).to_event(1))
        b = P.sample("b", dist.Normal(0.0, 1.0))
        with P.plate("N", X.shape[0]):
            P.sample("y", dist.Bernoulli(logits=matmul(X, w) + b), obs=y)

    def hmm(ys, init_trans, init_locs):
        trans = P.param("trans", init_trans, constraint=constraints.simplex)
        locs = P.param("locs", init_locs)
        x = 0
        for t in markov(range(ys.shape[0])):
            x = P.sample(f"x_{t}", dist.Categorical(probs=trans[x]), **enum_kw)
            P.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])

    if impl.startswith("polyro"):  # polyro's form of a long chain: vectorized_markov

        def hmm(ys, init_trans, init_locs):  # noqa: F811 - the same model, two steps traced
            trans = P.param("trans", init_trans, constraint=constraints.simplex)
            locs = P.param("locs", init_locs)
            x = 0
            for t in P.vectorized_markov(name="time", size=ys.shape[0], dim=-1):
                x = P.sample(f"x_{t}", dist.Categorical(probs=trans[x]), **enum_kw)
                P.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])

    if impl == "numpyro":  # NumPyro's enumeration of a long chain goes through its scan
        from numpyro.contrib.control_flow import scan

        def hmm(ys, init_trans, init_locs):  # noqa: F811 - NumPyro's form of the same model
            trans = P.param("trans", init_trans, constraint=constraints.simplex)
            locs = P.param("locs", init_locs)

            def step(x_prev, y):
                x = P.sample("x", dist.Categorical(probs=trans[x_prev]), **enum_kw)
                P.sample("y", dist.Normal(locs[x], 1.0), obs=y)
                return x, None

            scan(step, 0, ys)

    return {"eight_schools": eight_schools, "logistic": logistic, "hmm": hmm,
            "markov": markov}


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    return np.asarray(x, dtype=np.float64)


def _summary(samples: dict, names: tuple) -> dict:
    """Posterior means of the sites named (first three coordinates of vectors)."""
    out = {}
    for n in names:
        m = _np(samples[n]).mean(axis=0)
        if m.ndim == 0:
            out[n] = round(float(m), 3)
        else:
            out[n] = [round(float(v), 3) for v in m.ravel()[:3]]
    return out


# --------------------------------------------------------------------------- one measured run
def _nuts(impl: str, workload: str, scale: float, seed: int) -> dict:
    m = _models(impl)
    if workload == "nuts_eight_schools":
        model, data, W, S, names = m["eight_schools"], (ES_SIGMA, ES_Y), 1000, 1000, ("mu", "tau")
    else:
        model, data, W, S, names = m["logistic"], logistic_data(), 500, 500, ("b", "w")
    W, S = max(1, int(W * scale)), max(1, int(S * scale))
    out: dict = {}
    if impl.startswith("polyro"):
        import polyro
        from polyro.inference.mcmc import MCMC, NUTS

        polyro.set_default_dtype("float64")
        polyro.set_backend(impl.split("-")[1])
        be = polyro.backends.current()
        args = tuple(be.asarray(a) for a in data)
        kernel = NUTS(model)
        mcmc = MCMC(kernel, num_warmup=W, num_samples=S, progress_bar=False)
        t0 = time.perf_counter()
        mcmc.run(be.key(seed), *args)
        samples = {k: be.to_numpy(v) for k, v in mcmc.get_samples().items()}
        out["total_s"] = time.perf_counter() - t0
        out["t1"] = t0 + out["total_s"]
        out["t0"] = t0
        ex = mcmc.get_extra_fields()
        out["leapfrogs"] = int(np.sum(be.to_numpy(ex["num_steps"])))
        out["divergences"] = int(np.sum(be.to_numpy(ex["diverging"])))
        if workload == "nuts_logistic" and getattr(be, "SUPPORTS_JIT", False):
            out.update(_overhead(be, kernel, mcmc))
    elif impl == "numpyro":
        import jax
        from numpyro.infer import MCMC, NUTS

        mcmc = MCMC(NUTS(model), num_warmup=W, num_samples=S, progress_bar=False)
        args = tuple(jax.numpy.asarray(a) for a in data)
        t0 = time.perf_counter()
        mcmc.run(jax.random.PRNGKey(seed), *args, extra_fields=("num_steps", "diverging"))
        samples = {k: np.asarray(v) for k, v in mcmc.get_samples().items()}
        out["total_s"] = time.perf_counter() - t0
        out["t1"] = t0 + out["total_s"]
        out["t0"] = t0
        ex = mcmc.get_extra_fields()
        out["leapfrogs"] = int(np.sum(ex["num_steps"]))
        out["divergences"] = int(np.sum(ex["diverging"]))
    else:
        import pyro
        import torch
        from pyro.infer import MCMC, NUTS

        torch.set_default_dtype(torch.float64)
        pyro.set_rng_seed(seed)
        args = tuple(torch.as_tensor(a) for a in data)
        mcmc = MCMC(NUTS(model), warmup_steps=W, num_samples=S, disable_progbar=True)
        t0 = time.perf_counter()
        mcmc.run(*args)
        samples = {k: v.detach().numpy() for k, v in mcmc.get_samples().items()}
        out["total_s"] = time.perf_counter() - t0
        out["t1"] = t0 + out["total_s"]
        out["t0"] = t0
    out["means"] = _summary(samples, names)
    return out


def _overhead(be: Any, kernel: Any, mcmc: Any) -> dict:
    """Time per leapfrog step of the compiled sampling loop over the time of one jitted
    potential-and-gradient call (both inside compiled loops; logistic regression, JAX)."""
    try:
        sys.path.insert(0, HERE)
        from bench_mcmc import grad_call_time, sample_loop_time

        state = mcmc.last_state
        g = grad_call_time(be, kernel, state)
        lf = sample_loop_time(be, kernel, state)
        return {"grad_call_us": g * 1e6, "leapfrog_us": lf * 1e6, "overhead_ratio": lf / g}
    except Exception as e:  # noqa: BLE001 - reported, the timing run itself stands
        return {"overhead_error": f"{type(e).__name__}: {e}"[:200]}


def _svi(impl: str, scale: float, seed: int) -> dict:
    m = _models(impl)
    model = m["logistic"]
    X, y = logistic_data()
    steps = max(1, int(2000 * scale))
    out: dict = {}
    if impl.startswith("polyro"):
        import polyro
        from polyro.inference import SVI, Trace_ELBO
        from polyro.inference.autoguide import AutoNormal
        from polyro.optim import Adam

        polyro.set_default_dtype("float64")
        polyro.set_backend(impl.split("-")[1])
        be = polyro.backends.current()
        args = (be.asarray(X), be.asarray(y))
        svi = SVI(model, AutoNormal(model), Adam(0.01), Trace_ELBO())
        t0 = time.perf_counter()
        res = svi.run(be.key(seed), steps, *args, progress_bar=False)
        losses = be.to_numpy(res.losses)
        out["total_s"] = time.perf_counter() - t0
        out["t1"] = t0 + out["total_s"]
        out["t0"] = t0
        params = {k: be.to_numpy(v) for k, v in res.params.items()}
        out["means"] = {"b": round(float(params["auto_b_loc"]), 3),
                        "w": [round(float(v), 3) for v in params["auto_w_loc"][:3]]}
        if getattr(be, "SUPPORTS_JIT", False):  # literal second call (compiled chunk cached)
            t1 = time.perf_counter()
            r2 = svi.run(be.key(seed), steps, *args, progress_bar=False)
            be.to_numpy(r2.losses)
            out["second_call_s"] = time.perf_counter() - t1
    elif impl == "numpyro":
        import jax
        import numpyro
        from numpyro.infer import SVI, Trace_ELBO
        from numpyro.infer.autoguide import AutoNormal

        args = (jax.numpy.asarray(X), jax.numpy.asarray(y))
        svi = SVI(model, AutoNormal(model), numpyro.optim.Adam(0.01), Trace_ELBO())
        t0 = time.perf_counter()
        res = svi.run(jax.random.PRNGKey(seed), steps, *args, progress_bar=False)
        losses = np.asarray(res.losses)
        out["total_s"] = time.perf_counter() - t0
        out["t1"] = t0 + out["total_s"]
        out["t0"] = t0
        out["means"] = {"b": round(float(res.params["b_auto_loc"]), 3),
                        "w": [round(float(v), 3) for v in np.asarray(res.params["w_auto_loc"])[:3]]}
    else:
        import pyro
        import torch
        from pyro.infer import SVI, Trace_ELBO
        from pyro.infer.autoguide import AutoNormal

        torch.set_default_dtype(torch.float64)
        pyro.set_rng_seed(seed)
        pyro.clear_param_store()
        args = (torch.as_tensor(X), torch.as_tensor(y))
        guide = AutoNormal(model)
        svi = SVI(model, guide, pyro.optim.Adam({"lr": 0.01}), Trace_ELBO())
        t0 = time.perf_counter()
        losses = [svi.step(*args) for _ in range(steps)]
        out["total_s"] = time.perf_counter() - t0
        out["t1"] = t0 + out["total_s"]
        out["t0"] = t0
        st = pyro.get_param_store()
        out["means"] = {"b": round(float(st["AutoNormal.locs.b"].detach()), 3),
                        "w": [round(float(v), 3) for v in st["AutoNormal.locs.w"].detach()[:3]]}
    out["final_loss"] = round(float(np.mean(np.asarray(losses)[-100:])), 2)
    return out


def _hmm(impl: str, scale: float, seed: int, T: int) -> dict:
    T = max(2, int(T * (scale if scale < 1 else 1)))
    steps = 10
    ys = hmm_data(T)
    out: dict = {"T": T}
    if impl.startswith("polyro"):
        import polyro

        try:
            from polyro.inference import SVI, TraceEnum_ELBO
        except ImportError:
            return {"skipped": "polyro has no TraceEnum_ELBO"}
        from polyro.optim import Adam

        m = _models(impl)
        polyro.set_default_dtype("float64")
        polyro.set_backend(impl.split("-")[1])
        be = polyro.backends.current()
        args = (be.asarray(ys), be.asarray(HMM_INIT_TRANS), be.asarray(HMM_INIT_LOCS))
        svi = SVI(m["hmm"], lambda *a: None, Adam(0.01), TraceEnum_ELBO(max_plate_nesting=1))
        t0 = time.perf_counter()
        r1 = svi.run(be.key(seed), 1, *args, progress_bar=False)
        be.to_numpy(r1.losses)
        first = time.perf_counter() - t0
        state = r1.state
        if getattr(be, "SUPPORTS_JIT", False):  # steady: a chunk of `steps` after compiling it
            svi.run(be.key(seed), steps, *args, progress_bar=False, init_state=state)
        t1 = time.perf_counter()
        r2 = svi.run(be.key(seed), steps, *args, progress_bar=False, init_state=state)
        loss = float(be.to_numpy(r2.losses)[-1])
        per = (time.perf_counter() - t1) / steps
        locs = be.to_numpy(r2.params["locs"])
    elif impl == "numpyro":
        import jax
        import numpyro
        from numpyro.infer import SVI

        try:
            import funsor  # noqa: F401
            from numpyro.infer import TraceEnum_ELBO
        except ImportError:
            return {"skipped": "NumPyro enumeration needs funsor (not installed)"}
        m = _models(impl)
        args = tuple(jax.numpy.asarray(a) for a in (ys, HMM_INIT_TRANS, HMM_INIT_LOCS))
        svi = SVI(m["hmm"], lambda *a: None, numpyro.optim.Adam(0.01),
                  TraceEnum_ELBO(max_plate_nesting=0))
        state = svi.init(jax.random.PRNGKey(seed), *args)
        upd = jax.jit(svi.update)
        t0 = time.perf_counter()
        state, loss = upd(state, *args)
        loss.block_until_ready()
        first = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(steps):
            state, loss = upd(state, *args)
        loss = float(loss)
        per = (time.perf_counter() - t1) / steps
        locs = np.asarray(svi.get_params(state)["locs"])
        t0 = t0
    else:
        import pyro
        import torch
        from pyro.infer import SVI, TraceEnum_ELBO

        m = _models(impl)
        torch.set_default_dtype(torch.float64)
        pyro.set_rng_seed(seed)
        pyro.clear_param_store()
        args = tuple(torch.as_tensor(a) for a in (ys, HMM_INIT_TRANS, HMM_INIT_LOCS))
        svi = SVI(m["hmm"], lambda *a: None, pyro.optim.Adam({"lr": 0.01}),
                  TraceEnum_ELBO(max_plate_nesting=0))
        t0 = time.perf_counter()
        svi.step(*args)
        first = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(steps):
            loss = svi.step(*args)
        per = (time.perf_counter() - t1) / steps
        locs = pyro.param("locs").detach().numpy()
    out.update(total_s=per, first_call_s=first, t0=t0, final_loss=round(loss, 2),
               means={"locs": [round(float(v), 3) for v in np.sort(locs)]})
    return out


def worker(workload: str, impl: str, scale: float, seed: int, cache_dir: str | None,
           T: int) -> dict:
    clock = None
    if impl in JAX_IMPLS:
        _setup_jax(cache_dir)
        clock = _CompileClock()
    try:
        if workload.startswith("nuts"):
            out = _nuts(impl, workload, scale, seed)
        elif workload == "svi_logistic":
            out = _svi(impl, scale, seed)
        else:
            out = _hmm(impl, scale, seed, T)
    except ImportError as e:
        return {"skipped": f"not installed: {e}"}
    t0, t1 = out.pop("t0", None), out.pop("t1", None)
    if clock is not None and t0 is not None and "skipped" not in out:
        if workload == "hmm_enum":
            out["compile_s"] = max(0.0, out["first_call_s"] - out["total_s"])
        else:
            out["compile_s"] = clock.seconds(t0, t1)
            out["steady_s"] = out["total_s"] - out["compile_s"]
    return out


# --------------------------------------------------------------------------- orchestration
def _run_one(workload: str, impl: str, a: argparse.Namespace, cache_dir: str | None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", workload, impl,
           "--scale", str(a.scale), "--seed", str(a.seed), "--hmm-T", str(a.hmm_T)]
    if cache_dir:
        cmd += ["--cache-dir", cache_dir]
    env = dict(os.environ)
    env.setdefault("PYTHONWARNINGS", "ignore")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {a.timeout} s"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    lines = (p.stderr or p.stdout).strip().splitlines()
    errs = [ln for ln in lines if "Error" in ln or "Exception" in ln]
    return {"error": " | ".join((errs or lines or ["no output"])[-2:])[:600]}


def _median(runs: list[dict], key: str) -> float | None:
    vals = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def _aggregate(runs: list[dict]) -> dict:
    """Medians over the successful runs of one cell (or the last run's skip / error)."""
    good = [r for r in runs if "total_s" in r]
    if not good:
        return runs[-1]
    agg = {k: _median(good, k) for k in ("total_s", "compile_s", "steady_s", "leapfrogs",
                                         "overhead_ratio", "grad_call_us", "leapfrog_us",
                                         "final_loss", "first_call_s", "second_call_s")}
    agg = {k: v for k, v in agg.items() if v is not None}
    agg["means"] = good[0].get("means")
    agg["n_runs"] = len(good)
    agg["load_avg_1min"] = [r.get("load_avg_1min") for r in good]
    return agg


def _versions() -> dict:
    v = {"python": platform.python_version(), "machine": platform.machine(),
         "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    for mod in ("polyro", "numpyro", "jax", "pyro", "torch", "numpy"):
        try:
            v[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            v[mod] = "not installed"
    try:
        v["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return v


def _fmt(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _table(results: dict) -> str:
    lines = ["| workload | implementation | total s | compile s | steady s | leapfrogs | "
             "us/leapfrog* | ratio total | ratio steady | target | posterior means |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for wl, per in results.items():
        for impl in IMPLS:
            r = per.get(impl)
            if r is None:
                continue
            if r.get("skipped") or r.get("error"):
                lines.append(f"| {wl} | {impl} | {r.get('skipped') or 'error: ' + str(r['error'])}"
                             " | | | | | | | | |")
                continue
            peer = dict(PAIRS).get(impl)
            rt = rs = None
            if peer and per.get(peer, {}).get("total_s"):
                rt = r["total_s"] / per[peer]["total_s"]
                if r.get("steady_s") and per[peer].get("steady_s"):
                    rs = r["steady_s"] / per[peer]["steady_s"]
            tgt = TARGETS.get((wl, impl))
            tgt_s = "" if tgt is None else (f"<= {tgt}" + (
                "" if rt is None else (" met" if rt <= tgt and (rs is None or impl != "polyro-jax"
                                                               or rs <= tgt) else " MISSED")))
            hmm = wl.startswith("hmm_enum")
            total = (f"{1e3 * r['total_s']:.2f} ms/step" if hmm else _fmt(r["total_s"]))
            per_lf = "-"
            if r.get("leapfrogs"):
                per_lf = f"{1e6 * r.get('steady_s', r['total_s']) / r['leapfrogs']:.0f}"
            lines.append(
                f"| {wl} | {impl} | {total} | {_fmt(r.get('compile_s'))} | "
                f"{_fmt(r.get('steady_s'))} | {r.get('leapfrogs', '-')} | {per_lf} | {_fmt(rt)} | "
                f"{_fmt(rs)} | {tgt_s} | {json.dumps(r.get('means', {}))} |")
    return "\n".join(lines)


def merge(paths: list[str], out_path: str) -> None:
    """Combine the results of several runs of this script into one table."""
    info: dict = {"merged_from": []}
    results: dict = {}
    cached: dict = {}
    raw: dict = {}
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        info["merged_from"].append({"file": os.path.basename(p), **d["info"]})
        for key, dst in (("results", results), ("cached", cached), ("raw", raw)):
            for wl, per in d.get(key, {}).items():
                dst.setdefault(wl, {}).update(per)
    results = {**{wl: results[wl] for wl in WORKLOADS if wl in results},
               **{wl: v for wl, v in results.items() if wl not in WORKLOADS}}
    table = _table(results)
    print(table)
    _print_cache_and_overhead(results, cached, bool(cached))
    with open(out_path, "w") as f:
        json.dump({"info": info, "results": results, "cached": cached, "raw": raw,
                   "table_markdown": table}, f, indent=1)
    print(f"\nwrote {out_path}")


def _print_cache_and_overhead(results: dict, cached: dict, cache_on: bool) -> None:
    if cache_on:
        print("\nJAX persistent compilation cache ON (cache filled by one earlier run):")
        for wl, per in cached.items():
            for impl, r in per.items():
                print(f"  {wl:20s} {impl:12s} total {_fmt(r['total_s'])} s, compile "
                      f"{_fmt(r['compile_s'])} s")
    else:
        print("\nJAX persistent compilation cache: off in every run (polyro does not turn it on; "
              "pass --cache to time a re-run with it on).")
    ov = results.get("nuts_logistic", {}).get("polyro-jax", {})
    if "overhead_ratio" in ov:
        print(f"JAX NUTS overhead (logistic): {ov['leapfrog_us']:.1f} us per leapfrog / "
              f"{ov['grad_call_us']:.1f} us per jitted potential+grad = "
              f"{ov['overhead_ratio']:.2f} (target < 1.5)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per cell (median shown)")
    ap.add_argument("--only", default=",".join(WORKLOADS))
    ap.add_argument("--impls", default=",".join(IMPLS))
    ap.add_argument("--scale", type=float, default=1.0, help="iteration counts x this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hmm-T", dest="hmm_T", type=int, default=1000)
    ap.add_argument("--cache", action="store_true",
                    help="also time the JAX rows with the persistent compilation cache on")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    ap.add_argument("--json", default=os.path.join(HERE, "results_peers.json"))
    ap.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "IMPL"), help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="combine result files of earlier runs (e.g. one per implementation, "
                         "run concurrently on separate cores) into one table and --json")
    a = ap.parse_args()
    if a.merge:
        merge(a.merge, a.json)
        return
    if a.worker:
        out = worker(a.worker[0], a.worker[1], a.scale, a.seed, a.cache_dir, a.hmm_T)
        print(json.dumps(out), flush=True)
        return

    workloads = [w for w in a.only.split(",") if w]
    impls = [i for i in a.impls.split(",") if i]
    info = _versions()
    info.update(repeats=a.repeats, scale=a.scale, seed=a.seed, dtype="float64", chains=1,
                jax_persistent_cache="off")
    print(f"# peers: {json.dumps(info)}", flush=True)
    results: dict = {}
    raw: dict = {}
    for wl in workloads:
        results[wl], raw[wl] = {}, {}
        for impl in impls:
            runs = raw[wl][impl] = []
            for i in range(a.repeats):
                t = time.perf_counter()
                r = _run_one(wl, impl, a, None)
                r["load_avg_1min"] = round(os.getloadavg()[0], 2)
                runs.append(r)
                print(f"  {wl} {impl} run {i + 1}/{a.repeats} ({time.perf_counter() - t:.1f} s "
                      f"wall): {json.dumps(r)}", flush=True)
                results[wl][impl] = _aggregate(runs)
                with open(a.json, "w") as f:  # partial results survive an interrupted run
                    json.dump({"info": info, "results": results, "cached": {}, "raw": raw}, f,
                              indent=1)
                if r.get("skipped") or r.get("error"):
                    break
    cached: dict = {}
    if a.cache:
        with tempfile.TemporaryDirectory(prefix="polyro-jax-cache-") as tmp:
            for wl in workloads:
                for impl in (i for i in impls if i in JAX_IMPLS):
                    d = os.path.join(tmp, f"{wl}-{impl}")
                    _run_one(wl, impl, a, d)  # fills the cache, not measured
                    runs = [_run_one(wl, impl, a, d) for _ in range(a.repeats)]
                    good = [r for r in runs if "total_s" in r]
                    if good:
                        cached.setdefault(wl, {})[impl] = {
                            k: _median(good, k) for k in ("total_s", "compile_s", "steady_s")}
    table = _table(results)
    print("\n" + table)
    _print_cache_and_overhead(results, cached, a.cache)
    info["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    with open(a.json, "w") as f:
        json.dump({"info": info, "results": results, "cached": cached, "raw": raw,
                   "table_markdown": table}, f, indent=1)
    print(f"\nwrote {a.json}")


if __name__ == "__main__":
    main()
