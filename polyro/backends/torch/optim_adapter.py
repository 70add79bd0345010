"""Adapter: a ``torch.optim.Optimizer`` class as a polyro optimizer.

torch optimizers update tensors in place; the adapter keeps one private copy of the parameters
inside the optimizer, and hands out fresh (detached) copies in each state so earlier states stay
valid.

>>> import torch
>>> opt = wrap(torch.optim.SGD, lr=0.5)
>>> st = opt.init({"x": torch.zeros(2, dtype=torch.float64)})
>>> st = opt.update({"x": torch.ones(2, dtype=torch.float64)}, st)
>>> opt.get_params(st)["x"].tolist()
[-0.5, -0.5]
"""

from __future__ import annotations

from typing import Any

import optree
import torch

from polyro.inference.optim.base import OptimState


class _Holder:
    """The live torch optimizer and its private parameter tensors (an opaque pytree leaf)."""

    def __init__(self, optimizer: torch.optim.Optimizer, tensors: list) -> None:
        self.optimizer = optimizer
        self.tensors = tensors

    def __reduce__(self):
        raise TypeError(
            "the state of a native torch.optim optimizer cannot be saved with SVI.save; use a "
            "polyro optimizer (polyro.optim.Adam, ...) for resumable runs"
        )


class TorchOptimizer:
    """polyro optimizer protocol over a ``torch.optim.Optimizer`` subclass.

    >>> TorchOptimizer(torch.optim.Adam, lr=0.1).kwargs
    {'lr': 0.1}
    """

    def __init__(self, cls: Any, **kwargs: Any) -> None:
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            raise TypeError(
                f"on the torch backend polyro.optim.from_native expects a torch.optim.Optimizer "
                f"class (e.g. torch.optim.Adam) and its keyword arguments, got {cls!r}"
            )
        self.cls, self.kwargs = cls, kwargs

    def init(self, params: Any) -> OptimState:
        leaves = optree.tree_leaves(params, none_is_leaf=False)
        tensors = [torch.as_tensor(p).detach().clone().requires_grad_(True) for p in leaves]
        opt = self.cls(tensors, **self.kwargs)
        return OptimState(torch.zeros((), dtype=torch.int32), params, _Holder(opt, tensors))

    def update(self, grads: Any, state: OptimState) -> OptimState:
        holder = state.aux
        leaves, treedef = optree.tree_flatten(state.params, none_is_leaf=False)
        g_leaves = optree.tree_leaves(grads, none_is_leaf=False)
        with torch.no_grad():
            for t, p, g in zip(holder.tensors, leaves, g_leaves, strict=False):
                if p is not t:
                    t.copy_(p)
                t.grad = torch.as_tensor(g).detach().to(t.dtype)
        holder.optimizer.step()
        holder.optimizer.zero_grad(set_to_none=True)
        new = [t.detach().clone() for t in holder.tensors]
        return OptimState(state.step + 1, optree.tree_unflatten(treedef, new), holder)

    def get_params(self, state: OptimState) -> Any:
        return state.params


def wrap(optimizer: Any, *args: Any, **kwargs: Any) -> TorchOptimizer:
    """Wrap a torch.optim class with its keyword arguments."""
    if args:
        raise TypeError("pass torch.optim hyper-parameters as keywords, e.g. lr=1e-3")
    return TorchOptimizer(optimizer, **kwargs)
