"""Plates: nested, fixed dims, subsampled (scaling), sequential, broadcasting, errors."""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import fnum, to_np
from scipy import stats

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.runtime import get_stack
from polyro.errors import ModelError


def test_nested_plates_allocate_dims_right_to_left(backend):
    def model():
        with polyro.plate("outer", 3):
            a = polyro.sample("a", dist.Normal(0.0, 1.0))
            with polyro.plate("inner", 2):
                b = polyro.sample("b", dist.Normal(0.0, 1.0))
        return a, b

    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    assert tuple(tr["a"]["value"].shape) == (3,)
    assert tuple(tr["b"]["value"].shape) == (2, 3)
    frames = tr["b"]["cond_indep_stack"]
    assert [(f.name, f.dim) for f in frames] == [("outer", -1), ("inner", -2)]


def test_fixed_dim_pads_batch_shape(backend):
    def model():
        with polyro.plate("p", 4, dim=-2):
            return polyro.sample("x", dist.Normal(0.0, 1.0))

    assert tuple(handlers.seed(model, rng_seed=0)().shape) == (4, 1)


def test_plate_broadcasts_existing_batch_dims(backend):
    loc = backend.asarray(np.zeros((1, 5)))

    def model():
        with polyro.plate("rows", 3, dim=-2):
            return polyro.sample("x", dist.Normal(loc, 1.0))

    assert tuple(handlers.seed(model, rng_seed=0)().shape) == (3, 5)


def test_plate_size_mismatch_error_names_site_plate_and_dims(backend):
    def model():
        with polyro.plate("N", 3):
            polyro.sample("x", dist.Normal(backend.asarray(np.zeros(4)), 1.0))

    with pytest.raises(ModelError, match=r"'x'.*batch_shape \(4,\).*plate 'N' has size 3"):
        handlers.seed(model, rng_seed=0)()


def test_subsample_scaling_of_log_density(backend):
    data = np.linspace(-1.0, 1.0, 10)
    idx = np.array([7, 2, 5])

    def model():
        with polyro.plate("n", 10, subsample=idx) as ind:
            polyro.sample("y", dist.Normal(0.25, 1.5), obs=backend.asarray(data)[ind])

    tr = handlers.trace(model).get_trace()
    expected = 10 / 3 * stats.norm(0.25, 1.5).logpdf(data[idx]).sum()
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), expected, rtol=1e-12)
    assert tr["y"]["scale"] == pytest.approx(10 / 3)


def test_nested_subsampling_scales_multiply(backend):
    def model():
        with polyro.plate("a", 4, subsample_size=2), polyro.plate("b", 6, subsample_size=3, dim=-2):
            polyro.sample("y", dist.Normal(0.0, 1.0), obs=backend.asarray(np.zeros((3, 2))))

    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), 2 * 2 * 6 * stats.norm.logpdf(0.0))


def test_random_subsample_indices_valid_and_seeded(backend):
    def model():
        with polyro.plate("n", 20, subsample_size=5) as idx:
            return idx

    i1 = to_np(handlers.seed(model, rng_seed=0)())
    i2 = to_np(handlers.seed(model, rng_seed=0)())
    i3 = to_np(handlers.seed(model, rng_seed=1)())
    assert i1.shape == (5,) and len(set(i1.tolist())) == 5
    assert ((i1 >= 0) & (i1 < 20)).all()
    np.testing.assert_array_equal(i1, i2)
    assert not np.array_equal(i1, i3)


def test_subsample_index_out_of_range():
    with pytest.raises(ModelError, match=r"plate 'n'.*index 12 at position 1.*size 10"):
        with polyro.plate("n", 10, subsample=np.array([3, 12])):
            pass


def test_subsample_size_out_of_range():
    with pytest.raises(ModelError, match=r"plate 'n'.*subsample_size=11"):
        polyro.plate("n", 10, subsample_size=11)


def test_sequential_plate(backend):
    data = np.array([0.1, -0.4, 1.3])

    def model():
        for i in polyro.plate("seq", 3):
            polyro.sample(f"y_{i}", dist.Normal(0.0, 1.0), obs=backend.asarray(data[i]))

    tr = handlers.trace(model).get_trace()
    assert tr.observation_nodes == ["y_0", "y_1", "y_2"]
    f = tr["y_2"]["cond_indep_stack"][0]
    assert f.name == "seq" and f.dim is None and f.counter == 2
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), stats.norm.logpdf(data).sum(), rtol=1e-12)
    assert get_stack() == ()


def test_sequential_plate_subsampled_scaling(backend):
    def model():
        for i in polyro.plate("seq", 8, subsample=np.array([1, 6])):
            polyro.sample(f"y_{i}", dist.Normal(0.0, 1.0), obs=0.0)

    tr = handlers.trace(model).get_trace()
    assert tr.observation_nodes == ["y_1", "y_6"]
    np.testing.assert_allclose(fnum(tr.log_prob_sum()), 8 / 2 * 2 * stats.norm.logpdf(0.0))


def test_sequential_plate_break_cleans_stack():
    for i in polyro.plate("seq", 5):
        if i == 1:
            break
    assert get_stack() == ()


def test_sequential_inside_vectorized(backend):
    def model():
        with polyro.plate("v", 4):
            for i in polyro.plate("s", 2):
                polyro.sample(f"x_{i}", dist.Normal(0.0, 1.0))

    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    assert tuple(tr["x_1"]["value"].shape) == (4,)


def test_plate_stack(backend):
    def model():
        with polyro.plate_stack("p", (2, 3)):
            return polyro.sample("x", dist.Normal(0.0, 1.0))

    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
    assert tuple(tr["x"]["value"].shape) == (2, 3)
    assert [f.name for f in tr["x"]["cond_indep_stack"]] == ["p_0", "p_1"]


def test_plate_dim_conflict_and_self_nesting():
    with pytest.raises(ModelError, match=r"dim=-1 is already used by the enclosing plate 'a'"):
        with polyro.plate("a", 2), polyro.plate("b", 3, dim=-1):
            pass
    with pytest.raises(ModelError, match="nested inside itself"):
        with polyro.plate("a", 2), polyro.plate("a", 2):
            pass
    with pytest.raises(ModelError, match="negative"):
        polyro.plate("a", 2, dim=1)
    with pytest.raises(ModelError, match="positive int"):
        polyro.plate("a", 0)


def test_observed_shape_mismatch_names_plates(backend):
    def model():
        with polyro.plate("N", 3):
            polyro.sample("y", dist.Normal(0.0, 1.0), obs=backend.asarray(np.zeros(4)))

    with pytest.raises(ModelError, match=r"'y'.*shape \(4,\).*\(3,\).*plates in effect: N"):
        model()


def test_plate_reused_object_twice(backend):
    p = polyro.plate("N", 3)

    def model():
        with p:
            a = polyro.sample("a", dist.Normal(0.0, 1.0))
        with p:
            b = polyro.sample("b", dist.Normal(0.0, 1.0))
        return a, b

    a, b = handlers.seed(model, rng_seed=0)()
    assert tuple(a.shape) == tuple(b.shape) == (3,)
