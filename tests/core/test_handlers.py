"""Every handler alone and composed, against hand-computed log densities (scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import fnum, to_np
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.distributions.transforms import ExpTransform


def simple(y=0.5):
    mu = polyro.sample("mu", dist.Normal(0.0, 2.0))
    s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
    polyro.sample("y", dist.Normal(mu, s), obs=y)
    return mu


def simple_logp(mu, s, y=0.5):
    return (stats.norm(0, 2).logpdf(mu) + stats.lognorm(1.0).logpdf(s)
            + stats.norm(mu, s).logpdf(y))


def test_trace_nodes_and_log_prob(backend):
    tr = handlers.trace(handlers.seed(simple, rng_seed=0)).get_trace()
    assert tr.stochastic_nodes == ["mu", "s"]
    assert tr.observation_nodes == ["y"]
    assert tr.nodes is tr
    mu, s = fnum(tr["mu"]["value"]), fnum(tr["s"]["value"])
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), simple_logp(mu, s), rtol=1e-12)
    np.testing.assert_allclose(fnum(tr["s"]["log_prob"]), stats.lognorm(1.0).logpdf(s))
    only_y = tr.log_prob_sum(lambda name, site: name == "y")
    np.testing.assert_allclose(fnum(only_y), stats.norm(mu, s).logpdf(0.5))


def test_trace_format_shapes(backend):
    def model():
        with polyro.plate("N", 3):
            polyro.sample("x", dist.Normal(0.0, 1.0).expand((4,)).to_event(1))

    text = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace().format_shapes()
    lines = text.splitlines()
    assert lines[0] == "Trace Shapes:"
    assert any(line.split()[:2] == ["N", "plate"] for line in lines)
    dist_line = next(line for line in lines if line.split()[:2] == ["x", "dist"])
    assert dist_line.split("|")[0].split()[2:] == ["3"]
    assert dist_line.split("|")[1].split() == ["4"]


def test_seed_same_seed_same_draws_and_key_argument(backend):
    t1 = handlers.trace(handlers.seed(simple, rng_seed=5)).get_trace()
    t2 = handlers.trace(handlers.seed(simple, rng_seed=backend.key(5))).get_trace()
    t3 = handlers.trace(handlers.seed(simple, rng_seed=6)).get_trace()
    for n in ("mu", "s"):
        np.testing.assert_array_equal(to_np(t1[n]["value"]), to_np(t2[n]["value"]))
    assert fnum(t1["mu"]["value"]) != fnum(t3["mu"]["value"])
    with pytest.raises(ValueError, match="rng_seed"):
        handlers.seed(simple)


def test_seed_key_stream_independent_of_substitution(backend):
    base = handlers.trace(handlers.seed(simple, rng_seed=3)).get_trace()
    sub = handlers.trace(handlers.seed(handlers.substitute(simple, data={"mu": 9.0}),
                                       rng_seed=3)).get_trace()
    assert fnum(sub["mu"]["value"]) == 9.0
    np.testing.assert_array_equal(to_np(base["s"]["value"]), to_np(sub["s"]["value"]))


def test_replay(backend):
    tr = handlers.trace(handlers.seed(simple, rng_seed=0)).get_trace()
    tr2 = handlers.trace(handlers.seed(handlers.replay(simple, trace=tr), rng_seed=99)).get_trace()
    for n in ("mu", "s"):
        np.testing.assert_array_equal(to_np(tr[n]["value"]), to_np(tr2[n]["value"]))
    assert fnum(tr2["y"]["value"]) == 0.5  # observed sites keep their data


def test_condition(backend):
    tr = handlers.trace(handlers.seed(handlers.condition(simple, data={"s": 2.0}),
                                      rng_seed=0)).get_trace()
    assert tr["s"]["is_observed"] and fnum(tr["s"]["value"]) == 2.0
    assert tr.stochastic_nodes == ["mu"]
    mu = fnum(tr["mu"]["value"])
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), simple_logp(mu, 2.0), rtol=1e-12)
    fn_cond = handlers.condition(simple, condition_fn=lambda m: 1.0 if m["name"] == "mu" else None)
    tr = handlers.trace(handlers.seed(fn_cond, rng_seed=0)).get_trace()
    assert tr["mu"]["is_observed"] and fnum(tr["mu"]["value"]) == 1.0


def test_substitute_data_and_fn(backend):
    tr = handlers.trace(handlers.substitute(simple, data={"mu": 0.3, "s": 1.5})).get_trace()
    assert tr.stochastic_nodes == ["mu", "s"]  # still latent
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), simple_logp(0.3, 1.5), rtol=1e-12)
    f = handlers.substitute(simple, substitute_fn=lambda m: 0.7 if m["type"] == "sample" else None)
    tr = handlers.trace(f).get_trace()
    assert fnum(tr["mu"]["value"]) == 0.7 and fnum(tr["y"]["value"]) == 0.5
    with pytest.raises(ValueError, match="data="):
        handlers.substitute(simple)


@pytest.mark.parametrize("kwargs, visible", [
    ({}, []),
    ({"hide": ["mu"]}, ["s", "y"]),
    ({"expose": ["mu"]}, ["mu"]),
    ({"hide_types": ["sample"]}, []),
    ({"expose_types": ["sample"]}, ["mu", "s", "y"]),
    ({"hide_fn": lambda m: m["name"] == "s"}, ["mu", "y"]),
    # Pyro's switches
    ({"expose_fn": lambda m: m["name"] == "s"}, ["s"]),
    ({"hide_all": False}, ["mu", "s", "y"]),
    ({"expose_all": True}, ["mu", "s", "y"]),
    ({"expose_all": True, "hide": ["y"]}, ["mu", "s"]),
    ({"hide_all": False, "expose": ["s"]}, ["s"]),
])
def test_block(backend, kwargs, visible):
    tr = handlers.trace(handlers.seed(handlers.block(simple, **kwargs), rng_seed=0)).get_trace()
    assert list(tr) == visible


def test_block_inside_seed_still_gets_keys_and_plates(backend):
    def model():
        with polyro.plate("N", 2):
            with handlers.block():
                return polyro.sample("x", dist.Normal(0.0, 1.0))

    def outer():
        with handlers.block():
            return polyro.sample("x", dist.Normal(0.0, 1.0).expand((2,)))

    assert tuple(handlers.seed(model, rng_seed=0)().shape) == (2,)
    assert tuple(handlers.seed(outer, rng_seed=0)().shape) == (2,)


def test_block_rejects_hide_and_expose_same_site():
    with pytest.raises(ValueError, match="both hidden and exposed"):
        handlers.block(hide=["a"], expose=["a"])
    with pytest.raises(ValueError, match="expose_all=True exposes every site"):
        handlers.block(expose_all=True, expose=["a"])
    with pytest.raises(ValueError, match="hide_fn or expose_fn"):
        handlers.block(hide_fn=bool, expose_fn=bool)


def test_scale_and_mask(backend):
    y = np.array([0.1, 0.2, 0.3])
    m = np.array([True, False, True])

    def model():
        with polyro.plate("n", 3):
            polyro.sample("y", dist.Normal(0.0, 1.0), obs=backend.asarray(y))

    scaled = handlers.trace(handlers.scale(model, scale=2.5)).get_trace()
    np.testing.assert_allclose(fnum(scaled.log_prob_sum()), 2.5 * stats.norm.logpdf(y).sum())
    masked = handlers.trace(handlers.mask(model, mask=backend.asarray(m))).get_trace()
    np.testing.assert_allclose(fnum(masked.log_prob_sum()), stats.norm.logpdf(y[m]).sum())
    both = handlers.trace(handlers.scale(handlers.mask(handlers.mask(model, mask=True),
                                                       mask=backend.asarray(m)), scale=3.0))
    np.testing.assert_allclose(fnum(both.get_trace().log_prob_sum()),
                               3.0 * stats.norm.logpdf(y[m]).sum())
    with pytest.raises(ValueError, match="positive"):
        handlers.scale(scale=-1.0)
    with pytest.raises(TypeError, match="boolean"):
        handlers.mask(mask=backend.asarray(np.array([1.0])))


def test_do_intervention(backend):
    def model():
        x = polyro.sample("x", dist.Normal(0.0, 1.0))
        return polyro.sample("y", dist.Normal(x, 1.0))

    tr = handlers.trace(handlers.seed(handlers.do(model, data={"x": 4.0}), rng_seed=0)).get_trace()
    assert fnum(tr["y"]["fn"].loc) == 4.0  # downstream sees the intervention
    x = fnum(tr["x"]["value"])  # the site itself is still sampled
    assert x != 4.0 and "x__CF" not in tr
    y = fnum(tr["y"]["value"])
    expected = stats.norm.logpdf(x) + stats.norm(4.0, 1.0).logpdf(y)
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), expected, rtol=1e-12)


def test_loc_scale_reparam(backend):
    def model():
        with polyro.plate("n", 3):
            return polyro.sample("x", dist.Normal(1.0, 3.0))

    rep = handlers.reparam(model, config={"x": handlers.LocScaleReparam(centered=0.0)})
    tr = handlers.trace(handlers.seed(rep, rng_seed=0)).get_trace()
    z = to_np(tr["x_decentered"]["value"])
    assert z.shape == (3,)
    np.testing.assert_allclose(to_np(tr["x"]["value"]), 1.0 + 3.0 * z)
    assert tr["x"]["type"] == "deterministic" and tr.stochastic_nodes == ["x_decentered"]
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), stats.norm.logpdf(z).sum(), rtol=1e-12)
    # learnable centering: a param site in the unit interval
    rep = handlers.reparam(model, config={"x": handlers.LocScaleReparam()})
    tr = handlers.trace(handlers.seed(rep, rng_seed=0)).get_trace()
    assert "x_centered" in tr.param_nodes
    z = to_np(tr["x_decentered"]["value"])
    np.testing.assert_allclose(to_np(tr["x"]["value"]), 1.0 + 3.0**0.5 * (z - 0.5))


def test_transform_reparam(backend):
    def model():
        return polyro.sample("x", dist.TransformedDistribution(dist.Normal(0.0, 1.0),
                                                               ExpTransform()))

    rep = handlers.reparam(model, config={"x": handlers.TransformReparam()})
    tr = handlers.trace(handlers.seed(rep, rng_seed=0)).get_trace()
    b = fnum(tr["x_base"]["value"])
    np.testing.assert_allclose(fnum(tr["x"]["value"]), np.exp(b))
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), stats.norm.logpdf(b), rtol=1e-12)


def test_lift(backend):
    def model():
        return polyro.param("a", 1.0)

    for prior in (dist.Normal(0.0, 1.0), {"a": dist.Normal(0.0, 1.0)}, lambda m: dist.Normal(0.0, 1.0)):
        tr = handlers.trace(handlers.seed(handlers.lift(model, prior=prior), rng_seed=0)).get_trace()
        assert tr["a"]["type"] == "sample" and not tr["a"]["is_observed"]
        a = fnum(tr["a"]["value"])
        np.testing.assert_allclose(fnum(tr.log_prob_sum()), stats.norm.logpdf(a))
    # seed inside lift works as well
    tr = handlers.trace(handlers.lift(handlers.seed(model, rng_seed=0),
                                      prior=dist.Normal(0.0, 1.0))).get_trace()
    assert tr["a"]["type"] == "sample"


def test_infer_config(backend):
    cfg = handlers.infer_config(simple, config_fn=lambda m: {"tag": m["name"]})
    tr = handlers.trace(handlers.seed(cfg, rng_seed=0)).get_trace()
    assert tr["mu"]["infer"]["tag"] == "mu" and tr["y"]["infer"]["tag"] == "y"


def test_uncondition(backend):
    tr = handlers.trace(handlers.seed(handlers.uncondition(simple), rng_seed=0)).get_trace()
    assert tr.observation_nodes == [] and tr.stochastic_nodes == ["mu", "s", "y"]
    assert tr["y"]["infer"]["was_observed"] and fnum(tr["y"]["infer"]["obs"]) == 0.5
    assert fnum(tr["y"]["value"]) != 0.5


def test_scope_nested(backend):
    def model():
        with handlers.scope(prefix="inner"):
            polyro.sample("x", dist.Normal(0.0, 1.0))
        polyro.param("p", 1.0)

    tr = handlers.trace(handlers.seed(handlers.scope(model, prefix="outer"), rng_seed=0))
    assert list(tr.get_trace()) == ["outer/inner/x", "outer/p"]
    with pytest.raises(ValueError, match="prefix"):
        handlers.scope(model)


def _scoped_pair(sizes=((3, 3), (4, 4))):
    """Two sub-models, each with its own plate "data", inside one outer plate."""
    def sub(n, m):
        with polyro.plate("data", n, subsample_size=m):
            polyro.sample("x", dist.Normal(0.0, 1.0))

    def model():
        with polyro.plate("outer", 2, dim=-2):
            handlers.scope(sub, prefix="a")(*sizes[0])
            handlers.scope(sub, prefix="b")(*sizes[1])

    return model


def test_scope_prefixes_plates_entered_inside_it(backend):
    tr = handlers.trace(handlers.seed(_scoped_pair(), rng_seed=0)).get_trace()
    assert list(tr) == ["outer", "a/data", "a/x", "b/data", "b/x"]
    assert (tr["a/data"]["kwargs"]["size"], tr["b/data"]["kwargs"]["size"]) == (3, 4)
    # frames, innermost last: the outer plate (entered outside the scopes) keeps its name
    assert [f.name for f in tr["a/x"]["cond_indep_stack"]] == ["outer", "a/data"]
    assert [f.name for f in tr["b/x"]["cond_indep_stack"]] == ["outer", "b/data"]
    assert tuple(tr["a/x"]["value"].shape) == (2, 3) and tuple(tr["b/x"]["value"].shape) == (2, 4)
    hidden = handlers.trace(handlers.seed(
        handlers.scope(_scoped_pair(), prefix="m", hide_types=["plate"]), rng_seed=0)).get_trace()
    assert list(hidden) == ["outer", "a/data", "m/a/x", "b/data", "m/b/x"]
    assert [f.name for f in hidden["m/a/x"]["cond_indep_stack"]] == ["outer", "a/data"]


def test_scoped_subsamples_replay_per_sub_model(backend):
    """Each sub-model's subsample is replayed into its own plate (unprefixed plates would share
    one trace entry "data", and the second sub-model would get the first one's 3 indices)."""
    model = _scoped_pair(((10, 3), (20, 5)))
    gtr = handlers.trace(handlers.seed(model, rng_seed=1)).get_trace()
    mtr = handlers.trace(handlers.replay(handlers.seed(model, rng_seed=2), trace=gtr)).get_trace()
    for name, size, m in (("a", 10, 3), ("b", 20, 5)):
        idx = to_np(mtr[f"{name}/data"]["value"])
        np.testing.assert_array_equal(idx, to_np(gtr[f"{name}/data"]["value"]))
        assert idx.shape == (m,) and len(set(idx.tolist())) == m and idx.max() < size
        np.testing.assert_array_equal(to_np(mtr[f"{name}/x"]["value"]),
                                      to_np(gtr[f"{name}/x"]["value"]))
        assert fnum(mtr[f"{name}/x"]["scale"]) == pytest.approx(size / m)


