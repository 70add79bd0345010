"""Optimizers, schedules, clipping and native adapters against hand-written numpy references."""

from __future__ import annotations

import math

import numpy as np
import pytest

import polyro
from polyro import optim

RNG = np.random.default_rng(0)
P0 = {"a": RNG.normal(size=(3,)), "b": {"c": RNG.normal(size=(2, 2))}}
GRADS = [{"a": RNG.normal(size=(3,)), "b": {"c": RNG.normal(size=(2, 2))}} for _ in range(5)]


def _leaves(tree):
    return [tree["a"], tree["b"]["c"]]


def _reference(kind, hyper, p0, grads):
    """Independent numpy implementations (the oracle)."""
    ps = [np.array(x, dtype=np.float64) for x in _leaves(p0)]
    slots = [dict() for _ in ps]
    for t, g_tree in enumerate(grads, start=1):
        gs = [np.array(x) for x in _leaves(g_tree)]
        for i, (p, g) in enumerate(zip(ps, gs, strict=False)):
            s = slots[i]
            lr = hyper["lr"]
            if kind == "sgd":
                mom = hyper.get("momentum", 0.0)
                v = mom * s.get("v", 0.0) + g
                s["v"] = v
                ps[i] = p - lr * (g + mom * v if hyper.get("nesterov") else v)
            elif kind in ("adam", "clipped_adam"):
                b1, b2, eps = 0.9, 0.999, 1e-8
                if kind == "clipped_adam":
                    g = np.clip(g, -hyper["clip_norm"], hyper["clip_norm"])
                    lr = lr * hyper["lrd"] ** (t - 1)
                m = b1 * s.get("m", 0.0) + (1 - b1) * g
                v = b2 * s.get("v", 0.0) + (1 - b2) * g * g
                s["m"], s["v"] = m, v
                ps[i] = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
            elif kind == "adagrad":
                acc = s.get("acc", 0.0) + g * g
                s["acc"] = acc
                ps[i] = p - lr * g / (np.sqrt(acc) + 1e-10)
            elif kind == "rmsprop":
                a = hyper["alpha"]
                v = a * s.get("v", 0.0) + (1 - a) * g * g
                s["v"] = v
                ps[i] = p - lr * g / (np.sqrt(v) + 1e-8)
    return ps


