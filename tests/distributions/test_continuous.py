"""Continuous univariate families: exact values against scipy.stats / closed forms.

For every family of ``cases_continuous.FAMILIES`` at batch shapes (), (2,), (2, 3) (the last one
broadcast from parameters of shapes (2, 3) and (3,)), on numpy, torch and jax in float64:
``log_prob``, ``cdf``, ``icdf``, ``mean``, ``variance``, ``entropy`` against the oracle to
rtol 1e-8 / atol 1e-8; log densities equal across backends to 1e-10 relative; jitted log_prob
equal to eager; bad parameters and out-of-support values raise (or give -inf without
validation).
"""

from __future__ import annotations

import functools
import math
import os
import sys

import numpy as np
import pytest

import polyro
from polyro.core import distributions as dist

sys.path.insert(0, os.path.dirname(__file__))
from cases_continuous import (  # noqa: E402
    BY_NAME,
    FAMILIES,
    INVALID,
    OUTSIDE,
    QUANTILES,
    Kumaraswamy,
    batch_shape,
    param_sets,
)
from cases_continuous import points as _points  # noqa: E402

RTOL = 1e-8
ATOL = 1e-8

SHAPE_CASES = [(f.name, label) for f in FAMILIES for label, _ in param_sets(f)]


def _params(name: str, label: str) -> dict[str, np.ndarray]:
    return dict(param_sets(BY_NAME[name]))[label]


@functools.cache
def _points_cached(name: str, label: str) -> np.ndarray:
    return _points(BY_NAME[name], _params(name, label))


def points(fam, params) -> np.ndarray:
    """The oracle's quantiles for a parameter set of the table (cached: scipy's von Mises
    quantile function is slow)."""
    for label, p in param_sets(fam):
        if all(np.array_equal(p[k], params[k]) for k in p):
            return _points_cached(fam.name, label).copy()
    return _points(fam, params)


def make(be, name: str, params: dict[str, np.ndarray], **kw):
    """The polyro distribution with parameters converted to arrays of backend ``be``."""
    return getattr(dist, name)(**{k: be.asarray(np.asarray(v)) for k, v in params.items()}, **kw)


def oracle(name: str, params: dict[str, np.ndarray]):
    bs = batch_shape(params)
    return BY_NAME[name].oracle(**{k: np.broadcast_to(v, bs) for k, v in params.items()})


def test_family_modules_import():
    failed = {k: v for k, v in dist.FAILED_FAMILY_MODULES.items() if k.startswith("cont_")}
    assert failed == {}
    for f in FAMILIES:
        assert hasattr(dist, f.name), f.name


def _check_value(be, d, o, fam, params, check):
    bs = batch_shape(params)
    x = points(fam, params)
    if check == "log_prob":
        got, want = d.log_prob(be.asarray(x)), o.logpdf(x)
    elif check == "cdf":
        got, want = d.cdf(be.asarray(x)), o.cdf(x)
    elif check == "icdf":
        q = np.broadcast_to(QUANTILES.reshape((5,) + (1,) * len(bs)), (5,) + bs)
        got, want = d.icdf(be.asarray(np.array(q))), o.ppf(q)
    elif check == "mean":
        got, want = d.mean, o.mean()
    elif check == "variance":
        got, want = d.variance, o.var()
    else:
        got, want = d.entropy(), o.entropy()
    got = be.to_numpy(got)
    want = np.broadcast_to(np.asarray(want, float), got.shape)
    expected_shape = (5,) + bs if check in ("log_prob", "cdf", "icdf") else bs
    assert got.shape == expected_shape, (check, got.shape, expected_shape)
    assert got.dtype == np.float64, check
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=check)


@pytest.mark.parametrize("name,label", SHAPE_CASES)
def test_values_against_scipy(backend, name, label):
    """Every check the family offers (log_prob, cdf, icdf, mean, variance, entropy)."""
    fam = BY_NAME[name]
    params = _params(name, label)
    d = make(backend, name, params)
    o = oracle(name, params)
    for check in fam.checks:
        _check_value(backend, d, o, fam, params, check)


@pytest.mark.parametrize("name,label", [c for c in SHAPE_CASES if c[1] != "(2,)"])
def test_shapes(backend, name, label):
    params = _params(name, label)
    bs = batch_shape(params)
    d = make(backend, name, params)
    assert d.batch_shape == bs and d.event_shape == ()
    assert d.shape((4,)) == (4,) + bs
    x = points(BY_NAME[name], params)
    if not dist.constraints.is_dependent(type(d).support):
        # a value broadcasting against the batch from the left: (5, 1, ..., 1) (only where the
        # support is the same for every batch element)
        x1 = np.array(x[(slice(None),) + (0,) * len(bs)].reshape((5,) + (1,) * len(bs)))
        assert tuple(d.log_prob(backend.asarray(x1)).shape) == (5,) + bs
    e = d.expand((3,) + bs)
    assert e.batch_shape == (3,) + bs
    assert tuple(e.log_prob(backend.asarray(x)[:, None]).shape) == (5, 3) + bs


