"""Enumeration inside inference: TraceEnum_ELBO (loss and gradients exact when every latent is
enumerated), SVI with TraceEnum_ELBO, and NUTS with an enumerated mixture indicator.

Oracles: numpy/scipy float64 closed forms and a quadrature posterior.
"""

import numpy as np
import pytest
import scipy.stats as st

import polyro
import polyro.distributions as dist
from polyro.core.distributions import constraints
from polyro.core.enum_config import config_enumerate
from polyro.core.handlers.enum import first_support_value
from polyro.inference import MCMC, NUTS, SVI, TraceEnum_ELBO
from polyro.inference.diagnostics import effective_sample_size
from polyro.inference.enum import markov
from polyro.inference.optim import Adam

ENUM = {"enumerate": "parallel"}
W = np.array([0.2, 0.5, 0.3])
LOC = np.array([-2.0, 0.0, 3.0])
Y = np.array([-1.5, 0.3, 2.2, 3.1, -2.4])


@config_enumerate
def mixture(y):
    probs = polyro.param("probs", np.array([1 / 3] * 3), constraint=constraints.simplex)
    loc = polyro.param("loc", np.zeros(3))
    with polyro.plate("data", len(y)):
        z = polyro.sample("z", dist.Categorical(probs=probs))
        polyro.sample("y", dist.Normal(loc[z], 1.0), obs=y)


def guide(y):
    pass


def _np_loglik(w, loc):
    dens = st.norm.pdf(Y[:, None], loc[None, :], 1.0)
    return np.log(dens @ w).sum(), dens


def test_trace_enum_elbo_exact_loss_and_grads(grad_backend):
    be = grad_backend
    y = be.asarray(Y)
    elbo = TraceEnum_ELBO(max_plate_nesting=1)

    def loss(p, loc):
        return elbo.loss(be.key(0), {"probs": p, "loc": loc}, mixture, guide, y)

    val, (gp, gl) = be.value_and_grad(loss, argnums=(0, 1))(be.asarray(W), be.asarray(LOC))
    ll, dens = _np_loglik(W, LOC)
    np.testing.assert_allclose(be.to_numpy(val), -ll, rtol=1e-6, atol=1e-6)
    mix = dens @ W
    # Categorical normalizes probs (p = w / sum(w)): the chain rule through it adds +N at sum 1
    ref_gp = -(dens / mix[:, None]).sum(0) + len(Y)
    resp = dens * W[None, :] / mix[:, None]
    ref_gl = -(resp * (Y[:, None] - LOC[None, :])).sum(0)
    np.testing.assert_allclose(be.to_numpy(gp), ref_gp, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(be.to_numpy(gl), ref_gl, rtol=1e-6, atol=1e-6)


def test_trace_enum_elbo_guesses_max_plate_nesting(backend):
    """Loss values need no gradients: numpy too."""
    y = backend.asarray(Y)
    val = TraceEnum_ELBO().loss(backend.key(0), {"probs": backend.asarray(W),
                                                 "loc": backend.asarray(LOC)}, mixture, guide, y)
    np.testing.assert_allclose(backend.to_numpy(val), -_np_loglik(W, LOC)[0], rtol=1e-10)


class _CountingCategorical(dist.Categorical):
    draws = 0

    def sample(self, *args, **kwargs):
        type(self).draws += 1
        return super().sample(*args, **kwargs)


def test_svi_init_does_not_draw_enumerated_sites(grad_backend):
    """``SVI.init`` with ``TraceEnum_ELBO`` gives a site marked for enumeration its first
    support value (at the draw's shape, ``sample_shape`` included) instead of drawing it; the
    first step's loss is still the exact -log p(y) (scipy). ``Trace_ELBO`` draws."""
    be = grad_backend

    def model(y):
        probs = polyro.param("probs", np.array([0.2, 0.5, 0.3]), constraint=constraints.simplex)
        loc = polyro.param("loc", LOC)
        with polyro.plate("data", len(y)):
            z = polyro.sample("z", _CountingCategorical(probs=probs), infer=ENUM)
            polyro.sample("y", dist.Normal(loc[z], 1.0), obs=y)
        polyro.sample("u", _CountingCategorical(probs=probs), sample_shape=(2,), infer=ENUM)

    _CountingCategorical.draws = 0
    svi = SVI(model, guide, Adam(0.01), TraceEnum_ELBO(max_plate_nesting=1))
    state = svi.init(be.key(0), be.asarray(Y))
    assert _CountingCategorical.draws == 0
    _, loss = svi.update(state, be.asarray(Y))
    assert float(be.to_numpy(loss)) == pytest.approx(-_np_loglik(W, LOC)[0], rel=1e-9)
    tr = polyro.handlers.trace(polyro.handlers.substitute(
        polyro.handlers.seed(model, rng_seed=0),
        substitute_fn=first_support_value)).get_trace(be.asarray(Y))
    assert be.to_numpy(tr["z"]["value"]).tolist() == [0] * len(Y)
    assert be.to_numpy(tr["u"]["value"]).tolist() == [0, 0]
    SVI(model, guide, Adam(0.01), polyro.inference.Trace_ELBO()).init(be.key(0), be.asarray(Y))
    assert _CountingCategorical.draws > 0


@pytest.mark.parametrize("form", ["sample_shape", "expand", "plate"])
def test_enumerated_site_with_sample_shape(backend, form):
    """An enumerated site drawn with ``sample_shape=(2,)`` is two independent enumerated
    values, as the ``expand``-ed and the plated forms are: the loss is the exact -log p(y)
    (scipy), not a term that lost the sample dim."""
    be = backend
    y2 = np.array([-1.2, 2.5])

    def model(y):
        loc = be.asarray(LOC)
        if form == "plate":
            with polyro.plate("p", 2):
                u = polyro.sample("u", dist.Categorical(probs=W), infer=ENUM)
                polyro.sample("y", dist.Normal(loc[u], 1.0), obs=y)
            return
        if form == "sample_shape":
            u = polyro.sample("u", dist.Categorical(probs=W), sample_shape=(2,), infer=ENUM)
        else:
            u = polyro.sample("u", dist.Categorical(probs=W).expand((2,)), infer=ENUM)
        polyro.sample("y", dist.Normal(loc[u], 1.0), obs=y)

    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(be.key(0), {}, model, guide,
                                                      be.asarray(y2))
    want = -np.log(st.norm.pdf(y2[:, None], LOC[None, :], 1.0) @ W).sum()
    assert float(be.to_numpy(loss)) == pytest.approx(want, rel=1e-10)


def test_svi_hmm_trace_enum_elbo(grad_backend):
    """SVI on a small Gaussian HMM with the states enumerated along a markov chain: the loss
    after training is below the initial loss and equals the exact -log p(y) at the learned
    parameters (forward algorithm in numpy)."""
    be = grad_backend
    rng = np.random.default_rng(0)
    T = 8
    ys = np.concatenate([rng.normal(-2, 1, 4), rng.normal(2, 1, 4)])

    def hmm(ys):
        trans = polyro.param("trans", np.full((2, 2), 0.5), constraint=constraints.simplex)
        locs = polyro.param("locs", np.array([-0.5, 0.5]))
        x = 0
        for t in markov(range(T)):
            x = polyro.sample(f"x_{t}", dist.Categorical(probs=trans[x]), infer=ENUM)
            polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])

    svi = SVI(hmm, lambda ys: None, Adam(0.1), TraceEnum_ELBO(max_plate_nesting=0))
    res = svi.run(be.key(0), 60, be.asarray(ys), progress_bar=False)
    losses = be.to_numpy(res.losses)
    assert losses[-1] < losses[0] - 1.0
    params = {k: be.to_numpy(v) for k, v in svi.get_params(res.state).items()}
    trans, locs = params["trans"], params["locs"]
    alpha = np.log(trans[0]) + st.norm.logpdf(ys[0], locs, 1.0)
    for t in range(1, T):
        alpha = np.logaddexp.reduce(alpha[:, None] + np.log(trans), axis=0) + st.norm.logpdf(
            ys[t], locs, 1.0)
    final = TraceEnum_ELBO(max_plate_nesting=0).loss(
        be.key(0), {k: be.asarray(v) for k, v in params.items()}, hmm, lambda ys: None,
        be.asarray(ys))
    np.testing.assert_allclose(be.to_numpy(final), -np.logaddexp.reduce(alpha), rtol=1e-8)
    assert locs[0] < 0 < locs[1]


