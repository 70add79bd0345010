"""Every adapter implements the whole protocol with the same module layout."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

from polyro.backends import protocol

MODULES = ("special", "linalg", "autodiff", "control_flow", "tree", "random")


def test_every_protocol_name_is_exported(backend):
    missing = [n for n in protocol.protocol_names() if not hasattr(backend, n)]
    assert missing == []
    assert isinstance(backend, protocol.Backend)
    for flag in ("SUPPORTS_AUTODIFF", "SUPPORTS_JIT", "SUPPORTS_VMAP"):
        assert isinstance(getattr(backend, flag), bool)
    assert backend.NAME in ("numpy", "torch", "jax")


@pytest.mark.parametrize("module", MODULES)
def test_same_module_layout(backend, module):
    mod = importlib.import_module(f"{backend.__name__}.{module}")
    assert os.path.basename(mod.__file__) == f"{module}.py"
    group = protocol.PROTOCOL.get(module, ())
    for name in group:  # each protocol function lives in its module and is re-exported flat
        assert getattr(backend, name) is getattr(mod, name), name


def test_host_view(backend):
    """A concrete array's values on the host (same values and dtype, no graph); None for a
    value traced by the engine's jit or inside its vmap."""
    x = backend.asarray(np.array([1.5, -2.0], dtype=np.float32))
    h = backend.host_view(x)
    assert isinstance(h, np.ndarray) and h.dtype == backend.to_numpy(x).dtype
    np.testing.assert_array_equal(h, [1.5, -2.0])
    seen = []

    def f(v):
        seen.append(backend.host_view(v))
        return v

    backend.vmap(f)(backend.asarray(np.ones((3, 2))))
    assert (seen[0] is None) == backend.SUPPORTS_VMAP
    seen.clear()
    backend.jit(f)(x)
    assert (seen[0] is None) == backend.SUPPORTS_JIT
