"""Autoguides: shapes with plates and subsampling, medians/quantiles against the guide's own
distribution (scipy), sample_posterior moments, AutoGuideList, Laplace on a Gaussian posterior,
and the clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.inference import SVI, Trace_ELBO
from polyro.inference.autoguide import (
    AutoDelta,
    AutoDiagonalNormal,
    AutoGuideList,
    AutoLaplaceApproximation,
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
    AutoNormal,
)
from polyro.optim import Adam

DATA = np.linspace(-1.0, 2.0, 10)


def local_model(data):
    mu = polyro.sample("mu", dist.Normal(0.0, 1.0))
    sigma = polyro.sample("sigma", dist.LogNormal(0.0, 1.0))
    with polyro.plate("N", 10, subsample_size=4) as idx:
        z = polyro.sample("z", dist.Normal(mu, 1.0))
        polyro.sample("x", dist.Normal(z, sigma), obs=polyro.backends.namespace(data).take(
            data, idx, axis=0))


def _np(be, x):
    return np.asarray(be.to_numpy(x))


def test_autonormal_shapes_with_subsampling(backend):
    be = backend
    data = be.asarray(DATA)
    guide = AutoNormal(local_model)
    gtr = handlers.trace(handlers.seed(guide, rng_seed=0)).get_trace(data)
    assert tuple(gtr["auto_z_loc"]["value"].shape) == (10,)  # full plate size
    assert tuple(gtr["auto_z_scale"]["value"].shape) == (10,)
    assert tuple(gtr["auto_mu_loc"]["value"].shape) == ()
    assert tuple(gtr["z"]["value"].shape) == (4,)  # the subsample
    assert gtr["sigma"]["fn"].support is not None
    assert float(_np(be, gtr["sigma"]["value"])) > 0
    # the model replays the guide's subsample indices and values
    mtr = handlers.trace(handlers.replay(handlers.seed(local_model, rng_seed=1),
                                         trace=gtr)).get_trace(data)
    np.testing.assert_array_equal(_np(be, mtr["N"]["value"]), _np(be, gtr["N"]["value"]))
    np.testing.assert_array_equal(_np(be, mtr["z"]["value"]), _np(be, gtr["z"]["value"]))
    # the guide's z is Normal(loc[idx], scale[idx]): its log density checks against scipy
    idx = _np(be, gtr["N"]["value"]).astype(int)
    loc = _np(be, gtr["auto_z_loc"]["value"])[idx]
    sc = _np(be, gtr["auto_z_scale"]["value"])[idx]
    lp = _np(be, gtr["z"]["fn"].log_prob(gtr["z"]["value"]))
    np.testing.assert_allclose(lp, stats.norm(loc, sc).logpdf(_np(be, gtr["z"]["value"])),
                               rtol=1e-10)
    # AutoDelta: same layout
    dtr = handlers.trace(handlers.seed(AutoDelta(local_model), rng_seed=0)).get_trace(data)
    assert tuple(dtr["auto_z_loc"]["value"].shape) == (10,)
    assert tuple(dtr["z"]["value"].shape) == (4,)


def test_subsampled_svi_runs(grad_backend):
    be = grad_backend
    svi = SVI(local_model, AutoNormal(local_model), Adam(0.05), Trace_ELBO())
    res = svi.run(0, 5, be.asarray(DATA), progress_bar=False)
    assert res.params["auto_z_loc"].shape == (10,)
    assert np.all(np.isfinite(_np(be, res.losses)))


def _scoped_sub_models(ya, yb):
    """Two copies of one sub-model, each with a plate "data" of its own size, under scopes."""
    def sub(y):
        with polyro.plate("data", y.shape[0], subsample_size=2) as idx:
            z = polyro.sample("z", dist.Normal(0.0, 1.0))
            polyro.sample("y", dist.Normal(z, 0.5),
                          obs=polyro.backends.namespace(y).take(y, idx, axis=0))

    handlers.scope(sub, prefix="a")(ya)
    handlers.scope(sub, prefix="b")(yb)


def test_autonormal_on_scoped_sub_models(grad_backend):
    """The guide builds one plate per scope ("a/data" of 3, "b/data" of 5) and the model
    replays each subsample; with one shared name the second sub-model met the first's plate."""
    be = grad_backend
    ya, yb = be.asarray(DATA[:3]), be.asarray(DATA[3:8])
    guide = AutoNormal(_scoped_sub_models)
    svi = SVI(_scoped_sub_models, guide, Adam(0.05), Trace_ELBO())
    res = svi.run(0, 5, ya, yb, progress_bar=False)
    assert tuple(res.params["auto_a/z_loc"].shape) == (3,)
    assert tuple(res.params["auto_b/z_loc"].shape) == (5,)
    assert np.all(np.isfinite(_np(be, res.losses)))
    gtr = handlers.trace(handlers.seed(handlers.substitute(guide, res.params),
                                       rng_seed=3)).get_trace(ya, yb)
    mtr = handlers.trace(handlers.replay(handlers.seed(_scoped_sub_models, rng_seed=4),
                                         trace=gtr)).get_trace(ya, yb)
    for name in ("a", "b"):
        np.testing.assert_array_equal(_np(be, mtr[f"{name}/data"]["value"]),
                                      _np(be, gtr[f"{name}/data"]["value"]))
        assert tuple(gtr[f"{name}/z"]["value"].shape) == (2,)


