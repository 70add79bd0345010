"""Portable vs native standard normals: the ratio table of issue 11.

Run: ``.venv/bin/python benchmarks/rng_ratio.py [--n 1000000] [--repeat 15] [--dtype float64]``

Draws ``n`` standard normals with polyro's portable generator (Threefry-2x32, identical bits on
every engine: ``backend.normal(key, (n,), dtype)``) and with each engine's own generator
(``np.random.Generator(np.random.Philox(0)).standard_normal``, ``torch.randn``,
``jax.random.normal``), and prints the ratio portable / native. Targets (issue 11, float64):
numpy <= 3, torch <= 3, JAX <= 1.

How it measures, so that a loaded, shared machine still gives usable ratios:

* the two calls of a pair run back to back, in alternating order (ABBA), after a warm-up call
  each; the ratio is the median over ``repeat`` pairs of the per-pair ratio (and the table also
  gives the median times, which load inflates);
* ``cpu`` columns use the process CPU time, ``wall`` columns the wall clock; on an
  oversubscribed machine the CPU time is the steadier one (wall time includes waiting for a
  core), but it adds up all threads, so a multi-threaded native generator looks slower in CPU
  time than in wall time;
* torch runs with ``--torch-threads`` intra-op threads (default 1: the portable draw runs one
  thread on CPU; pass 0 to keep torch's default and time its multi-threaded ``randn``);
* JAX: ``jit`` compares ``jax.jit`` of each draw (compiled once, outside the timing),
  ``eager`` the plain calls (``polyro``'s adapter jits per shape and dtype, ``jax.random.normal``
  jits internally); ``block_until_ready`` on every result.

This is a benchmark, not a test: nothing here asserts. The asv version is
``benchmarks/suite/bench_random.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def pair_ratio(portable: Callable[[], object], native: Callable[[], object],
               repeat: int) -> dict[str, float]:
    """Median wall/CPU times of the two callables and median per-pair ratios (ABBA order)."""
    portable()
    native()
    wp, wn, cp, cn = [], [], [], []

    def timed(f: Callable[[], object]) -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        f()
        return time.perf_counter() - w0, time.process_time() - c0

    for i in range(repeat):
        if i % 2 == 0:
            (a, b), (c, d) = timed(portable), timed(native)
        else:
            (c, d), (a, b) = timed(native), timed(portable)
        wp.append(a)
        cp.append(b)
        wn.append(c)
        cn.append(d)
    med = statistics.median
    return {
        "wall_p": med(wp), "wall_n": med(wn), "cpu_p": med(cp), "cpu_n": med(cn),
        "wall_ratio": med(p / max(q, 1e-9) for p, q in zip(wp, wn, strict=True)),
        "cpu_ratio": med(p / max(q, 1e-9) for p, q in zip(cp, cn, strict=True)),
    }


def cases(n: int, dt: str, engines: list[str], torch_threads: int) -> list[tuple[str, Callable,
                                                                                  Callable]]:
    """(row name, portable draw, native draw) for each engine available."""
    from polyro import backends

    out = []
    if "numpy" in engines:
        import numpy as np

        be = backends.get("numpy")
        k = be.key(0)
        gen = np.random.Generator(np.random.Philox(0))
        out.append(("numpy", lambda: be.normal(k, (n,), dt),
                    lambda: gen.standard_normal(n, dtype=dt)))
    if "torch" in engines:
        try:
            import torch
        except ImportError:
            print("torch not installed: skipped")
        else:
            if torch_threads > 0:
                torch.set_num_threads(torch_threads)
            bt = backends.get("torch")
            kt = bt.key(0)
            g = torch.Generator().manual_seed(0)
            tdt = getattr(torch, dt)
            out.append((f"torch ({torch.get_num_threads()} thr)", lambda: bt.normal(kt, (n,), dt),
                        lambda: torch.randn(n, generator=g, dtype=tdt)))
    if "jax" in engines:
        try:
            import jax
        except ImportError:
            print("jax not installed: skipped")
        else:
            bj = backends.get("jax")
            kj = bj.key(0)
            jp = jax.jit(lambda key: bj.normal(key, (n,), dt))
            jn = jax.jit(lambda key: jax.random.normal(key, (n,), dt))
            out.append(("jax jit", lambda: jp(kj).block_until_ready(),
                        lambda: jn(kj).block_until_ready()))
            out.append(("jax eager", lambda: bj.normal(kj, (n,), dt).block_until_ready(),
                        lambda: jax.random.normal(kj, (n,), dt).block_until_ready()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**6)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64", "both"])
    ap.add_argument("--engines", default="numpy,torch,jax")
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch intra-op threads for both draws (0: torch's default)")
    args = ap.parse_args()

    import polyro

    engines = args.engines.split(",")
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    print(f"{args.n} standard normals; median of {args.repeat} interleaved pairs; ms")
    print(f"{'engine':16s} {'dtype':8s} {'cpu port.':>10s} {'cpu nat.':>10s} {'ratio':>6s} "
          f"{'wall port.':>10s} {'wall nat.':>10s} {'ratio':>6s}")
    for dt in dtypes:
        polyro.set_default_dtype(dt)  # float64 turns on jax_enable_x64
        for name, port, nat in cases(args.n, dt, engines, args.torch_threads):
            r = pair_ratio(port, nat, args.repeat)
            print(f"{name:16s} {dt:8s} {r['cpu_p'] * 1e3:10.2f} {r['cpu_n'] * 1e3:10.2f} "
                  f"{r['cpu_ratio']:6.2f} {r['wall_p'] * 1e3:10.2f} {r['wall_n'] * 1e3:10.2f} "
                  f"{r['wall_ratio']:6.2f}", flush=True)


if __name__ == "__main__":
    main()
