"""Empirical: values against a plain-numpy brute-force oracle on every backend (float64).

``log_prob`` (sum of the normalised weights of equal stored samples, duplicates included, -inf
for unstored values) and the weighted mean/variance to 1e-12 at batch shapes (), (2,), (2, 3)
and event shapes (), (3,); shapes; ``enumerate_support``; draws against the normalised weights by
chi-square on 20,000 draws with fixed keys (threshold p > 2e-5, the false-failure rate of each
test, as in Pyro and NumPyro); same key -> same draws; jitted ``sample``/``log_prob`` equal eager;
bad inputs raise ValueError naming Empirical; use inside a model under ``seed``/``trace``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
from scipy.special import logsumexp

import polyro
from polyro import handlers
from polyro.core import distributions as dist
from polyro.core.distributions.mv_empirical import Empirical

BATCHES = [(), (2,), (2, 3)]
EVENTS = [(), (3,)]
N_SAMPLES = 6
P_MIN = 2e-5
N_DRAWS = 20_000


def np_(be, x):
    return np.asarray(be.to_numpy(x))


def data(batch, event, seed=0, n=N_SAMPLES):
    """Samples with duplicates (entries from {0, 1} so rows repeat) and random log weights."""
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, 2, size=batch + (n,) + event).astype(float)
    lw = rng.normal(size=batch + (n,))
    return samples, lw


def oracle_log_prob(samples, lw, values, batch, event):
    """Brute force: ``values`` has shape ``S + batch + event``; returns ``S + batch``."""
    lwn = lw - logsumexp(lw, axis=-1, keepdims=True)
    lead = values.shape[: values.ndim - len(batch) - len(event)]
    out = np.empty(lead + batch)
    for s in np.ndindex(*lead):
        for b in np.ndindex(*batch):
            v = values[s + b]
            hits = [i for i in range(samples.shape[len(batch)])
                    if np.array_equal(samples[b + (i,)], v)]
            out[s + b] = logsumexp(lwn[b + (slice(None),)][hits]) if hits else -np.inf
    return out


def oracle_moments(samples, lw, batch):
    w = np.exp(lw - logsumexp(lw, axis=-1, keepdims=True))
    w = w.reshape(w.shape + (1,) * (samples.ndim - lw.ndim))
    ax = len(batch)
    mean = (w * samples).sum(ax)
    var = (w * (samples - np.expand_dims(mean, ax)) ** 2).sum(ax)
    return mean, var


def make(be, samples, lw, **kw):
    return Empirical(be.asarray(samples), be.asarray(lw), **kw)


def test_discovered_and_exported():
    assert "mv_empirical" not in dist.FAILED_FAMILY_MODULES
    assert dist.Empirical is Empirical
    import polyro.distributions as pdist

    assert pdist.Empirical is Empirical


@pytest.mark.parametrize("event", EVENTS, ids=str)
@pytest.mark.parametrize("batch", BATCHES, ids=str)
def test_shapes(backend, batch, event):
    samples, lw = data(batch, event)
    d = make(backend, samples, lw)
    assert d.batch_shape == batch and d.event_shape == event
    assert d.sample_size == N_SAMPLES * math.prod(batch)
    assert repr(d.support) == ("real" if not event else "real_vector")
    assert d.has_enumerate_support and not d.has_rsample and not d.is_discrete
    for ss in [(), (4,), (2, 5)]:
        x = d.sample(backend.key(1), ss)
        assert tuple(x.shape) == ss + batch + event == d.shape(ss)
        assert tuple(d.log_prob(x).shape) == ss + batch
    for expand in (True, False):
        e = d.enumerate_support(expand=expand)
        assert tuple(e.shape) == (N_SAMPLES,) + batch + event
    np.testing.assert_array_equal(np_(backend, d.enumerate_support()),
                                  np.moveaxis(samples, len(batch), 0))
    assert tuple(d.mean.shape) == tuple(d.variance.shape) == batch + event
    with pytest.raises(NotImplementedError, match="reparameterized"):
        d.rsample(backend.key(0))


@pytest.mark.parametrize("event", EVENTS, ids=str)
@pytest.mark.parametrize("batch", BATCHES, ids=str)
def test_log_prob_against_oracle(backend, batch, event):
    """At every stored point (duplicates add their weights) and at an unstored point (-inf)."""
    samples, lw = data(batch, event, seed=1)
    assert len({tuple(np.ravel(r)) for r in samples.reshape((-1, N_SAMPLES) + event)[0]}) \
        < N_SAMPLES  # the data has duplicates
    d = make(backend, samples, lw)
    stored = np.moveaxis(samples, len(batch), 0)  # (N,) + batch + event
    unstored = np.full((1,) + batch + event, 0.5)
    values = np.concatenate([stored, unstored])
    got = np_(backend, d.log_prob(backend.asarray(values)))
    ref = oracle_log_prob(samples, lw, values, batch, event)
    assert np.isneginf(got[-1]).all() and np.isfinite(got[:-1]).all()
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    # a value without sample dims, and one event broadcast across the batch
    np.testing.assert_allclose(np_(backend, d.log_prob(backend.asarray(stored[0]))), ref[0],
                               rtol=1e-12, atol=1e-12)
    one = np.zeros(event)
    ref_one = oracle_log_prob(samples, lw, np.broadcast_to(one, batch + event), batch, event)
    np.testing.assert_allclose(np_(backend, d.log_prob(backend.asarray(one))), ref_one,
                               rtol=1e-12, atol=1e-12)


def test_duplicates_add_their_weights(backend):
    samples = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [1.0, 5.0]])
    w = np.array([0.1, 0.2, 0.3, 0.4])
    d = make(backend, samples, np.log(w) + 7.0)  # unnormalised log weights
    vals = backend.asarray(np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 5.0], [2.0, 1.0]]))
    got = np.exp(np_(backend, d.log_prob(vals)))
    np.testing.assert_allclose(got, [0.4, 0.2, 0.4, 0.0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("event", EVENTS, ids=str)
@pytest.mark.parametrize("batch", BATCHES, ids=str)
def test_mean_variance_against_numpy(backend, batch, event):
    rng = np.random.default_rng(2)
    samples = rng.normal(size=batch + (N_SAMPLES,) + event)
    lw = 3.0 * rng.normal(size=batch + (N_SAMPLES,))
    d = make(backend, samples, lw)
    mean, var = oracle_moments(samples, lw, batch)
    np.testing.assert_allclose(np_(backend, d.mean), mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np_(backend, d.variance), var, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np_(backend, d.stddev), np.sqrt(var), rtol=1e-12, atol=1e-12)


def _chi2_by_group(draws, samples, lw):
    """Chi-square p-value of ``draws`` (rows, shape ``(M,) + event``) against the normalised
    weights of the distinct stored rows of ``samples`` (``(N,) + event``)."""
    flat = samples.reshape(samples.shape[0], -1)
    uniq, inv = np.unique(flat, axis=0, return_inverse=True)
    w = np.exp(lw - logsumexp(lw))
    probs = np.bincount(inv.ravel(), weights=w, minlength=len(uniq))
    dflat = draws.reshape(draws.shape[0], -1)
    match = (dflat[:, None, :] == uniq[None, :, :]).all(-1)
    assert match.sum(1).min() == 1, "a draw is not a stored sample"
    obs = match.sum(0)
    exp = probs * draws.shape[0]
    assert exp.min() >= 5
    return float(st.chisquare(obs, exp).pvalue)


@pytest.mark.parametrize("event", EVENTS, ids=str)
def test_sampling_chi_square(backend, event):
    """20,000 draws (key 2024) per batch element of a (2,) batch against the normalised weights
    of the distinct stored values; each of the two tests fails falsely with probability 2e-5."""
    samples = np.array([0.0, 1.0, 2.0, 1.0, 3.0])
    lw = np.log(np.array([[0.1, 0.2, 0.3, 0.15, 0.25], [0.4, 0.05, 0.2, 0.05, 0.3]])) + 2.0
    if event:
        samples = np.stack([samples, -samples, samples ** 2], axis=-1)
    samples = np.stack([samples, samples + 10.0])  # distinct per batch element
    d = make(backend, samples, lw)
    x = np_(backend, d.sample(backend.key(2024), (N_DRAWS,)))
    assert x.shape == (N_DRAWS, 2) + event
    for b in range(2):
        p = _chi2_by_group(x[:, b], samples[b], lw[b])
        assert p > P_MIN, f"batch {b}: chi-square p = {p:.3g}"


def test_zero_weight_never_drawn(backend):
    d = make(backend, np.array([1.0, 2.0, 3.0]), np.array([0.0, -np.inf, 0.0]))
    x = np_(backend, d.sample(backend.key(3), (2000,)))
    assert set(np.unique(x)) == {1.0, 3.0}
    assert np.isneginf(np_(backend, d.log_prob(backend.asarray(2.0))))


def test_same_key_same_draws(backend):
    samples, lw = data((2,), (3,), n=50)
    samples = np.random.default_rng(4).normal(size=samples.shape)  # distinct rows
    d = make(backend, samples, lw)
    a = np_(backend, d.sample(backend.key(11), (100,)))
    b = np_(backend, d.sample(backend.key(11), (100,)))
    c = np_(backend, d.sample(backend.key(12), (100,)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_jit_sample_and_log_prob_equal_eager(backend):
    """Built and evaluated inside the engine's jit (the identity where it has none)."""
    samples, lw = data((2,), (3,), seed=5)
    values = backend.asarray(np.concatenate([np.moveaxis(samples, 1, 0),
                                             np.full((1, 2, 3), 0.5)]))

    def f(key, s, w):
        d = Empirical(s, w)
        return d.sample(key, (7,)), d.log_prob(values), d.mean, d.variance

    args = (backend.key(6), backend.asarray(samples), backend.asarray(lw))
    eager = [np_(backend, a) for a in f(*args)]
    jitted = [np_(backend, a) for a in backend.jit(f)(*args)]
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_integer_samples(backend):
    s = backend.asarray(np.array([0, 2, 2, 5]))
    d = Empirical(s, backend.asarray(np.zeros(4)))
    x = d.sample(backend.key(0), (10,))
    assert backend.xp.isdtype(x.dtype, "integral")
    np.testing.assert_allclose(np.exp(np_(backend, d.log_prob(backend.asarray(2.0)))), 0.5,
                               rtol=1e-12)
    np.testing.assert_allclose(np_(backend, d.mean), 2.25, rtol=1e-12)


