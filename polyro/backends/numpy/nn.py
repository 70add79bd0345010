"""``polyro.module`` support on numpy: a network is a pair ``(apply_fn, params)``.

``params`` is a (nested) dict/list/tuple of arrays; each leaf becomes a param site
``{name}$$${path}`` with ``path`` the dotted key path. The JAX adapter uses the same convention
(flax ``(module.apply, variables)`` / haiku ``(apply, params)`` pairs), so these helpers are
shared with it.

>>> import numpy as np
>>> net = (lambda p, x: p["w"] * x + p["b"], {"w": np.array(2.0), "b": np.array(1.0)})
>>> sorted(module_params(net))
['b', 'w']
>>> float(bind(net, {"w": np.array(3.0), "b": np.array(0.0)})(2.0))
6.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["bind", "flatten_params", "module_params", "unflatten_params"]


def flatten_params(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{dotted.path: leaf}`` of a nested dict/list/tuple of arrays.

    >>> flatten_params({"a": {"b": 1, "c": [2, 3]}})
    {'a.b': 1, 'a.c.0': 2, 'a.c.1': 3}
    """
    out: dict[str, Any] = {}
    if isinstance(tree, Mapping):
        items = [(str(k), v) for k, v in tree.items()]
    elif isinstance(tree, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(tree)]
    else:
        return {prefix: tree}
    for k, v in items:
        out.update(flatten_params(v, f"{prefix}.{k}" if prefix else k))
    return out


def unflatten_params(tree: Any, flat: Mapping[str, Any], prefix: str = "") -> Any:
    """Rebuild ``tree``'s structure with the leaves of ``flat`` (paths as in flatten_params).

    >>> unflatten_params({"a": [0, 0]}, {"a.0": 5, "a.1": 6})
    {'a': [5, 6]}
    """
    if isinstance(tree, Mapping):
        return {
            k: unflatten_params(v, flat, f"{prefix}.{k}" if prefix else str(k))
            for k, v in tree.items()
        }
    if isinstance(tree, (list, tuple)):
        seq = [unflatten_params(v, flat, f"{prefix}.{i}" if prefix else str(i))
               for i, v in enumerate(tree)]
        return type(tree)(seq) if isinstance(tree, list) else tuple(seq)
    return flat.get(prefix, tree)


def _split(nn_module: Any) -> tuple[Callable, Any]:
    if not (isinstance(nn_module, tuple) and len(nn_module) == 2 and callable(nn_module[0])):
        raise TypeError(
            "polyro.module on this backend expects a pair (apply_fn, params) with "
            f"apply_fn(params, *args); got {type(nn_module).__name__}"
        )
    return nn_module


def module_params(nn_module: Any) -> dict[str, Any]:
    """The network's parameters as ``{path: array}``."""
    _, params = _split(nn_module)
    return flatten_params(params)


def bind(nn_module: Any, values: Mapping[str, Any]) -> Callable[..., Any]:
    """A callable running the network with the parameter values ``values``."""
    apply_fn, params = _split(nn_module)
    new = unflatten_params(params, values)

    def run(*args: Any, **kwargs: Any) -> Any:
        return apply_fn(new, *args, **kwargs)

    return run
