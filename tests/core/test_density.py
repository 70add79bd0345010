"""log_density, potential_energy, (un)constrain, initialize_model and the init strategies."""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import fnum, to_np
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro.core import init_strategies as inits
from polyro.core.density import (
    constrain_fn,
    initialize_model,
    latent_sites,
    log_density,
    potential_energy,
    transform_fn,
    unconstrain_fn,
)
from polyro.core.distributions import biject_to, constraints
from polyro.errors import InitializationError, ModelError

Y = np.array([0.4, 1.3, 0.9, 2.2])


def model(y):
    mu = polyro.sample("mu", dist.Normal(0.0, 3.0))
    s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
    p = polyro.sample("p", dist.Uniform(0.0, 1.0))
    with polyro.plate("n", len(y)):
        polyro.sample("y", dist.Normal(mu, s), obs=y)
    polyro.deterministic("twice_mu", 2.0 * mu)
    polyro.factor("pf", -p)


def logp_np(mu, s, p):
    return (stats.norm(0, 3).logpdf(mu) + stats.lognorm(1.0).logpdf(s) + stats.uniform.logpdf(p)
            + stats.norm(mu, s).logpdf(Y).sum() - p)


def test_log_density_matches_scipy(backend):
    params = {"mu": 0.7, "s": 1.4, "p": 0.25}
    lj, tr = log_density(model, (backend.asarray(Y),), {}, params)
    np.testing.assert_allclose(fnum(lj), logp_np(0.7, 1.4, 0.25), rtol=1e-12)
    assert set(tr) >= {"mu", "s", "p", "y", "twice_mu", "pf"}
    assert backend.is_array(lj)


def test_potential_energy_includes_jacobians(backend):
    u = {"mu": 0.7, "s": np.log(1.4), "p": 0.3}
    u = {k: backend.asarray(v) for k, v in u.items()}
    pe = potential_energy(model, (backend.asarray(Y),), {}, u)
    p = 1.0 / (1.0 + np.exp(-0.3))
    jac = np.log(1.4) + np.log(p * (1.0 - p))  # exp and sigmoid
    np.testing.assert_allclose(fnum(pe), -(logp_np(0.7, 1.4, p) + jac), rtol=1e-12)


def test_potential_energy_scales_jacobian_with_subsampling(backend):
    def sub_model():
        with polyro.plate("n", 10, subsample=np.array([0, 3])):
            polyro.sample("s", dist.LogNormal(0.0, 1.0))

    u = backend.asarray(np.array([0.1, -0.2]))
    pe = potential_energy(sub_model, (), {}, {"s": u})
    uu = np.array([0.1, -0.2])
    expected = 5.0 * (stats.lognorm(1.0).logpdf(np.exp(uu)) + uu).sum()
    np.testing.assert_allclose(fnum(pe), -expected, rtol=1e-12)


def test_constrain_unconstrain_roundtrip(backend):
    y = backend.asarray(Y)
    c = {"mu": backend.asarray(0.5), "s": backend.asarray(2.0), "p": backend.asarray(0.8)}
    u = unconstrain_fn(model, (y,), {}, c)
    np.testing.assert_allclose(fnum(u["s"]), np.log(2.0), rtol=1e-12)
    np.testing.assert_allclose(fnum(u["p"]), np.log(0.8 / 0.2), rtol=1e-12)
    back = constrain_fn(model, (y,), {}, u, return_deterministic=True)
    for k in c:
        np.testing.assert_allclose(fnum(back[k]), fnum(c[k]), rtol=1e-12)
    np.testing.assert_allclose(fnum(back["twice_mu"]), 1.0)
    assert "twice_mu" not in constrain_fn(model, (y,), {}, u)


def test_transform_fn(backend):
    t = {"s": biject_to(constraints.positive)}
    out = transform_fn(t, {"s": backend.asarray(0.0), "x": 3.0})
    assert fnum(out["s"]) == 1.0 and out["x"] == 3.0
    inv = transform_fn(t, {"s": backend.asarray(1.0)}, invert=True)
    assert fnum(inv["s"]) == 0.0


