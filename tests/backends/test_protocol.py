"""Every adapter implements the whole protocol with the same module layout."""

from __future__ import annotations

import importlib
import os

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
