"""The Pyro-style parameter store, for users who drive ``SVI.step()`` imperatively.

polyro's inference is functional: parameter values live in the inference state and reach the
model through ``handlers.substitute``. The store is the imperative view on top:

* ``polyro.param(name, init)`` called with no handler active reads the store, and on first use
  writes the init value into it (Pyro's convenience at the top level).
* Inside handlers (``trace``, ``seed``, ``jax.jit``...) the store is only *read*, never written, so
  running a model under a compiler can never leak traced values into global state.
* Stateful wrappers (``SVI.step``) write learned values with ``store[name] = value``.

Values are kept *unconstrained* (through ``biject_to(constraint)``) and returned constrained.
``save(path)``/``load(path)`` use ``numpy.savez`` (no pickle of code objects).

>>> import numpy as np, polyro
>>> from polyro.core.distributions import constraints
>>> polyro.clear_param_store()
>>> float(polyro.param("s", 2.0, constraint=constraints.positive))
2.0
>>> store = polyro.get_param_store()
>>> round(float(store.get_unconstrained("s")), 6) == round(float(np.log(2.0)), 6)
True
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from polyro.backends import backend_of, current
from polyro.errors import ModelError

__all__ = ["ParamStore", "clear_param_store", "get_param_store"]


def _constraint_name(c: Any) -> str:
    return repr(c)


class ParamStore:
    """Mapping name -> constrained parameter value (stored unconstrained).

    >>> s = ParamStore()
    >>> s["w"] = 1.5
    >>> "w" in s, float(s["w"]), len(s)
    (True, 1.5, 1)
    """

    def __init__(self) -> None:
        self._unconstrained: dict[str, Any] = {}
        self._constraints: dict[str, Any] = {}
        self._lock = threading.RLock()

    # -- mapping ------------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self._unconstrained

    def __len__(self) -> int:
        return len(self._unconstrained)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._unconstrained))

    def keys(self) -> list[str]:
        """Names of stored params.

        >>> ParamStore().keys()
        []
        """
        return list(self._unconstrained)

    def items(self) -> list[tuple[str, Any]]:
        """``(name, constrained value)`` pairs.

        >>> ParamStore().items()
        []
        """
        return [(k, self[k]) for k in self.keys()]

    def values(self) -> list[Any]:
        """Constrained values.

        >>> ParamStore().values()
        []
        """
        return [self[k] for k in self.keys()]

    def __getitem__(self, name: str) -> Any:
        with self._lock:
            if name not in self._unconstrained:
                raise KeyError(f"param {name!r} is not in the param store (has: {self.keys()})")
            t = self._transform(self._constraints[name])
            return t(self._unconstrained[name])

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        with self._lock:
            del self._unconstrained[name]
            del self._constraints[name]

    def clear(self) -> None:
        """Remove every param.

        >>> s = ParamStore(); s["a"] = 1.0; s.clear(); len(s)
        0
        """
        with self._lock:
            self._unconstrained.clear()
            self._constraints.clear()

    # -- typed access -------------------------------------------------------------------
    @staticmethod
    def _transform(constraint: Any) -> Any:
        from polyro.core.distributions import biject_to

        return biject_to(constraint)

    def set(self, name: str, value: Any, constraint: Any = None) -> None:
        """Store constrained ``value`` (with ``constraint``, default the stored one or real).

        >>> s = ParamStore(); s.set("a", 2.0); float(s["a"])
        2.0
        """
        from polyro.core.distributions import constraints

        with self._lock:
            if constraint is None:
                constraint = self._constraints.get(name, constraints.real)
            be = backend_of(value)
            value = value if be.is_array(value) else be.asarray(value)
            self._unconstrained[name] = self._transform(constraint).inv(value)
            self._constraints[name] = constraint

    def get_unconstrained(self, name: str) -> Any:
        """The stored unconstrained value of ``name``.

        >>> s = ParamStore(); s["a"] = 2.0; float(s.get_unconstrained("a"))
        2.0
        """
        return self._unconstrained[name]

    def set_unconstrained(self, name: str, value: Any) -> None:
        """Replace the unconstrained value of an existing param.

        >>> s = ParamStore(); s["a"] = 2.0; s.set_unconstrained("a", 3.0); float(s["a"])
        3.0
        """
        with self._lock:
            if name not in self._constraints:
                raise KeyError(f"param {name!r} is not in the param store")
            self._unconstrained[name] = value

    # -- Pyro's names ------------------------------------------------------------------------
    def get_all_param_names(self) -> list[str]:
        """Names of stored params (Pyro's name for :meth:`keys`).

        >>> s = ParamStore(); s["a"] = 1.0; s.get_all_param_names()
        ['a']
        """
        return self.keys()

    def get_param(self, name: str, init_tensor: Any = None, constraint: Any = None) -> Any:
        """The constrained value of ``name``; stored first from ``init_tensor`` (with
        ``constraint``) when absent, as Pyro's ``ParamStoreDict.get_param``.

        >>> s = ParamStore(); float(s.get_param("a", 2.0)), float(s.get_param("a", 5.0))
        (2.0, 2.0)
        """
        if name not in self:
            if init_tensor is None:
                raise KeyError(f"param {name!r} is not in the param store (has: {self.keys()}) "
                               "and no init_tensor was given")
            self.set(name, init_tensor, constraint)
        return self[name]

    def named_parameters(self) -> list[tuple[str, Any]]:
        """``(name, unconstrained value)`` pairs: what an optimizer updates (Pyro's
        ``named_parameters``).

        >>> from polyro.core.distributions import constraints
        >>> s = ParamStore(); s.set("a", 1.0, constraints.positive)
        >>> [(k, float(v)) for k, v in s.named_parameters()]
        [('a', 0.0)]
        """
        return [(k, self._unconstrained[k]) for k in self.keys()]

    def replace_param(self, name: str, new_param: Any, old_param: Any = None) -> None:
        """Store the constrained value ``new_param`` for the existing param ``name`` (Pyro's
        ``replace_param``; ``old_param`` is accepted for its signature).

        >>> s = ParamStore(); s["a"] = 1.0; s.replace_param("a", 3.0); float(s["a"])
        3.0
        """
        if name not in self:
            raise KeyError(f"param {name!r} is not in the param store (has: {self.keys()})")
        self.set(name, new_param)

    def get_constraint(self, name: str) -> Any:
        """The constraint of ``name``.

        >>> ParamStore().get_constraint.__name__
        'get_constraint'
        """
        return self._constraints[name]

    def get_state(self) -> dict[str, Any]:
        """``{"params": {name: unconstrained}, "constraints": {name: constraint}}``.

        >>> sorted(ParamStore().get_state())
        ['constraints', 'params']
        """
        with self._lock:
            return {"params": dict(self._unconstrained), "constraints": dict(self._constraints)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Replace the contents with a :meth:`get_state` result.

        >>> s = ParamStore(); s["a"] = 1.0; t = ParamStore(); t.set_state(s.get_state()); float(t["a"])
        1.0
        """
        with self._lock:
            self._unconstrained = dict(state["params"])
            self._constraints = dict(state["constraints"])

    # -- files --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the store to ``path`` (``numpy.savez``: unconstrained values + constraints).

        Constraints are saved by name and restored from ``polyro.distributions.constraints``.

        >>> import tempfile, os
        >>> s = ParamStore(); s["a"] = 1.0
        >>> p = os.path.join(tempfile.mkdtemp(), "ps.npz"); s.save(p)
        >>> t = ParamStore(); t.load(p); float(t["a"])
        1.0
        """
        with self._lock:
            arrays = {}
            names = {}
            for i, (k, v) in enumerate(self._unconstrained.items()):
                arrays[f"p{i}"] = np.asarray(backend_of(v).to_numpy(v))
                names[f"p{i}"] = [k, _constraint_name(self._constraints[k])]
            arrays["__index__"] = np.asarray(json.dumps(names))
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    def load(self, path: str | os.PathLike) -> None:
        """Read a file written by :meth:`save` into the store (arrays on the active backend).

        >>> ParamStore().load.__name__
        'load'
        """
        be = current()
        with np.load(path, allow_pickle=False) as data:
            index = json.loads(str(data["__index__"]))
            with self._lock:
                for key, (name, cname) in index.items():
                    self._unconstrained[name] = be.asarray(data[key])
                    self._constraints[name] = _parse_constraint(cname)


def _parse_constraint(text: str) -> Any:
    from polyro.core.distributions import constraints

    safe = {k: getattr(constraints, k) for k in constraints.__all__}
    try:
        return eval(text, {"__builtins__": {}}, safe)  # noqa: S307 - names from constraints only
    except Exception as e:
        raise ValueError(
            f"cannot restore constraint {text!r} from a saved param store; only constraints of "
            "polyro.distributions.constraints can be saved"
        ) from e


_STORE = ParamStore()


def get_param_store() -> ParamStore:
    """The process-wide :class:`ParamStore`.

    >>> get_param_store() is get_param_store()
    True
    """
    return _STORE


def clear_param_store() -> None:
    """Empty the process-wide param store.

    >>> clear_param_store(); len(get_param_store())
    0
    """
    _STORE.clear()


def check_constraint(name: str, value: Any, constraint: Any) -> None:
    """Raise :class:`ModelError` if a concrete ``value`` violates ``constraint``.

    Traced values (inside ``jax.jit``) cannot be checked and are let through.

    >>> from polyro.core.distributions import constraints
    >>> check_constraint("a", 1.0, constraints.positive)
    """
    from polyro.core.distributions.util import concrete_check

    be = backend_of(value)
    try:
        arr = be.to_numpy(value)
    except Exception:
        return
    ok, _ = concrete_check(constraint, arr, concrete_only=True)  # in numpy: no engine ops
    if ok is not None and not ok.all():
        bad = np.argwhere(~np.broadcast_to(ok, ok.shape))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        shown = np.asarray(arr)
        try:
            val = shown[where] if where and len(where) <= shown.ndim else shown
        except IndexError:
            val = shown
        raise ModelError(
            f"param site {name!r}: initial value {val} at index {where} is outside its "
            f"constraint {constraint!r}; give an init_value inside the constraint"
        )


def _default_param_value(msg: Any) -> Any:
    """Default behaviour of a param site no handler has set (called by the runtime)."""
    from polyro.core.runtime import MissingKeyError, get_stack

    name = msg["name"]
    constraint = msg["kwargs"]["constraint"]
    top_level = len(get_stack()) == 0
    if name in _STORE:
        return _STORE[name]
    init = msg["fn"]
    if init is None:
        raise ModelError(
            f"param site {name!r} has no init_value and is not in the param store or "
            "substituted; give polyro.param an init_value"
        )
    if callable(init) and not hasattr(init, "shape"):
        if msg["key"] is None:
            raise MissingKeyError(
                f"param site {name!r} is initialized by a function of a PRNG key but no key was "
                "given; wrap the model in polyro.handlers.seed(model, rng_seed=0)"
            )
        init = init(msg["key"])
    be = backend_of(init)
    value = init if be.is_array(init) else be.asarray(init, dtype=be.float_dtype())
    check_constraint(name, value, constraint)
    if top_level:
        _STORE.set(name, value, constraint)
    return value
