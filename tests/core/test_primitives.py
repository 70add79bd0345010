"""Each primitive alone, against hand-computed (scipy/numpy) values, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import fnum, to_np
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.distributions import constraints


def test_sample_observed_returns_data_and_scipy_log_density(backend):
    y = np.array([0.3, -1.2, 2.0])

    def model():
        return polyro.sample("y", dist.Normal(0.5, 2.0).expand((3,)), obs=y)

    tr = handlers.trace(model).get_trace()
    np.testing.assert_allclose(to_np(tr["y"]["value"]), y)
    assert tr["y"]["is_observed"]
    expected = stats.norm(0.5, 2.0).logpdf(y).sum()
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), expected, rtol=1e-12)


def test_sample_latent_shapes_and_sample_shape(backend):
    def model():
        a = polyro.sample("a", dist.Normal(0.0, 1.0))
        b = polyro.sample("b", dist.Normal(0.0, 1.0).expand((3,)), sample_shape=(2,))
        return a, b

    a, b = handlers.seed(model, rng_seed=1)()
    assert tuple(a.shape) == () and tuple(b.shape) == (2, 3)
    assert backend.is_array(a) and backend.is_array(b)


def test_sample_rejects_non_distribution():
    with pytest.raises(TypeError, match="'x'.*distribution"):
        polyro.sample("x", 3.0)


def test_param_init_value_callable_init_and_constraint(backend):
    def model():
        a = polyro.param("a", np.array([1.0, 2.0]))
        s = polyro.param("s", 0.5, constraint=constraints.positive)
        k = polyro.param("k", lambda key: backend.normal(key, (3,)))
        return a, s, k

    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    np.testing.assert_allclose(to_np(tr["a"]["value"]), [1.0, 2.0])
    assert fnum(tr["s"]["value"]) == 0.5
    assert tr["s"]["kwargs"]["constraint"] is constraints.positive
    assert to_np(tr["k"]["value"]).shape == (3,)
    assert tr.param_nodes == ["a", "s", "k"]
    # a callable init is deterministic given the seed
    tr2 = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    np.testing.assert_array_equal(to_np(tr["k"]["value"]), to_np(tr2["k"]["value"]))


def test_deterministic_recorded_and_substitutable(backend):
    def model():
        x = polyro.sample("x", dist.Normal(0.0, 1.0))
        return polyro.deterministic("d", 2.0 * x)

    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    assert tr["d"]["type"] == "deterministic"
    np.testing.assert_allclose(to_np(tr["d"]["value"]), 2.0 * to_np(tr["x"]["value"]))
    assert fnum(handlers.substitute(handlers.seed(model, rng_seed=0), data={"d": 7.0})()) == 7.0


def test_factor_adds_log_density(backend):
    lf = np.array([-0.5, -1.25])

    def model():
        polyro.sample("y", dist.Normal(0.0, 1.0), obs=0.0)
        polyro.factor("f", backend.asarray(lf))

    tr = handlers.trace(model).get_trace()
    expected = stats.norm.logpdf(0.0) + lf.sum()
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), expected, rtol=1e-12)
    assert tr["f"]["is_observed"] and tr["f"]["infer"]["is_auxiliary"]


def test_factor_inside_plate_is_scaled_by_subsampling(backend):
    def model():
        with polyro.plate("n", 10, subsample=np.array([1, 4])):
            polyro.factor("f", backend.asarray(np.array([-1.0, -2.0])))

    tr = handlers.trace(model).get_trace()
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), 5.0 * -3.0)


def test_prng_key_under_seed(backend):
    k1 = handlers.seed(polyro.prng_key, rng_seed=0)()
    k2 = handlers.seed(polyro.prng_key, rng_seed=0)()
    k3 = handlers.seed(polyro.prng_key, rng_seed=1)()
    assert tuple(k1.shape) == (2,)
    np.testing.assert_array_equal(to_np(k1), to_np(k2))
    assert not np.array_equal(to_np(k1), to_np(k3))


def test_obs_mask_splits_site(backend):
    y = np.array([0.5, np.nan, -1.0])
    m = np.array([True, False, True])

    def model():
        with polyro.plate("n", 3):
            return polyro.sample("y", dist.Normal(0.0, 1.0), obs=np.nan_to_num(y), obs_mask=m)

    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    assert {"y_observed", "y_unobserved", "y"} <= set(tr)
    assert tr["y"]["type"] == "deterministic"
    v = to_np(tr["y"]["value"])
    np.testing.assert_allclose(v[[0, 2]], y[[0, 2]])
    unobs = to_np(tr["y_unobserved"]["value"])
    miss = unobs[1]
    assert v[1] == miss
    # the entries of y_unobserved that were observed carry a standard normal (the image of
    # N(0, 1) under biject_to(real)), so that they are not flat directions
    expected = (stats.norm.logpdf(y[[0, 2]]).sum() + stats.norm.logpdf(miss)
                + stats.norm.logpdf(unobs[[0, 2]]).sum())
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), expected, rtol=1e-12)


def test_obs_mask_padding_density_on_a_constrained_support(backend):
    """For a positive support the observed entries of ``{name}_unobserved`` carry the image of
    N(0, 1) under exp: a LogNormal(0, 1) density (scipy), whatever the model's parameters."""
    y = np.array([0.5, np.nan, 2.0])
    m = np.array([True, False, True])

    def model(rate):
        with polyro.plate("n", 3):
            polyro.sample("y", dist.Exponential(rate), obs=np.nan_to_num(y), obs_mask=m)

    for rate in (0.5, 3.0):
        tr = handlers.trace(handlers.seed(model, rng_seed=1)).get_trace(rate)
        unobs = to_np(tr["y_unobserved"]["value"])
        expected = (stats.expon(scale=1 / rate).logpdf(y[[0, 2]]).sum()
                    + stats.expon(scale=1 / rate).logpdf(unobs[1])
                    + stats.lognorm(1.0).logpdf(unobs[[0, 2]]).sum())
        np.testing.assert_allclose(fnum(tr.log_prob_sum()), expected, rtol=1e-12)