def test_escape(backend):
    h = handlers.trace(handlers.escape(handlers.seed(simple, rng_seed=0),
                                       escape_fn=lambda m: m["name"] == "s"))
    with h as tr, pytest.raises(handlers.NonlocalExit) as info:
        h.fn()
    assert info.value.site["name"] == "s"
    assert list(tr) == ["mu"]


def test_composition_condition_scale_seed_trace(backend):
    model = handlers.scale(handlers.condition(simple, data={"mu": 0.2}), scale=0.5)
    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    s = fnum(tr["s"]["value"])
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), 0.5 * simple_logp(0.2, s), rtol=1e-12)


def test_pyro_trace_and_replay_arguments(backend):
    """Pyro's ``trace(param_only=True)`` (only param sites), ``trace(graph_type=...)`` and
    ``replay(params=...)`` (param values by name, alone or with a trace)."""
    be = backend

    def model():
        loc = polyro.param("loc", be.asarray(0.0))
        mu = polyro.sample("mu", dist.Normal(loc, 2.0))
        s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
        polyro.sample("y", dist.Normal(mu, s), obs=0.5)
        return loc

    seeded = handlers.seed(model, rng_seed=0)
    assert list(handlers.trace(seeded, param_only=True).get_trace()) == ["loc"]
    tr = handlers.trace(seeded, graph_type="dense").get_trace()
    assert list(tr) == ["loc", "mu", "s", "y"]
    assert fnum(handlers.seed(handlers.replay(model, params={"loc": be.asarray(1.5)}), 0)()) == 1.5
    both = handlers.trace(handlers.replay(model, trace=tr, params={"loc": be.asarray(1.5)}))
    tr2 = both.get_trace()
    assert fnum(tr2["loc"]["value"]) == 1.5
    assert fnum(tr2["mu"]["value"]) == fnum(tr["mu"]["value"])
    expected = (stats.norm(1.5, 2).logpdf(fnum(tr["mu"]["value"]))
                + stats.lognorm(1.0).logpdf(fnum(tr["s"]["value"]))
                + stats.norm(fnum(tr["mu"]["value"]), fnum(tr["s"]["value"])).logpdf(0.5))
    np.testing.assert_allclose(fnum(tr2.log_prob_sum()), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="graph_type must be 'flat' or 'dense'"):
        handlers.trace(model, graph_type="sparse")
    with pytest.raises(ValueError, match="replay needs trace= .* or params="):
        handlers.replay(model)