def _numpy_log_prob(name, params, x):
    with polyro.backend("numpy") as be:
        return be.to_numpy(make(be, name, params).log_prob(be.asarray(x)))


@pytest.mark.parametrize("name", [f.name for f in FAMILIES])
def test_log_prob_same_on_every_backend(backend, name):
    params = _params(name, "(2,3)")
    x = points(BY_NAME[name], params)
    ref = _numpy_log_prob(name, params, x)
    got = backend.to_numpy(make(backend, name, params).log_prob(backend.asarray(x)))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", [f.name for f in FAMILIES])
def test_jit_log_prob_equals_eager(backend, name):
    params = _params(name, "(2,)")
    names = list(params)
    x = points(BY_NAME[name], params)

    def lp(*args):
        *ps, value = args
        return getattr(dist, name)(**dict(zip(names, ps, strict=True))).log_prob(value)

    args = [backend.asarray(params[k]) for k in names] + [backend.asarray(x)]
    eager = backend.to_numpy(lp(*args))
    jitted = backend.to_numpy(backend.jit(lp)(*args))
    np.testing.assert_allclose(jitted, eager, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [f.name for f in FAMILIES])
def test_invalid_parameters_raise(backend, name):
    kwargs, bad = INVALID[name]
    with pytest.raises(ValueError) as info:
        make(backend, name, kwargs, validate_args=True)
    msg = str(info.value)
    assert name in msg and repr(bad) in msg
    # validation off: no error at construction
    make(backend, name, kwargs, validate_args=False)


@pytest.mark.parametrize("name", [f.name for f in FAMILIES])
def test_out_of_support(backend, name):
    fam = BY_NAME[name]
    params = dict(param_sets(fam))["()"]
    bad = OUTSIDE[name]
    value = backend.asarray(np.array([math.inf if bad is None else bad]))
    with pytest.raises(ValueError, match="support"):
        make(backend, name, params, validate_args=True).log_prob(value)
    lp = backend.to_numpy(make(backend, name, params, validate_args=False).log_prob(value))
    assert lp.shape == (1,) and lp[0] == -math.inf


def test_low_high_order_checked(backend):
    for name in ("Uniform", "LogUniform"):
        with pytest.raises(ValueError, match="high"):
            make(backend, name, {"low": 2.0, "high": 1.0}, validate_args=True)
    with pytest.raises(ValueError, match="high"):
        make(backend, "TruncatedNormal", {"loc": 0.0, "scale": 1.0, "low": 1.0, "high": -1.0},
             validate_args=True)


def test_truncated_normal_one_sided_and_tails(backend):
    """One-sided bounds (None) and intervals far in either tail, against scipy."""
    import scipy.stats as st

    cases = [  # loc, scale, low, high
        (0.0, 1.0, 0.0, None),
        (1.0, 2.0, None, 0.5),
        (0.0, 1.0, 8.0, 9.0),   # deep upper tail: needs the mirrored formulas
        (0.0, 1.0, -9.0, -8.0),  # deep lower tail
        (0.0, 1.0, 12.0, None),
    ]
    for loc, scale, low, high in cases:
        d = dist.TruncatedNormal(backend.asarray(loc), backend.asarray(scale), low, high)
        a = -np.inf if low is None else (low - loc) / scale
        b = np.inf if high is None else (high - loc) / scale
        o = st.truncnorm(a, b, loc=loc, scale=scale)
        q = QUANTILES.copy()  # shape (5,) like the table's scalar cases (shared JAX compiles)
        x = o.ppf(q)
        np.testing.assert_allclose(backend.to_numpy(d.log_prob(backend.asarray(x))),
                                   o.logpdf(x), rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(backend.to_numpy(d.icdf(backend.asarray(q))), x,
                                   rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(backend.to_numpy(d.cdf(backend.asarray(x))), q,
                                   rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(float(backend.to_numpy(d.mean)), o.mean(), rtol=1e-8)


def test_kumaraswamy_oracle_is_right():
    """The closed-form Kumaraswamy oracle against numerical integration of its density
    (no backend involved: this checks the test oracle itself)."""
    from scipy.integrate import quad

    for a, b in [(2.5, 1.7), (0.7, 0.4), (5.0, 2.5)]:
        k = Kumaraswamy(a, b)
        mass = quad(k.pdf, 0, 1)[0]
        m1 = quad(lambda x, k=k: x * k.pdf(x), 0, 1)[0]
        m2 = quad(lambda x, k=k: x * x * k.pdf(x), 0, 1)[0]
        ent = quad(lambda x, k=k: -k.pdf(x) * k.logpdf(x) if 0 < x < 1 else 0.0, 0, 1,
                   limit=200)[0]
        np.testing.assert_allclose([mass, m1, m2 - m1**2, ent],
                                   [1.0, k.mean(), k.var(), k.entropy()], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(k.cdf(k.ppf(0.3)), 0.3, rtol=1e-12)
        np.testing.assert_allclose(quad(k.pdf, 0, 0.4)[0], k.cdf(0.4), rtol=1e-7)