def _two_site_model():
    polyro.sample("a", dist.Normal(0.0, 1.0))
    with polyro.plate("k", 3):
        polyro.sample("s", dist.LogNormal(0.0, 1.0))


def test_quantiles_and_median_against_scipy(backend):
    be = backend
    qs = [0.1, 0.5, 0.9]
    guide = AutoNormal(_two_site_model)
    handlers.trace(handlers.seed(guide, rng_seed=0)).get_trace()  # set up
    loc_s, sc_s = np.array([0.1, -0.2, 0.3]), np.array([0.5, 0.2, 1.0])
    params = {"auto_a_loc": be.asarray(0.4), "auto_a_scale": be.asarray(2.0),
              "auto_s_loc": be.asarray(loc_s), "auto_s_scale": be.asarray(sc_s)}
    q = guide.quantiles(qs, params)
    np.testing.assert_allclose(_np(be, q["a"]), stats.norm(0.4, 2.0).ppf(qs), rtol=1e-10)
    want_s = np.stack([stats.lognorm(s=sc_s, scale=np.exp(loc_s)).ppf(p) for p in qs])
    np.testing.assert_allclose(_np(be, q["s"]), want_s, rtol=1e-10)
    med = guide.median(params)
    np.testing.assert_allclose(_np(be, med["s"]), np.exp(loc_s), rtol=1e-12)
    # AutoDiagonalNormal: flat latent [a, s0, s1, s2] (unconstrained), same answers
    dg = AutoDiagonalNormal(_two_site_model)
    tr = handlers.trace(handlers.seed(dg, rng_seed=0)).get_trace()
    assert tuple(tr["auto_latent_loc"]["value"].shape) == (4,)
    dparams = {"auto_latent_loc": be.asarray(np.r_[0.4, loc_s]),
               "auto_latent_scale": be.asarray(np.r_[2.0, sc_s])}
    dq = dg.quantiles(qs, dparams)
    np.testing.assert_allclose(_np(be, dq["a"]), stats.norm(0.4, 2.0).ppf(qs), rtol=1e-10)
    np.testing.assert_allclose(_np(be, dq["s"]), want_s, rtol=1e-10)
    np.testing.assert_allclose(_np(be, dg.median(dparams)["s"]), np.exp(loc_s), rtol=1e-12)
    # the flat guide's density of the constrained values: Delta carries -log|det J|, so
    # log q(a, s) = log N(u) - sum(log s)  (change of variables, checked with scipy)
    tr = handlers.trace(handlers.seed(handlers.substitute(dg, data=dparams),
                                      rng_seed=3)).get_trace()
    tr_lp = sum(float(_np(be, be.xp.sum(tr[n]["fn"].log_prob(tr[n]["value"]))))
                for n in ("_auto_latent", "a", "s"))
    a, s = float(_np(be, tr["a"]["value"])), _np(be, tr["s"]["value"])
    want = (stats.norm(0.4, 2.0).logpdf(a)
            + stats.lognorm(s=sc_s, scale=np.exp(loc_s)).logpdf(s).sum())
    assert tr_lp == pytest.approx(want, abs=1e-9)
    # AutoDelta quantiles are the point
    dl = AutoDelta(_two_site_model)
    handlers.trace(handlers.seed(dl, rng_seed=0)).get_trace()
    pq = dl.quantiles(qs, {"auto_a_loc": be.asarray(1.5), "auto_s_loc": be.asarray(loc_s)})
    np.testing.assert_allclose(_np(be, pq["a"]), [1.5] * 3)
    # NumPyro's argument order, quantiles(params, quantiles), gives the same
    for g, p in ((guide, params), (dg, dparams)):
        for n, v in g.quantiles(p, qs).items():
            np.testing.assert_array_equal(_np(be, v), _np(be, g.quantiles(qs, p)[n]))
    with pytest.raises(TypeError, match="probabilities"):
        guide.quantiles(params, params)