def test_enumerated_log_prob_weighs_each_stored_sample_once(backend):
    samples = np.array([1.0, 2.0, 1.0])
    lw = np.array([0.3, -1.0, 2.0])
    d = make(backend, samples, lw)
    t = np_(backend, d.enumerated_log_prob(-2))
    assert t.shape == (3, 1)
    np.testing.assert_allclose(t[:, 0], lw - logsumexp(lw), rtol=1e-12, atol=1e-12)
    assert abs(np.exp(t).sum() - 1.0) < 1e-12


@pytest.mark.parametrize("samples_shape,lw_shape", [
    ((5,), (4,)),          # different numbers of samples
    ((5, 3), (3,)),        # the weights run along the event dim
    ((2, 5), (5,)),        # batch dims missing from log_weights
    ((5,), (5, 1)),        # log_weights with more dims than samples
    ((5,), ()),            # scalar log_weights: no sample dim
])
def test_mismatched_shapes_raise(backend, samples_shape, lw_shape):
    with pytest.raises(ValueError, match=r"Empirical: samples of shape") as e:
        Empirical(backend.asarray(np.zeros(samples_shape)), backend.asarray(np.zeros(lw_shape)))
    msg = str(e.value)
    assert str(samples_shape) in msg and str(lw_shape) in msg and "batch_shape + (num_samples,)" \
        in msg