@pytest.mark.parametrize("strategy", [
    inits.init_to_uniform, inits.init_to_uniform(radius=0.5), inits.init_to_median,
    inits.init_to_median(num_samples=5), inits.init_to_mean, inits.init_to_sample,
    inits.init_to_feasible, inits.init_to_value(values={"mu": 1.5}),
], ids=["uniform", "uniform_r", "median", "median5", "mean", "sample", "feasible", "value"])
def test_initialize_model(backend, strategy):
    y = backend.asarray(Y)
    info = initialize_model(backend.key(0), model, (y,), init_strategy=strategy)
    assert sorted(info.init_params) == ["mu", "p", "s"]
    u = {k: fnum(v) for k, v in info.init_params.items()}
    p = 1.0 / (1.0 + np.exp(-u["p"]))
    expected = -(logp_np(u["mu"], np.exp(u["s"]), p) + u["s"] + np.log(p * (1 - p)))
    np.testing.assert_allclose(fnum(info.potential_fn(info.init_params)), expected, rtol=1e-10)
    post = info.postprocess_fn(info.init_params)
    assert sorted(post) == ["mu", "p", "s", "twice_mu"]
    np.testing.assert_allclose(fnum(post["s"]), np.exp(u["s"]), rtol=1e-12)
    np.testing.assert_allclose(fnum(post["twice_mu"]), 2 * u["mu"], rtol=1e-12)
    if strategy is inits.init_to_feasible:
        assert u == {"mu": 0.0, "s": 0.0, "p": 0.0}
    if strategy is inits.init_to_mean:
        assert u["mu"] == 0.0 and u["p"] == pytest.approx(0.0, abs=1e-12)
        assert u["s"] == pytest.approx(0.5)  # log of LogNormal(0, 1)'s mean exp(1/2)
    if "value" in repr(strategy):
        assert u["mu"] == 1.5
    if strategy is inits.init_to_uniform:
        assert all(-2.0 <= v <= 2.0 for v in u.values())
    if "radius=0.5" in repr(strategy):
        assert all(-0.5 <= v <= 0.5 for v in u.values())


def test_initialize_model_same_key_same_point(backend):
    y = backend.asarray(Y)
    a = initialize_model(backend.key(4), model, (y,)).init_params
    b = initialize_model(backend.key(4), model, (y,)).init_params
    c = initialize_model(backend.key(5), model, (y,)).init_params
    assert all(fnum(a[k]) == fnum(b[k]) for k in a)
    assert any(fnum(a[k]) != fnum(c[k]) for k in a)


def test_initialize_model_failure_lists_sites(backend):
    def bad():
        x = polyro.sample("x", dist.Normal(0.0, 1.0))
        polyro.factor("boom", x * float("inf"))

    with pytest.raises(InitializationError, match=r"attempts.*boom"):
        initialize_model(0, bad, max_tries=3)


def test_latent_sites_rejects_unmarked_discrete():
    class FakeDiscrete(dist.Normal):
        is_discrete = True

    def m():
        polyro.sample("k", FakeDiscrete(0.0, 1.0))

    from polyro.core.handlers import seed, trace

    tr = trace(seed(m, rng_seed=0)).get_trace()
    with pytest.raises(ModelError, match=r"'k' is discrete.*enumerate"):
        latent_sites(tr)
    tr["k"]["infer"]["enumerate"] = "parallel"
    assert latent_sites(tr) == []


def test_init_to_value_fallback_and_non_sample_sites(backend):
    strat = inits.init_to_value(values={"a": 2.0})
    assert strat({"type": "param", "is_observed": False}) is None
    assert strat({"type": "sample", "is_observed": True}) is None


