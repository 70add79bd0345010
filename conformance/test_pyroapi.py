"""pyro-api compatibility (issue 8, item 4): polyro's aliases and pyro-api's model catalog.

* the three aliases register and route every slot to the alias's engine;
* a clear ImportError when pyro-api is missing;
* every model of ``pyroapi.testing.MODELS`` traced on every installed engine: same sites, same
  values (the portable RNG), and a log joint equal to an independent scipy oracle (1e-10
  relative, float64);
* a short NUTS run of each model on the engines with autodiff (torch: all models; jax: one by
  default, all with ``POLYRO_FULL=1`` -- JAX compile time dominates there).

pyro-api's own shipped tests run in ``conformance/pyroapi_suite/``.
"""

from __future__ import annotations

import importlib
import os
import sys

import numpy as np
import pytest
from scipy import stats

pyroapi = pytest.importorskip("pyroapi")

import polyro  # noqa: E402
from polyro import backends  # noqa: E402
from polyro.compat.pyroapi import ALIASES, SLOTS, modules_for, register  # noqa: E402
from polyro.testing import gradient_backends, installed_backends  # noqa: E402

register()
_INSTALLED = [a for a, e in ALIASES.items() if e in installed_backends()]
_GRAD = [a for a, e in ALIASES.items() if e in gradient_backends()]
_MODEL_NAMES = ["logistic_regression", "neals_funnel", "eight_schools", "beta_binomial"]
_FULL = os.environ.get("POLYRO_FULL", "") not in ("", "0")


def _np(x):
    """``x`` as a float64 numpy array, whatever engine owns it (and whatever is active)."""
    eng = backends.engine_of(x)
    if eng is None:
        return np.asarray(x, dtype=np.float64)
    return np.asarray(backends.get(eng).to_numpy(x), dtype=np.float64)


# ------------------------------------------------------------------ registration
def test_register_routes_every_slot():
    assert register() == sorted(ALIASES)
    for alias, engine in ALIASES.items():
        mods = pyroapi.dispatch._ALIASES[alias]
        assert mods == modules_for(engine)
        assert set(mods) == set(SLOTS)
        for name in mods.values():
            importlib.import_module(name)


@pytest.mark.parametrize("alias", _INSTALLED)
def test_alias_selects_engine(alias):
    engine = ALIASES[alias]
    before = polyro.get_backend()
    with pyroapi.pyro_backend(alias):
        assert polyro.get_backend() == engine
        x = pyroapi.ops.tensor([1.0, 2.0])
        assert backends.engine_of(x) == engine
        d = pyroapi.distributions.Normal(0.0, 1.0)  # Python floats: the alias's engine
        y = pyroapi.pyro.sample("y", d)
        assert backends.engine_of(y) == engine
        assert pyroapi.ops.sum(pyroapi.ops.ones(2, 3), dim=-1).shape == (2,)
        with pytest.raises(NotImplementedError, match="ops.no_such_op"):
            pyroapi.ops.no_such_op  # noqa: B018
    assert polyro.get_backend() == before


def test_register_without_pyroapi_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyroapi", None)
    with pytest.raises(ImportError, match="pip install pyro-api"):
        register()


# ------------------------------------------------------------------ MODELS
@pytest.fixture(scope="module")
def catalog():
    """``{alias: {model name: (model, args, kwargs)}}``: pyroapi.testing rebuilt per alias
    (its MODELS are seeded with the handlers of the alias active at import)."""
    out = {}
    previous = polyro.get_default_dtype()
    polyro.set_default_dtype("float64")  # module scope: before the autouse float64 fixture
    try:
        _build(out)
    finally:
        polyro.set_default_dtype(previous)
    return out


def _build(out):
    for alias in _INSTALLED:
        with pyroapi.pyro_backend(alias):
            testing = importlib.reload(importlib.import_module("pyroapi.testing"))
            out[alias] = {}
            for name, make in testing.MODELS.items():
                f = make()
                out[alias][name] = (f["model"], f.get("model_args", ()),
                                    f.get("model_kwargs", {}))


def _oracle(name, args, kwargs, v):
    """Log joint of each pyroapi.testing model, by scipy, at traced values ``v``."""
    if name == "logistic_regression":
        x, y = _np(args[0]), _np(kwargs["y"])
        logits = x @ v["coefs"] + v["intercept"]
        return (stats.norm.logpdf(v["coefs"]).sum() + stats.norm.logpdf(v["intercept"])
                + np.sum(y * logits - np.logaddexp(0.0, logits)))
    if name == "neals_funnel":
        return stats.norm.logpdf(v["y"], 0, 3) + stats.norm.logpdf(
            v["x"], 0, np.exp(v["y"] / 2)).sum()
    if name == "eight_schools":
        sigma, y = _np(args[1]), _np(kwargs["y"])
        return (stats.norm.logpdf(v["mu"], 0, 5) + np.log(2) + stats.cauchy.logpdf(v["tau"], 0, 5)
                + stats.norm.logpdf(v["theta"], v["mu"], v["tau"]).sum()
                + stats.norm.logpdf(y, v["theta"], sigma).sum())
    if name == "beta_binomial":
        data = _np(kwargs["data"])
        total = np.array([[1000, 600], [400, 800]])
        half_cauchy = np.sum(np.log(2) + stats.cauchy.logpdf(v["alpha"])) \
            + np.sum(np.log(2) + stats.cauchy.logpdf(v["beta"]))
        return (half_cauchy + stats.beta.logpdf(v["probs"], v["alpha"], v["beta"]).sum()
                + stats.binom.logpmf(data, total, v["probs"]).sum())
    raise KeyError(name)


