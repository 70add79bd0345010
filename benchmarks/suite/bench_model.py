"""A model's log density and its gradient; a full trace of the seed's plated model."""

from __future__ import annotations

from polyro import handlers
from polyro.core.density import initialize_model

from .common import BACKENDS, block, enter, logistic_data, logistic_model, seed_plated


class LogDensity:
    params = BACKENDS
    param_names = ["backend"]

    def setup(self, backend):
        self.be = be = enter(backend)
        X, y = logistic_data()
        info = initialize_model(be.key(0), logistic_model, (be.asarray(X), be.asarray(y)))
        self.z = info.init_params
        self.pe = be.jit(info.potential_fn)
        block(be, self.pe(self.z))
        if be.SUPPORTS_AUTODIFF:
            self.vg = be.jit(be.value_and_grad(info.potential_fn))
            block(be, self.vg(self.z))

    def time_potential(self, backend):
        block(self.be, self.pe(self.z))

    def time_potential_and_grad(self, backend):
        if not self.be.SUPPORTS_AUTODIFF:
            raise NotImplementedError("numpy has no autodiff")
        block(self.be, self.vg(self.z))


class SeedTrace:
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