def test_subsample_primitive_indexes_data(backend):
    data = np.arange(12.0).reshape(6, 2)

    def model():
        with polyro.plate("n", 6, subsample=np.array([4, 0, 2]), dim=-1):
            return polyro.subsample(backend.asarray(data), event_dim=1)

    np.testing.assert_allclose(to_np(model()), data[[4, 0, 2]])
    # without subsampling the data pass through unchanged
    with polyro.plate("n", 6):
        out = polyro.subsample(backend.asarray(data), event_dim=1)
    np.testing.assert_allclose(to_np(out), data)


def test_module_pair_on_numpy_and_jax(backend):
    params = {"w": backend.asarray(np.array([1.0, 2.0])), "b": backend.asarray(np.array(0.5))}
    net = (lambda p, x: p["w"] * x + p["b"], params)

    def model(x):
        return polyro.module("net", net)(x)

    if backend.NAME == "torch":  # torch takes nn.Module objects (test_nn.py); pairs are refused
        with pytest.raises(TypeError, match="torch.nn.Module"):
            model(backend.asarray(np.array(3.0)))
        return

    tr = handlers.trace(model).get_trace(backend.asarray(np.array(3.0)))
    assert set(tr.param_nodes) == {"net$$$w", "net$$$b"}
    out = handlers.substitute(model, data={"net$$$w": backend.asarray(np.array([0.0, 1.0]))})(
        backend.asarray(np.array(3.0)))
    np.testing.assert_allclose(to_np(out), [0.5, 3.5])