@pytest.mark.parametrize("name", _MODEL_NAMES)
def test_models_trace_on_every_engine(catalog, name):
    results = {}
    for alias in _INSTALLED:
        model, args, kwargs = catalog[alias][name]
        with pyroapi.pyro_backend(alias):
            tr = pyroapi.handlers.trace(pyroapi.handlers.seed(model, rng_seed=0)).get_trace(
                *args, **kwargs)
            lp = tr.log_prob_sum()
            assert backends.engine_of(lp) == ALIASES[alias]
            values = {k: _np(s["value"]) for k, s in tr.items()
                      if s["type"] == "sample" and not s["is_observed"]}
            results[alias] = (list(tr), values, float(_np(lp)))
            expected = _oracle(name, args, kwargs, values)
            np.testing.assert_allclose(float(_np(lp)), expected, rtol=1e-10,
                                       err_msg=f"{name} on {alias}")
    ref_sites, ref_values, ref_lp = results[_INSTALLED[0]]
    for alias, (sites, values, lp) in results.items():
        assert sites == ref_sites, alias
        for k in ref_values:  # the portable RNG: the same draws on every engine
            np.testing.assert_allclose(values[k], ref_values[k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(lp, ref_lp, rtol=1e-10)


_SUPPORT = {"tau": (0, np.inf), "alpha": (0, np.inf), "beta": (0, np.inf), "probs": (0, 1)}


def _nuts_cases():
    for alias in _GRAD:
        for name in _MODEL_NAMES:
            slow = ALIASES[alias] == "jax" and name != "neals_funnel"
            marks = [pytest.mark.slow, pytest.mark.skipif(
                not _FULL, reason="JAX compile time: set POLYRO_FULL=1")] if slow else []
            yield pytest.param(alias, name, marks=marks, id=f"{alias}-{name}")


@pytest.mark.parametrize("alias, name", list(_nuts_cases()))
def test_models_short_nuts(catalog, alias, name):
    model, args, kwargs = catalog[alias][name]
    with pyroapi.pyro_backend(alias):
        kernel = pyroapi.infer.NUTS(model, max_tree_depth=3, jit_compile=True)
        mcmc = pyroapi.infer.MCMC(kernel, num_samples=5, warmup_steps=5, disable_progbar=True)
        mcmc.run(*args, **kwargs)
        samples = mcmc.get_samples()
    assert samples, name
    for site, draws in samples.items():
        assert backends.engine_of(draws) == ALIASES[alias]
        d = _np(draws)
        assert d.shape[0] == 5 and np.all(np.isfinite(d)), site
        lo, hi = _SUPPORT.get(site, (-np.inf, np.inf))
        assert np.all((d > lo) & (d < hi)), site


# ------------------------------------------------------------------ compat details
def test_pyro_style_probs_and_param_projection():
    with pyroapi.pyro_backend("polyro-numpy"):
        d = pyroapi.distributions.Categorical(pyroapi.ops.tensor([2.0, 6.0]))
        np.testing.assert_allclose(_np(d.probs), [0.25, 0.75], rtol=1e-15)
        pyroapi.pyro.clear_param_store()
        # Pyro's param store maps an init value outside the constraint into it
        q = pyroapi.pyro.param("q_h10", pyroapi.ops.tensor([1.0, 3.0]),
                               constraint=pyroapi.distributions.constraints.simplex)
        np.testing.assert_allclose(_np(q), [0.25, 0.75], rtol=1e-15)
        # no preimage: polyro's clear error instead of Pyro's silent NaN
        with pytest.raises(polyro.errors.ModelError, match="s_h10"):
            pyroapi.pyro.param("s_h10", pyroapi.ops.tensor(-2.0),
                               constraint=pyroapi.distributions.constraints.positive)


def test_optim_dicts_and_clear_errors():
    assert pyroapi  # registered above
    from polyro.compat.pyroapi import optim

    assert optim.ClippedAdam({"lr": 0.1, "lrd": 0.5}).lrd == 0.5
    with pytest.raises(TypeError, match="dampening"):
        optim.SGD({"lr": 0.1, "dampening": 0.1})
    with pytest.raises(TypeError, match="expected a dict"):
        optim.Adam(0.1)
    with pytest.raises(NotImplementedError, match="per-parameter"):
        optim.Adam(lambda name: {"lr": 0.1})
    from polyro.compat.pyroapi import _infer

    with pytest.raises(TypeError, match="no_such_kw"):
        _infer.Trace_ELBO(no_such_kw=1)
    assert _infer.JitTrace_ELBO(ignore_jit_warnings=True).jit is True


@pytest.mark.parametrize("alias", _GRAD)
def test_predictive_draws_from_the_enclosing_seed(alias):
    def model():
        pyroapi.pyro.sample("x", pyroapi.distributions.Normal(0.0, 1.0))

    draws = []
    for _ in range(2):
        with pyroapi.pyro_backend(alias):
            out = pyroapi.infer.Predictive(model, num_samples=3)()
        draws.append(_np(out["x"]))
    np.testing.assert_array_equal(draws[0], draws[1])  # pyro_backend's seed(rng_seed=1)
    assert draws[0].shape == (3,) and len(set(draws[0].tolist())) == 3
