"""GaussianHMM.log_prob time per engine: ``python benchmarks/bench_ghmm.py [--steps 200]``.

A 2-d hidden state, 2-d observations, ``--steps`` time steps, float64; each engine's call goes
through ``be.jit`` (``jax.jit`` on JAX, the plain call on numpy and torch), compiled and run once
before timing; the table gives the median over ``--repeat`` calls in ms. This is a benchmark,
not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def time_log_prob(name: str, steps: int, repeat: int) -> float:
    """Median seconds of one ``GaussianHMM.log_prob`` on backend ``name``."""
    import polyro
    import polyro.distributions as dist
    from polyro import backends

    be = backends.get(name)
    with polyro.backend(name):
        def mvn(scale: float) -> object:
            return dist.MultivariateNormal(be.asarray(np.zeros(2)), be.asarray(np.eye(2) * scale))

        d = dist.GaussianHMM(mvn(1.0), be.asarray(np.eye(2) * 0.9), mvn(0.1),
                             be.asarray(np.eye(2)), mvn(0.5), duration=steps)
        y = be.asarray(np.random.default_rng(0).normal(size=(steps, 2)))
        f = be.jit(lambda y: d.log_prob(y))
        be.to_numpy(f(y))
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            be.to_numpy(f(y))
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--engines", default="numpy,torch,jax")
    args = ap.parse_args()
    print(f"GaussianHMM.log_prob, T = {args.steps}, median of {args.repeat} calls")
    for name in args.engines.split(","):
        print(f"{name:8s} {time_log_prob(name, args.steps, args.repeat) * 1e3:9.2f} ms")


if __name__ == "__main__":
    main()
