"""Predictive and log_likelihood on every backend (numpy included).

Oracles: analytic prior predictive moments; scipy log densities. The moment checks use a
4-standard-error band (false-failure rate ~6e-5 per check under normality).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.inference import Predictive, log_likelihood
from polyro.inference.predictive import MAX_MARGINAL_SITES

N_DRAWS = 400


def model(n=3, y=None):
    mu = polyro.sample("mu", dist.Normal(1.0, 2.0))
    with polyro.plate("n", n):
        polyro.sample("y", dist.Normal(mu, 1.0), obs=y)
    polyro.deterministic("mu2", 2.0 * mu)


def _np(be, x):
    return np.asarray(be.to_numpy(x))


def test_prior_predictive_moments(backend):
    be = backend
    out = Predictive(model, num_samples=N_DRAWS)(0)
    assert set(out) == {"mu", "y", "mu2"}
    assert tuple(out["y"].shape) == (N_DRAWS, 3)
    mu, y = _np(be, out["mu"]), _np(be, out["y"])
    np.testing.assert_allclose(_np(be, out["mu2"]), 2 * mu, rtol=1e-12)
    # y ~ N(1, 2^2 + 1); cov(y_i, y_j) = 4
    se_mean = math.sqrt(5.0 / N_DRAWS)
    assert abs(y.mean(0) - 1.0).max() < 4 * se_mean
    se_var = 5.0 * math.sqrt(2.0 / (N_DRAWS - 1))
    assert abs(y.var(0, ddof=1) - 5.0).max() < 4 * se_var
    c = np.cov(y[:, 0], y[:, 1])[0, 1]
    assert abs(c - 4.0) < 4 * math.sqrt((25 + 16) / N_DRAWS)


def test_batch_size_and_parallel_do_not_change_draws(backend):
    be = backend
    full = Predictive(model, num_samples=10)(be.key(3))
    for kw in ({"batch_size": 3}, {"batch_size": 10}, {"parallel": False}):
        other = Predictive(model, num_samples=10, **kw)(be.key(3))
        for k in full:
            # same draws; compiled (JAX) chunks of different sizes may round the last bit
            np.testing.assert_allclose(_np(be, other[k]), _np(be, full[k]), rtol=1e-12)


def test_posterior_predictive_and_return_sites(backend):
    be = backend
    post = {"mu": be.asarray(np.array([0.0, 10.0, -5.0]))}
    out = Predictive(model, posterior_samples=post, return_sites=["y", "mu2"])(1)
    assert set(out) == {"y", "mu2"}
    np.testing.assert_allclose(_np(be, out["mu2"]), [0.0, 20.0, -10.0])
    y = _np(be, out["y"])
    assert tuple(y.shape) == (3, 3)
    assert abs(y[1] - 10.0).max() < 5 and abs(y[2] + 5.0).max() < 5
    with pytest.raises(KeyError, match="nope"):
        Predictive(model, posterior_samples=post, return_sites=["nope"])(1)
    with pytest.raises(ValueError, match="same leading"):
        Predictive(model, posterior_samples={"mu": np.zeros(3), "x": np.zeros(4)})
    with pytest.raises(ValueError, match="num_samples"):
        Predictive(model)
    # Pyro's and NumPyro's argument order: the draws come second
    pos = Predictive(model, post, return_sites=["y", "mu2"])(1)
    for k in out:
        np.testing.assert_array_equal(_np(be, pos[k]), _np(be, out[k]))
    with pytest.raises(TypeError, match="second argument is posterior_samples.*guide="):
        Predictive(model, model)  # a guide where the draws go


def test_guide_predictive(backend):
    be = backend

    def guide(n=3, y=None):
        polyro.sample("mu", dist.Normal(polyro.param("m", 0.0), 0.1))

    out = Predictive(model, guide=guide, num_samples=50, params={"m": be.asarray(7.0)})(2)
    pyro_order = Predictive(model, None, guide, 50, params={"m": be.asarray(7.0)})(2)
    np.testing.assert_array_equal(_np(be, pyro_order["mu"]), _np(be, out["mu"]))
    mu = _np(be, out["mu"])
    assert abs(mu.mean() - 7.0) < 4 * 0.1 / math.sqrt(50)
    np.testing.assert_allclose(_np(be, out["mu2"]), 2 * mu, rtol=1e-12)


def test_log_likelihood(backend):
    be = backend
    y = np.array([0.5, -0.2, 1.0])
    mus = np.array([0.0, 1.0, 2.0, -1.0])
    ll = log_likelihood(model, {"mu": be.asarray(mus)}, 3, be.asarray(y))
    assert set(ll) == {"y"}
    want = stats.norm(mus[:, None], 1.0).logpdf(y[None, :])
    np.testing.assert_allclose(_np(be, ll["y"]), want, rtol=1e-10)
    ll2 = log_likelihood(model, {"mu": be.asarray(mus)}, 3, be.asarray(y), batch_size=3)
    np.testing.assert_allclose(_np(be, ll2["y"]), want, rtol=1e-10)


def test_same_draws_on_every_backend():
    """The portable RNG: one seed gives the same prior predictive draws on every engine."""
    import importlib.util

    names = [n for n in ("numpy", "torch", "jax") if importlib.util.find_spec(n)]
    polyro.set_default_dtype("float64")
    res = {}
    for n in names:
        with polyro.backend(n) as be:
            res[n] = _np(be, Predictive(model, num_samples=5)(0)["y"])
    for n in names[1:]:
        np.testing.assert_allclose(res[n], res[names[0]], rtol=1e-12)


def _branching_model():
    """Python control flow on a drawn value: no engine can vectorize this draw."""
    a = polyro.sample("a", dist.Normal(0.0, 1.0))
    scale = 1.0 if float(a) > 0 else 2.0
    polyro.sample("b", dist.Normal(a, scale))


def test_a_model_vmap_cannot_batch(backend, monkeypatch):
    """What each engine does with draws ``vmap`` cannot batch, by capability: with JIT (JAX)
    the error surfaces (a loop there would hide a model bug); with vmap but no JIT (torch)
    the draws fall back to a loop, remembered by that ``Predictive`` only, never by the
    process (another model still vectorizes); without vmap (numpy) draws always loop."""
    be = backend
    calls = []
    real_vmap = be.vmap

    def counting_vmap(fn, *a, **k):
        calls.append(fn)
        return real_vmap(fn, *a, **k)

    monkeypatch.setattr(be, "vmap", counting_vmap)
    pred = Predictive(_branching_model, num_samples=5)
    if be.SUPPORTS_JIT:
        with pytest.raises(Exception, match="(?i)concret|tracer"):
            pred(1)
        return
    first = pred(1)
    want = Predictive(_branching_model, num_samples=5, parallel=False)(1)
    for k in ("a", "b"):
        np.testing.assert_array_equal(_np(be, first[k]), _np(be, want[k]))
    tried = len(calls)
    assert tried == (1 if be.SUPPORTS_VMAP else 0)
    again = pred(1)  # remembered: loops at once
    np.testing.assert_array_equal(_np(be, again["b"]), _np(be, want["b"]))
    assert len(calls) == tried
    Predictive(model, num_samples=5)(1)  # a different model still vectorizes
    assert len(calls) == tried + (1 if be.SUPPORTS_VMAP else 0)


def test_predictive_infer_discrete_draws_the_exact_posterior(backend):
    """``Predictive(..., infer_discrete=True)`` (NumPyro's option) draws the enumerated sites
    from their posterior given each draw's other values: the assignment of y = 0, halfway
    between the two locations, is a fair coin (it was always 1: ``infer_discrete`` used a fixed
    key unless given one; an enclosing ``seed`` now drives it)."""
    from scipy import stats

    from polyro.inference.enum import infer_discrete

    be = backend

    def mix(y):
        w = polyro.sample("w", dist.Dirichlet(be.asarray(np.ones(2))))
        locs = polyro.sample("locs", dist.Normal(0.0, 5.0).expand([2]).to_event(1))
        with polyro.plate("N", 5):
            z = polyro.sample("z", dist.Categorical(w), infer={"enumerate": "parallel"})
            polyro.sample("y", dist.Normal(locs[z], 1.0), obs=y)

    yn = np.array([-3.0, -2.5, 0.0, 2.5, 3.0])
    n = 400
    post = {"w": be.asarray(np.tile([0.5, 0.5], (n, 1))),
            "locs": be.asarray(np.tile([-3.0, 3.0], (n, 1)))}
    z = _np(be, Predictive(model=mix, posterior_samples=post, infer_discrete=True)(
        0, be.asarray(yn))["z"])
    assert z.shape == (n, 5)
    p1 = stats.norm(3, 1).pdf(yn) / (stats.norm(3, 1).pdf(yn) + stats.norm(-3, 1).pdf(yn))
    se = np.sqrt(p1 * (1 - p1) / n)
    assert np.all(np.abs(z.mean(0) - p1) <= 4 * se + 1e-3)  # y=0: 0.5 +- 0.1
    # a plain seed drives infer_discrete's draws: different seeds, different draws
    fixed = handlers.substitute(mix, data={"w": be.asarray(np.array([0.5, 0.5])),
                                           "locs": be.asarray(np.array([-3.0, 3.0]))})
    draws = {int(_np(be, handlers.trace(handlers.seed(infer_discrete(fixed, temperature=1),
                                                      rng_seed=s)).get_trace(
        be.asarray(yn))["z"]["value"])[2]) for s in range(12)}
    assert draws == {0, 1}


def test_log_likelihood_sums_out_enumerated_sites(backend):
    """MCMC's draws of an enumerated mixture hold no assignments: log_likelihood sums them out
    element by element, log sum_k w_k N(x_i | locs_k, 0.5) (scipy), the marginal pointwise
    likelihood LOO needs (NumPyro returns a conditional one, drawing the assignments, silently).
    With the assignments given, the values are the conditional log-densities (scipy); nothing
    is said either way. A vectorized_markov chain still gets the conditional form, with a
    warning naming its sites."""
    import warnings

    from polyro.inference import config_enumerate
    from polyro.inference.enum import vectorized_markov

    be = backend
    x = np.array([-2.1, -1.7, 2.2, 1.9, 0.3])

    @config_enumerate
    def mix(data):
        w = polyro.sample("w", dist.Dirichlet(be.asarray(np.ones(2))))
        locs = polyro.sample("locs", dist.Normal(be.asarray(np.zeros(2)), 3.0).to_event(1))
        with polyro.plate("N", 5):
            z = polyro.sample("z", dist.Categorical(w))
            polyro.sample("x", dist.Normal(locs[z], 0.5), obs=data)

    draws = {"w": be.asarray(np.array([[0.5, 0.5], [0.3, 0.7]])),
             "locs": be.asarray(np.array([[-2.0, 2.0], [-1.0, 1.0]]))}
    w, locs = _np(be, draws["w"]), _np(be, draws["locs"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll = log_likelihood(mix, draws, be.asarray(x))
        want = np.log((w[:, None, :] * stats.norm(locs[:, None, :], 0.5).pdf(
            x[None, :, None])).sum(-1))
        np.testing.assert_allclose(_np(be, ll["x"]), want, rtol=1e-10)
        z = np.array([[0, 0, 1, 1, 1], [0, 0, 1, 1, 0]])
        ll = log_likelihood(mix, {**draws, "z": be.asarray(z)}, be.asarray(x))
        log_likelihood(model, {"mu": be.asarray(np.zeros(2))}, 3, be.asarray(x[:3]))
    want = stats.norm(np.take_along_axis(locs, z, axis=1), 0.5).logpdf(x[None, :])
    np.testing.assert_allclose(_np(be, ll["x"]), want, rtol=1e-10)

    def chain(data):
        p = polyro.sample("p", dist.Beta(be.asarray(2.0), be.asarray(2.0)))
        s = None
        for t in vectorized_markov(name="time", size=3, dim=-1):
            s = polyro.sample(f"s_{t}", dist.Categorical(be.xp.stack([p, 1.0 - p])),
                              infer={"enumerate": "parallel"})
            polyro.sample(f"x_{t}", dist.Normal(be.asarray(np.array([-1.0, 1.0]))[s], 1.0),
                          obs=data[t])

    with pytest.warns(UserWarning, match=r"\['s_0', .*conditional log-likelihood"):
        log_likelihood(chain, {"p": be.asarray(np.array([0.4, 0.6]))}, be.asarray(x[:3]))

    def many(data):  # more observed sites than are summed out one by one: conditional form
        p = polyro.sample("p", dist.Beta(be.asarray(2.0), be.asarray(2.0)))
        s = polyro.sample("s", dist.Bernoulli(p), infer={"enumerate": "parallel"})
        for i in range(MAX_MARGINAL_SITES + 1):
            polyro.sample(f"x_{i}", dist.Normal(s, 1.0), obs=data[0])

    with pytest.warns(UserWarning, match=r"\['s'\].*up to 16 observed sites"):
        ll = log_likelihood(many, {"p": be.asarray(np.array([0.4, 0.6]))}, be.asarray(x[:3]))
    assert len(ll) == MAX_MARGINAL_SITES + 1


def test_log_likelihood_of_a_markov_chain_sums_out_its_states(backend):
    """A 3-step HMM written with markov(range(T)): each step's pointwise log-likelihood is
    log p(x_t) with every state summed out (brute force over the 2**3 paths)."""
    import itertools

    from polyro.inference.enum import markov

    be = backend
    x = np.array([0.4, -1.3, 1.1])
    trans = np.array([[0.8, 0.2], [0.3, 0.7]])

    def hmm(data):
        loc = polyro.sample("loc", dist.Normal(be.asarray(0.0), 1.0))
        s = None
        for t in markov(range(3)):
            probs = be.asarray(np.array([0.5, 0.5])) if t == 0 else be.asarray(trans)[s]
            s = polyro.sample(f"s_{t}", dist.Categorical(probs), infer={"enumerate": "parallel"})
            polyro.sample(f"x_{t}", dist.Normal(loc * (2.0 * s - 1.0), 1.0), obs=data[t])

    locs = np.array([0.5, 1.5])
    ll = log_likelihood(hmm, {"loc": be.asarray(locs)}, be.asarray(x))
    for d, loc in enumerate(locs):
        for t in range(3):
            total = 0.0
            for path in itertools.product((0, 1), repeat=3):
                p = 0.5 * trans[path[0], path[1]] * trans[path[1], path[2]]
                total += p * stats.norm(loc * (2 * path[t] - 1), 1.0).pdf(x[t])
            assert float(_np(be, ll[f"x_{t}"])[d]) == pytest.approx(np.log(total), rel=1e-10)


def test_return_sites_take_pyros_return_value(backend):
    """``return_sites=["_RETURN"]`` (Pyro's name) gives the model's return value per draw; a
    model that returns something other than an array gets an error naming the option."""
    be = backend

    def m():
        a = polyro.sample("a", dist.Normal(0.0, 1.0))
        b = polyro.sample("b", dist.LogNormal(0.0, 1.0))
        return a * b + 1.0

    out = Predictive(m, num_samples=6, return_sites=["_RETURN", "a", "b"])(be.key(0))
    assert set(out) == {"_RETURN", "a", "b"}
    np.testing.assert_allclose(_np(be, out["_RETURN"]),
                               _np(be, out["a"]) * _np(be, out["b"]) + 1.0, rtol=1e-12)
    post = Predictive(m, {"a": be.asarray(np.array([1.0, 2.0]))}, return_sites=["_RETURN"])
    r = post(be.key(1))["_RETURN"]
    assert tuple(r.shape) == (2,)

    def no_return():
        polyro.sample("a", dist.Normal(0.0, 1.0))

    with pytest.raises(TypeError, match="_RETURN.*NoneType"):
        Predictive(no_return, num_samples=2, return_sites=["_RETURN"])(be.key(0))


def test_factor_sites_are_left_out_unless_asked_for(backend):
    """``factor`` sites (and obs_mask's padding factor) hold an empty array per draw: left out
    of the default output, returned when named; the draws returned are unchanged (the mask
    completes ``x`` from ``x_unobserved`` where ``x`` was not observed)."""
    be = backend
    y = np.array([0.5, 9.0, 1.5, 9.0])
    mask = np.array([True, False, True, False])

    def m(y, mask):
        mu = polyro.sample("mu", dist.Normal(0.0, 1.0))
        with polyro.plate("n", 4):
            polyro.sample("x", dist.Normal(mu, 1.0), obs=y, obs_mask=mask)
        polyro.factor("pen", -(mu ** 2))

    post = {"mu": be.asarray(np.array([0.0, 2.0, -1.0]))}
    out = Predictive(m, post)(be.key(0), be.asarray(y), be.asarray(mask))
    assert set(out) == {"x", "x_observed", "x_unobserved"}
    x, xu = _np(be, out["x"]), _np(be, out["x_unobserved"])
    np.testing.assert_array_equal(x[:, mask], np.broadcast_to(y[mask], (3, 2)))
    np.testing.assert_array_equal(x[:, ~mask], xu[:, ~mask])
    named = Predictive(m, post, return_sites=["pen", "x_unobserved_pad", "x"])(
        be.key(0), be.asarray(y), be.asarray(mask))
    assert set(named) == {"pen", "x_unobserved_pad", "x"}
    assert tuple(named["pen"].shape) == (3, 0)
    np.testing.assert_array_equal(_np(be, named["x"]), x)


def test_sites_in_the_same_order_on_every_engine(backend):
    """Without return_sites the draws are listed by sorted site name on every engine (JAX
    sorted them, torch and numpy kept the model's order); with return_sites, in its order."""
    def model():
        polyro.sample("z", dist.Normal(0.0, 1.0))
        polyro.sample("a", dist.Normal(0.0, 1.0))
        polyro.deterministic("m", 1.0)

    assert list(Predictive(model, num_samples=2)(backend.key(0))) == ["a", "m", "z"]
    got = Predictive(model, num_samples=2, return_sites=["z", "a"])(backend.key(0))
    assert list(got) == ["z", "a"]
