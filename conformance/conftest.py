"""The one ``backend`` fixture every array-touching test uses (see :mod:`polyro.testing`).

``backend`` runs a test on numpy, torch and jax (float64); ``grad_backend`` on the engines with
autodiff. A test that must check numpy's clear error uses ``backend`` and
``pytest.raises(AutodiffUnavailableError)``.
"""

import pytest

from polyro.backends.policy import default_dtype
from polyro.testing import backend, grad_backend  # noqa: F401


@pytest.fixture(autouse=True)
def _float64():
    """The conformance suite compares engines in float64 (TESTING.md)."""
    with default_dtype("float64"):
        yield
