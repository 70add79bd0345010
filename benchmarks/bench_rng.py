"""Drawing 10**6 standard normals: polyro's portable Threefry generator vs each engine's native one.

Run: ``.venv/bin/python benchmarks/bench_rng.py [--n 1000000] [--repeat 7] [--dtype float32]``

For each engine it prints the best-of-``repeat`` wall time of the portable draw (``polyro`` adapter
``normal(key, (n,))``), of the engine's own generator (numpy ``Generator.standard_normal``,
``torch.randn``, ``jax.random.normal``) and their ratio. JAX timings are taken after a warm-up
call (compilation excluded) with ``block_until_ready``. Targets (issue 11): JAX ratio <= 1,
numpy and torch ratio <= 3.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable


def _pair_times(portable: Callable[[], object], native: Callable[[], object],
                repeat: int) -> tuple[float, float, float, float]:
    """Best-of-``repeat`` wall and CPU (process) times of the two callables, interleaved.

    On a shared, oversubscribed machine the wall time of a 100 ms call includes the time the
    process waits for a core, which penalises the slower call; the process CPU time does not.
    """
    portable()
    native()  # warm-up (JAX compiles here)
    wp, wn, cp, cn = [], [], [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        portable()
        w1, c1 = time.perf_counter(), time.process_time()
        native()
        w2, c2 = time.perf_counter(), time.process_time()
        wp.append(w1 - w0)
        wn.append(w2 - w1)
        cp.append(c1 - c0)
        cn.append(c2 - c1)
    return min(wp), min(wn), min(cp), min(cn)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**6)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch intra-op threads for both timings (default 1: on a shared, "
                         "loaded machine torch's thread pool adds 10-30 ms stalls per op)")
    args = ap.parse_args()
    n, dt = args.n, args.dtype

    import polyro
    from polyro import backends

    polyro.set_default_dtype(dt)
    rows = []

    import numpy as np

    be = backends.get("numpy")
    k = be.key(0)
    gen = np.random.Generator(np.random.Philox(0))
    rows.append(("numpy", *_pair_times(lambda: be.normal(k, (n,), dt),
                                       lambda: gen.standard_normal(n, dtype=dt), args.repeat)))

    try:
        import torch

        torch.set_num_threads(args.torch_threads)
        bt = backends.get("torch")
        kt = bt.key(0)
        g = torch.Generator().manual_seed(0)
        tdt = getattr(torch, dt)
        rows.append(("torch", *_pair_times(lambda: bt.normal(kt, (n,), dt),
                                           lambda: torch.randn(n, generator=g, dtype=tdt),
                                           args.repeat)))
    except ImportError:
        print("torch not installed: skipped")

    try:
        import jax

        bj = backends.get("jax")
        kj = bj.key(0)
        native = jax.jit(lambda key: jax.random.normal(key, (n,), dt))
        rows.append(("jax", *_pair_times(lambda: bj.normal(kj, (n,), dt).block_until_ready(),
                                         lambda: native(kj).block_until_ready(), args.repeat)))
    except ImportError:
        print("jax not installed: skipped")

    print(f"{n} standard normals, {dt}, best of {args.repeat} (interleaved); "
          "wall and process-CPU milliseconds")
    print(f"{'engine':8s} {'wall port.':>10s} {'wall nat.':>10s} {'ratio':>6s} "
          f"{'cpu port.':>10s} {'cpu nat.':>10s} {'ratio':>6s}")
    for name, wp, wn, cp, cn in rows:
        print(f"{name:8s} {wp * 1e3:10.2f} {wn * 1e3:10.2f} {wp / wn:6.2f} "
              f"{cp * 1e3:10.2f} {cn * 1e3:10.2f} {cp / max(cn, 1e-9):6.2f}")


if __name__ == "__main__":
    main()
