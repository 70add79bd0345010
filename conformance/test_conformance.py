"""The fast conformance subset that runs in ``make test``.

Cross-backend agreement needs every engine at once, so these tests take the list of installed
backends rather than the per-backend fixture; posterior checks run per gradient backend through
``grad_backend``. The full run is ``python -m conformance --full``.
"""

from __future__ import annotations

import pytest

from polyro.testing import installed_backends

from . import checks
from .catalog import CATALOG
from .posteriordb import posteriordb_dir

BACKENDS = installed_backends()
NEEDS_DB = pytest.mark.skipif(posteriordb_dir() is None, reason="shared/posteriordb not laid out")

DENSITY_MODELS = [n for n, e in CATALOG.items() if "enumeration" not in e.tags]
FAST_POSTERIOR = [n for n, e in CATALOG.items() if e.fast]


def _assert_all(results):
    bad = [r.row() for r in results if r.passed is False]
    assert not bad, bad


@NEEDS_DB
@pytest.mark.parametrize("name", DENSITY_MODELS)
def test_log_density_and_gradient_agree_across_backends(name):
    _assert_all(checks.check_log_density(CATALOG[name], BACKENDS))


# seed_generative's prior moments need the 1000 draws; the plated model checks identity only
@pytest.mark.parametrize("name,num_samples", [("seed_generative", 1000), ("seed_plated", 200)])
def test_forward_sampling_identical_across_backends(name, num_samples):
    _assert_all(checks.check_forward_sampling(CATALOG[name], BACKENDS, num_samples=num_samples))


@NEEDS_DB
@pytest.mark.parametrize("name", FAST_POSTERIOR)
def test_posterior_matches_reference(name, grad_backend):
    _assert_all(checks.check_posterior(CATALOG[name], [grad_backend.NAME]))


def test_compare_engines_flags_a_disagreement():
    """The cross-engine posterior comparison: means within 4 combined MCSE, sds within 15%."""
    R = checks.Result
    base = {"a": [0.0, 1.0, 0.02], "b": [5.0, 2.0, 0.05]}
    ok = R("m", "torch", "posterior", True, stats=base)
    near = R("m", "jax", "posterior", True, stats={"a": [0.1, 1.1, 0.02], "b": [5.0, 2.0, 0.05]})
    assert [r.passed for r in checks.compare_engines([ok, near])] == [True]
    far_mean = R("m", "jax", "posterior", True, stats={**base, "a": [0.2, 1.0, 0.02]})
    far_sd = R("m", "jax", "posterior", True, stats={**base, "b": [5.0, 2.4, 0.05]})
    for other, z in ((far_mean, 7.0711), (far_sd, 0.0)):
        (r,) = checks.compare_engines([ok, other])
        assert r.passed is False and r.backend == "torch vs jax"
        assert r.numbers["mean_z"] == z and r.numbers["parameters"] == 2
    failed_run = R("m", "jax", "posterior", False, stats=base)  # its own check failed: no pair
    assert checks.compare_engines([ok, failed_run]) == []