YM = np.array([-2.3, -1.1, 2.4, 1.7, 2.9, -2.0, 2.2, 1.5, 2.6, -1.8, 3.1, 2.0])


def mixture_w(y):
    w = polyro.sample("w", dist.Beta(1.0, 1.0))
    with polyro.plate("data", len(y)):
        z = polyro.sample("z", dist.Bernoulli(w), infer=ENUM)
        polyro.sample("y", dist.Normal(-2.0 + 4.0 * z, 1.0), obs=y)


def _quadrature_posterior():
    w = np.linspace(1e-6, 1 - 1e-6, 200001)
    lik = np.log((1 - w)[:, None] * st.norm.pdf(YM, -2.0, 1.0)
                 + w[:, None] * st.norm.pdf(YM, 2.0, 1.0)).sum(1)
    p = np.exp(lik - lik.max())
    p /= p.sum()
    mean = (p * w).sum()
    return mean, np.sqrt((p * (w - mean) ** 2).sum())


@pytest.mark.slow
def test_nuts_enumerated_mixture(grad_backend):
    """NUTS on w with z enumerated vs the quadrature posterior of the hand-marginalized model:
    |mean - ref| < 4 MCSE (ESS from the run) and sd within 20%. Seed fixed (key(1))."""
    be = grad_backend
    mcmc = MCMC(NUTS(mixture_w), num_warmup=200, num_samples=400, progress_bar=False)
    mcmc.run(be.key(1), be.asarray(YM))
    w = be.to_numpy(mcmc.get_samples()["w"])
    assert w.shape == (400,)
    mean, sd = _quadrature_posterior()
    ess = float(effective_sample_size(w[None, :]))
    assert abs(w.mean() - mean) < 4 * sd / np.sqrt(ess)
    assert abs(w.std(ddof=1) / sd - 1) < 0.2