def test_mvn_guides_quantiles(backend):
    be = backend
    qs = [0.25, 0.75]
    L = np.array([[1.0, 0.0, 0.0], [0.5, 2.0, 0.0], [0.1, -0.3, 0.5]])
    m = np.array([0.1, 0.2, 0.3])
    g = AutoMultivariateNormal(_two_site_model)  # latent dim 4
    tr = handlers.trace(handlers.seed(g, rng_seed=0)).get_trace()
    assert tuple(tr["auto_latent_scale_tril"]["value"].shape) == (4, 4)
    L4 = np.eye(4)
    L4[1:, 1:] = L
    p = {"auto_latent_loc": be.asarray(np.r_[0.0, m]), "auto_latent_scale_tril": be.asarray(L4)}
    sd = np.sqrt((L * L).sum(1))
    want = np.stack([np.exp(m + sd * stats.norm.ppf(q)) for q in qs])
    np.testing.assert_allclose(_np(be, g.quantiles(qs, p)["s"]), want, rtol=1e-10)
    lr = AutoLowRankMultivariateNormal(_two_site_model, rank=2)
    tr = handlers.trace(handlers.seed(lr, rng_seed=0)).get_trace()
    assert tuple(tr["auto_latent_cov_factor"]["value"].shape) == (4, 2)
    F = np.arange(8.0).reshape(4, 2) / 10
    d = np.array([0.5, 0.4, 0.3, 0.2])
    p = {"auto_latent_loc": be.asarray(np.zeros(4)), "auto_latent_cov_factor": be.asarray(F),
         "auto_latent_cov_diag": be.asarray(d)}
    sd = np.sqrt((F * F).sum(1) + d)
    np.testing.assert_allclose(_np(be, lr.quantiles([0.9], p)["a"]),
                               [sd[0] * stats.norm.ppf(0.9)], rtol=1e-10)


def test_sample_posterior_moments(backend):
    be = backend
    guide = AutoNormal(_two_site_model)
    handlers.trace(handlers.seed(guide, rng_seed=0)).get_trace()
    params = {"auto_a_loc": be.asarray(0.4), "auto_a_scale": be.asarray(2.0),
              "auto_s_loc": be.asarray(np.zeros(3)), "auto_s_scale": be.asarray(np.ones(3))}
    n = 300
    draws = guide.sample_posterior(be.key(1), params, sample_shape=(n,))
    assert tuple(draws["a"].shape) == (n,) and tuple(draws["s"].shape) == (n, 3)
    a = _np(be, draws["a"])
    assert abs(a.mean() - 0.4) < 4 * 2.0 / math.sqrt(n)  # 4 standard errors
    assert np.all(_np(be, draws["s"]) > 0)


def test_guide_list(backend):
    be = backend
    g = AutoGuideList(_two_site_model)
    g.append(AutoNormal(handlers.block(_two_site_model, expose=["a"])))
    g.append(AutoDelta(handlers.block(_two_site_model, expose=["s"]), prefix="map"))
    tr = handlers.trace(handlers.seed(g, rng_seed=0)).get_trace()
    assert {k for k in tr if tr[k]["type"] == "param"} == {"auto_a_loc", "auto_a_scale",
                                                           "map_s_loc"}
    params = {k: tr[k]["value"] for k in tr if tr[k]["type"] == "param"}
    assert all(be.is_array(v) for v in params.values())
    med = g.median(params)
    assert set(med) == {"a", "s"}
    np.testing.assert_allclose(_np(be, med["s"]), _np(be, params["map_s_loc"]))


