"""The one ``backend`` fixture every array-touching test uses (see :mod:`polyro.testing`).

``backend`` runs a test on numpy, torch and jax (float64); ``grad_backend`` on the engines with
autodiff. A test that must check numpy's clear error uses ``backend`` and
``pytest.raises(AutodiffUnavailableError)``.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

from polyro.testing import backend, grad_backend  # noqa: E402,F401

import pytest  # noqa: E402

import polyro  # noqa: E402


@pytest.fixture(autouse=True)
def _float64():
    """The conformance suite compares engines in float64 (TESTING.md)."""
    previous = polyro.get_default_dtype()
    polyro.set_default_dtype("float64")
    yield
    polyro.set_default_dtype(previous)
