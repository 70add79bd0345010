"""Constraints: check() on good and bad values, event_dim, feasible_like, repr (all engines)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polyro.core.distributions import constraints as C
from polyro.core.distributions.util import host_check

INF, NAN = math.inf, math.nan


def _corr(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n + 2))
    s = a @ a.T
    d = np.sqrt(np.diag(s))
    return s / d[:, None] / d[None, :]


def _pd(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


# (id, constraint factory, values, expected check result); the last axis/axes of values are
# the event for event constraints. Expected results are written out by hand.
CASES = [
    ("real", lambda: C.real, [0.0, -1e300, INF, -INF, NAN], [1, 1, 0, 0, 0]),
    ("positive", lambda: C.positive, [1e-300, 0.0, -1.0, INF, NAN], [1, 0, 0, 0, 0]),
    ("nonnegative", lambda: C.nonnegative, [0.0, 2.0, -1e-12, INF], [1, 1, 0, 0]),
    ("greater_than", lambda: C.greater_than(2.0), [2.5, 2.0, 1.0], [1, 0, 0]),
    ("greater_than_eq", lambda: C.greater_than_eq(2.0), [2.5, 2.0, 1.0], [1, 1, 0]),
    ("less_than", lambda: C.less_than(-1.0), [-2.0, -1.0, 0.0, -INF], [1, 0, 0, 0]),
    ("interval", lambda: C.interval(-1.0, 2.0), [-1.0, 0.0, 2.0, 2.1, NAN], [1, 1, 1, 0, 0]),
    ("open_interval", lambda: C.open_interval(-1.0, 2.0), [-1.0, 0.0, 2.0], [0, 1, 0]),
    ("half_open_interval", lambda: C.half_open_interval(0.0, 1.0), [0.0, 0.5, 1.0],
     [1, 1, 0]),
    ("unit_interval", lambda: C.unit_interval, [0.0, 0.3, 1.0, 1.5, -0.1], [1, 1, 1, 0, 0]),
    ("circular", lambda: C.circular, [-3.0, 3.2, 0.0], [1, 0, 1]),
    ("boolean", lambda: C.boolean, [0.0, 1.0, 0.5, 2.0], [1, 1, 0, 0]),
    ("integer", lambda: C.integer, [-3.0, 2.0, 2.5, INF], [1, 1, 0, 0]),
    ("nonnegative_integer", lambda: C.nonnegative_integer, [0.0, 3.0, -1.0, 1.5], [1, 1, 0, 0]),
    ("positive_integer", lambda: C.positive_integer, [0.0, 3.0, 1.0], [0, 1, 1]),
    ("integer_interval", lambda: C.integer_interval(0, 3), [0.0, 3.0, 4.0, 1.5, -1.0],
     [1, 1, 0, 0, 0]),
    ("simplex", lambda: C.simplex, [[0.2, 0.8], [0.5, 0.6], [-0.1, 1.1], [1.0, 0.0]],
     [1, 0, 0, 1]),
    ("ordered_vector", lambda: C.ordered_vector, [[-1.0, 0.0, 2.0], [0.0, 0.0, 1.0],
                                                  [2.0, 1.0, 3.0]], [1, 0, 0]),
    ("positive_ordered_vector", lambda: C.positive_ordered_vector,
     [[0.5, 1.0, 2.0], [-1.0, 1.0, 2.0]], [1, 0]),
    ("real_vector", lambda: C.real_vector, [[1.0, 2.0], [1.0, NAN]], [1, 0]),
    ("independent_positive", lambda: C.independent(C.positive, 1), [[1.0, 2.0], [1.0, -2.0]],
     [1, 0]),
    ("multinomial", lambda: C.multinomial(4), [[1.0, 3.0], [2.0, 1.0], [5.0, -1.0]], [1, 0, 0]),
    ("sphere", lambda: C.sphere, [[0.6, 0.8], [1.0, 1.0]], [1, 0]),
    ("l1_ball", lambda: C.l1_ball, [[0.3, -0.5], [0.6, -0.6]], [1, 0]),
    ("lower_cholesky", lambda: C.lower_cholesky,
     [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 0.1], [2.0, 3.0]], [[1.0, 0.0], [2.0, -3.0]]], [1, 0, 0]),
    ("corr_cholesky", lambda: C.corr_cholesky,
     [[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.6, 0.7]]], [1, 0]),
    ("positive_definite", lambda: C.positive_definite,
     [_pd(3, 0).tolist(), [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
      [[2.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]], [1, 0, 0]),
    ("positive_semidefinite", lambda: C.positive_semidefinite,
     [[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]], [1, 0]),
    ("corr_matrix", lambda: C.corr_matrix,
     [_corr(3, 1).tolist(), (2 * _corr(3, 2)).tolist()], [1, 0]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_check_good_and_bad(backend, case):
    _, make, values, expected = case
    c = make()
    x = backend.asarray(np.array(values, dtype=np.float64))
    got = np.asarray(backend.to_numpy(c.check(x)))
    assert got.shape == (len(values),)
    np.testing.assert_array_equal(got, np.array(expected, dtype=bool))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_feasible_like_is_inside(backend, case):
    _, make, values, _ = case
    c = make()
    proto = backend.asarray(np.zeros((2,) + np.array(values).shape[1:]))
    f = c.feasible_like(proto)
    assert tuple(f.shape) == tuple(proto.shape)
    assert np.all(backend.to_numpy(c.check(f)))


def test_event_dims_and_discreteness():
    assert C.real.event_dim == 0 and C.simplex.event_dim == 1
    assert C.lower_cholesky.event_dim == 2 and C.corr_matrix.event_dim == 2
    assert C.independent(C.simplex, 2).event_dim == 3
    assert C.independent(C.independent(C.real, 1), 1).event_dim == 2
    assert C.integer.is_discrete and C.boolean.is_discrete and C.multinomial(3).is_discrete
    assert C.independent(C.nonnegative_integer, 1).is_discrete
    assert not C.positive.is_discrete and not C.simplex.is_discrete


def test_batched_bounds(backend):
    c = C.interval(backend.asarray(np.array([0.0, 1.0])), backend.asarray(np.array([1.0, 5.0])))
    got = backend.to_numpy(c.check(backend.asarray(np.array([[0.5, 0.5], [0.5, 2.0]]))))
    np.testing.assert_array_equal(got, [[True, False], [True, True]])


def test_dependent_cannot_be_checked():
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="dependent"):
        C.dependent.check(1.0)


def test_reprs():
    assert repr(C.positive) == "positive"
    assert repr(C.real_vector) == "real_vector"
    assert repr(C.interval(0.0, 2.0)) == "interval(lower_bound=0.0, upper_bound=2.0)"
    assert repr(C.independent(C.positive, 1)) == "independent(positive, 1)"
    assert repr(C.nonnegative_integer) == "nonnegative_integer"


def test_int_and_bool_dtypes(backend):
    xp = backend.xp
    ints = xp.asarray(np.array([0, 2, 5]))
    np.testing.assert_array_equal(backend.to_numpy(C.nonnegative_integer.check(ints)), [1, 1, 1])
    np.testing.assert_array_equal(backend.to_numpy(C.integer_interval(0, 3).check(ints)),
                                  [1, 1, 0])
    bools = xp.asarray(np.array([True, False]))
    np.testing.assert_array_equal(backend.to_numpy(C.boolean.check(bools)), [1, 1])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_host_check_gives_the_hand_written_answer(backend, case):
    """Validation checks concrete values in numpy (``host_check``): same answers as above."""
    _, make, values, expected = case
    got = host_check(make(), backend.asarray(np.array(values, dtype=np.float64)))
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, np.array(expected, dtype=bool))


def test_host_check_with_engine_array_bounds(backend):
    lo, hi = backend.asarray(np.array([0.0, 1.0])), backend.asarray(np.array([1.0, 5.0]))
    for c in (C.interval(lo, hi), C.independent(C.interval(lo, hi), 1)):
        host = c.on_host()
        assert host is not None and host is not c
        got = host_check(c, backend.asarray(np.array([[0.5, 0.5], [0.5, 2.0]])))
        want = [[True, False], [True, True]] if c.event_dim == 0 else [False, True]
        np.testing.assert_array_equal(got, want)
    assert C.interval(lo, hi).lower_bound is lo  # the original keeps its engine arrays


def test_host_check_defers_for_traced_values(backend):
    """Traced values (under the engine's jit) have no host value: ``host_check`` returns None
    and validation falls back to the engine (where it is skipped). Without compilation
    (numpy, torch) the value stays concrete and is checked on the host."""
    seen = []

    def f(x, hi):
        seen.append((host_check(C.positive, x), C.interval(0.0, hi).on_host()))
        return x

    backend.jit(f)(backend.asarray(np.array([1.0, -1.0])), backend.asarray(np.array(2.0)))
    checked, host = seen[0]
    if backend.SUPPORTS_JIT:
        assert checked is None and host is None
    else:
        np.testing.assert_array_equal(checked, [True, False])
        assert host is not None
