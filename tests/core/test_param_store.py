"""The Pyro-style param store: constrained views, top-level writes only, save/load."""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import fnum, to_np

import polyro
from polyro import handlers
from polyro.core.distributions import constraints


@pytest.fixture(autouse=True)
def _clean_store():
    polyro.clear_param_store()
    yield
    polyro.clear_param_store()


def test_top_level_param_writes_store_constrained(backend):
    v = polyro.param("s", backend.asarray(np.array([2.0, 3.0])), constraint=constraints.positive)
    np.testing.assert_allclose(to_np(v), [2.0, 3.0])
    store = polyro.get_param_store()
    assert "s" in store and store.keys() == ["s"]
    np.testing.assert_allclose(to_np(store.get_unconstrained("s")), np.log([2.0, 3.0]), rtol=1e-12)
    np.testing.assert_allclose(to_np(store["s"]), [2.0, 3.0], rtol=1e-12)
    # later calls read the store (the init is ignored)
    store.set_unconstrained("s", backend.asarray(np.zeros(2)))
    np.testing.assert_allclose(to_np(polyro.param("s", 5.0)), [1.0, 1.0])


def test_handlers_read_but_never_write_store(backend):
    tr = handlers.trace(lambda: polyro.param("a", 1.5)).get_trace()
    assert fnum(tr["a"]["value"]) == 1.5
    assert "a" not in polyro.get_param_store()
    polyro.get_param_store()["a"] = 4.0
    tr = handlers.trace(lambda: polyro.param("a", 1.5)).get_trace()
    assert fnum(tr["a"]["value"]) == 4.0
    # substitute wins over the store
    out = handlers.substitute(lambda: polyro.param("a", 1.5), data={"a": 7.0})()
    assert fnum(out) == 7.0


def test_save_load_roundtrip(backend, tmp_path):
    store = polyro.get_param_store()
    store.set("w", backend.asarray(np.array([[1.0, -2.0]])))
    store.set("p", backend.asarray(np.array(0.25)), constraint=constraints.unit_interval)
    store.set("b", backend.asarray(np.array(3.0)), constraint=constraints.interval(1.0, 5.0))
    path = tmp_path / "params.npz"
    store.save(path)
    polyro.clear_param_store()
    assert len(store) == 0
    store.load(path)
    np.testing.assert_allclose(to_np(store["w"]), [[1.0, -2.0]])
    np.testing.assert_allclose(fnum(store["p"]), 0.25, rtol=1e-12)
    np.testing.assert_allclose(fnum(store["b"]), 3.0, rtol=1e-12)
    assert repr(store.get_constraint("b")) == repr(constraints.interval(1.0, 5.0))
    assert backend.is_array(store["w"])


def test_state_dict_and_delete(backend):
    store = polyro.get_param_store()
    store["x"] = backend.asarray(np.array(1.0))
    state = store.get_state()
    del store["x"]
    assert "x" not in store
    store.set_state(state)
    assert fnum(store["x"]) == 1.0
    assert [k for k, _ in store.items()] == ["x"] and len(store.values()) == 1
    with pytest.raises(KeyError, match="'nope'"):
        store["nope"]


def test_pyro_param_store_methods(backend):
    """Pyro's ``ParamStoreDict`` names: get_all_param_names, get_param (stores its init once),
    named_parameters (unconstrained values: log of a positive one), replace_param."""
    store = polyro.get_param_store()
    v = store.get_param("s", backend.asarray(np.array([2.0, 3.0])), constraints.positive)
    np.testing.assert_allclose(to_np(v), [2.0, 3.0])
    np.testing.assert_allclose(to_np(store.get_param("s", backend.asarray(np.ones(2)))),
                               [2.0, 3.0])
    store["w"] = backend.asarray(np.array(-1.0))
    assert store.get_all_param_names() == ["s", "w"]
    named = dict(store.named_parameters())
    np.testing.assert_allclose(to_np(named["s"]), np.log([2.0, 3.0]), rtol=1e-12)
    assert fnum(named["w"]) == -1.0
    store.replace_param("s", backend.asarray(np.array([4.0, 5.0])), v)
    np.testing.assert_allclose(to_np(store["s"]), [4.0, 5.0], rtol=1e-12)
    np.testing.assert_allclose(to_np(store.get_unconstrained("s")), np.log([4.0, 5.0]),
                               rtol=1e-12)
    with pytest.raises(KeyError, match="'nope' is not in the param store"):
        store.get_param("nope")
    with pytest.raises(KeyError, match="'nope' is not in the param store"):
        store.replace_param("nope", 1.0)
