"""``import polyro`` (and everything that is not the torch/JAX adapter) imports neither torch nor
JAX: proved in fresh interpreters."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "POLYRO_BACKEND"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=180)


def test_import_polyro_imports_no_engine():
    r = _run("""
        import sys
        import polyro
        import polyro.ops as ops
        from polyro.backends import policy, protocol
        polyro.set_default_dtype("float64")   # must not import jax to flip x64
        polyro.set_rng("portable")
        be = polyro.backends.current()
        x = ops.exp(ops.asarray([0.0, 1.0]))
        be.lgamma(x); be.cholesky(ops.eye(2)); be.tree_leaves({"a": x})
        dir(polyro)
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "jax", "jaxlib"))
        print("LOADED", bad)
    """)
    assert r.returncode == 0, r.stderr
    assert "LOADED []" in r.stdout, r.stdout


def test_no_module_outside_the_adapters_imports_an_engine():
    r = _run("""
        import importlib, pkgutil, sys
        import polyro
        # polyro.testing (pytest fixtures) loads every engine to read its capability flags
        skipped = ("polyro.backends.torch", "polyro.backends.jax", "polyro.compat", "polyro.testing")
        failed = []

        def walk(path, prefix):  # pkgutil.walk_packages would import the skipped packages
            for info in pkgutil.iter_modules(path, prefix):
                if info.name.startswith(skipped):
                    continue
                try:
                    mod = importlib.import_module(info.name)
                except ImportError as e:  # an optional extra (e.g. pytest for polyro.testing)
                    failed.append((info.name, str(e)))
                    continue
                if info.ispkg:
                    walk(mod.__path__, info.name + ".")

        walk(polyro.__path__, "polyro.")
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "jax", "jaxlib"))
        print("LOADED", bad[:5])
        print("FAILED", failed)
    """)
    assert r.returncode == 0, r.stderr
    assert "LOADED []" in r.stdout, r.stdout


def test_selecting_a_backend_imports_only_its_engine():
    r = _run("""
        import sys
        import polyro
        polyro.set_backend("torch")
        print("TORCH", "torch" in sys.modules, "JAX", "jax" in sys.modules)
    """)
    assert r.returncode == 0, r.stderr
    assert "TORCH True JAX False" in r.stdout
