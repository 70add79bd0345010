"""Pytrees on every backend: dicts, tuples, lists, named tuples, None and registered dataclasses;
dataclasses through jit, vmap and value_and_grad."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from typing import NamedTuple

import numpy as np
import pytest

from polyro.backends import register_dataclass


class Pair(NamedTuple):
    first: object
    second: object


@register_dataclass
@dataclasses.dataclass
class State:
    position: object
    momentum: object
    steps: int = dataclasses.field(default=0, metadata={"static": True})


def _np(be, x):
    return np.asarray(be.to_numpy(x))


def test_flatten_unflatten_roundtrip(backend):
    tree = {"b": [1.0, (2.0, None)], "a": Pair(3.0, {"z": 4.0, "y": 5.0}), "c": ()}
    leaves, treedef = backend.tree_flatten(tree)
    assert leaves == [3.0, 5.0, 4.0, 1.0, 2.0]  # dict keys sorted, None an empty subtree
    rebuilt = backend.tree_unflatten(treedef, [v * 10 for v in leaves])
    assert rebuilt == {"b": [10.0, (20.0, None)], "a": Pair(30.0, {"z": 40.0, "y": 50.0}), "c": ()}
    assert isinstance(rebuilt["a"], Pair)
    assert backend.tree_leaves(tree) == leaves
    assert backend.tree_structure(tree) == treedef


def test_tree_map_multiple_trees(backend):
    t1 = {"x": backend.asarray([1.0, 2.0]), "y": Pair(backend.asarray(1.0), backend.asarray(2.0))}
    t2 = backend.tree_map(lambda v: v * 3.0, t1)
    out = backend.tree_map(lambda u, v: u + v, t1, t2)
    np.testing.assert_array_equal(_np(backend, out["x"]), [4.0, 8.0])
    assert isinstance(out["y"], Pair)
    assert float(_np(backend, out["y"].second)) == 8.0


def test_dataclass_is_a_pytree_with_static_fields(backend):
    s = State(backend.asarray([1.0, 2.0]), backend.asarray([0.5, 0.5]), steps=7)
    leaves, treedef = backend.tree_flatten(s)
    assert len(leaves) == 2
    s2 = backend.tree_unflatten(treedef, [v * 2.0 for v in leaves])
    assert isinstance(s2, State) and s2.steps == 7
    np.testing.assert_array_equal(_np(backend, s2.momentum), [1.0, 1.0])
    s3 = backend.tree_map(lambda v: v + 1.0, s)
    assert s3.steps == 7


def test_dataclass_through_vmap(backend):
    s = State(backend.asarray(np.arange(6.0).reshape(3, 2)), backend.asarray(np.ones((3, 2))), 2)

    def step(st):
        return State(st.position + st.momentum * st.steps, st.momentum, st.steps)

    out = backend.vmap(step)(s)
    assert isinstance(out, State) and out.steps == 2
    np.testing.assert_array_equal(_np(backend, out.position), np.arange(6.0).reshape(3, 2) + 2.0)


def test_dataclass_through_value_and_grad(grad_backend):
    be = grad_backend
    s = State(be.asarray([1.0, -2.0]), be.asarray([3.0, 0.5]), 1)
    val, g = be.value_and_grad(lambda st: (st.position * st.momentum).sum())(s)
    assert isinstance(g, State)
    np.testing.assert_array_equal(_np(be, g.position), [3.0, 0.5])
    np.testing.assert_array_equal(_np(be, g.momentum), [1.0, -2.0])


def test_dataclass_through_jax_jit():
    jax = pytest.importorskip("jax")
    from polyro import backends

    be = backends.get("jax")
    f = jax.jit(lambda st: State(st.position * 2, st.momentum, st.steps + 1))
    out = f(State(be.asarray([1.0]), be.asarray([2.0]), 4))
    assert out.steps == 5 and float(out.position[0]) == 2.0


def test_register_dataclass_rejects_plain_classes():
    class Plain:
        pass

    with pytest.raises(TypeError, match="not a dataclass"):
        register_dataclass(Plain)


def test_registration_reaches_engines_loaded_later():
    """A dataclass registered before JAX/torch are imported works there once they load."""
    code = textwrap.dedent("""
        import dataclasses, sys
        from polyro.backends import register_dataclass, get
        @register_dataclass
        @dataclasses.dataclass
        class S:
            a: object
            b: object
        assert "jax" not in sys.modules and "torch" not in sys.modules
        jbe = get("jax")
        import jax
        assert len(jax.tree_util.tree_leaves(S(1.0, 2.0))) == 2
        tbe = get("torch")
        import torch
        out = torch.func.vmap(lambda s: S(s.a * 2, s.b))(S(torch.ones(3), torch.zeros(3)))
        assert isinstance(out, S) and out.a.tolist() == [2.0, 2.0, 2.0]
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "POLYRO_BACKEND"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr
