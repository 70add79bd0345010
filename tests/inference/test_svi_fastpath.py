"""SVI's fast path on eager engines: steps on inputs that a validated run has checked run under
``trusted_values`` (no argument or support checks); new inputs are still validated, and results
do not change."""

from __future__ import annotations

import numpy as np
import pytest

import polyro
import polyro.distributions as dist
from polyro.core.distributions import Distribution
from polyro.core.distributions.validation import validation_enabled
from polyro.inference import SVI, Trace_ELBO
from polyro.inference.autoguide import AutoNormal
from polyro.optim import Adam

X = np.random.default_rng(0).normal(size=(40, 3))
Y = (X @ np.array([1.0, -0.5, 0.3]) > 0).astype(float)


def model(X, y):
    w = polyro.sample("w", dist.Normal(0.0, 1.0).expand((3,)).to_event(1))
    s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
    with polyro.plate("N", X.shape[0]):
        polyro.sample("y", dist.Bernoulli(logits=polyro.ops.matmul(X, w) * s), obs=y)


def _np(be, x):
    return np.asarray(be.to_numpy(x), dtype=float)


def _count_checks(monkeypatch):
    calls = []
    orig = Distribution._validate_parameters

    def counting(self):
        calls.append(type(self).__name__)
        return orig(self)

    monkeypatch.setattr(Distribution, "_validate_parameters", counting)
    return calls


def test_trusted_steps_give_the_same_numbers(grad_backend):
    be = grad_backend
    args = (be.asarray(X), be.asarray(Y))
    fast = SVI(model, AutoNormal(model), Adam(0.05), Trace_ELBO()).run(
        0, 12, *args, progress_bar=False)
    with validation_enabled(False):  # no checks, no trust: the plain path (masking only)
        plain = SVI(model, AutoNormal(model), Adam(0.05), Trace_ELBO()).run(
            0, 12, *args, progress_bar=False)
    np.testing.assert_array_equal(_np(be, fast.losses), _np(be, plain.losses))
    for k in fast.params:
        np.testing.assert_array_equal(_np(be, fast.params[k]), _np(be, plain.params[k]))


def test_same_inputs_are_trusted_new_inputs_are_checked(grad_backend, monkeypatch):
    be = grad_backend
    Xa, ya = be.asarray(X), be.asarray(Y)
    svi = SVI(model, AutoNormal(model), Adam(0.05), Trace_ELBO())
    state = svi.init(0, Xa, ya)
    bad = Y.copy()
    bad[3] = 2.0  # outside the Bernoulli support
    if be.SUPPORTS_JIT:  # compiled updates never check values: an infinite loss, no error
        _, loss = svi.update(state, Xa, be.asarray(bad))
        assert not np.isfinite(float(_np(be, loss)))
        return
    calls = _count_checks(monkeypatch)
    for _ in range(3):
        state, _ = svi.update(state, Xa, ya)
    assert calls == []  # trusted: no distribution checked its parameters
    yb = be.asarray(Y.copy())  # new (valid) data: checked once, then trusted
    state, _ = svi.update(state, Xa, yb)
    assert calls
    n = len(calls)
    state, _ = svi.update(state, Xa, yb)
    assert len(calls) == n
    with pytest.raises(ValueError, match="outside the support"):
        svi.update(state, Xa, be.asarray(bad))
    loss = svi.evaluate(state, Xa, ya)  # evaluate trusts the same inputs too
    assert np.isfinite(float(_np(be, loss)))


def test_guide_on_another_support_is_never_trusted(grad_backend, monkeypatch):
    be = grad_backend

    def m():
        polyro.sample("s", dist.LogNormal(0.0, 1.0))

    def g():
        polyro.sample("s", dist.Normal(polyro.param("loc", 1.0), 0.1))  # real, not positive

    svi = SVI(m, g, Adam(0.01), Trace_ELBO())
    with pytest.warns(UserWarning, match="support"):
        state = svi.init(0)
    if be.SUPPORTS_JIT:  # compiled updates check nothing at run time: the warning is all
        return
    calls = _count_checks(monkeypatch)
    svi.update(state)
    assert calls  # still validated at every step


def test_step_api_still_publishes_params(grad_backend):
    be = grad_backend
    polyro.clear_param_store()
    svi = SVI(model, AutoNormal(model), Adam(0.05), Trace_ELBO())
    args = (be.asarray(X), be.asarray(Y))
    losses = [svi.step(*args) for _ in range(5)]
    assert all(np.isfinite(losses))
    assert _np(be, polyro.param("auto_w_loc")).shape == (3,)
    polyro.clear_param_store()
