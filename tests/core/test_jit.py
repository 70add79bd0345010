"""Models under the backend's ``jit`` (compiled on JAX): same results twice, no tracer leaks."""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import fnum, to_np
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.density import log_density, potential_energy


def model(y):
    mu = polyro.sample("mu", dist.Normal(0.0, 1.0))
    s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
    with polyro.plate("n", 3):
        polyro.sample("y", dist.Normal(mu, s), obs=y)
    return mu


Y = np.array([0.5, -0.2, 1.1])


def test_seed_trace_jitted_twice_same_result(backend):
    seeded = handlers.seed(model, rng_seed=0)  # one handler object, reused inside and outside
    tracer = handlers.trace(seeded)

    def run(key, y):
        tr = handlers.trace(handlers.seed(model, rng_seed=key)).get_trace(y)
        return tr["mu"]["value"], tr.log_prob_sum()

    f = backend.jit(run)
    key, y = backend.key(3), backend.asarray(Y)
    mu1, lp1 = f(key, y)
    mu2, lp2 = f(key, y)
    mu3, lp3 = run(key, y)  # eager
    assert fnum(mu1) == fnum(mu2) and fnum(lp1) == fnum(lp2)
    np.testing.assert_allclose(fnum(mu1), fnum(mu3), rtol=1e-12)
    np.testing.assert_allclose(fnum(lp1), fnum(lp3), rtol=1e-12)
    # the handler objects used around the jitted code are untouched and still usable
    before = dict(vars(tracer))
    inner = backend.jit(lambda y: tracer.get_trace(y).log_prob_sum())
    a, b = inner(y), tracer.get_trace(y).log_prob_sum()
    np.testing.assert_allclose(fnum(a), fnum(b), rtol=1e-12)
    assert vars(tracer) == before


def test_log_density_jitted_matches_scipy(backend):
    f = backend.jit(lambda p: log_density(model, (backend.asarray(Y),), {}, p)[0])
    p = {"mu": backend.asarray(0.3), "s": backend.asarray(1.7)}
    expected = (stats.norm.logpdf(0.3) + stats.lognorm(1.0).logpdf(1.7)
                + stats.norm(0.3, 1.7).logpdf(Y).sum())
    for _ in range(2):
        np.testing.assert_allclose(fnum(f(p)), expected, rtol=1e-12)


def test_no_tracer_leak_under_jax_jit():
    jax = pytest.importorskip("jax")
    with polyro.backend("jax"):
        polyro.set_default_dtype("float64")
        be = polyro.backends.current()
        seeded = handlers.seed(model, rng_seed=0)
        tracer = handlers.trace(seeded)

        def run(key, y):
            tr = handlers.trace(handlers.seed(model, rng_seed=key)).get_trace(y)
            tr2 = tracer.get_trace(y)  # a handler object created outside jit
            return tr.log_prob_sum() + tr2.log_prob_sum()

        def pe(u, y):
            return potential_energy(model, (y,), {}, u)

        with jax.checking_leaks():
            f = jax.jit(run)
            y = be.asarray(Y)
            a = f(be.key(1), y)
            b = f(be.key(1), y)
            g = jax.jit(jax.grad(pe))
            u = {"mu": be.asarray(0.1), "s": be.asarray(0.2)}
            g1, g2 = g(u, y), g(u, y)
        assert fnum(a) == fnum(b)
        assert fnum(g1["mu"]) == fnum(g2["mu"])
        # used eagerly afterwards, the same handlers still work (no stale tracer inside)
        assert np.isfinite(fnum(tracer.get_trace(y).log_prob_sum()))
        assert polyro.core.runtime.get_stack() == ()


def test_gradient_of_potential_energy(grad_backend):
    be = grad_backend
    y = be.asarray(Y)
    u = {"mu": be.asarray(0.2), "s": be.asarray(-0.3)}
    val, grads = be.value_and_grad(lambda p: potential_energy(model, (y,), {}, p))(u)
    # oracle: central finite differences of the numpy formula
    def pe_np(mu, us):
        s = np.exp(us)
        return -(stats.norm.logpdf(mu) + stats.lognorm(1.0).logpdf(s) + us
                 + stats.norm(mu, s).logpdf(Y).sum())
    np.testing.assert_allclose(fnum(val), pe_np(0.2, -0.3), rtol=1e-12)
    eps = 1e-6
    dmu = (pe_np(0.2 + eps, -0.3) - pe_np(0.2 - eps, -0.3)) / (2 * eps)
    ds = (pe_np(0.2, -0.3 + eps) - pe_np(0.2, -0.3 - eps)) / (2 * eps)
    np.testing.assert_allclose(to_np(grads["mu"]), dmu, rtol=1e-5)
    np.testing.assert_allclose(to_np(grads["s"]), ds, rtol=1e-5)


def test_plates_under_jit(backend):
    def m(y):
        with polyro.plate("n", 6, subsample_size=3) as idx:
            polyro.sample("y", dist.Normal(0.0, 1.0), obs=y[idx])
        for i in polyro.plate("seq", 2):
            polyro.sample(f"z_{i}", dist.Normal(0.0, 1.0), obs=y[i])

    def run(key, y):
        tr = handlers.trace(handlers.seed(m, rng_seed=key)).get_trace(y)
        return tr["n"]["value"], tr.log_prob_sum()

    y = np.linspace(-1.0, 1.0, 6)
    f = backend.jit(run)
    idx, lp = f(backend.key(2), backend.asarray(y))
    idx2, lp2 = f(backend.key(2), backend.asarray(y))
    i = to_np(idx).astype(int)
    np.testing.assert_array_equal(i, to_np(idx2))
    expected = 2.0 * stats.norm.logpdf(y[i]).sum() + stats.norm.logpdf(y[:2]).sum()
    np.testing.assert_allclose(fnum(lp), expected, rtol=1e-12)
    assert fnum(lp) == fnum(lp2)
