"""Discrete families: exact values against scipy.stats / closed forms on every backend (float64).

Univariate families of ``cases_discrete.CASES`` at batch shapes (), (2,), (2, 3): ``log_prob``,
``mean``, ``variance``, ``entropy`` against the oracle to rtol 1e-9 / atol 1e-8; shapes;
``enumerate_support``; log_prob gradients against central finite differences of the oracle
(eps 1e-6, tol 1e-5); log_prob equal across backends to 1e-10 relative; jitted equal to eager.
Vector families (Categorical, OneHotCategorical, Multinomial, DirichletMultinomial) likewise.
Bad parameters and values outside the support raise ValueError (or give -inf unvalidated).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import scipy.stats as st

import polyro
from polyro.core import distributions as dist

sys.path.insert(0, os.path.dirname(__file__))
from cases_discrete import (  # noqa: E402
    CASES,
    CategoricalOracle,
    LOGITS_2x3x4,
    SIMPLEX_2x3x4,
    batch_shape,
    param_sets,
    vector_param_sets,
)

RTOL, ATOL = 1e-9, 1e-8
BY_ID = {c.id: c for c in CASES}
# batch shapes () and (2, 3): the (2, 3) set broadcasts a (2, 3) parameter against (3,) ones and
# covers every value of the (2,) set, whose extra compiles cost JAX seconds per case; the (2,)
# set still serves the tests that pick it by name
SHAPES = ["()", "(2,3)"]
CASE_SHAPES = [(c.id, s) for c in CASES for s in SHAPES]


def _params(case, label):
    return dict(param_sets(case))[label]


def make(be, case, params, **kw):
    args = {k: (v if be.is_array(v) and not isinstance(v, np.ndarray) else
                be.asarray(np.asarray(v, float))) for k, v in params.items()}
    fixed = {k: (be.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in case.fixed.items()}
    return getattr(dist, case.ctor)(**args, **fixed, **kw)


def oracle(case, params):
    bs = batch_shape(params)
    return case.oracle(**{k: np.broadcast_to(v, bs) for k, v in params.items()})


def np_(be, x):
    return np.asarray(be.to_numpy(x))


def test_family_modules_import():
    failed = {k: v for k, v in dist.FAILED_FAMILY_MODULES.items()
              if k.startswith(("disc_", "mv_"))}
    assert failed == {}
    for name in ("Bernoulli", "Binomial", "BetaBinomial", "Geometric", "Categorical",
                 "OneHotCategorical", "DiscreteUniform", "OrderedLogistic", "Poisson",
                 "GammaPoisson", "NegativeBinomial", "ZeroInflatedPoisson",
                 "ZeroInflatedNegativeBinomial", "Multinomial", "DirichletMultinomial",
                 "RelaxedBernoulli", "RelaxedOneHotCategorical"):
        assert isinstance(getattr(dist, name), type), name


def _compiled(be, fn):
    """``fn`` compiled whole where the backend compiles (one XLA compile instead of one per
    eager op: this keeps the JAX runs fast); eager values are covered by the cross-backend and
    jit-vs-eager tests."""
    return be.jit(fn) if be.SUPPORTS_JIT else fn


@pytest.mark.parametrize("cid,label", CASE_SHAPES)
def test_values_against_oracle(backend, cid, label):
    case = BY_ID[cid]
    params = _params(case, label)
    d = make(backend, case, params, validate_args=False)
    o = oracle(case, params)
    bs = batch_shape(params)
    assert d.batch_shape == bs and d.event_shape == ()
    assert d.is_discrete
    x = case.values(params)
    xa = backend.asarray(x)
    names = list(params)

    def evaluate(*vals):
        dd = make(backend, case, dict(zip(names, vals, strict=True)), validate_args=False)
        out = {}
        if "log_prob" in case.checks:
            out["log_prob"] = dd.log_prob(xa)
        if "mean" in case.checks:
            out["mean"] = dd.mean
        if "variance" in case.checks:
            out["variance"] = dd.variance
        return out

    got = _compiled(backend, evaluate)(*[backend.asarray(np.asarray(params[k], float))
                                          for k in names])
    if "entropy" in case.checks:  # eager: Binomial's entropy enumerates a concrete support
        got["entropy"] = d.entropy()
    want = {"log_prob": lambda: o.logpmf(x), "mean": lambda: o.mean(),
            "variance": lambda: o.var(), "entropy": lambda: o.entropy()}
    for name, value in got.items():
        value = np_(backend, value)
        expected = want[name]()
        shape = x.shape if name == "log_prob" else bs
        assert value.shape == shape, name
        np.testing.assert_allclose(value, np.broadcast_to(expected, shape), rtol=RTOL,
                                   atol=ATOL, err_msg=name)


@pytest.mark.parametrize("cid", [c.id for c in CASES])
def test_sample_and_log_prob_shapes(backend, cid):
    case = BY_ID[cid]
    params = _params(case, "(2,3)")
    names = list(params)

    def draw(k, *vals):  # builds the distribution inside (lazy properties must not leak tracers)
        return make(backend, case, dict(zip(names, vals, strict=True))).sample(k, (5,))

    x = _compiled(backend, draw)(backend.key(3), *[backend.asarray(np.asarray(params[n], float))
                                                   for n in names])
    d = make(backend, case, params)
    assert tuple(x.shape) == (5, 2, 3)
    lp = d.log_prob(x)
    assert tuple(lp.shape) == (5, 2, 3)
    assert np.isfinite(np_(backend, lp)).all()
    # expand and to_event keep the values
    e = d.expand((4, 2, 3))
    assert e.batch_shape == (4, 2, 3)
    ind = d.to_event(1)
    assert ind.batch_shape == (2,) and ind.event_shape == (3,)
    np.testing.assert_allclose(np_(backend, ind.log_prob(x)), np_(backend, lp).sum(-1),
                               rtol=1e-12)


@pytest.mark.parametrize("cid", [c.id for c in CASES if c.enumerable])
def test_enumerate_support(backend, cid):
    case = BY_ID[cid]
    params = _params(case, "(2,3)")
    d = make(backend, case, params)
    assert d.has_enumerate_support
    full = d.enumerate_support(expand=True)
    small = d.enumerate_support(expand=False)
    n = full.shape[0]
    assert tuple(full.shape) == (n, 2, 3)
    assert tuple(small.shape) == (n, 1, 1)
    np.testing.assert_array_equal(np_(backend, small).reshape(-1), np.arange(n))
    pmf = np.exp(np_(backend, d.log_prob(full)))
    np.testing.assert_allclose(pmf.sum(0), np.ones((2, 3)), rtol=1e-12)
    o = oracle(case, params)
    np.testing.assert_allclose(np.log(pmf), o.logpmf(np_(backend, full)), rtol=RTOL, atol=ATOL)


def test_enumerate_support_inhomogeneous_total_count(backend):
    d = dist.Binomial(backend.asarray(np.array([2.0, 3.0])), probs=backend.asarray(0.5))
    with pytest.raises(ValueError, match="Binomial.enumerate_support.*total_count"):
        d.enumerate_support()
    d = dist.Binomial(backend.asarray(np.array([3.0, 3.0])), probs=backend.asarray(0.5))
    assert tuple(d.enumerate_support().shape) == (4, 2)


@pytest.mark.parametrize("cid", [c.id for c in CASES])
def test_log_prob_equal_across_backends(grad_backend, cid):
    case = BY_ID[cid]
    params = _params(case, "(2,3)")
    x = case.values(params)
    ref_be = polyro.backends.get("numpy")
    with polyro.backend("numpy"):
        ref = np_(ref_be, make(ref_be, case, params).log_prob(x))
    got = np_(grad_backend, make(grad_backend, case, params).log_prob(grad_backend.asarray(x)))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cid", [c.id for c in CASES])
def test_jit_equals_eager(backend, cid):
    if not backend.SUPPORTS_JIT:
        pytest.skip(f"{backend.NAME} has no compilation (jit is the identity)")
    case = BY_ID[cid]
    params = _params(case, "(2,)")
    x = backend.asarray(case.values(params))
    names = list(params)

    def lp(*vals):
        return make(backend, case, dict(zip(names, vals, strict=True))).log_prob(x)

    args = [backend.asarray(np.asarray(params[k], float)) for k in names]
    eager = np_(backend, lp(*args))
    jitted = np_(backend, backend.jit(lp)(*args))
    np.testing.assert_allclose(jitted, eager, rtol=1e-12, atol=1e-12)


GRAD_CASES = [(c.id, p) for c in CASES for p in c.grad]


@pytest.mark.parametrize("cid,pname", GRAD_CASES)
def test_log_prob_grad_vs_finite_differences(grad_backend, cid, pname):
    be = grad_backend
    case = BY_ID[cid]
    params = _params(case, "(2,)")
    x = case.values(params)

    def f(v):
        return be.xp.sum(make(be, case, dict(params, **{pname: v})).log_prob(be.asarray(x)))

    g = np_(be, be.grad(f)(be.asarray(np.asarray(params[pname], float))))
    eps = 1e-6
    fd = np.zeros_like(np.asarray(params[pname], float))
    for i in range(fd.size):
        hi = np.array(params[pname], float)
        lo = np.array(params[pname], float)
        hi.flat[i] += eps
        lo.flat[i] -= eps
        fd.flat[i] = (oracle(case, dict(params, **{pname: hi})).logpmf(x).sum()
                      - oracle(case, dict(params, **{pname: lo})).logpmf(x).sum()) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------- vector-parameter families
VEC = [(kind, label) for kind in ("probs", "logits") for label in SHAPES]


def _vec(kind, label):
    table = SIMPLEX_2x3x4 if kind == "probs" else LOGITS_2x3x4
    p = dict(vector_param_sets(table))[label]
    probs = p if kind == "probs" else np.exp(p) / np.exp(p).sum(-1, keepdims=True)
    return p, probs


@pytest.mark.parametrize("kind,label", VEC)
def test_categorical(backend, kind, label):
    p, probs = _vec(kind, label)
    d = dist.Categorical(**{kind: backend.asarray(p)})
    bs = probs.shape[:-1]
    assert d.batch_shape == bs and d.event_shape == () and d.is_discrete
    x = np.random.default_rng(5).integers(0, 4, size=(3,) + bs)
    o = CategoricalOracle(probs)
    np.testing.assert_allclose(np_(backend, d.log_prob(backend.asarray(x))), o.logpmf(x),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np_(backend, d.entropy()), o.entropy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np_(backend, d.probs), probs, rtol=1e-12)
    assert np.isnan(np_(backend, d.mean)).all()
    e = d.enumerate_support()
    assert tuple(e.shape) == (4,) + bs
    assert tuple(d.enumerate_support(expand=False).shape) == (4,) + (1,) * len(bs)
    np.testing.assert_allclose(np.exp(np_(backend, d.log_prob(e))).sum(0), np.ones(bs),
                               rtol=1e-12)
    s = d.sample(backend.key(0), (7,))
    assert tuple(s.shape) == (7,) + bs


@pytest.mark.parametrize("kind,label", VEC)
def test_one_hot_categorical(backend, kind, label):
    p, probs = _vec(kind, label)
    d = dist.OneHotCategorical(**{kind: backend.asarray(p)})
    bs = probs.shape[:-1]
    assert d.batch_shape == bs and d.event_shape == (4,)
    idx = np.random.default_rng(6).integers(0, 4, size=(3,) + bs)
    x = np.eye(4)[idx]
    o = CategoricalOracle(probs)
    np.testing.assert_allclose(np_(backend, d.log_prob(backend.asarray(x))), o.logpmf(idx),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np_(backend, d.mean), probs, rtol=RTOL)
    np.testing.assert_allclose(np_(backend, d.variance), probs * (1 - probs), rtol=RTOL)
    np.testing.assert_allclose(np_(backend, d.entropy()), o.entropy(), rtol=RTOL, atol=ATOL)
    e = d.enumerate_support()
    assert tuple(e.shape) == (4,) + bs + (4,)
    assert tuple(d.enumerate_support(expand=False).shape) == (4,) + (1,) * len(bs) + (4,)
    s = np_(backend, d.sample(backend.key(1), (5,)))
    assert s.shape == (5,) + bs + (4,)
    assert ((s == 0) | (s == 1)).all() and (s.sum(-1) == 1).all()


def _multinomial_values(n, bs, k=4, seed=7):
    rng = np.random.default_rng(seed)
    out = np.zeros((3,) + bs + (k,))
    for idx in np.ndindex(*((3,) + bs)):
        out[idx] = rng.multinomial(n, np.ones(k) / k)
    return out


@pytest.mark.parametrize("kind,label", VEC)
def test_multinomial(backend, kind, label):
    p, probs = _vec(kind, label)
    n = 6
    d = dist.Multinomial(n, **{kind: backend.asarray(p)})
    bs = probs.shape[:-1]
    assert d.batch_shape == bs and d.event_shape == (4,)
    x = _multinomial_values(n, bs)
    lp = np_(backend, d.log_prob(backend.asarray(x)))
    ref = np.zeros(x.shape[:-1])
    for idx in np.ndindex(*x.shape[:-1]):
        ref[idx] = st.multinomial(n, np.broadcast_to(probs, x.shape)[idx]).logpmf(x[idx])
    np.testing.assert_allclose(lp, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np_(backend, d.mean), n * probs, rtol=RTOL)
    np.testing.assert_allclose(np_(backend, d.variance), n * probs * (1 - probs), rtol=RTOL)
    s = np_(backend, d.sample(backend.key(2), (5,)))
    assert s.shape == (5,) + bs + (4,) and (s.sum(-1) == n).all()


@pytest.mark.parametrize("label", SHAPES)
def test_dirichlet_multinomial(backend, label):
    conc = dict(vector_param_sets(SIMPLEX_2x3x4 * 5 + 0.3))[label]
    n = 5
    d = dist.DirichletMultinomial(backend.asarray(conc), total_count=n)
    bs = conc.shape[:-1]
    assert d.batch_shape == bs and d.event_shape == (4,)
    x = _multinomial_values(n, bs, seed=8)
    lp = np_(backend, d.log_prob(backend.asarray(x)))
    ref = np.zeros(x.shape[:-1])
    cb = np.broadcast_to(conc, x.shape)
    for idx in np.ndindex(*x.shape[:-1]):
        ref[idx] = st.dirichlet_multinomial(cb[idx], n).logpmf(x[idx])
    np.testing.assert_allclose(lp, ref, rtol=RTOL, atol=ATOL)
    mean = np.zeros(bs + (4,))
    var = np.zeros(bs + (4,))
    for idx in np.ndindex(*bs):
        o = st.dirichlet_multinomial(conc[idx], n)
        mean[idx], var[idx] = o.mean(), np.diag(o.cov())
    np.testing.assert_allclose(np_(backend, d.mean), mean, rtol=RTOL)
    np.testing.assert_allclose(np_(backend, d.variance), var, rtol=RTOL)
    s = np_(backend, d.sample(backend.key(3), (5,)))
    assert s.shape == (5,) + bs + (4,) and (s.sum(-1) == n).all()


# ------------------------------------------------------------------------- bad input
def test_invalid_parameters_raise(backend):
    a = backend.asarray
    with pytest.raises(ValueError, match=r"Bernoulli.*'probs'.*1\.5"):
        dist.Bernoulli(probs=a(np.array([0.2, 1.5])))
    with pytest.raises(ValueError, match=r"Categorical.*'probs'.*simplex"):
        dist.Categorical(probs=a(np.array([0.5, 0.6])))
    with pytest.raises(ValueError, match=r"Poisson.*'rate'"):
        dist.Poisson(a(-1.0))
    with pytest.raises(ValueError, match=r"Binomial.*'total_count'.*2\.5"):
        dist.Binomial(a(2.5), probs=a(0.5))
    with pytest.raises(ValueError, match=r"Multinomial.*'probs'"):
        dist.Multinomial(3, probs=a(np.array([0.5, 0.6])))
    with pytest.raises(ValueError, match="exactly one of probs= or logits="):
        dist.Bernoulli(probs=a(0.5), logits=a(0.0))
    with pytest.raises(ValueError, match="exactly one of gate= or gate_logits="):
        dist.ZeroInflatedPoisson(a(1.0))
    # NumPyro's positional order (gate, rate) is not Pyro's (rate, gate=): said, with the fix
    with pytest.raises(TypeError, match=r"Pyro's order.*pass gate= \(and rate=\) by keyword"):
        dist.ZeroInflatedPoisson(a(0.3), a(2.0))
    assert float(backend.to_numpy(dist.ZeroInflatedPoisson(gate=a(0.3), rate=a(2.0)).log_prob(
        a(0.0)))) == pytest.approx(np.log(0.3 + 0.7 * np.exp(-2.0)), rel=1e-6)
    with pytest.raises(ValueError, match=r"OrderedLogistic.*'cutpoints'"):
        dist.OrderedLogistic(a(0.0), a(np.array([1.0, -1.0])))
    # validation switched off: no error
    d = dist.Bernoulli(probs=a(np.array([0.2, 1.5])), validate_args=False)
    assert d.batch_shape == (2,)


def test_value_outside_support(backend):
    a = backend.asarray
    d = dist.Poisson(a(2.0))
    with pytest.raises(ValueError, match=r"Poisson.log_prob.*outside the support"):
        d.log_prob(a(np.array([1.0, 1.5])))
    d = dist.Poisson(a(2.0), validate_args=False)
    lp = np_(backend, d.log_prob(a(np.array([1.0, -1.0, 1.5]))))
    assert np.isfinite(lp[0]) and np.isneginf(lp[1:]).all()
    c = dist.Categorical(probs=a(np.array([0.5, 0.5])), validate_args=False)
    lp = np_(backend, c.log_prob(a(np.array([0.0, 2.0, -1.0]))))
    assert np.isfinite(lp[0]) and np.isneginf(lp[1:]).all()
    with pytest.raises(ValueError, match=r"Categorical.log_prob"):
        dist.Categorical(probs=a(np.array([0.5, 0.5]))).log_prob(a(3.0))
    b = dist.Binomial(a(3.0), probs=a(0.5), validate_args=False)
    assert np.isneginf(np_(backend, b.log_prob(a(4.0))))


def _central_differences(ref, x, eps=1e-6):
    """Central finite differences of the numpy oracle ``ref`` at ``x``."""
    fd = np.zeros_like(x)
    for i in range(x.size):
        hi, lo = x.copy(), x.copy()
        hi.flat[i] += eps
        lo.flat[i] -= eps
        fd.flat[i] = (ref(hi) - ref(lo)) / (2 * eps)
    return fd


@pytest.mark.parametrize("ctor", ["Categorical", "OneHotCategorical"])
def test_categorical_logits_grad_vs_finite_differences(grad_backend, ctor):
    be = grad_backend
    logits = LOGITS_2x3x4[:, 0]
    idx = np.array([[0, 3], [2, 2], [1, 0]])
    x = idx if ctor == "Categorical" else np.eye(4)[idx]

    def f(v):
        return be.xp.sum(getattr(dist, ctor)(logits=v).log_prob(be.asarray(x)))

    g = np_(be, be.grad(f)(be.asarray(logits)))

    def ref(v):
        return CategoricalOracle(np.exp(v) / np.exp(v).sum(-1, keepdims=True)).logpmf(idx).sum()

    fd = _central_differences(ref, logits)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5)


_ENUM_LAYOUTS = [((), -1), ((), -3), ((2,), -2), ((3, 1), -1), ((3, 1), -3), ((4, 1, 2), -2),
                 ((4,), -1)]  # the last: the batch already uses dim (the log_prob fallback)


def _enum_oracle(logp: np.ndarray, dim: int) -> np.ndarray:
    """numpy: log_prob of arange(K) laid along ``dim``, by fancy indexing of the table."""
    k = logp.shape[-1]
    vshape = (k,) + (1,) * (-dim - 1)
    out = np.broadcast_shapes(vshape, logp.shape[:-1])
    idx = np.broadcast_to(np.arange(k).reshape(vshape), out)
    return np.take_along_axis(np.broadcast_to(logp, out + (k,)), idx[..., None], -1)[..., 0]


def _enum_dist(be, kind, w):
    if kind == "Categorical(probs)":
        return dist.Categorical(probs=be.asarray(w))
    if kind == "Categorical(logits)":
        return dist.Categorical(logits=be.asarray(np.log(w)))
    if kind == "OneHotCategorical":
        return dist.OneHotCategorical(probs=be.asarray(w))
    if kind == "expand":
        return dist.Categorical(probs=be.asarray(w[..., :1, :])).expand(w.shape[:-1])
    if kind == "mask":
        m = np.arange(int(np.prod(w.shape[:-1]))).reshape(w.shape[:-1]) % 2 == 0
        return dist.Categorical(probs=be.asarray(w)).mask(be.asarray(m)), m
    return dist.Bernoulli(probs=be.asarray(w[..., 1] / w[..., :2].sum(-1)))  # generic path


_ENUM_CASES = [(kind, batch, dim) for kind in ("Categorical(probs)", "Categorical(logits)",
                                                "OneHotCategorical", "expand", "mask", "Bernoulli")
               for batch, dim in _ENUM_LAYOUTS
               # expand needs a batch dim; Bernoulli's 2 values cannot share dim -1 with 4
               if not (kind == "expand" and not batch)
               and not (kind == "Bernoulli" and (batch, dim) == ((4,), -1))]


@pytest.mark.parametrize("kind,batch,dim", _ENUM_CASES, ids=str)
def test_enumerated_log_prob_is_log_prob_of_every_support_value(backend, kind, batch, dim):
    k = 4
    w = np.random.default_rng(len(batch) - dim).dirichlet(np.ones(k), size=batch)
    if kind == "expand":
        w = np.broadcast_to(w[..., :1, :], w.shape).copy()
    d = _enum_dist(backend, kind, w)
    mask = None
    if kind == "mask":
        d, mask = d
    logp = np.log(w / w.sum(-1, keepdims=True))
    if kind == "Bernoulli":
        p1 = w[..., 1] / w[..., :2].sum(-1)
        logp = np.log(np.stack([1 - p1, p1], -1))
    expected = _enum_oracle(logp, dim)
    if mask is not None:
        expected = np.where(mask, expected, 0.0)
    got = d.enumerated_log_prob(dim)
    assert tuple(got.shape) == expected.shape
    np.testing.assert_allclose(np_(backend, got), expected, rtol=1e-12, atol=1e-12)


def test_enumerated_log_prob_gradient(grad_backend):
    """The table's gradient against central finite differences of the numpy oracle."""
    be = grad_backend
    logits = LOGITS_2x3x4[:, 0][:, None, :]  # batch (2, 1), K = 4, support along dim -3
    wts = np.random.default_rng(5).normal(size=(4, 2, 1))

    def f(v):
        return be.xp.sum(be.asarray(wts) * dist.Categorical(logits=v).enumerated_log_prob(-3))

    g = np_(be, be.grad(f)(be.asarray(logits)))

    def ref(v):
        lp = v - np.log(np.exp(v).sum(-1, keepdims=True))
        return float((wts * _enum_oracle(lp, -3)).sum())

    fd = _central_differences(ref, logits)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)
