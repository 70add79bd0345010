"""Pytrees on the JAX backend: ``jax.tree_util`` (so trees pass through ``jit``/``vmap``).

Dataclasses registered with :func:`polyro.backends.register_dataclass` are registered with JAX
when JAX is loaded.

>>> tree_leaves({"a": (1, 2), "b": None})
[1, 2]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.tree_util as jtu

__all__ = ["tree_flatten", "tree_leaves", "tree_map", "tree_structure", "tree_unflatten"]


def tree_flatten(tree: Any) -> tuple[list[Any], Any]:
    """Split ``tree`` into its leaves and a structure (``treedef``).

    >>> tree_flatten((1, {"x": 2}))[0]
    [1, 2]
    """
    return jtu.tree_flatten(tree)


def tree_unflatten(treedef: Any, leaves: Any) -> Any:
    """Rebuild a tree of structure ``treedef`` from ``leaves``.

    >>> tree_unflatten(tree_structure((0, 0)), [5, 6])
    (5, 6)
    """
    return jtu.tree_unflatten(treedef, list(leaves))


def tree_structure(tree: Any) -> Any:
    """The structure (``treedef``) of ``tree``.

    >>> tree_structure([1, 2]).num_leaves
    2
    """
    return jtu.tree_structure(tree)


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of ``tree`` in flattening order.

    >>> tree_leaves({"b": 2, "a": 1})
    [1, 2]
    """
    return jtu.tree_leaves(tree)


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` leaf-wise to ``tree`` and the matching leaves of ``rest``.

    >>> tree_map(lambda a, b: a + b, {"x": 1}, {"x": 10})
    {'x': 11}
    """
    return jtu.tree_map(f, tree, *rest)
