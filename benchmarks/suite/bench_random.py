"""Portable vs native random normals (issue 11): 10^6 standard normals per call.

``time_normal`` times one draw with polyro's portable generator (Threefry-2x32, the same bits on
every engine: ``backend.normal(key, (N,), dtype)``) or with the engine's own generator
(``np.random.Generator(np.random.Philox(0)).standard_normal``, ``torch.randn``,
``jax.random.normal``); both JAX calls are the plain (internally jitted) ones, timed after a
warm-up that compiles them. ``track_portable_over_native`` reports the ratio the issue sets
targets for (float64: numpy <= 3, torch <= 3, JAX <= 1): the median over interleaved pairs of
the per-pair CPU-time ratio, JAX jit against jit, so that machine load cancels out.
``benchmarks/rng_ratio.py`` prints the same ratios as a table.
"""

from __future__ import annotations

import statistics
import time

from .common import BACKENDS, block, enter

N = 1_000_000


def _draws(backend: str, generator: str, dtype: str, jit: bool = False):
    """A zero-argument callable drawing N standard normals (blocked on JAX)."""
    be = enter(backend)
    if backend == "numpy":
        import numpy as np

        if generator == "native":
            gen = np.random.Generator(np.random.Philox(0))
            return lambda: gen.standard_normal(N, dtype=dtype)
    elif backend == "torch":
        import torch

        if generator == "native":
            g = torch.Generator().manual_seed(0)
            tdt = getattr(torch, dtype)
            return lambda: torch.randn(N, generator=g, dtype=tdt)
    else:
        import jax

        key = be.key(0)
        f = (lambda k: jax.random.normal(k, (N,), dtype)) if generator == "native" else \
            (lambda k: be.normal(k, (N,), dtype))
        f = jax.jit(f) if jit else f
        return lambda: f(key).block_until_ready()
    key = be.key(0)
    return lambda: be.normal(key, (N,), dtype)


class RandomNormal:
    params = (BACKENDS, ["portable", "native"], ["float64", "float32"])
    param_names = ["backend", "generator", "dtype"]

    def setup(self, backend, generator, dtype):
        self.be = enter(backend)
        self.draw = _draws(backend, generator, dtype)
        block(self.be, self.draw())  # warm-up: JAX compiles here

    def time_normal(self, backend, generator, dtype):
        block(self.be, self.draw())


class RandomNormalRatio:
    params = (BACKENDS, ["float64", "float32"])
    param_names = ["backend", "dtype"]
    timeout = 300

    def setup(self, backend, dtype):
        self.portable = _draws(backend, "portable", dtype, jit=True)
        self.native = _draws(backend, "native", dtype, jit=True)
        self.portable()
        self.native()

    def track_portable_over_native(self, backend, dtype):
        ratios = []
        for i in range(11):
            pair = (self.portable, self.native) if i % 2 == 0 else (self.native, self.portable)
            t = {}
            for f in pair:
                c0 = time.process_time()
                f()
                t[f] = time.process_time() - c0
            ratios.append(t[self.portable] / max(t[self.native], 1e-9))
        return statistics.median(ratios)

    track_portable_over_native.unit = "portable/native"
