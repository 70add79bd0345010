"""Backend selection: names, env var, missing engines, switching, thread/async locality, and the
dispatch of arrays (backend_of / namespace), including JAX tracers and mixed-engine errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import polyro
from polyro import backends
from polyro.errors import BackendNotAvailableError, MixedBackendError, UnknownBackendError


@pytest.fixture
def restore_backend():
    before = backends._global_name[0]
    yield
    backends._global_name[0] = before


def _run(code: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "POLYRO_BACKEND"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)


def test_default_is_numpy_without_env():
    r = _run("import polyro; print(polyro.get_backend(), polyro.backends.current().NAME)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["numpy", "numpy"]


@pytest.mark.parametrize("value,expect", [("torch", "torch"), (" JAX ", "jax")])
def test_env_var_selects_backend(value, expect):
    r = _run("import polyro; print(polyro.get_backend(), polyro.backends.current().NAME)",
             POLYRO_BACKEND=value)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [expect, expect]


def test_env_var_unknown_name_is_a_clear_error():
    r = _run("import polyro\ntry:\n    polyro.get_backend()\nexcept Exception as e:\n"
             "    print(type(e).__name__, e)", POLYRO_BACKEND="tensorflow")
    assert r.returncode == 0, r.stderr
    assert "UnknownBackendError" in r.stdout and "POLYRO_BACKEND" in r.stdout
    assert "numpy" in r.stdout and "torch" in r.stdout and "jax" in r.stdout


@pytest.mark.parametrize("bad", ["tensorflow", "", "Numpy2", None, 3])
def test_unknown_backend_names(bad, restore_backend):
    before = polyro.get_backend()
    for call in (polyro.set_backend, backends.get):
        with pytest.raises(UnknownBackendError, match="numpy"):
            call(bad)
    with pytest.raises(UnknownBackendError):
        with polyro.backend(bad):
            pass
    assert polyro.get_backend() == before


def test_missing_engine_names_the_pip_extra(monkeypatch, restore_backend):
    monkeypatch.setitem(backends.BACKENDS, "fakeengine",
                        ("polyro_engine_that_does_not_exist", "polyro[fakeengine]"))
    before = polyro.get_backend()
    with pytest.raises(BackendNotAvailableError, match=r"pip install 'polyro\[fakeengine\]'"):
        polyro.set_backend("fakeengine")
    with pytest.raises(BackendNotAvailableError, match="polyro_engine_that_does_not_exist"):
        with polyro.backend("fakeengine"):
            pass
    assert polyro.get_backend() == before
    assert isinstance(BackendNotAvailableError("x"), ImportError)


def test_missing_torch_is_reported_with_its_extra(monkeypatch):
    monkeypatch.setitem(backends.BACKENDS, "torch", ("torch_is_not_installed_here", "polyro[torch]"))
    monkeypatch.delitem(backends._loaded, "torch", raising=False)
    with pytest.raises(BackendNotAvailableError, match=r"polyro\[torch\]"):
        backends.get("torch")


def test_switching_back_and_forth(restore_backend):
    seen = []
    for name in ["numpy", "torch", "jax", "numpy", "jax", "torch", "numpy"]:
        polyro.set_backend(name)
        be = backends.current()
        x = polyro.ops.asarray([1.0, 2.0])
        seen.append((polyro.get_backend(), be.NAME, backends.engine_of(x)))
    assert all(a == b == c for a, b, c in seen)


def test_context_manager_nests_and_restores(restore_backend):
    polyro.set_backend("numpy")
    with polyro.backend("torch") as be:
        assert be.NAME == "torch" and polyro.get_backend() == "torch"
        with polyro.backend("jax"):
            assert polyro.get_backend() == "jax"
        assert polyro.get_backend() == "torch"
    assert polyro.get_backend() == "numpy"
    with pytest.raises(RuntimeError):
        with polyro.backend("jax"):
            raise RuntimeError("boom")
    assert polyro.get_backend() == "numpy"


def test_context_is_thread_local(restore_backend):
    polyro.set_backend("numpy")
    barrier = threading.Barrier(3)
    seen: dict[str, list[str]] = {}

    def worker(name):
        out = []
        if name == "plain":
            barrier.wait()
            out.append(polyro.get_backend())
            barrier.wait()
        else:
            with polyro.backend(name):
                barrier.wait()  # all threads inside their blocks at the same time
                out.append(polyro.get_backend())
                barrier.wait()
        out.append(polyro.get_backend())
        seen[name] = out

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("torch", "jax", "plain")]
    with polyro.backend("jax"):  # the main thread's block does not leak into the workers
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert seen == {"torch": ["torch", "numpy"], "jax": ["jax", "numpy"],
                    "plain": ["numpy", "numpy"]}


def test_context_is_async_local(restore_backend):
    polyro.set_backend("numpy")

    async def task(name, log):
        with polyro.backend(name):
            for _ in range(3):
                await asyncio.sleep(0)  # interleave with the other task
                log.append((name, polyro.get_backend()))

    async def main():
        log: list[tuple[str, str]] = []
        await asyncio.gather(task("torch", log), task("jax", log), task("numpy", log))
        return log

    log = asyncio.run(main())
    assert len(log) == 9 and all(a == b for a, b in log)
    assert polyro.get_backend() == "numpy"


# ------------------------------------------------------------------------------- dispatch
def test_backend_of_data_falls_back_to_active(backend):
    assert backends.backend_of(np.ones(2), 1.0, [1, 2], None).NAME == backend.NAME
    assert backends.backend_of().NAME == backend.NAME
    assert backends.namespace(np.ones(2)) is backend.xp
    assert backends.backend_of(backend.asarray([1.0])).NAME == backend.NAME


def test_foreign_engine_array_is_a_clear_error():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    with polyro.backend("jax"):
        with pytest.raises(MixedBackendError) as e:
            backends.backend_of(jnp.ones(2), torch.ones(2))
        msg = str(e.value)
        assert "torch" in msg and "'jax'" in msg and "polyro.backend('torch')" in msg
        with pytest.raises(MixedBackendError):
            backends.get("jax").asarray(torch.ones(2))
    with polyro.backend("numpy"):
        with pytest.raises(MixedBackendError, match="jax"):
            backends.namespace(jnp.ones(2))
        with pytest.raises(MixedBackendError):
            backends.get("numpy").asarray(torch.ones(2))
    with polyro.backend("torch"):
        with pytest.raises(MixedBackendError):
            backends.get("torch").asarray(jnp.ones(2))


def test_jax_tracers_are_recognised():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    seen = []

    def f(x):
        seen.append((type(x).__module__, backends.engine_of(x), backends.namespace(x) is jnp))
        return x * 2

    with polyro.backend("jax"):
        jax.jit(f)(jnp.ones(2))
        jax.vmap(f)(jnp.ones(3))
        jax.grad(lambda x: f(x).sum())(jnp.ones(2))
        jax.jit(jax.vmap(jax.grad(lambda x: f(x).sum())))(jnp.ones((2, 2)))
    assert len(seen) == 4
    assert all(eng == "jax" and ok for _, eng, ok in seen), seen
    assert any(m.startswith("jax._src") for m, _, _ in seen)  # tracer classes, not jax.Array
    with polyro.backend("torch"):  # a tracer meeting another active backend is refused
        with pytest.raises(MixedBackendError):
            jax.jit(lambda x: backends.backend_of(x) and x)(jnp.ones(2))


def test_torch_subclasses_and_parameters_are_torch():
    torch = pytest.importorskip("torch")
    assert backends.engine_of(torch.nn.Parameter(torch.ones(1))) == "torch"
    assert backends.engine_of(torch.ones(1)) == "torch"
    assert backends.engine_of(np.float64(1.0)) == "numpy"
    assert backends.engine_of(2.0) is None and backends.engine_of([1]) is None
