"""The seed's example model: 8 sites c, u, l, z, w, y, h, x over nested plates N and G.

    c ~ Normal(0, 1)                       global
    u ~ LogNormal(0, 1)                    global
    plate N (dim -1):
        l ~ Normal(c, u)                   (N,)
        plate G (dim -2):
            z ~ Normal(l, 1)               (G, N)
            w ~ LogNormal(0, 0.5)          (G, N)
            y ~ Normal(z, w)               (G, N)
            h = deterministic(y + z)       (G, N)
            x ~ Normal(h, u)  observed     (G, N)
"""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import fnum, to_np
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.graph import get_dependencies, render_model

N, G = 5, 3


def seed_model(x, subsample_size=None):
    c = polyro.sample("c", dist.Normal(0.0, 1.0))
    u = polyro.sample("u", dist.LogNormal(0.0, 1.0))
    with polyro.plate("N", N, subsample_size=subsample_size):
        l = polyro.sample("l", dist.Normal(c, u))
        with polyro.plate("G", G):
            z = polyro.sample("z", dist.Normal(l, 1.0))
            w = polyro.sample("w", dist.LogNormal(0.0, 0.5))
            y = polyro.sample("y", dist.Normal(z, w))
            h = polyro.deterministic("h", y + z)
            xs = polyro.subsample(x, event_dim=0)
            polyro.sample("x", dist.Normal(h, u), obs=xs)


def data(backend):
    return backend.asarray(np.linspace(-1.0, 1.0, G * N).reshape(G, N))


def oracle_logp(tr, x, scale=1.0):
    v = {n: to_np(tr[n]["value"]) for n in "cuzlwyh"}
    lp = stats.norm.logpdf(v["c"]) + stats.lognorm(1.0).logpdf(v["u"])
    lp += scale * stats.norm(v["c"], v["u"]).logpdf(v["l"]).sum()
    lp += scale * stats.norm(v["l"], 1.0).logpdf(v["z"]).sum()
    lp += scale * stats.lognorm(0.5).logpdf(v["w"]).sum()
    lp += scale * stats.norm(v["z"], v["w"]).logpdf(v["y"]).sum()
    lp += scale * stats.norm(v["y"] + v["z"], v["u"]).logpdf(x).sum()
    return lp


def test_trace_shapes_on_every_backend(backend):
    x = data(backend)
    tr = handlers.trace(handlers.seed(seed_model, rng_seed=0)).get_trace(x)
    shapes = {n: tuple(tr[n]["value"].shape) for n in "culzwyhx"}
    assert shapes == {"c": (), "u": (), "l": (N,), "z": (G, N), "w": (G, N), "y": (G, N),
                      "h": (G, N), "x": (G, N)}
    assert tr.stochastic_nodes == ["c", "u", "l", "z", "w", "y"]
    assert tr.observation_nodes == ["x"]
    assert [f.name for f in tr["x"]["cond_indep_stack"]] == ["N", "G"]
    assert [f.dim for f in tr["x"]["cond_indep_stack"]] == [-1, -2]
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), oracle_logp(tr, to_np(x)), rtol=1e-10)
    text = tr.format_shapes()
    for name in "culzwyx":
        assert any(line.split()[:2] == [name, "dist"] for line in text.splitlines()), name


def test_subsampled_seed_model_scaling(backend):
    x = data(backend)
    tr = handlers.trace(handlers.seed(seed_model, rng_seed=1)).get_trace(x, subsample_size=2)
    idx = to_np(tr["N"]["value"]).astype(int)
    assert tuple(tr["z"]["value"].shape) == (G, 2)
    expected = oracle_logp(tr, to_np(x)[:, idx], scale=N / 2)
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), expected, rtol=1e-10)


def test_seed_model_dependency_graph():
    with polyro.backend("numpy"):
        x = np.linspace(-1.0, 1.0, G * N).reshape(G, N)
        deps = get_dependencies(seed_model, (x,))
        assert deps == {"c": [], "u": [], "l": ["c", "u"], "z": ["l"], "w": [],
                        "y": ["z", "w"], "h": ["z", "y"], "x": ["u", "h"]}
        text = render_model(seed_model, (x,))
    lines = text.splitlines()
    assert "x ~ Normal [observed] <- u, h [N, G]" in lines
    assert "h = deterministic <- z, y [N, G]" in lines
    assert "plate G: size 3" in lines


def test_graphviz_optional():
    from polyro.core.graph import to_graphviz

    try:
        import graphviz  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="render_model"):
            to_graphviz(seed_model, (np.zeros((G, N)),))
    else:
        g = to_graphviz(seed_model, (np.zeros((G, N)),))
        assert "c -> l" in g.source
