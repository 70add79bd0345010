"""Shared set-up for the asv suite: backend selection, skipping and the models benchmarked."""

from __future__ import annotations

import time

import numpy as np

import polyro
import polyro.distributions as dist
from polyro import ops

BACKENDS = ["numpy", "torch", "jax"]


def enter(name: str, need_grad: bool = False):
    """Select backend ``name`` in float64; raise NotImplementedError (asv: skipped) if unusable."""
    try:
        be = polyro.backends.get(name)
    except ImportError as e:  # engine not installed
        raise NotImplementedError(str(e)) from e
    if need_grad and not be.SUPPORTS_AUTODIFF:
        raise NotImplementedError(f"{name} has no autodiff: gradient benchmarks skip it")
    polyro.set_default_dtype("float64")
    polyro.set_backend(name)
    return be


def block(be, x):
    """Wait for asynchronous engines (JAX) so the timing covers the work."""
    for leaf in be.tree_leaves(x):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    return x


def logistic_data(n: int = 5000, d: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d) * 0.5
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(float)
    return X, y


def logistic_model(X, y=None):
    d = X.shape[1]
    w = polyro.sample("w", dist.Normal(0.0, 1.0).expand([d]).to_event(1))
    b = polyro.sample("b", dist.Normal(0.0, 5.0))
    with polyro.plate("N", X.shape[0]):
        polyro.sample("y", dist.Bernoulli(logits=ops.matmul(X, w) + b), obs=y)


EIGHT_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def eight_schools(sigma, y=None):
    mu = polyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = polyro.sample("tau", dist.HalfCauchy(5.0))
    with polyro.plate("J", 8):
        eta = polyro.sample("eta", dist.Normal(0.0, 1.0))
        polyro.sample("y", dist.Normal(mu + tau * eta, sigma), obs=y)


def seed_plated(n_groups=100, n_obs=50, X=None):
    a = polyro.sample("A", dist.Normal(0.0, 1.0))
    b = polyro.sample("B", dist.LogNormal(0.0, 1.0))
    with polyro.plate("groups", n_groups, dim=-2):
        c = polyro.sample("C", dist.LogNormal(a, b))
        with polyro.plate("obs", n_obs, dim=-1):
            return polyro.sample("X", dist.Poisson(c), obs=X)


class CompileClock:
    """Seconds JAX spends tracing, lowering and compiling (the union of the intervals it reports
    through ``jax.monitoring``) inside a window; zero on engines without a compiler."""

    EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
              "/jax/core/compile/jaxpr_to_mlir_module_duration",
              "/jax/core/compile/backend_compile_duration")

    def __init__(self, be) -> None:
        self.spans: list[tuple[float, float]] = []
        if getattr(be, "SUPPORTS_JIT", False):
            import jax.monitoring

            def listener(event, duration, **_):
                if event in self.EVENTS:
                    end = time.perf_counter()
                    self.spans.append((end - duration, end))

            jax.monitoring.register_event_duration_secs_listener(listener)

    def seconds(self, since: float, until: float) -> float:
        spans = sorted((max(a, since), min(b, until)) for a, b in self.spans
                       if b > since and a < until)
        total, cur = 0.0, None
        for a, b in spans:
            if cur is None or a > cur[1]:
                total += 0.0 if cur is None else cur[1] - cur[0]
                cur = [a, b]
            else:
                cur[1] = max(cur[1], b)
        return total + (0.0 if cur is None else cur[1] - cur[0])


def timed_split(be, fn):
    """Run ``fn()`` once; return ``(total_seconds, compile_seconds)`` (compile: JAX only)."""
    clock = CompileClock(be)
    t0 = time.perf_counter()
    block(be, fn())
    t1 = time.perf_counter()
    return t1 - t0, clock.seconds(t0, t1)


def require_jit(be) -> None:
    """Compile-time tracks only exist on engines that compile (JAX)."""
    if not getattr(be, "SUPPORTS_JIT", False):
        raise NotImplementedError(f"{be.NAME} does not compile: no compile time to report")
