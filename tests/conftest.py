"""The one ``backend`` fixture every array-touching test uses (see :mod:`polyro.testing`).

``backend`` runs a test on numpy, torch and jax (float64); ``grad_backend`` on the engines with
autodiff. A test that must check numpy's clear error uses ``backend`` and
``pytest.raises(AutodiffUnavailableError)``.
"""

from polyro.testing import backend, grad_backend  # noqa: F401
