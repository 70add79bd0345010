"""jit, while_loop, fori_loop, cond, scan, associative_scan, vmap and index updates with JAX's semantics on every
backend (eager), and the same programs under ``jax.jit``. Oracles: plain Python/numpy loops."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest


class Carry(NamedTuple):
    i: object
    total: object


def _np(be, x):
    return np.asarray(be.to_numpy(x))


# programs written once against the protocol ---------------------------------------------------
def prog_while(be, limit):
    def cond_fn(c):
        return c.total < limit

    def body(c):
        return Carry(c.i + 1, c.total + c.i + 1)

    return be.while_loop(cond_fn, body, Carry(be.asarray(0), be.asarray(0.0)))


def prog_fori(be, x):
    return be.fori_loop(0, 5, lambda i, acc: acc * x + i, be.asarray(1.0))


def prog_cond(be, x):
    return be.cond(x.sum() > 0, lambda v, s: {"out": v * s}, lambda v, s: {"out": -v * s}, x, 2.0)


def prog_scan(be, xs):
    def step(carry, x):
        new = carry + x["a"] * x["b"]
        return new, {"cum": new, "pair": (x["a"], carry)}

    return be.scan(step, be.asarray(0.0), xs)


def _oracle_scan(a, b):
    carry, cum, prev = 0.0, [], []
    for ai, bi in zip(a, b, strict=True):
        prev.append(carry)
        carry = carry + ai * bi
        cum.append(carry)
    return carry, np.array(cum), np.array(prev)


def test_while_loop_pytree_carry(backend):
    out = prog_while(backend, 10.0)
    assert isinstance(out, Carry)
    assert int(_np(backend, out.i)) == 4 and float(_np(backend, out.total)) == 10.0


def test_fori_loop(backend):
    got = float(_np(backend, prog_fori(backend, backend.asarray(2.0))))
    acc = 1.0
    for i in range(5):
        acc = acc * 2.0 + i
    assert got == acc


def test_cond_both_branches_and_operands(backend):
    pos = _np(backend, prog_cond(backend, backend.asarray([1.0, 2.0]))["out"])
    neg = _np(backend, prog_cond(backend, backend.asarray([-1.0, -2.0]))["out"])
    np.testing.assert_array_equal(pos, [2.0, 4.0])
    np.testing.assert_array_equal(neg, [2.0, 4.0])
    assert _np(backend, backend.cond(False, lambda: backend.asarray(1), lambda: backend.asarray(2))) == 2


def test_cond_rejects_non_scalar_predicate(backend):
    with pytest.raises(TypeError):
        backend.cond(backend.asarray([True, False]), lambda: 1.0, lambda: 0.0)


def test_scan_pytrees(backend):
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, -1.0, 2.0, 1.0])
    carry, ys = prog_scan(backend, {"a": backend.asarray(a), "b": backend.asarray(b)})
    ec, ecum, eprev = _oracle_scan(a, b)
    assert float(_np(backend, carry)) == ec
    np.testing.assert_array_equal(_np(backend, ys["cum"]), ecum)
    np.testing.assert_array_equal(_np(backend, ys["pair"][0]), a)
    np.testing.assert_array_equal(_np(backend, ys["pair"][1]), eprev)


def test_scan_length_reverse_none_and_empty(backend):
    carry, ys = backend.scan(lambda c, _: (c * 2.0, c), backend.asarray(1.0), None, length=4)
    assert float(_np(backend, carry)) == 16.0
    np.testing.assert_array_equal(_np(backend, ys), [1.0, 2.0, 4.0, 8.0])
    carry, ys = backend.scan(lambda c, x: (c + x, c), backend.asarray(0.0),
                             backend.asarray([1.0, 2.0, 3.0]), reverse=True)
    np.testing.assert_array_equal(_np(backend, ys), [5.0, 3.0, 0.0])
    carry, ys = backend.scan(lambda c, x: (c + 1.0, None), backend.asarray(0.0),
                             backend.asarray(np.zeros((3, 2))))
    assert ys is None and float(_np(backend, carry)) == 3.0
    carry, ys = backend.scan(lambda c, x: (c, x * 2.0), backend.asarray(7.0),
                             backend.asarray(np.zeros((0, 3))))
    assert float(_np(backend, carry)) == 7.0 and _np(backend, ys).shape == (0, 3)


def test_scan_step_count_mismatch(backend):
    with pytest.raises((ValueError, TypeError)):
        backend.scan(lambda c, x: (c, x), 0.0, {"a": backend.asarray(np.zeros(3)),
                                                "b": backend.asarray(np.zeros(4))})


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_associative_scan_matrix_products(backend, n):
    """Inclusive scan of a non-commutative associative op (2x2 matrix products, ``earlier`` on the
    left) over a pytree, against the sequential numpy product; odd and even lengths."""
    rng = np.random.default_rng(n)
    mats = rng.normal(size=(n, 2, 2))
    shifts = rng.normal(size=(n, 2))

    def fn(a, b):   # affine maps x -> x @ M + s composed: first a, then b
        (Ma, sa), (Mb, sb) = a, b
        return Ma @ Mb, (sa[..., None, :] @ Mb)[..., 0, :] + sb

    M, sh = backend.associative_scan(fn, (backend.asarray(mats), backend.asarray(shifts)))
    want_M, want_s = [mats[0]], [shifts[0]]
    for t in range(1, n):
        want_M.append(want_M[-1] @ mats[t])
        want_s.append(want_s[-1] @ mats[t] + shifts[t])
    np.testing.assert_allclose(_np(backend, M), np.stack(want_M), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_np(backend, sh), np.stack(want_s), rtol=1e-12, atol=1e-12)


def test_associative_scan_sum_and_size_mismatch(backend):
    x = np.arange(1.0, 8.0)
    got = backend.associative_scan(lambda a, b: {"x": a["x"] + b["x"]}, {"x": backend.asarray(x)})
    np.testing.assert_array_equal(_np(backend, got["x"]), np.cumsum(x))
    with pytest.raises(ValueError):
        backend.associative_scan(lambda a, b: (a[0] + b[0], a[1] + b[1]),
                                 (backend.asarray(np.zeros(3)), backend.asarray(np.zeros(4))))


def test_jit_static_argnums_and_decorator(backend):
    def f(x, n):
        out = x
        for _ in range(n):  # n must be static under jax.jit
            out = out * x
        return out

    g = backend.jit(f, static_argnums=1)
    assert float(_np(backend, g(backend.asarray(2.0), 3))) == 16.0

    @backend.jit
    def h(x):
        return x + 1.0

    assert float(_np(backend, h(backend.asarray(1.0)))) == 2.0
    k = backend.jit(static_argnums=(1,))(f)
    assert float(_np(backend, k(backend.asarray(3.0), 1))) == 9.0


def test_vmap_in_axes_out_axes_and_pytrees(backend):
    x = np.arange(6.0).reshape(3, 2)
    y = np.array([10.0, 20.0])

    def f(a, b):
        return {"sum": (a * b).sum(), "vec": a + b}

    out = backend.vmap(f, in_axes=(0, None))(backend.asarray(x), backend.asarray(y))
    np.testing.assert_array_equal(_np(backend, out["sum"]), (x * y).sum(1))
    np.testing.assert_array_equal(_np(backend, out["vec"]), x + y)
    # mapped over axis 1, output stacked along axis 1
    out2 = backend.vmap(lambda a: a * 2.0, in_axes=1, out_axes=1)(backend.asarray(x.T))
    np.testing.assert_array_equal(_np(backend, out2), 2 * x.T)
    # dict argument with a per-leaf spec
    out3 = backend.vmap(lambda d: d["u"] - d["v"], in_axes=({"u": 0, "v": None},))(
        {"u": backend.asarray(x), "v": backend.asarray(y)})
    np.testing.assert_array_equal(_np(backend, out3), x - y)
    # nested vmap: an outer product
    outer = backend.vmap(backend.vmap(lambda a, b: a * b, in_axes=(None, 0)), in_axes=(0, None))
    np.testing.assert_array_equal(_np(backend, outer(backend.asarray(y), backend.asarray(y))),
                                  np.outer(y, y))


def test_vmap_size_mismatch_raises(backend):
    with pytest.raises(ValueError):
        backend.vmap(lambda a, b: a + b)(backend.asarray(np.ones(3)), backend.asarray(np.ones(4)))


def test_index_update_and_add(backend):
    x = backend.asarray(np.zeros(5))
    y = backend.index_update(x, 2, 7.0)
    np.testing.assert_array_equal(_np(backend, y), [0, 0, 7, 0, 0])
    np.testing.assert_array_equal(_np(backend, x), np.zeros(5))  # unchanged
    z = backend.index_add(x, backend.asarray(np.array([1, 1, 4])), backend.asarray([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(_np(backend, z), [0, 3, 0, 0, 3])
    m = backend.asarray(np.zeros((2, 3)))
    np.testing.assert_array_equal(_np(backend, backend.index_update(m, (slice(None), 1), 5.0)),
                                  [[0, 5, 0], [0, 5, 0]])
    np.testing.assert_array_equal(_np(backend, backend.index_add(m, (1, slice(0, 2)), 1.0)),
                                  [[0, 0, 0], [1, 1, 0]])


def test_index_update_differentiable(grad_backend):
    be = grad_backend
    g = be.grad(lambda v: (be.index_update(v, 0, v[1] * 3.0) ** 2).sum())(be.asarray([1.0, 2.0]))
    # f = (3 v1)^2 + v1^2 -> df/dv0 = 0, df/dv1 = 20 v1
    np.testing.assert_allclose(_np(be, g), [0.0, 40.0])
    g2 = be.grad(lambda v: be.index_add(v, be.asarray(np.array([0, 0])), v[1]).sum())(
        be.asarray([1.0, 2.0]))
    np.testing.assert_allclose(_np(be, g2), [1.0, 3.0])


def test_cond_with_batched_predicate_under_vmap(grad_backend):
    be = grad_backend  # the engines with a vectorized vmap
    f = be.vmap(lambda v: be.cond(v > 0, lambda u: u * 10.0, lambda u: -u, v))
    np.testing.assert_array_equal(_np(be, f(be.asarray([-1.0, 2.0]))), [1.0, 20.0])


def test_programs_under_jax_jit():
    jax = pytest.importorskip("jax")
    import polyro
    from polyro import backends

    polyro.set_default_dtype("float64")
    be = backends.get("jax")
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 0.5, -1.0])
    with polyro.backend("jax"):
        out = jax.jit(lambda lim: prog_while(be, lim))(be.asarray(10.0))
        assert int(out.i) == 4
        assert float(jax.jit(lambda x: prog_fori(be, x))(be.asarray(2.0))) == 58.0  # 1,2,5,12,27,58
        c = jax.jit(lambda x: prog_cond(be, x))(be.asarray([-1.0, -2.0]))
        np.testing.assert_array_equal(np.asarray(c["out"]), [2.0, 4.0])
        carry, ys = jax.jit(lambda xs: prog_scan(be, xs))({"a": be.asarray(a), "b": be.asarray(b)})
        ec, ecum, eprev = _oracle_scan(a, b)
        assert float(carry) == ec
        np.testing.assert_array_equal(np.asarray(ys["cum"]), ecum)
        v = jax.jit(be.vmap(lambda x, y: (x * y).sum(), in_axes=(0, None)))(
            be.asarray(np.ones((3, 2))), be.asarray([1.0, 2.0]))
        np.testing.assert_array_equal(np.asarray(v), [3.0, 3.0, 3.0])
        z = jax.jit(lambda x: be.index_add(x, np.array([1, 1]), 1.0))(be.asarray(np.zeros(3)))
        np.testing.assert_array_equal(np.asarray(z), [0.0, 2.0, 0.0])
