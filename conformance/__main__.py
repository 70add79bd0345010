"""``python -m conformance [--full] [--models a,b] [--backends numpy,torch,jax]``.

Runs the catalog checks (log density and gradients across engines, forward sampling, posterior
against the reference, and each engine's posterior against the other engines'
(``posterior_across``: every model run by NUTS on two engines, with or without a reference)) and the extra checks (SVI agreement, failure semantics, gradient-free
MCMC, NUTS fault handling; with ``--full`` also simulation-based calibration), then writes
``conformance/report/report.md`` and ``report.json``. With ``--merge`` the earlier report's
results are kept and only what this run measures again is replaced (the comparisons across
engines are computed again from the merged posterior runs), so a slow backend's column can be
filled one run at a time: ``python -m conformance --full --merge --backends torch --checks
posterior --models gp_pois_regr``. The header lists the earlier runs merged in.

Each posterior check runs in its own process (``--jobs`` of them at once), watched: one whose resident memory passes
``--max-rss-gb`` or whose time passes ``--check-timeout`` is stopped and reported as a failure of
that model on that backend, and the suite goes on (a runaway sampler must not take the machine,
or the rest of the report, with it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polyro

from . import checks, extra_checks, report
from .catalog import CATALOG
from .known_gaps import gap_for
from .report import mark, write_report

_STOP = threading.Event()  # set when the suite is interrupted: every watched child is stopped


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cpu() -> float:
    """CPU seconds of this process and its finished children."""
    return time.process_time() + _children_cpu()


def _rss_gb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (OSError, ValueError, IndexError):
        return None


def _posterior_worker(name: str, backend: str, out: str) -> int:
    """Child process: one posterior check, its rows written as JSON to ``out``."""
    t, c = time.time(), time.process_time()
    got = checks.check_posterior(CATALOG[name], [backend])
    for r in got:
        if r.passed is not None:
            r.numbers["seconds"] = round(time.time() - t, 1)
            r.numbers["cpu_seconds"] = round(time.process_time() - c, 1)
    Path(out).write_text(json.dumps([r.row() for r in got], default=float))
    return 0


def _posterior_isolated(name: str, backend: str, max_rss_gb: float,
                        timeout_s: float) -> list[checks.Result]:
    """Run one posterior check in a child process, stopped past the memory or time limit (a
    known gap is reported without starting one)."""
    gap = gap_for(backend, name, "posterior")
    if gap:
        return [checks.Result(name, backend, "posterior", None, note="known gap: " + gap)]
    with tempfile.TemporaryDirectory() as d:
        out, err = Path(d) / "rows.json", Path(d) / "stderr.txt"
        cmd = [sys.executable, "-m", "conformance", "--worker-posterior", f"{name}:{backend}",
               "--worker-out", str(out)]
        t0 = time.time()
        peak, why = 0.0, ""
        with open(err, "w") as ferr:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=ferr)
            try:
                while proc.poll() is None:
                    rss = _rss_gb(proc.pid)
                    peak = max(peak, rss or 0.0)
                    if rss is not None and rss > max_rss_gb:
                        why = (f"stopped: resident memory {rss:.1f} GB passed the limit "
                               f"--max-rss-gb {max_rss_gb:g} after {time.time() - t0:.0f} s")
                    elif _STOP.is_set():
                        why = "stopped: the suite was interrupted"
                    elif time.time() - t0 > timeout_s:
                        why = f"stopped: still running after --check-timeout {timeout_s:g} s"
                    if why:
                        break
                    time.sleep(0.5)
            finally:  # stopped, interrupted or terminated: the child goes too
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        nums = {"peak_rss_gb": round(peak, 2)}
        if not why and proc.returncode == 0 and out.exists():
            got = [checks.Result(**row) for row in json.loads(out.read_text())]
            for r in got:
                if r.passed is not None:
                    r.numbers.update(nums)
            return got
        if not why:
            tail = err.read_text().strip().splitlines()[-1:] if err.exists() else []
            why = f"crash: exit status {proc.returncode}: {' '.join(tail)[-300:]}"
        return [checks.Result(name, backend, "posterior", False, nums, why)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="every model and check (slow)")
    ap.add_argument("--models", default="", help="comma-separated catalog names")
    ap.add_argument("--backends", default="numpy,torch,jax")
    ap.add_argument("--checks", default="log_density,forward,posterior,extra")
    ap.add_argument("--max-rss-gb", type=float, default=8.0,
                    help="stop a posterior check whose process passes this resident memory")
    ap.add_argument("--check-timeout", type=float, default=3600.0,
                    help="stop a posterior check running longer than this (seconds)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="posterior checks run at once, each in its own process")
    ap.add_argument("--merge", action="store_true",
                    help="keep the earlier report's results and replace only what this run "
                         "measures again (fill a backend's column one run at a time)")
    ap.add_argument("--worker-posterior", default="", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    polyro.set_default_dtype("float64")
    if args.worker_posterior:
        name, backend = args.worker_posterior.split(":")
        return _posterior_worker(name, backend, args.worker_out)
    # SIGTERM unwinds like Ctrl-C, so a running posterior process is stopped with the suite
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backends = [b for b in args.backends.split(",") if b]
    names = [m for m in args.models.split(",") if m] or [
        n for n, e in CATALOG.items() if args.full or e.fast]
    which = set(args.checks.split(","))
    results: list[checks.Result] = []
    t0, c0 = time.time(), _cpu()
    load0 = os.getloadavg()
    timings: dict[str, dict] = {}

    # posterior checks: one watched process each, --jobs at a time, started first (they take
    # most of the time) while this process runs the in-process checks
    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    posterior = {}
    base = report.load_report() if args.merge else None  # the report this run merges into
    saver = _MergeSaver(base) if base is not None else None
    if "posterior" in which:
        posterior = {(name, b): pool.submit(_posterior_isolated, name, b, args.max_rss_gb,
                                            args.check_timeout)
                     for b in backends for name in names}
        for (name, b), fut in posterior.items():
            fut.add_done_callback(lambda f, name=name, b=b: f.cancelled() or f.exception() or (
                print(f"[{time.time() - t0:7.1f}s] posterior {name} on {b}: "
                      + ", ".join(mark(r) for r in f.result()), flush=True),
                saver and saver.add(f.result())))
    try:
        _run_in_process(names, which, backends, results, timings, t0, args)
        for (name, b), fut in posterior.items():  # each row carries its own seconds and memory
            try:
                results += fut.result()
            except Exception as exc:  # noqa: BLE001 - a crash is a failure of that check
                results.append(checks.Result(name, b, "posterior", False,
                                             note=f"crash: {type(exc).__name__}: {exc}"))
    except BaseException:  # interrupted: no posterior process outlives the suite
        _STOP.set()
        raise
    finally:
        pool.shutdown(cancel_futures=True)
    load1 = os.getloadavg()
    meta = {"mode": "full" if args.full else "fast", "backends": ",".join(backends),
            "jobs": args.jobs, "seconds": round(time.time() - t0, 1),
            "cpu_seconds": round(_cpu() - c0, 1),
            "loadavg_start": [round(x, 2) for x in load0],
            "loadavg_end": [round(x, 2) for x in load1], "cores": os.cpu_count()}
    if base is not None:
        old, old_meta, old_timings = base
        results = report.merge_results(old, results)
        meta = report.merged_meta(old_meta, meta)
        timings = {**old_timings, **timings}
    results += checks.compare_engines(results)  # NUTS on each engine against the others
    md, js = write_report(results, meta, timings)
    print(md.read_text())
    return 0 if all(r.passed is not False for r in results) else 1


class _MergeSaver:
    """With ``--merge``: every finished posterior check is merged into the report at once, so
    a run stopped before its end (a deadline, Ctrl-C) keeps the checks that finished."""

    def __init__(self, base: tuple[list, dict, dict]) -> None:
        self._base = base
        self._lock = threading.Lock()
        self._done: list[checks.Result] = []

    def add(self, rows: list[checks.Result]) -> None:
        if _STOP.is_set():  # stopped because the run was: not a measurement, not saved
            return
        with self._lock:
            self._done += rows
            old, old_meta, timings = self._base
            merged = report.merge_results(old, self._done)
            meta = report.merged_meta(old_meta, {
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "partial": f"posterior checks saved so far by a running --merge run: "
                           f"{len(self._done)}"})
            write_report(merged + checks.compare_engines(merged), meta, timings)


def _run_in_process(names, which, backends, results, timings, t0, args) -> None:
    """The checks that run in this process: log density, forward sampling, the extra checks."""
    for name in names:
        e = CATALOG[name]
        print(f"[{time.time() - t0:7.1f}s] {name}", flush=True)
        t1, c1 = time.time(), time.process_time()
        steps = []
        if "log_density" in which:
            steps.append(("log_density", "all", lambda e=e: checks.check_log_density(e, backends)))
        if "forward" in which and "seed" in e.tags:
            steps.append(("forward", "all",
                          lambda e=e: checks.check_forward_sampling(e, backends)))
        for check, backend, run in steps:
            try:
                results += run()
            except Exception as exc:  # a crash is a failure of that check, the suite goes on
                results.append(checks.Result(name, backend, check, False,
                                             note=f"crash: {type(exc).__name__}: {exc}"))
        if steps:
            timings[name] = {"seconds": round(time.time() - t1, 1),
                             "cpu_seconds": round(time.process_time() - c1, 1)}
    if "extra" in which:
        print(f"[{time.time() - t0:7.1f}s] extra checks", flush=True)
        t1, c1 = time.time(), _cpu()
        results += extra_checks.run_all(backends, full=args.full)
        timings["extra checks"] = {"seconds": round(time.time() - t1, 1),
                                   "cpu_seconds": round(_cpu() - c1, 1)}


if __name__ == "__main__":
    sys.exit(main())