def test_laplace_on_gaussian_posterior_is_exact(grad_backend):
    """Normal-Normal: the posterior is Gaussian, so MAP + inverse Hessian is exact."""
    be = grad_backend
    y = np.array([0.5, 1.5, 1.0])

    def model(y):
        m = polyro.sample("m", dist.Normal(0.0, 1.0))
        with polyro.plate("n", 3):
            polyro.sample("y", dist.Normal(m, 0.5), obs=y)

    prec = 1.0 + 3 / 0.25
    mu, sd = (y.sum() / 0.25) / prec, 1 / math.sqrt(prec)
    guide = AutoLaplaceApproximation(model)
    res = SVI(model, guide, Adam(0.1), Trace_ELBO()).run(0, 300, be.asarray(y),
                                                          progress_bar=False)
    post = guide.get_posterior(res.params)
    assert float(_np(be, post.loc)[0]) == pytest.approx(mu, abs=1e-5)
    assert float(_np(be, post.scale_tril)[0, 0]) == pytest.approx(sd, rel=1e-5)
    q = guide.quantiles([0.5, 0.975], res.params)["m"]
    np.testing.assert_allclose(_np(be, q), [mu, mu + 1.959963984540054 * sd], rtol=1e-4)


def test_laplace_away_from_a_map_point_says_so(grad_backend):
    """Where the Hessian of -log p is not positive definite (here at u = 0 of a double well:
    (u^2 - 1)^2 has curvature -4 there, the prior +1), both engines give one clear error
    (torch's Cholesky raises, JAX's returns NaNs)."""
    be = grad_backend

    def model():
        u = polyro.sample("u", dist.Normal(0.0, 1.0))
        polyro.factor("well", -((u * u - 1.0) ** 2))

    guide = AutoLaplaceApproximation(model)
    handlers.trace(handlers.seed(guide, rng_seed=0)).get_trace()
    with pytest.raises(ValueError, match="not positive definite.*not a local MAP.*Train longer"):
        guide.get_posterior({"auto_latent_loc": be.asarray(np.array([0.0]))})
    post = guide.get_posterior({"auto_latent_loc": be.asarray(np.array([1.0]))})  # a minimum
    # -log p'' at u = 1: 12 u^2 - 4 + 1 = 9
    assert float(_np(be, post.scale_tril)[0, 0]) == pytest.approx(1 / 3, rel=1e-10)


def test_errors_name_the_site(backend):
    def disc():
        polyro.sample("c", dist.Bernoulli(0.5))

    with pytest.raises(ValueError, match="discrete latent site 'c'"):
        handlers.seed(AutoNormal(disc), rng_seed=0)()
    data = backend.asarray(DATA)
    with pytest.raises(ValueError, match="site 'z'.*subsampled plate 'N'"):
        handlers.seed(AutoDiagonalNormal(local_model), rng_seed=0)(data)
    with pytest.raises(ValueError, match="init_scale"):
        AutoNormal(disc, init_scale=0.0)


def test_continuous_guides_do_not_trip_engine_warnings(grad_backend):
    """The flat-latent guides and the Laplace potential pass their log-Jacobians on as arrays:
    torch warns when ``asarray`` is given a tensor that requires a gradient (a warning once per
    process, made to fire every time here)."""
    import sys
    import warnings

    be = grad_backend

    def model(data):
        mu = polyro.sample("mu", dist.Normal(0.0, 1.0))
        sigma = polyro.sample("sigma", dist.LogNormal(0.0, 1.0))
        with polyro.plate("N", 10):
            polyro.sample("x", dist.Normal(mu, sigma), obs=data)

    torch = sys.modules.get("torch")
    always = torch.is_warn_always_enabled() if torch is not None else None
    if torch is not None:
        torch.set_warn_always(True)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            for G in (AutoDiagonalNormal, AutoLaplaceApproximation):
                guide = G(model)
                res = SVI(model, guide, Adam(0.05), Trace_ELBO()).run(
                    be.key(0), 3, be.asarray(DATA), progress_bar=False)
                assert np.isfinite(float(be.to_numpy(res.losses)[-1]))
            # the Laplace potential and its Hessian
            try:
                guide.get_posterior(res.params, be.asarray(DATA))
            except ValueError:  # 3 steps are no MAP: the clear non-PD error is fine here
                pass
    finally:
        if torch is not None:
            torch.set_warn_always(always)
    assert not [w for w in seen if "asarray" in str(w.message)], [str(w.message) for w in seen]


