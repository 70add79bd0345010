"""Base Distribution contract: shapes (sample x batch x event), expand, to_event, mask,
parameter broadcasting, repr, helpers, and the package's auto-discovery."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy import stats

import polyro.core.distributions as core
import polyro.distributions as dist
from polyro.core.distributions import util


def A(be, x):
    return be.asarray(np.asarray(x, dtype=np.float64))


def N(be, x):
    return np.asarray(be.to_numpy(x))


# ------------------------------------------------------------------ package
def test_family_modules_import_and_reexport():
    assert core.FAILED_FAMILY_MODULES == {}
    assert core.FAMILY_MODULES, "no family module discovered"
    for mod, names in core.FAMILY_MODULES.items():
        m = importlib.import_module(f"polyro.core.distributions.{mod}")
        for n in names:
            assert getattr(dist, n) is getattr(m, n), (mod, n)


def test_public_alias_module():
    for name in ("constraints", "transforms", "biject_to", "kl_divergence", "register_kl",
                 "enable_validation", "is_validation_enabled", "Distribution", "Independent",
                 "ExpandedDistribution", "MaskedDistribution", "Delta", "Unit", "ImproperUniform",
                 "TransformedDistribution", "MixtureSameFamily", "MixtureGeneral",
                 "TruncatedDistribution", "FoldedDistribution"):
        assert hasattr(dist, name), name
    assert dist.constraints is core.constraints
    assert dist.transforms.biject_to is dist.biject_to


# ------------------------------------------------------------------- shapes
SAMPLE_SHAPES = [(), (4,), (2, 3)]
BATCH_SHAPES = [(), (3,), (2, 3)]


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES)
@pytest.mark.parametrize("sample_shape", SAMPLE_SHAPES)
def test_univariate_shapes(backend, sample_shape, batch_shape):
    rng = np.random.default_rng(0)
    loc = rng.normal(size=batch_shape)
    d = dist.Normal(A(backend, loc), 2.0)
    assert d.batch_shape == batch_shape and d.event_shape == () and d.event_dim == 0
    x = d.sample(backend.key(0), sample_shape)
    assert tuple(x.shape) == sample_shape + batch_shape == d.shape(sample_shape)
    lp = d.log_prob(x)
    assert tuple(lp.shape) == sample_shape + batch_shape
    np.testing.assert_allclose(N(backend, lp), stats.norm.logpdf(N(backend, x), loc, 2.0),
                               rtol=1e-10)
    assert tuple(d.mean.shape) == batch_shape and tuple(d.variance.shape) == batch_shape


@pytest.mark.parametrize("sample_shape,batch_shape", [((), ()), ((4,), (3,)), ((2, 3), (2, 3))])
def test_multivariate_shapes(backend, sample_shape, batch_shape):
    loc = np.arange(4.0) + np.zeros(batch_shape + (4,))
    d = dist.MultivariateNormal(A(backend, loc), scale_tril=A(backend, 2 * np.eye(4)))
    assert d.batch_shape == batch_shape and d.event_shape == (4,)
    x = d.sample(backend.key(1), sample_shape)
    assert tuple(x.shape) == sample_shape + batch_shape + (4,)
    lp = d.log_prob(x)
    assert tuple(lp.shape) == sample_shape + batch_shape
    np.testing.assert_allclose(N(backend, lp), stats.norm.logpdf(N(backend, x), loc, 2.0).sum(-1),
                               rtol=1e-10)
    assert tuple(d.mean.shape) == batch_shape + (4,)


def test_log_prob_broadcasts_value_against_batch(backend):
    d = dist.Normal(A(backend, [0.0, 1.0, 2.0]), 1.0)
    lp = d.log_prob(A(backend, np.zeros((5, 1))))
    assert tuple(lp.shape) == (5, 3)


def test_parameter_broadcasting(backend):
    d = dist.Normal(A(backend, np.zeros((3, 1))), A(backend, np.ones(4)))
    assert d.batch_shape == (3, 4)
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)|cannot be broadcast"):
        dist.Normal(A(backend, np.zeros(3)), A(backend, np.ones(4)))


def test_expand(backend):
    d = dist.Normal(A(backend, [[0.0, 10.0, 20.0]]), 1.0)  # batch (1, 3)
    e = d.expand((4, 3))
    assert e.batch_shape == (4, 3) and d.expand((1, 3)) is d
    x = N(backend, e.sample(backend.key(2), (2,)))
    assert x.shape == (2, 4, 3)
    # the expanded dim draws independently: rows differ
    assert np.all(np.abs(x[:, 0] - x[:, 1]) > 0)
    # each column keeps its own location
    np.testing.assert_allclose(x.mean(axis=(0, 1)), [0.0, 10.0, 20.0], atol=3.0)
    lp = N(backend, e.log_prob(A(backend, np.zeros(3))))
    np.testing.assert_allclose(lp, np.broadcast_to(stats.norm.logpdf(0.0, [0, 10, 20], 1.0),
                                                   (4, 3)), rtol=1e-10)
    assert N(backend, e.mean).shape == (4, 3)
    assert e.expand((5, 4, 3)).batch_shape == (5, 4, 3)
    with pytest.raises(ValueError, match=r"\(1, 3\).*\(4, 2\)"):
        d.expand((4, 2))


def test_expand_by_and_new_leading_dims(backend):
    d = dist.Normal(A(backend, [0.0, 1.0]), 1.0)
    assert d.expand_by((5,)).batch_shape == (5, 2)
    x = N(backend, d.expand((3, 2)).sample(backend.key(3)))
    assert x.shape == (3, 2) and len(np.unique(x)) == 6


def test_to_event(backend):
    loc = np.arange(6.0).reshape(2, 3)
    d = dist.Normal(A(backend, loc), 1.5)
    i = d.to_event(1)
    assert (i.batch_shape, i.event_shape) == ((2,), (3,))
    assert d.to_event(0) is d
    assert d.to_event().event_shape == (2, 3) and d.to_event().batch_shape == ()
    x = np.full((4, 2, 3), 0.5)
    lp = N(backend, i.log_prob(A(backend, x)))
    np.testing.assert_allclose(lp, stats.norm.logpdf(x, loc, 1.5).sum(-1), rtol=1e-10)
    assert tuple(i.sample(backend.key(4), (7,)).shape) == (7, 2, 3)
    assert i.to_event(1).event_shape == (2, 3)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        d.to_event(3)


def test_mask_shapes(backend):
    d = dist.Normal(A(backend, [0.0, 1.0, 2.0]), 1.0)
    m = d.mask(backend.asarray(np.array([[True], [False]])))
    assert m.batch_shape == (2, 3)
    lp = N(backend, m.log_prob(A(backend, [0.0, 0.0, 0.0])))
    np.testing.assert_allclose(lp[0], stats.norm.logpdf(0.0, [0, 1, 2], 1.0), rtol=1e-10)
    np.testing.assert_array_equal(lp[1], 0.0)
    assert d.mask(True) is d
    np.testing.assert_array_equal(N(backend, d.mask(False).log_prob(A(backend, 5.0))), 0.0)


def test_enumerate_support_shapes(backend):
    d = dist.Bernoulli(probs=A(backend, [[0.1, 0.5, 0.9]]))  # batch (1, 3)
    s = N(backend, d.enumerate_support(expand=False))
    assert s.shape == (2, 1, 1)
    assert N(backend, d.enumerate_support()).shape == (2, 1, 3)
    e = N(backend, d.expand((2, 3)).enumerate_support(expand=False))
    assert e.shape == (2, 1, 1)
    np.testing.assert_array_equal(e.reshape(-1), [0, 1])


def test_rsample_flags(backend):
    assert dist.Normal(0.0, 1.0).has_rsample
    b = dist.Bernoulli(probs=A(backend, 0.3))
    assert not b.has_rsample and b.is_discrete and b.has_enumerate_support
    with pytest.raises(NotImplementedError, match="Bernoulli"):
        b.rsample(backend.key(0))
    assert tuple(dist.Normal(A(backend, 0.0), 1.0).rsample(backend.key(0), (3,)).shape) == (3,)


def test_repr(backend):
    assert repr(dist.Normal(A(backend, 0.0), A(backend, 1.0))) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(dist.Normal(A(backend, np.zeros(3)), 1.0)) == "Normal(loc: (3,), scale: (3,))"
    assert "Independent(" in repr(dist.Normal(A(backend, np.zeros(3)), 1.0).to_event(1))


def test_base_not_implemented_messages():
    d = dist.Distribution(batch_shape=(2,))
    for fn in (lambda: d.log_prob(0.0), lambda: d.sample(None), lambda: d.mean,
               lambda: d.variance, d.entropy, lambda: d.cdf(0.0), lambda: d.icdf(0.5),
               d.enumerate_support):
        with pytest.raises(NotImplementedError, match="Distribution"):
            fn()
    with pytest.raises(TypeError, match="batch_shape"):
        dist.Distribution(batch_shape=3.5)


# ------------------------------------------------------------------ helpers
def test_broadcast_params(backend):
    be, xp, (a, b, c), bs = util.broadcast_params(A(backend, np.zeros((2, 1))), 3,
                                                  backend.asarray(np.array([1, 2, 3])))
    assert bs == (2, 3)
    assert all(tuple(t.shape) == (2, 3) for t in (a, b, c))
    assert all(xp.isdtype(t.dtype, "real floating") for t in (a, b, c))
    np.testing.assert_array_equal(N(backend, c)[1], [1.0, 2.0, 3.0])
    be, xp, (m, v), bs = util.broadcast_params(A(backend, np.eye(2)), A(backend, np.zeros((5, 2))),
                                               event_dims=(2, 1))
    assert bs == (5,) and tuple(m.shape) == (5, 2, 2) and tuple(v.shape) == (5, 2)
    be, xp, (x,), bs = util.broadcast_params([0.1, 0.2])
    np.testing.assert_array_equal(N(backend, x), [0.1, 0.2])  # full float64 precision


def test_sum_rightmost_and_clamp(backend):
    x = A(backend, np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_allclose(N(backend, util.sum_rightmost(x, 2)), [66.0, 210.0])
    np.testing.assert_allclose(N(backend, util.sum_rightmost(x, 0)), N(backend, x))
    p = N(backend, util.clamp_probs(A(backend, [0.0, 0.5, 1.0])))
    assert 0 < p[0] < 1e-15 and p[1] == 0.5 and 1 - 1e-15 < p[2] < 1


def test_tril_vec_round_trip(backend):
    v = A(backend, np.arange(1.0, 7.0))
    m = util.vec_to_tril_matrix(v)
    np.testing.assert_array_equal(N(backend, m), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(N(backend, util.tril_matrix_to_vec(m)), np.arange(1.0, 7.0))
    s = util.vec_to_tril_matrix(A(backend, [[1.0, 2.0, 3.0]]), diagonal=-1)
    np.testing.assert_array_equal(N(backend, s), [[[0, 0, 0], [1, 0, 0], [2, 3, 0]]])
    with pytest.raises(ValueError, match="length 4"):
        util.vec_to_tril_matrix(A(backend, np.ones(4)))


def test_is_concrete(backend):
    assert util.is_concrete(A(backend, [1.0]))
    assert util.concrete_numpy(A(backend, 2.0)) == 2.0


def test_import_pulls_in_no_engine():
    import subprocess
    import sys

    code = ("import sys, polyro.distributions as d; d.Normal(0.0, 1.0).log_prob(0.5); "
            "print('torch' in sys.modules, 'jax' in sys.modules)")
    env = {k: v for k, v in __import__("os").environ.items() if k != "POLYRO_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr
