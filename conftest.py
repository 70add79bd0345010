"""Suite-wide pytest hooks: slow tests are named in the log as they finish.

CI runs ``make test`` on 2 cores with a hard time limit; a test that takes longer than
``POLYRO_SLOW_TEST_S`` seconds (default 20) is printed with its duration the moment its report
reaches the controller (also under pytest-xdist), so a log cut short by the limit still says
where the time went. ``--durations`` prints the same at the end of a complete run.
"""

from __future__ import annotations

import os
import re
import sys
import time

# JAX compiles every new shape, eagerly too, and the suite is mostly many small programs run
# once: compile time, not run time, is what JAX tests cost. XLA's CPU backend at optimization
# level 0 compiles them in about half the time (293 JAX distribution tests: 286 s -> 165 s) and
# computes the same IEEE results (no fast math), so the cross-engine agreement tests still
# compare what users get. (Adding --xla_llvm_disable_expensive_passes and the classic CPU
# emitters, --xla_cpu_use_fusion_emitters=false, halved compile time again, but that
# combination changed a jitted VonMises.icdf from its eager value: not used.) Subprocesses (the
# examples) inherit the setting. Four host devices let pmap (parallel chains) run.


def _xla_test_flags() -> str:
    return "--xla_force_host_platform_device_count=4 --xla_backend_optimization_level=0"


os.environ.setdefault("XLA_FLAGS", _xla_test_flags())


def _shared_jax_cache() -> None:
    """One JAX persistent compilation cache for the whole run, in a fresh temporary folder
    (empty at the start, as on a clean CI machine; removed at exit). Tests compile many
    identical programs (the same eager op shapes, the same distribution under different
    closures): the cache is keyed by the compiled program itself, so the second worker and the
    examples' subprocess (both inherit the variables) load what another process compiled
    instead of compiling it again. The controller sets it up before the workers start; a
    folder the user chose (``JAX_COMPILATION_CACHE_DIR``) is used as is."""
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="polyro-test-jax-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = folder
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


_shared_jax_cache()

_SLOW_S = float(os.environ.get("POLYRO_SLOW_TEST_S", "20"))
_T0 = time.monotonic()


def pytest_runtest_logreport(report):  # noqa: ANN001, ANN201 -- pytest hook signature
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller prints it once
    if report.when == "call" and report.duration > _SLOW_S:
        elapsed = time.monotonic() - _T0
        sys.stderr.write(f"\n[slow test] {report.nodeid}: {report.duration:.1f} s "
                         f"(suite at {elapsed / 60:.1f} min)\n")
        sys.stderr.flush()


def _listed_tests() -> list[tuple[str, str, float]]:
    """``(pattern, marker, seconds)`` from tests/slow_tests.txt: a line is a test id (``*`` is
    the only wildcard), optionally prefixed ``full`` (the test runs only in the full conformance
    run), then ``# <seconds> s`` measured."""
    path = os.path.join(os.path.dirname(__file__), "tests", "slow_tests.txt")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            body, _, comment = line.partition("#")
            body = body.strip()
            if not body:
                continue
            marker = "slow"
            if body.startswith("full "):
                marker, body = "full", body[5:].strip()
            m = re.match(r"\s*(\d+(?:\.\d+)?)\s*s\b", comment)
            out.append((body, marker, float(m.group(1)) if m else 0.0))
    return out


_JAX_ID = re.compile(r"[\[-]jax[\]-]")  # a JAX parametrization in a test id


def pytest_collection_modifyitems(config, items):  # noqa: ANN001, ANN201 -- pytest hook
    """Mark the tests listed in ``tests/slow_tests.txt`` ``slow`` (``make test-quick`` leaves
    them out) or ``full`` (only ``make conformance`` runs them), and run the slow ones first,
    longest first, so that on two workers no long test starts last and runs alone; then each
    file's JAX tests as one ``xdist_group``, then the rest."""
    from fnmatch import fnmatchcase

    import pytest

    listed = _listed_tests()
    exact = {pat: (marker, sec) for pat, marker, sec in listed if "*" not in pat}
    # only ``*`` is a wildcard: brackets of parameter ids are literal
    wild = [(pat.replace("[", "[[]"), marker, sec) for pat, marker, sec in listed if "*" in pat]
    cost: dict[str, float] = {}
    for item in items:
        nid = item.nodeid
        hit = exact.get(nid) or next(((mk, sec) for pat, mk, sec in wild
                                      if fnmatchcase(nid, pat)), None)
        if hit:
            item.add_marker(getattr(pytest.mark, hit[0]))
            cost[nid] = hit[1]
        elif _JAX_ID.search(nid):
            # one worker runs a file's JAX tests: XLA compiles each new op shape once per
            # process, and split across workers, both compiled the same shapes (JAX
            # distribution tests: 307 s -> 263 s on two workers); make test uses loadgroup
            item.add_marker(pytest.mark.xdist_group(nid.split("::")[0] + "::jax"))
            cost[nid] = -0.5  # after the slow tests, before the ungrouped ones fill the tail
    items.sort(key=lambda it: -cost.get(it.nodeid, -1.0))  # stable: the rest keep their order


def pytest_runtest_setup(item):  # noqa: ANN001, ANN201 -- pytest hook signature
    """Every test starts with an empty global parameter store, as in Pyro's own suite: tests run
    in any order (slow ones first, on any worker), and a ``param("loc", init)`` must not see
    another test's ``loc``."""
    store = sys.modules.get("polyro.core.param_store")
    if store is not None:
        store.clear_param_store()
