"""Validation: bad parameters and out-of-support values, global and per-instance switches,
skipping under tracing."""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyro.distributions as dist
from polyro.core.distributions.util import is_concrete


@pytest.fixture(autouse=True)
def _validation_on():
    dist.enable_validation(True)
    yield
    dist.enable_validation(True)


def A(be, x):
    return be.asarray(np.asarray(x, dtype=np.float64))


def test_default_on():
    assert dist.is_validation_enabled()


@pytest.mark.parametrize("bad", [-2.0, 0.0, math.nan, math.inf])
def test_bad_scale_message(backend, bad):
    with pytest.raises(ValueError) as e:
        dist.Normal(0.0, A(backend, [1.0, bad, 3.0]))
    msg = str(e.value)
    assert "Normal" in msg and "'scale'" in msg and "positive" in msg
    assert f"scale[1] = {bad!r}" in msg, msg


def test_bad_probs_and_simplex(backend):
    with pytest.raises(ValueError, match=r"Bernoulli.*'probs'.*unit_interval|Bernoulli.*'probs'.*interval"):
        dist.Bernoulli(probs=A(backend, [0.5, 1.5]))
    with pytest.raises(ValueError, match=r"Categorical.*'probs'.*simplex"):
        dist.Categorical(probs=A(backend, [[0.5, 0.5], [0.5, 0.6]]))
    with pytest.raises(ValueError, match=r"Dirichlet.*'concentration'"):
        dist.Dirichlet(A(backend, [1.0, -1.0]))


def test_non_pd_covariance(backend):
    cov = A(backend, [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match=r"MultivariateNormal.*covariance_matrix.*positive_definite"):
        dist.MultivariateNormal(A(backend, [0.0, 0.0]), covariance_matrix=cov)


def test_validate_args_false_skips(backend):
    d = dist.Normal(0.0, A(backend, [-1.0]), validate_args=False)
    assert tuple(d.batch_shape) == (1,)


def test_global_switch_and_context(backend):
    dist.enable_validation(False)
    assert not dist.is_validation_enabled()
    dist.Normal(0.0, A(backend, -1.0))  # no error
    with dist.validation_enabled(True):
        with pytest.raises(ValueError):
            dist.Normal(0.0, A(backend, -1.0))
    dist.enable_validation(True)
    with dist.validation_enabled(False):
        dist.Normal(0.0, A(backend, -1.0))
    with pytest.raises(ValueError):
        dist.Normal(0.0, A(backend, -1.0), validate_args=None)
    # per-instance override wins over the global switch
    dist.enable_validation(False)
    with pytest.raises(ValueError):
        dist.Normal(0.0, A(backend, -1.0), validate_args=True)


@pytest.mark.parametrize("make,value,idx", [
    (lambda be: dist.Exponential(A(be, [1.0, 2.0])), [1.0, -0.5], "value[1] = -0.5"),
    (lambda be: dist.Beta(2.0, 3.0), [0.5, 1.5], "value[1] = 1.5"),
    (lambda be: dist.Poisson(A(be, 2.0)), [1.0, 2.5], "value[1] = 2.5"),
    (lambda be: dist.Normal(0.0, 1.0), [0.0, math.nan], "value[1] = nan"),
])
def test_log_prob_outside_support(backend, make, value, idx):
    d = make(backend)
    x = A(backend, value)
    with pytest.raises(ValueError) as e:
        d.log_prob(x)
    msg = str(e.value)
    assert type(d).__name__ in msg and "support" in msg and idx in msg, msg
    with dist.validation_enabled(False):
        d_off = make(backend)
    lp = np.asarray(backend.to_numpy(d_off.log_prob(x)))
    assert np.isfinite(lp[0]) and lp[1] == -np.inf


def test_event_support_message(backend):
    d = dist.Dirichlet(A(backend, [1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"Dirichlet\.log_prob.*simplex.*value\[1\]"):
        d.log_prob(A(backend, [[0.2, 0.3, 0.5], [0.5, 0.5, 0.5]]))


def test_masked_values_not_validated(backend):
    d = dist.Exponential(A(backend, [1.0, 1.0])).mask(backend.asarray(np.array([True, False])))
    lp = np.asarray(backend.to_numpy(d.log_prob(A(backend, [1.0, math.nan]))))
    np.testing.assert_allclose(lp, [-1.0, 0.0])


def test_validation_skipped_under_tracing(backend):
    """Under a tracing jit the values are unknown: no error, out-of-support gives -inf. Where
    the values are concrete (an engine without jit), validation raises as usual."""
    seen = []

    def f(x):
        seen.append(is_concrete(x))
        return dist.Exponential(1.0).log_prob(x)

    x = A(backend, [1.0, -1.0])
    try:
        out = np.asarray(backend.to_numpy(backend.jit(f)(x)))
        raised = False
    except ValueError:
        raised = True
    assert seen, "the function was not called"
    assert raised == seen[-1]
    if not raised:
        np.testing.assert_allclose(out, [-1.0, -np.inf])


def test_parameters_traced_are_not_checked(backend):
    seen = []

    def f(s):
        seen.append(is_concrete(s))
        return dist.Normal(0.0, s).log_prob(0.0)

    s = A(backend, -1.0)
    try:
        backend.jit(f)(s)
        raised = False
    except ValueError:
        raised = True
    assert raised == seen[-1]
