"""value_and_grad / grad / jacobian / stop_gradient with JAX's conventions on torch and JAX
(closed-form oracles), and numpy's clear error."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from polyro.errors import AutodiffUnavailableError


class Params(NamedTuple):
    loc: object
    log_scale: object


def _np(be, x):
    return np.asarray(be.to_numpy(x), dtype=np.float64)


def _normal_logp(be, p, x):
    scale = be.xp.exp(p.log_scale)
    z = (x - p.loc) / scale
    return be.xp.sum(-0.5 * z * z - p.log_scale - 0.5 * np.log(2 * np.pi))


def test_capability_flag_matches_behaviour(backend):
    """Backends with SUPPORTS_AUTODIFF differentiate; numpy fails at once, clearly."""
    if backend.SUPPORTS_AUTODIFF:
        v, g = backend.value_and_grad(lambda x: (x * x).sum())(backend.asarray([3.0]))
        assert float(_np(backend, v)) == 9.0 and _np(backend, g).tolist() == [6.0]
    else:
        for fn in (backend.value_and_grad, backend.grad, backend.jacobian):
            with pytest.raises(AutodiffUnavailableError) as e:
                fn(lambda x: x)
            msg = str(e.value)
            assert "torch" in msg and "jax" in msg and "polyro.set_backend" in msg
            assert "gradient-free" in msg.lower()
    # stop_gradient works everywhere
    np.testing.assert_array_equal(_np(backend, backend.stop_gradient(backend.asarray([3.0]))), [3.0])


def test_value_and_grad_namedtuple_pytree(grad_backend):
    be = grad_backend
    x = np.array([0.3, -1.2, 2.5])
    loc, log_scale = 0.4, np.log(1.7)
    p = Params(be.asarray(loc), be.asarray(log_scale))
    val, g = be.value_and_grad(lambda q: _normal_logp(be, q, be.asarray(x)))(p)
    s = np.exp(log_scale)
    z = (x - loc) / s
    np.testing.assert_allclose(_np(be, val), np.sum(-0.5 * z**2 - log_scale - 0.5 * np.log(2 * np.pi)),
                               rtol=1e-13)
    assert isinstance(g, Params)
    np.testing.assert_allclose(_np(be, g.loc), np.sum(z / s), rtol=1e-12)
    np.testing.assert_allclose(_np(be, g.log_scale), np.sum(z**2 - 1), rtol=1e-12)


def test_argnums_tuple_dict_and_has_aux(grad_backend):
    be = grad_backend
    a = {"w": be.asarray([1.0, 2.0]), "b": be.asarray(0.5)}
    x = be.asarray([3.0, -1.0])

    def f(params, data, scale):
        y = (params["w"] * data).sum() + params["b"]
        return scale * y * y, {"y": y}

    (val, aux), (ga, gx) = be.value_and_grad(f, argnums=(0, 1), has_aux=True)(a, x, 2.0)
    y = 1 * 3 - 2 + 0.5
    assert abs(float(_np(be, val)) - 2 * y * y) < 1e-12
    assert abs(float(_np(be, aux["y"])) - y) < 1e-12
    np.testing.assert_allclose(_np(be, ga["w"]), 4 * y * np.array([3.0, -1.0]), rtol=1e-13)
    np.testing.assert_allclose(_np(be, ga["b"]), 4 * y, rtol=1e-13)
    np.testing.assert_allclose(_np(be, gx), 4 * y * np.array([1.0, 2.0]), rtol=1e-13)
    g, aux2 = be.grad(f, has_aux=True)(a, x, 2.0)
    np.testing.assert_allclose(_np(be, g["w"]), _np(be, ga["w"]))
    assert abs(float(_np(be, aux2["y"])) - y) < 1e-12


def test_outputs_carry_no_graph_when_fed_back(grad_backend):
    """Value, aux and gradient are plain values, as in JAX: iterating ``x <- aux`` (the way a
    sampler feeds its state back) keeps giving the closed-form gradient and never chains an
    autograd graph across steps (a kept graph grew vectorized NUTS on torch by MiBs per step)."""
    be = grad_backend
    f = be.value_and_grad(lambda x: ((x * x).sum(), x * 0.5), has_aux=True)
    x = be.asarray([2.0, -4.0])
    for step in range(30):
        (val, x), g = f(x)
        expect = np.array([2.0, -4.0]) * 0.5 ** step
        np.testing.assert_allclose(_np(be, g), 2 * expect, rtol=1e-14)
        np.testing.assert_allclose(_np(be, val), (expect ** 2).sum(), rtol=1e-14)
        for out in (val, x, g):  # torch tensors expose requires_grad; JAX arrays have no graph
            assert not getattr(out, "requires_grad", False), f"step {step}: output keeps a graph"


def test_grad_of_unused_input_is_zero(grad_backend):
    be = grad_backend
    g = be.grad(lambda u, v: (u * 2.0).sum(), argnums=1)(be.asarray([1.0]), be.asarray([5.0, 6.0]))
    np.testing.assert_array_equal(_np(be, g), [0.0, 0.0])


def test_grad_accepts_numpy_and_python_inputs(grad_backend):
    be = grad_backend
    g = be.grad(lambda v: (v ** 3).sum())(np.array([1.0, 2.0]))
    np.testing.assert_allclose(_np(be, g), [3.0, 12.0])
    g2 = be.grad(lambda v: v * v)(3.0)
    assert abs(float(_np(be, g2)) - 6.0) < 1e-14


def test_non_scalar_output_raises(grad_backend):
    be = grad_backend
    with pytest.raises(TypeError):
        be.grad(lambda v: v * 2.0)(be.asarray([1.0, 2.0]))


def test_integer_input_raises(grad_backend):
    be = grad_backend
    with pytest.raises(TypeError):
        be.grad(lambda v: (v * 2).sum())(be.asarray(np.array([1, 2])))


def test_jacobian_closed_form(grad_backend):
    be = grad_backend
    A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    x = np.array([0.2, 0.4, -0.3])

    def f(v):
        return be.xp.sin(be.asarray(A) @ v)

    J = _np(be, be.jacobian(f)(be.asarray(x)))
    np.testing.assert_allclose(J, np.cos(A @ x)[:, None] * A, rtol=1e-13)
    J0, J1 = be.jacobian(lambda u, v: u * v, argnums=(0, 1))(be.asarray(x), be.asarray(2 * x))
    np.testing.assert_allclose(_np(be, J0), np.diag(2 * x))
    np.testing.assert_allclose(_np(be, J1), np.diag(x))


def test_stop_gradient(grad_backend):
    be = grad_backend
    g = be.grad(lambda v: (be.stop_gradient(v) * v).sum())(be.asarray([3.0, 4.0]))
    np.testing.assert_allclose(_np(be, g), [3.0, 4.0])
    tree = be.stop_gradient({"a": be.asarray(1.0), "b": (be.asarray(2.0),)})
    assert set(tree) == {"a", "b"}


def test_second_derivative_by_nesting(grad_backend):
    be = grad_backend
    d2 = be.grad(lambda v: be.grad(lambda u: (u ** 4).sum())(v).sum())(be.asarray([1.5, -2.0]))
    np.testing.assert_allclose(_np(be, d2), 12 * np.array([1.5, -2.0]) ** 2, rtol=1e-13)
    H = be.jacobian(be.grad(lambda u: (u ** 3).sum()))(be.asarray([1.0, 2.0]))
    np.testing.assert_allclose(_np(be, H), np.diag([6.0, 12.0]), rtol=1e-13)


def test_value_and_grad_under_vmap(grad_backend):
    be = grad_backend
    xs = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    vals, gs = be.vmap(be.value_and_grad(lambda v: (v ** 2).sum()))(be.asarray(xs))
    np.testing.assert_allclose(_np(be, vals), (xs ** 2).sum(1))
    np.testing.assert_allclose(_np(be, gs), 2 * xs)


def test_torch_value_and_grad_inside_no_grad():
    torch = pytest.importorskip("torch")
    from polyro.backends import torch as be

    with torch.no_grad():
        v, g = be.value_and_grad(lambda x: (x * x).sum())(torch.tensor([2.0], dtype=torch.float64))
    assert float(v) == 4.0 and g.tolist() == [4.0]
    assert not v.requires_grad and not g.requires_grad


def test_value_and_grad_under_jax_jit():
    jax = pytest.importorskip("jax")
    import polyro
    from polyro import backends

    polyro.set_default_dtype("float64")
    be = backends.get("jax")
    with polyro.backend("jax"):
        f = jax.jit(be.value_and_grad(lambda p: (p["a"] ** 2 * p["b"]).sum()))
        v, g = f({"a": be.asarray([1.0, 2.0]), "b": be.asarray(3.0)})
    assert abs(float(v) - 15.0) < 1e-12
    np.testing.assert_allclose(np.asarray(g["a"]), [6.0, 12.0])
    assert abs(float(g["b"]) - 5.0) < 1e-12
