"""Pytrees on the torch backend: the same ``optree`` functions as the numpy backend.

Dataclasses registered with :func:`polyro.backends.register_dataclass` are also registered with
``torch.utils._pytree`` (which ``torch.func.vmap`` uses) when torch is loaded.

>>> tree_leaves({"a": (1, 2), "b": None})
[1, 2]
"""

from __future__ import annotations

from polyro.backends.numpy.tree import (
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)

__all__ = ["tree_flatten", "tree_leaves", "tree_map", "tree_structure", "tree_unflatten"]
