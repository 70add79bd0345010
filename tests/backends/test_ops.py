"""``polyro.ops``: engine-neutral math dispatched to the active backend, checked against numpy
float64 on every backend; conversion of numpy data at the boundary; mixed-engine errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as st

import polyro
from polyro import ops
from polyro.errors import MixedBackendError
from polyro.testing import finite_difference_grad

RNG = np.random.default_rng(3)
X = RNG.uniform(0.1, 0.9, (3, 4))
Y = RNG.uniform(0.1, 2.0, (3, 4))

UNARY = {
    "abs": np.abs, "acos": np.arccos, "acosh": np.arccosh, "asin": np.arcsin,
    "asinh": np.arcsinh, "atan": np.arctan, "atanh": np.arctanh, "ceil": np.ceil, "cos": np.cos,
    "cosh": np.cosh, "exp": np.exp, "expm1": np.expm1, "floor": np.floor, "log": np.log,
    "log1p": np.log1p, "log2": np.log2, "log10": np.log10, "negative": np.negative,
    "positive": np.positive, "round": np.round, "sign": np.sign, "sin": np.sin, "sinh": np.sinh,
    "square": np.square, "sqrt": np.sqrt, "tan": np.tan, "tanh": np.tanh, "trunc": np.trunc,
    "isfinite": np.isfinite, "isnan": np.isnan, "isinf": np.isinf, "signbit": np.signbit,
}
BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "pow": np.power, "atan2": np.arctan2, "hypot": np.hypot, "logaddexp": np.logaddexp,
    "maximum": np.maximum, "minimum": np.minimum, "copysign": np.copysign,
    "remainder": np.remainder, "floor_divide": np.floor_divide, "equal": np.equal,
    "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
    "greater": np.greater, "greater_equal": np.greater_equal,
}


def _np(be, x):
    return np.asarray(be.to_numpy(x))


def test_every_array_api_name_is_provided():
    for name in ops.ARRAY_API:
        assert callable(getattr(ops, name)), name
    assert len(ops.ARRAY_API) >= 120


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(backend, name):
    inp = 1 + X if name == "acosh" else X
    got = getattr(ops, name)(backend.asarray(inp))
    assert backend.is_array(got)
    np.testing.assert_allclose(_np(backend, got), UNARY[name](inp), rtol=1e-13)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_arrays_numpy_data_and_scalars(backend, name):
    got = getattr(ops, name)(backend.asarray(X), backend.asarray(Y))
    np.testing.assert_allclose(_np(backend, got), BINARY[name](X, Y), rtol=1e-14)
    mixed = getattr(ops, name)(backend.asarray(X), Y)  # numpy data converted at the boundary
    assert backend.is_array(mixed)
    np.testing.assert_allclose(_np(backend, mixed), BINARY[name](X, Y), rtol=1e-14)
    scal = getattr(ops, name)(backend.asarray(X), 0.5)
    np.testing.assert_allclose(_np(backend, scal), BINARY[name](X, 0.5), rtol=1e-14)


def test_reductions_and_statistics(backend):
    x = backend.asarray(X)
    for name, f in [("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("max", np.max),
                    ("min", np.min), ("std", np.std), ("var", np.var)]:
        np.testing.assert_allclose(_np(backend, getattr(ops, name)(x)), f(X), rtol=1e-13)
        np.testing.assert_allclose(_np(backend, getattr(ops, name)(x, axis=1)), f(X, axis=1),
                                   rtol=1e-13)
    np.testing.assert_array_equal(_np(backend, ops.argmax(x, axis=0)), X.argmax(0))
    np.testing.assert_array_equal(_np(backend, ops.argmin(x, axis=1)), X.argmin(1))
    np.testing.assert_allclose(_np(backend, ops.cumulative_sum(x, axis=1)), X.cumsum(1))
    assert bool(_np(backend, ops.all(x > 0))) and not bool(_np(backend, ops.any(x > 1)))
    np.testing.assert_allclose(_np(backend, ops.sort(x, axis=1)), np.sort(X, 1))
    np.testing.assert_array_equal(_np(backend, ops.argsort(x, axis=1)), np.argsort(X, 1))


def test_manipulation(backend):
    x = backend.asarray(X)
    assert _np(backend, ops.reshape(x, (4, 3))).shape == (4, 3)
    np.testing.assert_array_equal(_np(backend, ops.stack([x, X], axis=1)), np.stack([X, X], 1))
    np.testing.assert_array_equal(_np(backend, ops.concat([x, X], axis=0)), np.concatenate([X, X]))
    assert _np(backend, ops.expand_dims(x, axis=0)).shape == (1, 3, 4)
    assert _np(backend, ops.squeeze(ops.expand_dims(x, axis=0), axis=0)).shape == (3, 4)
    np.testing.assert_array_equal(_np(backend, ops.flip(x, axis=1)), X[:, ::-1])
    np.testing.assert_array_equal(_np(backend, ops.permute_dims(x, (1, 0))), X.T)
    np.testing.assert_array_equal(_np(backend, ops.moveaxis(x, 0, 1)), X.T)
    np.testing.assert_array_equal(_np(backend, ops.broadcast_to(x, (2, 3, 4))),
                                  np.broadcast_to(X, (2, 3, 4)))
    np.testing.assert_array_equal(_np(backend, ops.roll(x, 1, axis=1)), np.roll(X, 1, 1))
    np.testing.assert_array_equal(_np(backend, ops.tile(x, (2, 1))), np.tile(X, (2, 1)))
    np.testing.assert_array_equal(_np(backend, ops.repeat(x, 2, axis=0)), np.repeat(X, 2, 0))
    np.testing.assert_array_equal(_np(backend, ops.tril(x)), np.tril(X))
    np.testing.assert_array_equal(_np(backend, ops.triu(x, k=1)), np.triu(X, 1))
    np.testing.assert_array_equal(_np(backend, ops.matrix_transpose(x)), X.T)
    a, b = ops.broadcast_arrays(x, backend.asarray(np.ones((1, 4))))
    assert _np(backend, b).shape == (3, 4)
    u, v = ops.meshgrid(backend.asarray([1.0, 2.0]), backend.asarray([3.0, 4.0, 5.0]), indexing="ij")
    assert _np(backend, u).shape == (2, 3)
    np.testing.assert_array_equal(_np(backend, ops.take(x, backend.asarray([2, 0]), axis=0)),
                                  X[[2, 0]])


def test_take_with_indices_of_any_shape(backend):
    """numpy's ``take`` semantics on every engine (torch's array-API take wants a vector): an
    enumerated index of shape (K, 1) picks a (K, 1) block, on any axis."""
    idx = np.array([[2], [0]])
    x = backend.asarray(X)
    for axis in (0, 1, -1):
        got = _np(backend, ops.take(x, backend.asarray(idx), axis=axis))
        np.testing.assert_array_equal(got, np.take(X, idx, axis=axis))
    v = backend.asarray(X[:, 0])
    np.testing.assert_array_equal(_np(backend, ops.take(v, backend.asarray(idx))), X[:, 0][idx])
    with pytest.raises(ValueError, match="pass axis"):
        ops.take(x, backend.asarray(idx))


def test_linear_algebra_and_where(backend):
    x, y = backend.asarray(X), backend.asarray(Y)
    np.testing.assert_allclose(_np(backend, ops.matmul(x, ops.matrix_transpose(y))), X @ Y.T,
                               rtol=1e-14)
    np.testing.assert_allclose(_np(backend, ops.tensordot(x, y, axes=2)), np.sum(X * Y),
                               rtol=1e-14)
    np.testing.assert_allclose(_np(backend, ops.vecdot(x, y)), np.sum(X * Y, -1), rtol=1e-14)
    np.testing.assert_array_equal(_np(backend, ops.where(x > 0.5, x, 0.0)), np.where(X > 0.5, X, 0))
    np.testing.assert_array_equal(_np(backend, ops.clip(x, 0.2, 0.6)), np.clip(X, 0.2, 0.6))
    np.testing.assert_array_equal(_np(backend, ops.searchsorted(backend.asarray([1.0, 2.0, 3.0]),
                                                                backend.asarray([2.5]))), [2])


def test_creation_on_the_active_backend(backend):
    for arr in (ops.zeros((2, 3)), ops.ones(2), ops.eye(3), ops.full((2,), 1.5), ops.empty(2),
                ops.linspace(0.0, 1.0, 5), ops.arange(0.0, 2.0, 0.5), ops.asarray([1.0])):
        assert backend.is_array(arr)
        assert _np(backend, arr).dtype == np.float64
    np.testing.assert_array_equal(_np(backend, ops.eye(2, 3, k=1)), np.eye(2, 3, k=1))
    np.testing.assert_array_equal(_np(backend, ops.arange(4)), np.arange(4))
    assert _np(backend, ops.arange(4)).dtype.kind == "i"
    assert _np(backend, ops.zeros(2, dtype="int32")).dtype == np.int32
    z = ops.zeros_like(backend.asarray(X))
    assert backend.is_array(z) and _np(backend, z).shape == X.shape
    np.testing.assert_allclose(_np(backend, ops.full((2,), np.float64(2.5))), [2.5, 2.5])


def test_python_only_inputs_use_the_active_backend(backend):
    out = ops.exp(1.0)
    assert backend.is_array(out) or np.ndim(out) == 0
    np.testing.assert_allclose(_np(backend, out), np.e)
    assert backend.is_array(ops.stack([1.0, 2.0]))
    assert backend.is_array(ops.exp(np.array([0.0])))  # numpy data converted at the boundary


def test_special_and_linalg_forwarders(backend):
    np.testing.assert_allclose(_np(backend, ops.logsumexp(X, axis=1)), sc.logsumexp(X, axis=1),
                               rtol=1e-13)
    np.testing.assert_allclose(_np(backend, ops.lgamma(backend.asarray(Y))), sc.gammaln(Y),
                               rtol=1e-13)
    np.testing.assert_allclose(_np(backend, ops.log_softmax(X)), sc.log_softmax(X, axis=-1),
                               rtol=1e-13)
    a = X @ X.T + np.eye(3)
    np.testing.assert_allclose(_np(backend, ops.cholesky(backend.asarray(a))),
                               np.linalg.cholesky(a), rtol=1e-13)
    np.testing.assert_allclose(_np(backend, ops.index_add(backend.asarray(np.zeros(2)), 1, 2.0)),
                               [0.0, 2.0])


def test_constants_and_dtypes_follow_the_active_backend(backend):
    assert ops.pi == pytest.approx(np.pi) and ops.inf == np.inf
    assert ops.float64 == backend.xp.float64
    assert ops.xp() is backend.xp
    assert ops.float_dtype() == backend.float_dtype()
    with pytest.raises(AttributeError, match="no_such_function"):
        ops.no_such_function  # noqa: B018


def _model_log_density(y, loc, scale):
    """A tiny model written once with polyro.ops."""
    z = ops.divide(ops.subtract(y, loc), scale)
    return ops.sum(-0.5 * z * z - ops.log(scale) - 0.5 * ops.log(ops.asarray(2 * np.pi)))


def test_one_model_runs_unchanged_on_every_engine(backend):
    y = RNG.normal(size=5)
    got = _model_log_density(y, backend.asarray(0.3), backend.asarray(1.7))
    assert backend.is_array(got)
    np.testing.assert_allclose(_np(backend, got), st.norm(0.3, 1.7).logpdf(y).sum(), rtol=1e-13)


def test_foreign_engine_arrays_are_refused():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    with polyro.backend("jax"):
        with pytest.raises(MixedBackendError, match="torch"):
            ops.exp(torch.ones(2))
        with pytest.raises(MixedBackendError):
            ops.add(jnp.ones(2), torch.ones(2))
        with pytest.raises(MixedBackendError):
            ops.stack([jnp.ones(2), torch.ones(2)])
    with polyro.backend("torch"):
        with pytest.raises(MixedBackendError, match="jax"):
            ops.logsumexp(jnp.ones(2))


# --- ops.scan: pure control flow, traced once on JAX -----------------------------------------
def _brute_hmm(log_init, log_trans, emit):
    """log p(emissions) of a K-state HMM by summing over every path (the oracle)."""
    import itertools
    T, K = emit.shape
    terms = [log_init[p[0]] + emit[0, p[0]]
             + sum(log_trans[p[t - 1], p[t]] + emit[t, p[t]] for t in range(1, T))
             for p in itertools.product(range(K), repeat=T)]
    return sc.logsumexp(terms)


HMM_INIT = np.log([0.6, 0.3, 0.1])
HMM_EMIT = RNG.normal(size=(5, 3))
HMM_TRANS = RNG.uniform(0.1, 1.0, (3, 3))


def _forward(log_trans):
    """The forward algorithm written once with ops.scan (data: numpy, converted at the call)."""
    def step(g, e):
        g = ops.logsumexp(g[:, None] + log_trans, axis=0) + e
        return g, ops.max(g)
    gamma, peaks = ops.scan(step, HMM_INIT + HMM_EMIT[0], HMM_EMIT[1:])
    return ops.logsumexp(gamma, axis=0), peaks


def test_scan_forward_algorithm_against_brute_force(backend):
    """An HMM marginal by ops.scan equals the sum over all 3^5 paths; ys are stacked per step;
    ``reverse`` and tuple carries behave as ``lax.scan``."""
    log_trans = np.log(HMM_TRANS / HMM_TRANS.sum(1, keepdims=True))
    got, peaks = _forward(backend.asarray(log_trans))
    assert backend.is_array(got)
    np.testing.assert_allclose(_np(backend, got), _brute_hmm(HMM_INIT, log_trans, HMM_EMIT),
                               rtol=1e-12)
    assert _np(backend, peaks).shape == (4,)
    (total, count), ys = ops.scan(lambda c, x: ((c[0] + x, c[1] + 1.0), c[0]), (0.0, 0.0),
                                  np.array([1.0, 2.0, 3.0]), reverse=True)
    assert (float(_np(backend, total)), float(_np(backend, count))) == (6.0, 3.0)
    assert _np(backend, ys).tolist() == [5.0, 3.0, 0.0]  # ys in input order, as lax.scan
    _, ys = ops.scan(lambda c, _: (c * 2.0, c), backend.asarray(1.0), None, length=3)
    assert _np(backend, ys).tolist() == [1.0, 2.0, 4.0]


def test_scan_gradient_against_finite_differences(grad_backend):
    """Gradients flow through ops.scan (torch: the loop; JAX: lax.scan, also under jit)."""
    be = grad_backend
    raw = np.log(HMM_TRANS)

    def oracle(r):
        lt = r - sc.logsumexp(r, axis=1, keepdims=True)
        return _brute_hmm(HMM_INIT, lt, HMM_EMIT)

    def loss(r):
        return _forward(r - ops.logsumexp(r, axis=1, keepdims=True))[0]

    want = finite_difference_grad(oracle, raw)
    for fn in (loss, be.jit(loss)):
        g = be.grad(fn)(be.asarray(raw))
        np.testing.assert_allclose(_np(be, g), want, rtol=1e-6, atol=1e-8)


def test_scan_refuses_model_sites(backend):
    """A sample statement inside the traced body would leak its value: a clear error instead."""
    import polyro.distributions as dist
    from polyro.errors import ModelError

    def body(c, x):
        return c + polyro.sample("z", dist.Normal(x, 1.0)), None

    with pytest.raises(ModelError, match="'sample' statement at site 'z'.*Python loop"):
        ops.scan(body, 0.0, np.zeros(3))
