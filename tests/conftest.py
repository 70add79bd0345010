"""The one ``backend`` fixture every array-touching test uses.

``backend`` runs the test once per engine (numpy, torch, jax) inside ``polyro.backend(name)``,
with float64 as the default float dtype (the standard of TESTING.md). It yields the adapter
module, so a test can write ``be.asarray(...)``, ``be.to_numpy(...)``.

``grad_backend`` is the same over the engines with autodiff; a test that must check numpy's
clear error instead uses ``backend`` and ``pytest.raises(AutodiffUnavailableError)``.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

import polyro
from polyro import backends

ALL = [n for n in ("numpy", "torch", "jax") if importlib.util.find_spec(backends.BACKENDS[n][0])]
GRAD = [n for n in ALL if n != "numpy"]

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")


def _enter(name: str):
    be = backends.get(name)
    polyro.set_default_dtype("float64")
    return be


@pytest.fixture(params=ALL)
def backend(request):
    """Run the test on every installed backend, float64, inside ``polyro.backend(name)``."""
    be = _enter(request.param)
    with polyro.backend(request.param):
        yield be


@pytest.fixture(params=GRAD)
def grad_backend(request):
    """Run the test on every installed backend that has autodiff (torch, jax)."""
    be = _enter(request.param)
    with polyro.backend(request.param):
        yield be
