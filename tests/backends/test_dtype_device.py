"""The dtype policy (float32 on torch/JAX by default, float64 on request with JAX x64 switched on
through polyro), dtype names, conversion at the boundary, and devices."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import polyro
from polyro.backends import policy
from polyro.errors import MixedBackendError


def _np(be, x):
    return np.asarray(be.to_numpy(x))


def _dtname(be, x) -> str:
    return _np(be, x).dtype.name


def test_engine_defaults_without_a_user_choice(backend):
    with policy.default_dtype(None):
        expect = "float64" if backend.NAME == "numpy" else "float32"
        assert policy.get_default_dtype(backend.NAME) == expect
        assert np.dtype(backend.float_dtype()) == np.dtype(expect) if backend.NAME != "torch" \
            else str(backend.float_dtype()) == f"torch.{expect}"
        assert _dtname(backend, backend.asarray(1.5)) == expect
        assert _dtname(backend, backend.asarray(np.array([1.5]))) in (expect, "float64")
        assert _dtname(backend, polyro.ops.zeros(2)) == expect
    assert _dtname(backend, backend.asarray(1.5)) == "float64"  # the fixture's float64 is back


def test_float64_on_request(backend):
    assert polyro.get_default_dtype() == "float64"
    for x in (1.5, [1.0, 2.0]):
        assert _dtname(backend, backend.asarray(x)) == "float64"
    # numpy data is converted to the policy float on torch/jax; on numpy it is the engine's own
    # array and keeps its dtype
    f32 = backend.asarray(np.array([1.0], dtype=np.float32))
    assert _dtname(backend, f32) == ("float32" if backend.is_array(np.ones(1)) else "float64")
    assert _dtname(backend, polyro.ops.eye(2)) == "float64"
    assert _dtname(backend, polyro.ops.arange(0.0, 1.0, 0.5)) == "float64"
    assert _dtname(backend, backend.lgamma(backend.asarray([1.5]))) == "float64"


def test_float32_everywhere_on_request(backend):
    with policy.default_dtype("float32"):
        assert _dtname(backend, backend.asarray(1.5)) == "float32"
        assert _dtname(backend, polyro.ops.ones(3)) == "float32"
        assert _dtname(backend, polyro.ops.full((2,), 0.5)) == "float32"


def test_policy_argument_checks():
    with pytest.raises(ValueError, match="float16"):
        polyro.set_default_dtype("float16")
    with pytest.raises(ValueError, match="portable"):
        polyro.set_rng("fast")
    with policy.default_dtype(np.float32):
        assert polyro.get_default_dtype("torch") == "float32"
    with policy.default_dtype("torch.float64"):
        assert polyro.get_default_dtype("jax") == "float64"


def test_set_rng_roundtrip():
    before = polyro.get_rng()
    try:
        polyro.set_rng("native")
        assert polyro.get_rng() == "native"
        polyro.set_rng(" Portable ")
        assert polyro.get_rng() == "portable"
    finally:
        polyro.set_rng(before)


@pytest.mark.parametrize("name", ["float32", "float64", "int32", "int64", "uint32", "uint8",
                                  "bool", "int8", "int16"])
def test_dtype_names(backend, name):
    dt = backend.dtype(name)
    assert _dtname(backend, backend.asarray([0], dtype=dt)) == name
    assert _dtname(backend, backend.asarray([0], dtype=name)) == name


def test_dtype_float_alias_and_unknown(backend):
    assert backend.dtype("float") == backend.float_dtype()
    with pytest.raises(ValueError, match="quaternion"):
        backend.dtype("quaternion")


def test_asarray_keeps_own_arrays_and_converts_data(backend):
    x = backend.asarray([1.0, 2.0])
    assert backend.asarray(x) is x  # no copy
    assert backend.is_array(x) and not backend.is_array([1.0])
    assert _dtname(backend, backend.asarray([1, 2])) == "int64"
    assert _dtname(backend, backend.asarray(True)) == "bool"
    assert _dtname(backend, backend.asarray(np.array([1, 2], dtype=np.int32))) == "int32"
    np.testing.assert_array_equal(_np(backend, backend.asarray(np.arange(3.0))), [0.0, 1.0, 2.0])
    assert isinstance(backend.to_numpy(x), np.ndarray)


def test_devices(backend):
    dev = backend.default_device()
    x = backend.device_put(np.array([1.0, 2.0]), dev)
    assert backend.is_array(x)
    y = backend.device_put(x, "cpu")
    np.testing.assert_array_equal(_np(backend, y), [1.0, 2.0])
    assert backend.is_array(backend.device_put([3.0]))
    assert "cpu" in str(dev).lower() or "Cpu" in str(dev)


def test_numpy_has_only_the_cpu():
    from polyro.backends import numpy as be

    with pytest.raises(ValueError, match="cpu"):
        be.device_put(np.ones(1), "cuda")


def test_asarray_refuses_other_engines():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    from polyro import backends

    with pytest.raises(MixedBackendError, match="to_numpy"):
        backends.get("numpy").asarray(torch.ones(1))
    with pytest.raises(MixedBackendError, match="to_numpy"):
        backends.get("torch").asarray(jnp.ones(1))
    with pytest.raises(MixedBackendError, match="to_numpy"):
        backends.get("jax").asarray(torch.ones(1))


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "POLYRO_BACKEND"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=180)


def test_float64_switches_on_jax_x64_when_jax_is_loaded():
    r = _run("""
        import jax, polyro
        be = polyro.backends.get("jax")
        assert not jax.config.jax_enable_x64
        assert str(be.asarray(1.0).dtype) == "float32"
        polyro.set_default_dtype("float64")
        assert jax.config.jax_enable_x64
        print(be.asarray(1.0).dtype, polyro.ops.zeros(1).dtype if False else "")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "float64"


def test_float64_switches_on_jax_x64_when_the_adapter_loads_later():
    r = _run("""
        import sys, polyro
        polyro.set_default_dtype("float64")
        assert "jax" not in sys.modules
        be = polyro.backends.get("jax")
        import jax
        print(jax.config.jax_enable_x64, be.asarray(1.0).dtype)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "float64"]