CASES = [
    ("sgd", optim.SGD, {"lr": 0.1}),
    ("sgd", optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    ("sgd", optim.SGD, {"lr": 0.1, "momentum": 0.5, "nesterov": True}),
    ("adam", optim.Adam, {"lr": 0.05}),
    ("clipped_adam", optim.ClippedAdam, {"lr": 0.05, "clip_norm": 0.5, "lrd": 0.9}),
    ("adagrad", optim.Adagrad, {"lr": 0.3}),
    ("rmsprop", optim.RMSProp, {"lr": 0.01, "alpha": 0.9}),
]


@pytest.mark.parametrize("pyro_dict", [False, True], ids=["kwargs", "pyro-dict"])
@pytest.mark.parametrize("kind,cls,hyper", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_optimizer_matches_reference(backend, kind, cls, hyper, pyro_dict):
    """Keyword arguments, and Pyro's single dict of options (``Adam({"lr": 0.05})``)."""
    be = backend
    conv = lambda tree: be.tree_map(lambda x: be.asarray(x), tree)  # noqa: E731
    opt = cls(dict(hyper)) if pyro_dict else cls(**hyper)
    state = opt.init(conv(P0))
    for g in GRADS:
        state = opt.update(conv(g), state)
    got = [be.to_numpy(x) for x in _leaves(opt.get_params(state))]
    want = _reference(kind, hyper, P0, GRADS)
    for a, b in zip(got, want, strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert int(be.to_numpy(state.step)) == len(GRADS)


def test_clipping(backend):
    be = backend
    g = {"a": be.asarray(np.array([3.0, 4.0])), "b": be.asarray(np.array([12.0]))}
    assert float(be.to_numpy(optim.global_norm(g))) == pytest.approx(13.0)
    c = optim.clip_by_global_norm(g, 6.5)
    np.testing.assert_allclose(be.to_numpy(c["a"]), [1.5, 2.0])
    np.testing.assert_allclose(be.to_numpy(c["b"]), [6.0])
    small = optim.clip_by_global_norm(g, 100.0)
    np.testing.assert_allclose(be.to_numpy(small["b"]), [12.0])
    cv = optim.clip_by_value(g, 3.5)
    np.testing.assert_allclose(be.to_numpy(cv["a"]), [3.0, 3.5])
    # an optimizer with clip_norm: SGD(lr=1) moves by exactly the clipped gradient
    opt = optim.SGD(1.0, clip_norm=1.3)
    st = opt.update(g, opt.init({"a": be.asarray(np.zeros(2)), "b": be.asarray(np.zeros(1))}))
    np.testing.assert_allclose(be.to_numpy(st.params["a"]), [-0.3, -0.4])


@pytest.mark.parametrize("bad", [{"lr": -1.0}, {"lr": "x"}, {"lr": 0.1, "clip_norm": 0.0}])
def test_bad_hyperparameters(bad):
    with pytest.raises((ValueError, TypeError), match="learning rate|clip_norm"):
        optim.Adam(**bad)


def test_schedules_closed_form(backend):
    be = backend
    step = lambda k: be.asarray(int(k))  # noqa: E731
    f = lambda x: float(be.to_numpy(x))  # noqa: E731
    assert f(optim.exponential_decay(0.1, 10, 0.5)(step(5))) == pytest.approx(0.1 * 0.5**0.5)
    assert f(optim.exponential_decay(0.1, 10, 0.5, staircase=True)(step(15))) == pytest.approx(0.05)
    assert f(optim.inverse_time_decay(1.0, 2, 1.0)(step(4))) == pytest.approx(1 / 3)
    assert f(optim.polynomial_decay(1.0, 0.1, 10, power=2.0)(step(5))) == pytest.approx(
        0.9 * 0.25 + 0.1)
    assert f(optim.cosine_decay(2.0, 10, alpha=0.1)(step(3))) == pytest.approx(
        2.0 * (0.9 * 0.5 * (1 + math.cos(math.pi * 0.3)) + 0.1))
    pc = optim.piecewise_constant([3, 6], [1.0, 0.5, 0.25])
    assert [f(pc(step(k))) for k in (0, 2, 3, 5, 6, 50)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    wu = optim.linear_warmup(0.2, 4)
    assert [f(wu(step(k))) for k in (0, 1, 4, 9)] == pytest.approx([0.0, 0.05, 0.2, 0.2])
    with pytest.raises(ValueError, match="len\\(values\\)"):
        optim.piecewise_constant([1, 2], [1.0])


def test_schedule_drives_optimizer(backend):
    """SGD with lr(step) = 1/(step+1): moves 1, 1/2, 1/3 for unit gradients."""
    be = backend
    opt = optim.SGD(optim.inverse_time_decay(1.0, 1, 1.0))
    st = opt.init({"x": be.asarray(np.array(0.0))})
    for _ in range(3):
        st = opt.update({"x": be.asarray(np.array(1.0))}, st)
    assert float(be.to_numpy(st.params["x"])) == pytest.approx(-(1 + 1 / 2 + 1 / 3))


def test_minimizes_quadratic_with_autodiff(grad_backend):
    be = grad_backend
    target = be.asarray(np.array([1.0, -2.0, 3.0]))

    def f(p):
        d = p["w"] - target
        return be.xp.sum(d * d)

    opt = optim.Adam(0.1)
    st = opt.init({"w": be.asarray(np.zeros(3))})
    for _ in range(400):
        _, g = be.value_and_grad(f)(opt.get_params(st))
        st = opt.update(g, st)
    np.testing.assert_allclose(be.to_numpy(st.params["w"]), [1.0, -2.0, 3.0], atol=1e-3)


def test_jitted_update(grad_backend):
    """The update is a pure function of (grads, state): under be.jit it gives the same result."""
    be = grad_backend
    opt = optim.Adam(0.05)
    p = {"w": be.asarray(np.array([0.5, -0.5]))}
    g = {"w": be.asarray(np.array([1.0, 2.0]))}
    eager = opt.update(g, opt.init(p))
    jitted = be.jit(opt.update)(g, opt.init(p))
    np.testing.assert_allclose(be.to_numpy(jitted.params["w"]), be.to_numpy(eager.params["w"]),
                               rtol=1e-12)


def test_native_adapter(backend):
    be = backend
    if be.NAME == "numpy":
        with pytest.raises(TypeError, match="numpy has no native optimizers"):
            optim.from_native(object())
        return
    if be.NAME == "torch":
        import torch

        opt = optim.from_native(torch.optim.SGD, lr=0.5, momentum=0.0)
        with pytest.raises(TypeError, match="torch.optim.Optimizer class"):
            optim.from_native(object())
    else:
        from typing import NamedTuple

        class Tx(NamedTuple):  # an optax-like transformation (optax is not a dependency)
            init: object
            update: object

        def upd(g, s, p=None):
            return {k: -0.5 * v for k, v in g.items()}, s

        opt = optim.from_native(Tx(lambda p: (), upd))
        with pytest.raises(TypeError, match="GradientTransformation"):
            optim.from_native(object())
    st = opt.init({"x": be.asarray(np.array([1.0, 2.0]))})
    st0 = st
    st = opt.update({"x": be.asarray(np.array([2.0, -2.0]))}, st)
    np.testing.assert_allclose(be.to_numpy(opt.get_params(st)["x"]), [0.0, 3.0])
    # earlier states are not mutated
    np.testing.assert_allclose(be.to_numpy(opt.get_params(st0)["x"]), [1.0, 2.0])


def test_public_module():
    assert polyro.optim.Adam is optim.Adam
    from polyro.inference.optim import Adam

    assert Adam is optim.Adam


def test_pyro_dict_with_an_option_the_optimizer_lacks():
    with pytest.raises(TypeError, match=r"Adam: option\(s\) \['amsgrad'\] are not supported.*"
                                        r"Adam takes \['lr', 'betas', 'eps', 'weight_decay', "
                                        r"'clip_norm', 'clip_value'\]"):
        optim.Adam({"lr": 0.01, "amsgrad": True})
    assert optim.Adam({"lr": 0.01, "clip_norm": 2.0}).clip_norm == 2.0
    with pytest.raises(TypeError, match="learning rate"):
        optim.Adam({"lr": 0.01}, betas=(0.9, 0.99))  # the dict form takes no other argument
