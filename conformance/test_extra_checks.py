"""The cross-engine checks beyond the catalog table (``conformance.extra_checks``), in
``make test``: SVI fits agree across torch and JAX, a bad input raises the same exception class
on every engine, an in-sampler Cholesky fault is a rejection everywhere, and gradient-free MCMC
matches the closed forms on every engine, numpy included."""

from __future__ import annotations

import pytest

from polyro.testing import installed_backends

from . import extra_checks

BACKENDS = installed_backends()


@pytest.mark.parametrize("check", ["check_failure_semantics", "check_nuts_fault",
                                   "check_gradient_free", "check_svi_agreement"])
def test_extra_check(check):
    results = getattr(extra_checks, check)(BACKENDS)
    assert results, f"{check} ran no check on {BACKENDS}"
    bad = [r.row() for r in results if r.passed is not True]
    assert not bad, bad
