"""``python -m conformance [--full] [--models a,b] [--backends numpy,torch,jax]``."""

from __future__ import annotations

import argparse
import sys
import time

import polyro

from . import checks
from .catalog import CATALOG
from .report import write_report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance", description=__doc__)
    ap.add_argument("--full", action="store_true", help="every model and check (slow)")
    ap.add_argument("--models", default="", help="comma-separated catalog names")
    ap.add_argument("--backends", default="numpy,torch,jax")
    ap.add_argument("--checks", default="log_density,forward,posterior,extra")
    args = ap.parse_args(argv)
    polyro.set_default_dtype("float64")
    backends = [b for b in args.backends.split(",") if b]
    names = [m for m in args.models.split(",") if m] or [
        n for n, e in CATALOG.items() if args.full or e.fast]
    which = set(args.checks.split(","))
    results: list[checks.Result] = []
    t0 = time.time()
    for name in names:
        e = CATALOG[name]
        print(f"[{time.time() - t0:7.1f}s] {name}", flush=True)
        try:
            if "log_density" in which:
                results += checks.check_log_density(e, backends)
            if "forward" in which and "seed" in e.tags:
                results += checks.check_forward_sampling(e, backends)
            if "posterior" in which:
                results += checks.check_posterior(e, [b for b in backends])
        except Exception as exc:  # a crash is a failure of that model, the suite goes on
            results.append(checks.Result(name, "all", "crash", False,
                                         note=f"{type(exc).__name__}: {exc}"))
    if "extra" in which:
        from . import extra_checks

        results += extra_checks.run_all(backends, full=args.full)
    md, js = write_report(results, {"mode": "full" if args.full else "fast",
                                    "seconds": round(time.time() - t0, 1)})
    print(md.read_text())
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
