"""Multivariate families: exact values against scipy.stats / closed forms on every backend.

For every case of ``cases_multivariate.MCASES`` at batch shapes (), (2,), (2, 3), float64:
``log_prob``, ``mean``, ``variance``, ``entropy`` against the oracle (rtol 1e-9, atol 1e-8);
the LKJ normalizer against the product form of Lewandowski et al. (and the d = 2 Beta law);
log_prob gradients against central finite differences of the oracle (eps 1e-6, tol 1e-5);
log_prob equal across backends to 1e-10 relative; jitted log_prob equal to eager; the relaxed
families against their closed forms; bad parameters raise ValueError naming the distribution.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import polyro
from polyro.core import distributions as dist

sys.path.insert(0, os.path.dirname(__file__))
from cases_multivariate import MCASES, SHAPES, lkj_log_normalizer  # noqa: E402

RTOL, ATOL = 1e-9, 1e-8
BY_ID = {c.id: c for c in MCASES}
# () and (2, 3) (see test_discrete.py: the (2,) set adds no value the (2, 3) set lacks)
CASE_SHAPES = [(c.id, s) for c in MCASES for s in SHAPES if s != "(2,)"]


def np_(be, x):
    return np.asarray(be.to_numpy(x))


def make(be, case, params, **kw):
    args = {}
    for k, v in params.items():
        if k == "_bs":
            continue
        args[k] = v if (be.is_array(v) and not isinstance(v, np.ndarray)) else be.asarray(
            np.asarray(v, float))
    return getattr(dist, case.ctor)(**args, **case.fixed, **kw)


def oracle_apply(case, params, fn, values=None):
    """Loop the per-element scipy oracle over the batch; ``fn(o, x)`` returns an array."""
    bs = params["_bs"]
    out = None
    for idx in np.ndindex(*bs) if bs else [()]:
        o = case.oracle(**{k: v[idx] for k, v in params.items() if k != "_bs"})
        if values is None:
            r = np.asarray(fn(o, None), float)
        else:
            r = np.array([fn(o, values[(s,) + idx]) for s in range(values.shape[0])], float)
        if out is None:
            out = np.zeros(((values.shape[0],) if values is not None else ()) + bs + r.shape[
                (1 if values is not None else 0):])
        if values is None:
            out[idx] = r
        else:
            out[(slice(None),) + idx] = r
    return out


def test_family_names_exported():
    for name in ("MultivariateNormal", "LowRankMultivariateNormal", "MultivariateStudentT",
                 "Dirichlet", "LKJ", "LKJCholesky", "Wishart", "GaussianRandomWalk"):
        assert isinstance(getattr(dist, name), type), name


@pytest.mark.parametrize("cid,label", CASE_SHAPES)
def test_values_against_oracle(backend, cid, label):
    case = BY_ID[cid]
    params = case.params(label)
    bs = params["_bs"]
    d = make(backend, case, params)
    assert d.batch_shape == bs and len(d.event_shape) == case.event_ndim
    x = case.values(params)
    if "log_prob" in case.checks:
        lp = np_(backend, d.log_prob(backend.asarray(x)))
        assert lp.shape == (3,) + bs
        np.testing.assert_allclose(lp, oracle_apply(case, params, lambda o, v: o.logpdf(v), x),
                                   rtol=RTOL, atol=ATOL)
    for name, ofn in (("mean", "mean"), ("variance", "var")):
        if name in case.checks:
            want = oracle_apply(case, params, lambda o, _, f=ofn: getattr(o, f)())
            got = np_(backend, getattr(d, name))
            assert got.shape == bs + d.event_shape
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    if "entropy" in case.checks:
        want = oracle_apply(case, params, lambda o, _: o.entropy())
        np.testing.assert_allclose(np_(backend, d.entropy()), want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("cid", list(BY_ID))
def test_sample_shapes(backend, cid):
    case = BY_ID[cid]
    params = case.params("(2,3)")
    d = make(backend, case, params)
    x = d.sample(backend.key(0), (4,))
    assert tuple(x.shape) == (4, 2, 3) + d.event_shape
    lp = np_(backend, d.log_prob(x))
    assert lp.shape == (4, 2, 3) and np.isfinite(lp).all()


@pytest.mark.parametrize("cid", list(BY_ID))
def test_log_prob_equal_across_backends(grad_backend, cid):
    case = BY_ID[cid]
    params = case.params("(2,3)")
    x = case.values(params)
    ref_be = polyro.backends.get("numpy")
    with polyro.backend("numpy"):
        ref = np_(ref_be, make(ref_be, case, params).log_prob(x))
    got = np_(grad_backend, make(grad_backend, case, params).log_prob(grad_backend.asarray(x)))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cid", list(BY_ID))
def test_jit_equals_eager(backend, cid):
    if not backend.SUPPORTS_JIT:
        pytest.skip(f"{backend.NAME} has no compilation (jit is the identity)")
    case = BY_ID[cid]
    params = case.params("(2,)")
    x = backend.asarray(case.values(params))
    names = [k for k in params if k != "_bs"]

    def lp(*vals):
        return make(backend, case, dict(zip(names, vals, strict=True))).log_prob(x)

    args = [backend.asarray(np.asarray(params[k], float)) for k in names]
    np.testing.assert_allclose(np_(backend, backend.jit(lp)(*args)), np_(backend, lp(*args)),
                               rtol=1e-12, atol=1e-12)


GRAD_CASES = [(c.id, p) for c in MCASES for p in c.grad]


def _symmetric_fd_ok(name):
    return name in ("covariance_matrix", "precision_matrix")


@pytest.mark.parametrize("cid,pname", GRAD_CASES)
def test_log_prob_grad_vs_finite_differences(grad_backend, cid, pname):
    be = grad_backend
    case = BY_ID[cid]
    params = case.params("()")
    x = case.values(params)
    p0 = np.asarray(params[pname], float)
    sym = _symmetric_fd_ok(pname)

    def f(v):
        if sym:  # differentiate along symmetric perturbations only
            v = (v + be.xp.matrix_transpose(v)) / 2
        return be.xp.sum(make(be, case, dict(params, **{pname: v})).log_prob(be.asarray(x)))

    g = np_(be, be.grad(f)(be.asarray(p0)))

    def ref(v):
        if sym:
            v = (v + v.T) / 2
        return oracle_apply(case, dict(params, **{pname: v}), lambda o, y: o.logpdf(y), x).sum()

    eps = 1e-6
    fd = np.zeros_like(p0)
    for i in range(p0.size):
        if pname == "scale_tril" and np.unravel_index(i, p0.shape)[-1] > np.unravel_index(
                i, p0.shape)[-2]:
            continue  # upper entries are not parameters of a lower-triangular factor
        hi, lo = p0.copy(), p0.copy()
        hi.flat[i] += eps
        lo.flat[i] -= eps
        fd.flat[i] = (ref(hi) - ref(lo)) / (2 * eps)
    if pname == "scale_tril":
        g = np.tril(g)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- LKJ extras
@pytest.mark.parametrize("eta", [0.5, 1.0, 2.7])
def test_lkj_two_dim_is_scaled_beta(backend, eta):
    r = np.array([-0.8, -0.1, 0.3, 0.95])
    L = np.zeros((4, 2, 2))
    L[:, 0, 0] = 1
    L[:, 1, 0] = r
    L[:, 1, 1] = np.sqrt(1 - r**2)
    d = dist.LKJCholesky(2, backend.asarray(eta))
    want = st.beta(eta, eta).logpdf((r + 1) / 2) - np.log(2)
    np.testing.assert_allclose(np_(backend, d.log_prob(backend.asarray(L))), want, rtol=1e-10)
    C = L @ np.swapaxes(L, -1, -2)
    np.testing.assert_allclose(np_(backend, dist.LKJ(2, backend.asarray(eta)).log_prob(
        backend.asarray(C))), want, rtol=1e-10)
    # Pyro's keyword dim= for the dimension
    np.testing.assert_allclose(np_(backend, dist.LKJCholesky(dim=2, concentration=backend.asarray(
        eta)).log_prob(backend.asarray(L))), want, rtol=1e-10)
    with pytest.raises(ValueError, match="dimension=3 and dim=2 .* disagree"):
        dist.LKJ(3, dim=2)


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_lkj_normalizer_product_form(backend, dim):
    eta = np.array([0.5, 1.0, 3.5])
    d = dist.LKJ(dim, backend.asarray(eta))
    got = -np_(backend, d.log_prob(backend.asarray(np.eye(dim))))
    np.testing.assert_allclose(got, lkj_log_normalizer(dim, eta), rtol=1e-10)


# ----------------------------------------------------------------------- relaxed families
def relaxed_bernoulli_logpdf(x, temperature, logits):
    """Density of sigmoid((logits + Logistic) / T): the logistic law of T logit(x)."""
    y = np.log(x) - np.log1p(-x)
    return (st.logistic.logpdf(temperature * y, loc=logits) + np.log(temperature)
            - np.log(x) - np.log1p(-x))


def concrete_logpdf(x, temperature, logits):
    """Concrete density of Maddison, Mnih and Teh (2017), eq. (6), in numpy."""
    k = x.shape[-1]
    temperature = np.asarray(temperature, float)[..., None]
    logp = logits - sp.logsumexp(logits, axis=-1, keepdims=True)
    return (sp.gammaln(k) + (k - 1) * np.log(temperature[..., 0])
            + np.sum(logp - (temperature + 1) * np.log(x), axis=-1)
            - k * sp.logsumexp(logp - temperature * np.log(x), axis=-1))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_relaxed_bernoulli(backend, param):
    t = np.array([0.3, 1.0, 2.5])
    logits = np.array([0.4, -1.2, 2.0])
    val = sp.expit(logits) if param == "probs" else logits
    d = dist.RelaxedBernoulli(backend.asarray(t), **{param: backend.asarray(val)})
    assert d.has_rsample and d.batch_shape == (3,)
    x = np.array([[0.1, 0.5, 0.93], [0.7, 0.02, 0.4]])
    np.testing.assert_allclose(np_(backend, d.log_prob(backend.asarray(x))),
                               relaxed_bernoulli_logpdf(x, t, logits), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_relaxed_one_hot_categorical(backend, param):
    t = np.array([0.5, 1.7])
    logits = np.array([[0.3, -0.5, 1.0], [2.0, 0.1, -1.0]])
    val = sp.softmax(logits, axis=-1) if param == "probs" else logits
    d = dist.RelaxedOneHotCategorical(backend.asarray(t), **{param: backend.asarray(val)})
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    x = np.random.default_rng(0).dirichlet(np.ones(3), size=(4, 2))
    np.testing.assert_allclose(np_(backend, d.log_prob(backend.asarray(x))),
                               concrete_logpdf(x, t, logits), rtol=1e-9, atol=1e-9)
    # K = 2: the first coordinate is RelaxedBernoulli(T, logits_1 - logits_0)
    lg2 = np.array([0.2, 1.3])
    d2 = dist.RelaxedOneHotCategorical(backend.asarray(0.7), logits=backend.asarray(lg2))
    x1 = np.array([0.2, 0.6])
    x2 = np.stack([1 - x1, x1], -1)
    np.testing.assert_allclose(np_(backend, d2.log_prob(backend.asarray(x2))),
                               relaxed_bernoulli_logpdf(x1, 0.7, lg2[1] - lg2[0]), rtol=1e-9)


# ------------------------------------------------------------------------- bad input
def test_invalid_parameters_raise(backend):
    a = backend.asarray
    bad_cov = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3, -1
    with pytest.raises(ValueError, match=r"MultivariateNormal.*'covariance_matrix'.*"
                                         r"positive_definite"):
        dist.MultivariateNormal(a(np.zeros(2)), covariance_matrix=a(bad_cov))
    with pytest.raises(ValueError, match="exactly one of covariance_matrix"):
        dist.MultivariateNormal(a(np.zeros(2)))
    with pytest.raises(ValueError, match=r"MultivariateNormal.*'scale_tril'"):
        dist.MultivariateNormal(a(np.zeros(2)), scale_tril=a(np.array([[1.0, 0.0],
                                                                        [0.0, -1.0]])))
    with pytest.raises(ValueError, match=r"loc has 3 entries"):
        dist.MultivariateNormal(a(np.zeros(3)), covariance_matrix=a(np.eye(2)))
    with pytest.raises(ValueError, match=r"Dirichlet.*'concentration'.*-1"):
        dist.Dirichlet(a(np.array([1.0, -1.0])))
    with pytest.raises(ValueError, match=r"Wishart.*'df'"):
        dist.Wishart(a(1.5), covariance_matrix=a(np.eye(3)))
    with pytest.raises(ValueError, match=r"LKJCholesky: dimension"):
        dist.LKJCholesky(1, a(1.0))
    with pytest.raises(ValueError, match=r"LKJ.*'concentration'"):
        dist.LKJ(3, a(-1.0))
    with pytest.raises(ValueError, match="sample_method"):
        dist.LKJCholesky(3, a(1.0), sample_method="vine")
    # validation off: accepted
    dist.MultivariateNormal(a(np.zeros(2)), covariance_matrix=a(bad_cov), validate_args=False)


def test_value_outside_support(backend):
    a = backend.asarray
    d = dist.Dirichlet(a(np.ones(3)))
    with pytest.raises(ValueError, match=r"Dirichlet.log_prob.*simplex"):
        d.log_prob(a(np.array([0.5, 0.6, 0.1])))
    d = dist.Dirichlet(a(np.ones(3)), validate_args=False)
    assert np.isneginf(np_(backend, d.log_prob(a(np.array([0.5, 0.6, 0.1])))))
    L = dist.LKJCholesky(2, a(1.0))
    with pytest.raises(ValueError, match=r"LKJCholesky.log_prob"):
        L.log_prob(a(np.array([[1.0, 0.0], [0.5, 0.5]])))
