"""Pytrees on the numpy (and torch) backend, with ``optree``.

Containers: dicts (leaves in sorted key order, as in JAX; rebuilt in the original key order), tuples, lists, named tuples,
``None`` (an empty subtree, as in JAX) and dataclasses registered with
:func:`polyro.backends.register_dataclass`. Everything else is a leaf.

>>> leaves, treedef = tree_flatten({"b": (1, 2), "a": [3]})
>>> leaves
[3, 1, 2]
>>> tree_unflatten(treedef, [x * 10 for x in leaves])
{'b': (10, 20), 'a': [30]}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optree

__all__ = ["tree_flatten", "tree_leaves", "tree_map", "tree_structure", "tree_unflatten"]

#: optree namespace under which polyro registers dataclasses.
NAMESPACE = "polyro"


def tree_flatten(tree: Any) -> tuple[list[Any], Any]:
    """Split ``tree`` into its list of leaves and a structure (``treedef``).

    >>> tree_flatten((1, {"x": 2}))[0]
    [1, 2]
    """
    return optree.tree_flatten(tree, namespace=NAMESPACE)


def tree_unflatten(treedef: Any, leaves: Any) -> Any:
    """Rebuild a tree of structure ``treedef`` from ``leaves``.

    >>> tree_unflatten(tree_structure((0, 0)), [5, 6])
    (5, 6)
    """
    return optree.tree_unflatten(treedef, list(leaves))


def tree_structure(tree: Any) -> Any:
    """The structure (``treedef``) of ``tree``.

    >>> tree_structure([1, 2]).num_leaves
    2
    """
    return optree.tree_structure(tree, namespace=NAMESPACE)


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of ``tree``, in flattening order.

    >>> tree_leaves({"a": 1, "b": (2, None)})
    [1, 2]
    """
    return optree.tree_leaves(tree, namespace=NAMESPACE)


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` leaf-wise to ``tree`` (and the matching leaves of the trees in ``rest``).

    >>> tree_map(lambda a, b: a + b, {"x": 1, "y": 2}, {"x": 10, "y": 20})
    {'x': 11, 'y': 22}
    """
    return optree.tree_map(f, tree, *rest, namespace=NAMESPACE)
