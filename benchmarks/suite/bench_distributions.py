"""Distribution log_prob and sample on large batches (10^6 elements)."""

from __future__ import annotations

import numpy as np

import polyro.distributions as dist

from .common import BACKENDS, block, enter

N = 1_000_000


class Distributions:
    params = (BACKENDS, ["Normal", "Gamma", "Poisson"])
    param_names = ["backend", "family"]

    def setup(self, backend, family):
        self.be = be = enter(backend)
        rng = np.random.default_rng(0)
        if family == "Normal":
            self.d = dist.Normal(be.asarray(rng.normal(size=N)), be.asarray(np.ones(N)))
        elif family == "Gamma":
            self.d = dist.Gamma(be.asarray(rng.uniform(0.5, 3, size=N)), be.asarray(np.ones(N)))
        else:
            self.d = dist.Poisson(be.asarray(rng.uniform(0.5, 30, size=N)))
        self.key = be.key(0)
        self.x = block(be, self.d.sample(self.key))
        block(be, self.d.log_prob(self.x))

    def time_log_prob(self, backend, family):
        block(self.be, self.d.log_prob(self.x))

    def time_sample(self, backend, family):
        block(self.be, self.d.sample(self.key))

    def peakmem_sample(self, backend, family):
        block(self.be, self.d.sample(self.key))
