"""Run every gallery script in docs/examples briefly (``--quick``) on each backend it supports.

The scripts of one backend run one after the other in ONE subprocess (this file run as a script,
see ``_run_batch``): each is executed with ``runpy`` exactly as ``python docs/examples/NAME.py
--backend B --quick --plot PATH`` would run it, but the interpreter, the engine's import and
JAX's compilation cache are paid for once per backend instead of once per script. Every script
must exit 0 and write its figure; a failure names the script and shows its output (the
subprocess records each script's result as soon as it ends, so a crash or a hang names the
script that was running). Examples that need gradients are also run on numpy, each in its own
interpreter, where they must stop with polyro's AutodiffUnavailableError message (exit code 2)
naming the engines that can run them, and write no figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
ALL = ("numpy", "torch", "jax")
GRAD = ("torch", "jax")

# script -> backends on which it must run to completion
SUPPORTED = {
    "eight_schools": ALL,          # NUTS on torch/jax, AIES on numpy
    "logistic_regression": ALL,    # NUTS + SVI on torch/jax, AIES on numpy
    "gaussian_mixture": ALL,       # enumerated assignments; NUTS or AIES
    "hmm": ALL,                    # forward algorithm with polyro.ops + scan
    "hierarchical_subsample": GRAD,  # SVI (AutoNormal) with plate subsampling
    "gp_poisson": GRAD,            # NUTS over a 15..40-dim latent GP
    "vae": GRAD,                   # SVI with networks registered by polyro.module
}
NEEDS_GRAD = [name for name, b in SUPPORTED.items() if "numpy" not in b]
TIMEOUT = 540  # generous (the machine running `make test` may be shared), below pytest's 600 s


def _engine_available(name: str) -> bool:
    if name == "numpy":
        return True
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg", JAX_PLATFORMS="cpu", PYTHONHASHSEED="0")
    # XLA_FLAGS: the root conftest.py's compile-fast flags, inherited
    env.pop("POLYRO_BACKEND", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


@pytest.mark.parametrize("backend", ALL)
def test_examples_run(backend: str, tmp_path: Path) -> None:
    if not _engine_available(backend):
        pytest.skip(f"{backend} is not installed")
    names = [name for name, backends in SUPPORTED.items() if backend in backends]
    results = tmp_path / "results.json"
    try:
        proc = _run([__file__, backend, str(tmp_path), *names], tmp_path)
        tail = f"runner exit code {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    except subprocess.TimeoutExpired:
        tail = f"runner timed out after {TIMEOUT} s"
    done = json.loads(results.read_text()) if results.is_file() else {}
    failures = []
    for name in names:
        r = done.get(name)
        plot = tmp_path / f"{name}.png"
        if r is None or "rc" not in r:
            why = "did not run" if r is None else "was running when the runner stopped"
            failures.append(f"{name} on {backend} {why} ({tail})")
        elif r["rc"] != 0:
            failures.append(f"{name} on {backend} failed (exit code {r['rc']}):\n"
                            f"{r['stdout']}\n{r['stderr']}")
        elif not (plot.is_file() and plot.stat().st_size > 1000):
            failures.append(f"{name} on {backend} wrote no figure at {plot}:\n{r['stdout']}")
        elif f"saved {plot}" not in r["stdout"]:
            failures.append(f"{name} on {backend} did not report the figure:\n{r['stdout']}")
    if not failures and "runner exit code 0:" not in tail:
        failures.append(f"runner (docs/examples run by this file) failed after the last "
                        f"example ({tail})")
    for name, r in done.items():  # seen with pytest -rA / on failure
        if "seconds" in r:
            print(f"{name}-{backend}: {r['seconds']:.1f} s ({r['cpu']:.1f} s CPU)")
    assert not failures, (f"{len(failures)} of {len(names)} examples failed on {backend}: "
                          + ", ".join(f.split(' ', 1)[0] for f in failures) + "\n\n"
                          + "\n\n".join(failures))


@pytest.mark.parametrize("name", NEEDS_GRAD)
def test_gradient_examples_explain_numpy(name: str, tmp_path: Path) -> None:
    plot = tmp_path / f"{name}.png"
    proc = _run([str(EXAMPLES / f"{name}.py"), "--backend", "numpy", "--quick", "--plot",
                 str(plot)], tmp_path)
    assert proc.returncode == 2, f"expected exit 2, got {proc.returncode}:\n{proc.stderr}"
    assert "AutodiffUnavailableError" in proc.stderr
    assert "torch" in proc.stderr and "jax" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not plot.exists()


def test_every_script_is_tested() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    assert scripts == set(SUPPORTED) | {"demo"}, scripts


def _run_batch(backend: str, out: Path, names: list[str]) -> None:
    """Run the scripts ``names`` on ``backend`` in this process, one after the other, as
    ``python docs/examples/NAME.py --backend BACKEND --quick --plot OUT/NAME.png`` would; after
    each, record its exit code, output and time in ``OUT/results.json``."""
    import contextlib
    import io
    import runpy
    import time
    import traceback

    import polyro

    sys.path.insert(0, str(EXAMPLES))  # where `python docs/examples/NAME.py` finds _common
    results: dict[str, dict] = {}

    def record() -> None:
        tmp = out / "results.json.tmp"
        tmp.write_text(json.dumps(results))
        tmp.replace(out / "results.json")

    for name in names:
        results[name] = {}
        record()  # a crash or a hang from here on names this script
        script = EXAMPLES / f"{name}.py"
        sys.argv = [str(script), "--backend", backend, "--quick", "--plot", str(out / f"{name}.png")]
        polyro.clear_param_store()
        stdout, stderr = io.StringIO(), io.StringIO()
        rc = 0
        t0, c0 = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if not isinstance(e.code, int | None):
                    print(e.code, file=sys.stderr)
            except BaseException:  # noqa: BLE001 - reported like the interpreter would
                traceback.print_exc()
                rc = 1
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        results[name] = {"rc": rc, "stdout": stdout.getvalue(), "stderr": stderr.getvalue(),
                         "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}
        record()
        print(f"{name}: exit {rc} in {results[name]['seconds']:.1f} s", flush=True)


if __name__ == "__main__":  # python tests/docs/test_examples.py BACKEND OUT_DIR NAME...
    _run_batch(sys.argv[1], Path(sys.argv[2]), sys.argv[3:])
