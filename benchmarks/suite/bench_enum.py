"""``hmm``: a Gaussian HMM (K=3) with the hidden states enumerated along a chain, written as a
``markov`` loop (``form="markov"``, T sites traced per call) or with ``vectorized_markov``
(``form="vectorized"``, two steps traced and the chain multiplied as one log-depth product).

* ``HMMLogMarginal.time_log_marginal``: exact log p(y) by tensor variable elimination (no
  gradients: numpy too), T=200.
* ``HMMTraceEnum.time_svi_step``: one SVI step (TraceEnum_ELBO loss + gradient + Adam) after a
  warm-up call, T=200 (the full T=1000 comparison with Pyro and NumPyro is
  ``benchmarks/bench_enum.py``); ``track_first_step_seconds`` is the first call (on JAX:
  tracing + compiling).
"""

from __future__ import annotations

import time

import numpy as np

import polyro
import polyro.distributions as dist
from polyro.distributions import constraints
from polyro.inference import SVI, TraceEnum_ELBO
from polyro.inference.enum import log_marginal, markov, vectorized_markov
from polyro.optim import Adam

from .common import BACKENDS, block, enter

K, T = 3, 200


def _data(t: int = T) -> np.ndarray:
    rng = np.random.default_rng(0)
    x, ys = 0, np.empty(t)
    for i in range(t):
        x = rng.choice(K, p=np.where(np.arange(K) == x, 0.9, 0.05))
        ys[i] = rng.normal(x - 1.0, 1.0)
    return ys


def hmm(ys, trans=None, locs=None, vectorized=False):
    if trans is None:
        t0 = np.full((K, K), 1.0 / K) + 0.05 * np.eye(K)
        trans = polyro.param("trans", t0 / t0.sum(-1, keepdims=True),
                             constraint=constraints.simplex)
        locs = polyro.param("locs", np.linspace(-1.0, 1.0, K))
    x = 0
    loop = (vectorized_markov(name="time", size=ys.shape[0], dim=-1) if vectorized
            else markov(range(ys.shape[0])))
    for t in loop:
        x = polyro.sample(f"x_{t}", dist.Categorical(probs=trans[x]),
                          infer={"enumerate": "parallel"})
        polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])


FORMS = ["markov", "vectorized"]


class HMMLogMarginal:
    params = (BACKENDS, FORMS)
    param_names = ["backend", "form"]

    def setup(self, backend, form):
        self.be = be = enter(backend)
        self.y = be.asarray(_data())
        trans = np.where(np.eye(K) > 0, 0.8, 0.1)
        self.trans, self.locs = be.asarray(trans), be.asarray(np.linspace(-1.0, 1.0, K))
        self.vec = form == "vectorized"
        self.time_log_marginal(backend, form)

    def time_log_marginal(self, backend, form):
        block(self.be, log_marginal(hmm, self.y, self.trans, self.locs, vectorized=self.vec,
                                    max_plate_nesting=int(self.vec)))


class HMMTraceEnum:
    params = (BACKENDS, FORMS)
    param_names = ["backend", "form"]
    timeout = 900

    def setup(self, backend, form):
        self.be = be = enter(backend, need_grad=True)
        self.y = be.asarray(_data())
        vec = form == "vectorized"
        model = (lambda ys: hmm(ys, vectorized=True)) if vec else hmm
        self.svi = SVI(model, lambda ys: None, Adam(0.05),
                       TraceEnum_ELBO(max_plate_nesting=int(vec)))
        self.state = self.svi.init(be.key(0), self.y)
        t0 = time.perf_counter()
        self.state, loss = self.svi.update(self.state, self.y)
        block(be, loss)
        self.first = time.perf_counter() - t0

    def time_svi_step(self, backend, form):
        self.state, loss = self.svi.update(self.state, self.y)
        block(self.be, loss)

    def track_first_step_seconds(self, backend, form):
        return self.first

    track_first_step_seconds.unit = "seconds"
