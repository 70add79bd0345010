"""Handler laws over a small registry of models (idea of pyro's tests/poutine/test_properties)."""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import fnum, to_np

import polyro
import polyro.distributions as dist
from polyro import handlers


def m_simple():
    mu = polyro.sample("mu", dist.Normal(0.0, 2.0))
    s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
    polyro.sample("y", dist.Normal(mu, s), obs=0.5)


def m_plates():
    a = polyro.sample("a", dist.Normal(0.0, 1.0))
    with polyro.plate("N", 4, subsample_size=2):
        b = polyro.sample("b", dist.Normal(a, 1.0))
        with polyro.plate("G", 3):
            polyro.deterministic("d", b * 2.0)
            polyro.sample("c", dist.HalfNormal(2.0))
            polyro.sample("y", dist.Normal(b, 1.0), obs=np.zeros((3, 2)))


def m_sequential():
    x = polyro.sample("x", dist.Uniform(0.0, 1.0))
    for i in polyro.plate("T", 3):
        x = polyro.sample(f"z_{i}", dist.Normal(x, 1.0))


def m_param_factor():
    w = polyro.param("w", 0.3)
    z = polyro.sample("z", dist.Normal(w, 1.0))
    polyro.factor("f", -z * z)


MODELS = [m_simple, m_plates, m_sequential, m_param_factor]
ids = [m.__name__ for m in MODELS]


def _run(model, rng_seed=0):
    return handlers.trace(handlers.seed(model, rng_seed=rng_seed)).get_trace()


def assert_same_trace(t1, t2, values=True):
    assert list(t1) == list(t2)
    for name in t1:
        a, b = t1[name], t2[name]
        assert a["type"] == b["type"], name
        assert a.get("is_observed") == b.get("is_observed"), name
        if values:
            np.testing.assert_array_equal(to_np(a["value"]), to_np(b["value"]), err_msg=name)
    np.testing.assert_allclose(fnum(t1.log_prob_sum()), fnum(t2.log_prob_sum()), rtol=1e-12)


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_trace_of_trace_is_trace(backend, model):
    with handlers.trace() as outer, handlers.trace() as inner:
        handlers.seed(model, rng_seed=0)()
    assert_same_trace(outer, inner)
    assert_same_trace(outer, _run(model))


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_seed_twice_identical_and_commutes_with_trace(backend, model):
    assert_same_trace(_run(model, 7), _run(model, 7))
    h = handlers.seed(handlers.trace(model), rng_seed=7)
    with h:
        pass
    with handlers.seed(rng_seed=7), handlers.trace() as tr:
        model()
    assert_same_trace(tr, _run(model, 7))


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_condition_then_trace_marks_observed(backend, model):
    ref = _run(model, 1)
    for name in ref.stochastic_nodes:
        value = ref[name]["value"]
        tr = _run(handlers.condition(model, data={name: value}), 2)
        assert tr[name]["is_observed"]
        np.testing.assert_array_equal(to_np(tr[name]["value"]), to_np(value))
        assert name not in tr.stochastic_nodes


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_block_hides_exactly(backend, model):
    ref = _run(model)
    for name in ref:
        tr = _run(handlers.block(model, hide=[name]))
        assert list(tr) == [n for n in ref if n != name]
        tr = _run(handlers.block(model, expose=[name]))
        assert list(tr) == [name]


@pytest.mark.parametrize("model", MODELS[:3], ids=ids[:3])
def test_substitute_and_condition_commute_on_disjoint_sites(backend, model):
    ref = _run(model, 3)
    latents = ref.stochastic_nodes
    assert len(latents) >= 2
    a, b = latents[0], latents[-1]
    va, vb = ref[a]["value"], ref[b]["value"]
    t1 = _run(handlers.condition(handlers.substitute(model, data={a: va}), data={b: vb}), 4)
    t2 = _run(handlers.substitute(handlers.condition(model, data={b: vb}), data={a: va}), 4)
    assert_same_trace(t1, t2)
    assert t1[b]["is_observed"] and not t1[a]["is_observed"]


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_replay_reproduces_log_density(backend, model):
    ref = _run(model, 5)
    tr = _run(handlers.replay(model, trace=ref), 6)
    # plates are replayed too, so the subsample and every value agree
    assert_same_trace(ref, tr)


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_substituting_every_latent_gives_same_log_density(backend, model):
    ref = _run(model, 5)
    data = {n: ref[n]["value"] for n in ref.stochastic_nodes}
    plates = {n: ref[n]["value"] for n, s in ref.items() if s["type"] == "plate"}
    tr = _run(handlers.substitute(model, data={**data, **plates}), 11)
    assert_same_trace(ref, tr)
