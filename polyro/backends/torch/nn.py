"""``polyro.module`` support on torch: a ``torch.nn.Module``.

Its ``named_parameters()`` become param sites ``{name}$$${param_name}``; the returned callable
runs the module with the (possibly substituted) values through ``torch.func.functional_call``,
so a model run never modifies the module object. Training does, as in Pyro (where the module's
parameters are the param store's): :func:`write_back` copies trained values into it.

>>> import torch
>>> lin = torch.nn.Linear(2, 1)
>>> sorted(module_params(lin))
['bias', 'weight']
>>> vals = {"weight": torch.ones(1, 2), "bias": torch.zeros(1)}
>>> float(bind(lin, vals)(torch.ones(1, 2)).sum())
2.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

__all__ = ["bind", "module_params", "write_back"]


def module_params(nn_module: Any) -> dict[str, Any]:
    """``{name: parameter}`` of a ``torch.nn.Module``."""
    if not isinstance(nn_module, torch.nn.Module):
        raise TypeError(
            "polyro.module on the torch backend expects a torch.nn.Module, got "
            f"{type(nn_module).__name__}"
        )
    return dict(nn_module.named_parameters())


def bind(nn_module: Any, values: Mapping[str, Any]) -> Callable[..., Any]:
    """A callable running ``nn_module`` with parameters ``values`` (functional_call)."""
    own = dict(nn_module.named_parameters())
    if all(values.get(k) is v for k, v in own.items()):
        return nn_module
    params = dict(values)

    def run(*args: Any, **kwargs: Any) -> Any:
        return torch.func.functional_call(nn_module, params, args, kwargs)

    return run


def write_back(nn_module: Any, values: Mapping[str, Any]) -> None:
    """Copy ``values`` (``{parameter name: tensor}``, e.g. trained by SVI) into ``nn_module``'s
    own parameters, in place (names it lacks, or of another shape, are left alone).

    >>> lin = torch.nn.Linear(2, 1)
    >>> write_back(lin, {"bias": torch.tensor([3.0])})
    >>> float(lin.bias)
    3.0
    """
    own = dict(nn_module.named_parameters())
    with torch.no_grad():
        for k, v in values.items():
            p = own.get(k)
            if p is not None and tuple(p.shape) == tuple(v.shape):
                p.copy_(v)
