"""A model's log density and its gradient; a full trace of the seed's plated model."""

from __future__ import annotations

import time

from polyro import handlers
from polyro.core.density import initialize_model

from .common import (
    BACKENDS,
    CompileClock,
    block,
    enter,
    logistic_data,
    logistic_model,
    seed_plated,
)


def _model_info(be):
    X, y = logistic_data()
    return initialize_model(be.key(0), logistic_model, (be.asarray(X), be.asarray(y)))


class LogDensity:
    """Potential energy of logistic regression (N=5000, D=20), jitted where the engine can."""

    params = BACKENDS
    param_names = ["backend"]

    def setup(self, backend):
        self.be = be = enter(backend)
        info = _model_info(be)
        self.z = info.init_params
        self.pe = be.jit(info.potential_fn)
        block(be, self.pe(self.z))

    def time_potential(self, backend):
        block(self.be, self.pe(self.z))


class LogDensityGrad:
    """Potential energy and its gradient (engines with autodiff only)."""

    params = BACKENDS
    param_names = ["backend"]

    def setup(self, backend):
        self.be = be = enter(backend, need_grad=True)
        info = _model_info(be)
        self.z = info.init_params
        self.vg = be.jit(be.value_and_grad(info.potential_fn))
        clock = CompileClock(be)
        t0 = time.perf_counter()
        block(be, self.vg(self.z))
        t1 = time.perf_counter()
        self.first_call_s, self.compile_s = t1 - t0, clock.seconds(t0, t1)

    def time_potential_and_grad(self, backend):
        block(self.be, self.vg(self.z))

    def track_first_call_seconds(self, backend):
        """First call (JAX: tracing and compilation included)."""
        return self.first_call_s

    track_first_call_seconds.unit = "seconds"

    def track_compile_seconds(self, backend):
        """Seconds inside JAX tracing/compilation during the first call (0 elsewhere)."""
        return self.compile_s

    track_compile_seconds.unit = "seconds"


class SeedTrace:
    """A full trace of the seed's plated model (100 groups x 50 observations)."""

    params = BACKENDS
    param_names = ["backend"]

    def setup(self, backend):
        self.be = enter(backend)
        self.model = handlers.seed(seed_plated, rng_seed=0)

    def time_trace(self, backend):
        tr = handlers.trace(self.model).get_trace()
        block(self.be, tr.nodes["X"]["value"])

    def peakmem_trace(self, backend):
        handlers.trace(self.model).get_trace()
