"""Run every gallery script in docs/examples briefly (``--quick``) on each backend it supports.

Each run is a subprocess (a fresh interpreter, as a user would run it) that must exit 0 and write
its figure to a temporary path. Examples that need gradients are also run on numpy, where they
must stop with polyro's AutodiffUnavailableError message (exit code 2) naming the engines that
can run them, and write no figure.
"""

from __future__ import annotations

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
}
NEEDS_GRAD = [name for name, b in SUPPORTED.items() if "numpy" not in b]
TIMEOUT = 600  # generous: the machine running `make test` may be shared


def _engine_available(name: str) -> bool:
    if name == "numpy":
        return True
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg", JAX_PLATFORMS="cpu", PYTHONHASHSEED="0")
    env.pop("POLYRO_BACKEND", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


CASES = [(name, b) for name, backends in SUPPORTED.items() for b in backends]


@pytest.mark.parametrize(("name", "backend"), CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_example_runs(name: str, backend: str, tmp_path: Path) -> None:
    if not _engine_available(backend):
        pytest.skip(f"{backend} is not installed")
    plot = tmp_path / f"{name}.png"
    proc = _run([str(EXAMPLES / f"{name}.py"), "--backend", backend, "--quick", "--plot",
                 str(plot)], tmp_path)
    assert proc.returncode == 0, f"{name} on {backend} failed:\n{proc.stdout}\n{proc.stderr}"
    assert plot.is_file() and plot.stat().st_size > 1000, f"{name} wrote no figure at {plot}"
    assert f"saved {plot}" in proc.stdout


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


@pytest.mark.parametrize("backend", GRAD)
def test_vae_example_runs(backend: str, tmp_path: Path) -> None:
    # docs/examples/vae.py (owned by the VAE example) saves vae_elbo.png in the working directory
    if not _engine_available(backend):
        pytest.skip(f"{backend} is not installed")
    proc = _run([str(EXAMPLES / "vae.py"), "--backend", backend, "--steps", "4", "--n-data",
                 "40", "--batch", "20"], tmp_path)
    assert proc.returncode == 0, f"vae on {backend} failed:\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "vae_elbo.png").is_file()


def test_every_script_is_tested() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    assert scripts == set(SUPPORTED) | {"vae", "demo"}, scripts