def test_multivariate_normal_covariance_on_a_conjugate_posterior(grad_backend):
    """Bayesian linear regression with known noise has a Gaussian posterior (closed form), so
    AutoMultivariateNormal can match it. With Adam(0.05) the covariance part of KL(q || p) (the
    mean left out: Adam's steady jitter of the location is the same for any parametrization)
    averages 0.06 over three seeds with the scaled unit-lower-Cholesky parametrization; with the
    plain lower-Cholesky one (off-diagonal steps of ~0.05 against posterior scales of ~0.02)
    it averaged 0.24, and one seed in six reached 13."""
    be = grad_backend
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=200)

    def model(X, y):
        w = polyro.sample("w", dist.Normal(0.0, 5.0).expand((3,)).to_event(1))
        with polyro.plate("N", X.shape[0]):
            polyro.sample("y", dist.Normal(polyro.ops.matmul(X, w), 0.3), obs=y)

    prec = X.T @ X / 0.09 + np.eye(3) / 25.0  # the exact posterior precision
    kls = []
    for seed in range(3):
        guide = AutoMultivariateNormal(model)
        res = SVI(model, guide, Adam(0.05), Trace_ELBO()).run(
            be.key(seed), 2000, be.asarray(X), be.asarray(Y), progress_bar=False)
        L = _np(be, res.params["auto_latent_scale_tril"])
        Q = L @ L.T
        kls.append(0.5 * (np.trace(prec @ Q) - 3 - np.linalg.slogdet(prec)[1]
                          - np.linalg.slogdet(Q)[1]))
    assert np.mean(kls) < 0.12, kls


@pytest.mark.parametrize("guide_cls", ["AutoDiagonalNormal", "AutoMultivariateNormal",
                                       "AutoLowRankMultivariateNormal"])
def test_get_posterior(grad_backend, guide_cls):
    """``get_posterior(params)`` is the guide's distribution over the flat latent at those
    params: mean = the latent loc, covariance = the one its params define (diag(scale^2),
    L L^T, F F^T + diag(d)), and its log_prob is scipy's multivariate normal there; without
    params it reads the param store; before the guide ran it is an error that says so."""
    import polyro.inference.autoguide as ag

    be = grad_backend

    def model():
        polyro.sample("a", dist.Normal(0.0, 1.0))
        polyro.sample("b", dist.Normal(0.0, 2.0).expand((2,)).to_event(1))

    guide = getattr(ag, guide_cls)(model)
    with pytest.raises(RuntimeError, match="has not run yet"):
        guide.get_posterior()
    svi = SVI(model, guide, Adam(0.05), Trace_ELBO())
    params = svi.run(be.key(0), 30, progress_bar=False).params
    post = guide.get_posterior(params)
    p = {k: _np(be, v) for k, v in params.items()}
    loc = p["auto_latent_loc"]
    if guide_cls == "AutoDiagonalNormal":
        cov = np.diag(p["auto_latent_scale"] ** 2)
    elif guide_cls == "AutoMultivariateNormal":
        cov = p["auto_latent_scale_tril"] @ p["auto_latent_scale_tril"].T
    else:
        F = p["auto_latent_cov_factor"]
        cov = F @ F.T + np.diag(p["auto_latent_cov_diag"])
    np.testing.assert_allclose(_np(be, post.mean), loc, rtol=1e-12)
    x = loc + np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(_np(be, post.log_prob(be.asarray(x))),
                               stats.multivariate_normal(loc, cov).logpdf(x), rtol=1e-9)
    polyro.clear_param_store()
    for k, v in params.items():
        polyro.get_param_store()[k] = v
    try:
        np.testing.assert_allclose(_np(be, guide.get_posterior().mean), loc, rtol=1e-12)
    finally:
        polyro.clear_param_store()
