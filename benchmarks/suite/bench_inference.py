"""SVI steps, NUTS, Predictive; JAX compile time is reported apart from the steady state.

Every ``time_*`` benchmark of a compiled workload runs after a warm-up call (steady state);
the ``track_*_compile_seconds`` benchmarks report the seconds JAX spent tracing and compiling
during the first call (``common.CompileClock``), and ``track_*_first_call_seconds`` the whole
first call.
"""

from __future__ import annotations

import time

from polyro.inference import MCMC, NUTS, SVI, Predictive, Trace_ELBO
from polyro.inference.autoguide import AutoNormal
from polyro.optim import Adam

from .common import (
    BACKENDS,
    EIGHT_SIGMA,
    EIGHT_Y,
    CompileClock,
    block,
    eight_schools,
    enter,
    logistic_data,
    logistic_model,
    require_jit,
    timed_split,
)


class SVILogistic:
    """AutoNormal + Trace_ELBO on logistic regression (N=5000, D=20), Adam(0.01), 200 steps."""

    params = BACKENDS
    param_names = ["backend"]
    timeout = 600

    def setup(self, backend):
        self.be = be = enter(backend, need_grad=True)
        X, y = logistic_data()
        self.args = (be.asarray(X), be.asarray(y))
        self.svi = SVI(logistic_model, AutoNormal(logistic_model), Adam(0.01), Trace_ELBO())
        clock = CompileClock(be)
        t0 = time.perf_counter()
        r = self.svi.run(be.key(0), 200, *self.args, progress_bar=False)  # compiles the chunk
        block(be, r.losses)
        t1 = time.perf_counter()
        self.first_s, self.compile_s = t1 - t0, clock.seconds(t0, t1)
        self.state = r.state

    def time_svi_200_steps(self, backend):
        r = self.svi.run(self.be.key(1), 200, *self.args, progress_bar=False,
                         init_state=self.state)
        block(self.be, r.losses)

    def peakmem_svi_200_steps(self, backend):
        self.svi.run(self.be.key(1), 200, *self.args, progress_bar=False, init_state=self.state)

    def track_first_call_seconds(self, backend):
        return self.first_s

    track_first_call_seconds.unit = "seconds"

    def track_compile_seconds(self, backend):
        return self.compile_s

    track_compile_seconds.unit = "seconds"


def _nuts_case(be, model):
    if model == "eight_schools":
        return eight_schools, (be.asarray(EIGHT_SIGMA),), {"y": be.asarray(EIGHT_Y)}, 1000
    X, y = logistic_data()
    return logistic_model, (be.asarray(X), be.asarray(y)), {}, 500


class NUTSBench:
    """NUTS, one chain, float64: eight schools (1000 + 1000), logistic regression (500 + 500).

    ``time_nuts_total`` is what a user waits for (a fresh ``MCMC.run``: compilation included).
    """

    params = (BACKENDS, ["eight_schools", "logistic"])
    param_names = ["backend", "model"]
    timeout = 900
    number = 1
    repeat = (1, 3, 120.0)

    def setup(self, backend, model):
        self.be = be = enter(backend, need_grad=True)
        self.model, self.args, self.kw, self.n = _nuts_case(be, model)

    def _run(self):
        mcmc = MCMC(NUTS(self.model), num_warmup=self.n, num_samples=self.n, progress_bar=False)
        mcmc.run(self.be.key(0), *self.args, **self.kw)
        return mcmc.get_samples()

    def time_nuts_total(self, backend, model):
        block(self.be, self._run())

    def peakmem_nuts_total(self, backend, model):
        self._run()


class NUTSCompile:
    """JAX only: the compile and steady-state parts of one fresh ``MCMC.run``."""

    params = (["jax"], ["eight_schools", "logistic"])
    param_names = ["backend", "model"]
    timeout = 900

    def setup(self, backend, model):
        self.be = be = enter(backend, need_grad=True)
        require_jit(be)
        self.model, self.args, self.kw, self.n = _nuts_case(be, model)

    def _split(self):
        def run():
            mcmc = MCMC(NUTS(self.model), num_warmup=self.n, num_samples=self.n,
                        progress_bar=False)
            mcmc.run(self.be.key(0), *self.args, **self.kw)
            return mcmc.get_samples()
        return timed_split(self.be, run)

    def track_nuts_compile_seconds(self, backend, model):
        return self._split()[1]

    track_nuts_compile_seconds.unit = "seconds"

    def track_nuts_steady_seconds(self, backend, model):
        total, comp = self._split()
        return total - comp

    track_nuts_steady_seconds.unit = "seconds"


class PredictiveBench:
    """Prior predictive of eight schools, 1000 draws."""

    params = BACKENDS
    param_names = ["backend"]

    def setup(self, backend):
        self.be = be = enter(backend)
        self.pred = Predictive(eight_schools, num_samples=1000)
        self.args = (be.asarray(EIGHT_SIGMA),)
        self.first_s, self.compile_s = timed_split(be, lambda: self.pred(be.key(0), *self.args))

    def time_prior_predictive_1000(self, backend):
        block(self.be, self.pred(self.be.key(1), *self.args))

    def peakmem_prior_predictive_1000(self, backend):
        self.pred(self.be.key(1), *self.args)

    def track_first_call_seconds(self, backend):
        return self.first_s

    track_first_call_seconds.unit = "seconds"

    def track_compile_seconds(self, backend):
        return self.compile_s

    track_compile_seconds.unit = "seconds"