def test_zero_samples_raise(backend):
    with pytest.raises(ValueError, match=r"Empirical: no samples .*\(2, 0, 3\).*at least one"):
        Empirical(backend.asarray(np.zeros((2, 0, 3))), backend.asarray(np.zeros((2, 0))))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_log_weights_raise(backend, bad):
    lw = np.array([[0.0, 1.0], [0.5, bad]])
    with pytest.raises(ValueError, match=r"Empirical: log_weights must be finite or -inf.*"
                                         r"log_weights\[1, 1\] = (nan|inf)"):
        make(backend, np.zeros((2, 2)), lw)
    make(backend, np.zeros((2, 2)), lw, validate_args=False)  # unvalidated: no check


def test_all_zero_weights_raise(backend):
    with pytest.raises(ValueError, match=r"Empirical: every log weight of batch element \(1,\)"):
        make(backend, np.zeros((2, 2)), np.array([[0.0, 1.0], [-np.inf, -np.inf]]))


def test_log_prob_value_outside_support(backend):
    d = make(backend, np.array([1.0, 2.0]), np.zeros(2))
    with pytest.raises(ValueError, match="Empirical.log_prob: value outside the support real"):
        d.log_prob(backend.asarray(np.array([1.0, np.nan])))
    d2 = make(backend, np.array([1.0, 2.0]), np.zeros(2), validate_args=False)
    assert np.isneginf(np_(backend, d2.log_prob(backend.asarray(np.nan))))


def test_in_a_model_under_seed_and_trace(backend):
    samples = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    lw = np.log(np.array([0.2, 0.5, 0.3]))
    obs = np.array([2.0, 3.0])

    def model():
        x = polyro.sample("x", Empirical(backend.asarray(samples), backend.asarray(lw)))
        polyro.sample("y", Empirical(backend.asarray(samples), backend.asarray(lw)),
                      obs=backend.asarray(obs))
        return x

    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    x = np_(backend, tr["x"]["value"])
    assert x.shape == (2,) and any(np.array_equal(x, r) for r in samples)
    ref = oracle_log_prob(samples, lw, x, (), (2,)) + np.log(0.5)
    np.testing.assert_allclose(float(np_(backend, tr.log_prob_sum())), ref, rtol=1e-12)
    x2 = np_(backend, handlers.seed(model, rng_seed=0)())
    np.testing.assert_array_equal(x, x2)


def test_enumerated_in_a_model_marginalises_exactly(backend):
    """``infer={"enumerate": "parallel"}`` sums over the stored samples, each weighed once (the
    duplicate 0.0 contributes 0.2 + 0.3, not twice its pooled 0.5): oracle by scipy."""
    from polyro.core.density import log_density

    samples = np.array([0.0, 1.0, 0.0])
    w = np.array([0.2, 0.5, 0.3])

    def model():
        x = polyro.sample("x", Empirical(backend.asarray(samples), backend.asarray(np.log(w))),
                          infer={"enumerate": "parallel"})
        polyro.sample("y", dist.Normal(x, 1.0), obs=backend.asarray(0.7))

    ref = np.log(np.sum(w * st.norm.pdf(0.7, samples, 1.0)))
    got = float(np_(backend, log_density(model, (), {}, {})[0]))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