def test_pyro_top_level_markov_and_enable_validation(backend):
    """Pyro's ``pyro.markov`` and ``pyro.enable_validation`` (also NumPyro's) at the top level:
    a two-state chain's exact marginal from ``polyro.markov`` against brute force over its 2**4
    paths, and validation switched off and on."""
    from itertools import product

    from polyro.inference import log_marginal

    be = backend
    trans, ys = np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([0.2, 1.1, -0.4, 0.9])

    def hmm():
        x = 0
        for t in polyro.markov(range(len(ys))):
            x = polyro.sample(f"x_{t}", dist.Categorical(be.asarray(trans)[x]),
                              infer={"enumerate": "parallel"})
            polyro.sample(f"y_{t}", dist.Normal(be.asarray([-1.0, 1.0])[x], 1.0),
                          obs=be.asarray(ys[t]))

    brute = 0.0
    for path in product(range(2), repeat=len(ys)):
        prev, w = 0, 1.0
        for t, x in enumerate(path):
            w *= trans[prev, x] * stats.norm([-1.0, 1.0][x], 1.0).pdf(ys[t])
            prev = x
        brute += w
    assert fnum(log_marginal(hmm, max_plate_nesting=0)) == pytest.approx(np.log(brute), rel=1e-12)
    try:
        polyro.enable_validation(False)
        assert dist.Normal(0.0, -1.0).batch_shape == ()  # no check, no error
        polyro.enable_validation(True)
        with pytest.raises(ValueError, match="scale"):
            dist.Normal(0.0, -1.0)
    finally:
        polyro.enable_validation(True)


def test_every_public_top_level_name_resolves():
    """Each name ``polyro.__all__`` and ``dir(polyro)`` advertise can be looked up (a name
    listed without its module, like the ``contrib`` the skeleton listed, raised
    ModuleNotFoundError)."""
    for name in sorted(set(polyro.__all__) | set(dir(polyro))):
        if not name.startswith("_"):
            getattr(polyro, name)


def test_peer_module_paths_are_the_modules_themselves():
    """NumPyro's and Pyro's import paths resolve to polyro's own objects: ``polyro.infer.<sub>``
    is the module ``polyro.inference.<sub>`` (it used to load the file a second time: a second
    class ``NUTS`` that failed ``isinstance`` against the first), submodules resolve as
    attributes without an import, and the reparam, initialization, util, diagnostics and
    poutine paths give the same functions and classes."""
    import importlib

    import polyro.core.handlers as core_handlers
    import polyro.inference.diagnostics as diag
    import polyro.inference.mcmc as mcmc
    from polyro.core import density, init_strategies

    reparam = importlib.import_module("polyro.core.handlers.reparam")

    for sub in ("mcmc", "autoguide", "diagnostics", "enum", "enum.chain", "elbo", "optim",
                "reparam", "initialization", "util"):
        alias = importlib.import_module(f"polyro.infer.{sub}")
        assert alias is importlib.import_module(f"polyro.inference.{sub}")
        assert alias.__spec__.name == f"polyro.inference.{sub}"
    from polyro.infer.mcmc import NUTS
    assert NUTS is mcmc.NUTS and isinstance(NUTS(lambda: None), mcmc.NUTS)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("polyro.infer.no_such_module")
    assert polyro.inference.diagnostics is diag and polyro.infer.diagnostics is diag
    from polyro.infer.initialization import init_to_sample
    from polyro.infer.reparam import LocScaleReparam, TransformReparam
    from polyro.infer.util import Predictive, log_density, log_likelihood

    from polyro.diagnostics import hpdi, summary
    from polyro.infer import init_to_median, init_to_value
    assert (hpdi, summary) == (diag.hpdi, diag.summary)
    assert (init_to_median, init_to_value, init_to_sample) == (
        init_strategies.init_to_median, init_strategies.init_to_value,
        init_strategies.init_to_sample)
    assert (LocScaleReparam, TransformReparam) == (reparam.LocScaleReparam,
                                                   reparam.TransformReparam)
    assert (Predictive, log_likelihood) == (polyro.inference.Predictive,
                                            polyro.inference.log_likelihood)
    assert log_density is density.log_density
    from polyro import poutine
    assert poutine.trace is core_handlers.trace and poutine.condition is core_handlers.condition
