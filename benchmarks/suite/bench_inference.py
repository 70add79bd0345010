"""SVI steps, NUTS, Predictive; JAX compile time is measured apart from the steady state."""

from __future__ import annotations

import time

from polyro.inference import MCMC, NUTS, SVI, Predictive, Trace_ELBO
from polyro.inference.autoguide import AutoNormal
from polyro.optim import Adam

from .common import (
    BACKENDS,
    EIGHT_SIGMA,
    EIGHT_Y,
    block,
    eight_schools,
    enter,
    logistic_data,
    logistic_model,
)


class SVILogistic:
    """AutoNormal + Trace_ELBO on logistic regression (N=5000, D=20), 200 steps."""

    params = BACKENDS
    param_names = ["backend"]
    timeout = 600

    def setup(self, backend):
        self.be = be = enter(backend, need_grad=True)
        X, y = logistic_data()
        self.args = (be.asarray(X), be.asarray(y))
        self.svi = SVI(logistic_model, AutoNormal(logistic_model), Adam(0.01), Trace_ELBO())
        t0 = time.perf_counter()
        self.svi.run(be.key(0), 2, *self.args, progress_bar=False)
        self.compile_s = time.perf_counter() - t0

    def time_svi_200_steps(self, backend):
        r = self.svi.run(self.be.key(1), 200, *self.args, progress_bar=False)
        block(self.be, r.losses)

    def track_first_call_seconds(self, backend):
        return self.compile_s

    track_first_call_seconds.unit = "seconds"


class NUTSBench:
    params = (BACKENDS, ["eight_schools", "logistic"])
    param_names = ["backend", "model"]
    timeout = 900

    def setup(self, backend, model):
        self.be = be = enter(backend, need_grad=True)
        if model == "eight_schools":
            self.model, self.args, self.kw = eight_schools, (be.asarray(EIGHT_SIGMA),), {
                "y": be.asarray(EIGHT_Y)}
            self.n = 1000
        else:
            X, y = logistic_data()
            self.model, self.args, self.kw = logistic_model, (be.asarray(X), be.asarray(y)), {}
            self.n = 500

    def _run(self):
        mcmc = MCMC(NUTS(self.model), num_warmup=self.n, num_samples=self.n, progress_bar=False)
        mcmc.run(self.be.key(0), *self.args, **self.kw)
        return block(self.be, mcmc.get_samples())

    def time_nuts_total(self, backend, model):
        self._run()


class PredictiveBench:
    params = BACKENDS
    param_names = ["backend"]

    def setup(self, backend):
        self.be = be = enter(backend)
        self.pred = Predictive(eight_schools, num_samples=1000)
        self.args = (be.asarray(EIGHT_SIGMA),)
        block(be, self.pred(be.key(0), *self.args))

    def time_prior_predictive_1000(self, backend):
        block(self.be, self.pred(self.be.key(1), *self.args))

    def peakmem_prior_predictive_1000(self, backend):
        self.pred(self.be.key(1), *self.args)