def test_initialize_model_simplex_and_bernoulli(backend):
    def m():
        p = polyro.sample("p", dist.Dirichlet(backend.asarray(np.ones(3))))
        with polyro.plate("n", 4):
            polyro.sample("b", dist.Bernoulli(p[0]), obs=backend.asarray(np.array([1.0, 0.0, 1.0, 1.0])))

    info = initialize_model(backend.key(0), m)
    assert tuple(info.init_params["p"].shape) == (2,)  # stick-breaking: K-1 free coordinates
    post = to_np(info.postprocess_fn(info.init_params)["p"])
    assert post.shape == (3,) and abs(post.sum() - 1.0) < 1e-12 and (post > 0).all()
    assert np.isfinite(fnum(info.potential_fn(info.init_params)))
    lj, _ = log_density(m, (), {}, {"p": backend.asarray(post)})
    expected = (stats.dirichlet(np.ones(3)).logpdf(post)
                + stats.bernoulli(post[0]).logpmf([1, 0, 1, 1]).sum())
    np.testing.assert_allclose(fnum(lj), expected, rtol=1e-10)


def test_init_to_median_stays_in_joint_supports(backend):
    """The elementwise median of simplex draws does not sum to one, nor are the rows of a
    median of correlation Cholesky factors unit vectors: ``init_to_median`` maps such a value
    into the support (AutoDelta's parameter then passes its constraint check); a site whose
    support holds the median keeps the median of the draws."""
    from polyro import handlers

    be = backend

    def m():
        polyro.sample("mu", dist.Normal(1.0, 2.0).expand((3,)).to_event(1))
        polyro.sample("p", dist.Dirichlet(be.asarray(np.array([0.5, 1.0, 2.0, 4.0]))))
        polyro.sample("L", dist.LKJCholesky(3, 0.5))

    tr = handlers.trace(handlers.substitute(handlers.seed(m, rng_seed=3),
                                            substitute_fn=inits.init_to_median(num_samples=7))
                        ).get_trace()
    p = to_np(tr["p"]["value"])
    assert abs(p.sum() - 1.0) < 1e-12 and (p > 0).all()
    L = to_np(tr["L"]["value"])
    np.testing.assert_allclose(np.sum(L * L, axis=-1), np.ones(3), rtol=1e-12)
    assert np.allclose(L, np.tril(L)) and (np.diag(L) > 0).all()
    # a site whose support holds the median: exactly the middle of its 7 draws, elementwise
    fn, key = dist.Normal(1.0, 2.0).expand((3,)).to_event(1), be.key(5)
    site = {"type": "sample", "is_observed": False, "name": "mu", "fn": fn, "key": key,
            "kwargs": {"sample_shape": ()}}
    draws = to_np(fn.sample(be.split(key, 2)[0], (7,)))
    np.testing.assert_array_equal(to_np(inits.init_to_median(site, num_samples=7)),
                                  np.sort(draws, axis=0)[3])


def test_auto_delta_fits_a_dirichlet_site(grad_backend):
    """AutoDelta's default init (the prior median) on a Dirichlet site used to fail its own
    simplex check at SVI.init; the MAP it reaches is the closed-form Dirichlet-multinomial
    mode."""
    from polyro.inference import SVI, Trace_ELBO
    from polyro.inference.autoguide import AutoDelta
    from polyro.optim import Adam

    be = grad_backend
    counts = np.array([3.0, 9.0, 14.0])

    def m():
        p = polyro.sample("p", dist.Dirichlet(be.asarray(np.array([2.0, 2.0, 2.0]))))
        polyro.sample("c", dist.Multinomial(int(counts.sum()), probs=p), obs=be.asarray(counts))

    guide = AutoDelta(m)
    res = SVI(m, guide, Adam(0.05), Trace_ELBO()).run(be.key(0), 1500, progress_bar=False)
    mode = (counts + 1.0) / (counts.sum() + 3.0)
    np.testing.assert_allclose(to_np(guide.median(res.params)["p"]), mode, atol=2e-3)
