"""Reverse-mode autodiff on the torch backend, with JAX's calling conventions.

``value_and_grad(fn, argnums, has_aux)(*args)`` returns ``(value, grads)`` (``((value, aux),
grads)`` with ``has_aux``), where ``grads`` has the pytree structure of ``args[argnums]`` (a tuple
of such when ``argnums`` is a tuple). It is the hot path of HMC/NUTS on torch, so it uses plain
``torch.autograd.grad`` on fresh leaf tensors (measured faster per call than ``torch.func``).

Composition: inside ``torch.func`` transforms (``vmap``, ``jacobian``, another ``torch.func``
grad) it switches to ``torch.func.grad_and_value``; when an input already requires grad (an
enclosing ``grad``, or ``nn.Parameter`` inputs) the gradient is built with ``create_graph=True`` so
an outer derivative flows through it.

>>> import torch
>>> val, g = value_and_grad(lambda p: (p["w"] ** 2).sum())({"w": torch.tensor([1.0, -2.0])})
>>> float(val), g["w"].tolist()
(5.0, [2.0, -4.0])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .tree import tree_flatten, tree_unflatten

__all__ = ["grad", "jacobian", "stop_gradient", "value_and_grad"]


def _norm_argnums(argnums: int | tuple[int, ...] | list[int]) -> tuple[tuple[int, ...], bool]:
    if isinstance(argnums, int):
        return (argnums,), False
    nums = tuple(int(i) for i in argnums)
    if not nums:
        raise ValueError("value_and_grad: argnums must name at least one argument")
    return nums, True


def _as_float_tensor(leaf: Any, where: str) -> torch.Tensor:
    if not isinstance(leaf, torch.Tensor):
        from polyro.backends.torch import asarray

        leaf = asarray(leaf)
    if not (leaf.is_floating_point() or leaf.is_complex()):
        raise TypeError(
            f"{where}: can only differentiate with respect to floating-point inputs, got a "
            f"tensor of dtype {leaf.dtype} and shape {tuple(leaf.shape)}; pass it as a float, or "
            "leave it out of argnums"
        )
    return leaf


def _check_scalar(value: Any, where: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or value.ndim != 0:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise TypeError(f"{where}: the function must return a scalar (shape ()) tensor, got {shape}")
    return value


_transforms_active = torch._C._are_functorch_transforms_active
_grad_enabled = torch.is_grad_enabled


def _detached(aux: Any) -> Any:
    # like JAX's, an aux output carries no autograd graph once the gradient is taken: a kept graph
    # would chain every later step to this one (vectorized NUTS grew by 3 MiB per iteration)
    if aux is None:
        return None
    if type(aux) is torch.Tensor:  # the vectorized NUTS case, once per leapfrog step
        return aux.detach()
    leaves, td = tree_flatten(aux)
    return tree_unflatten(td, [x.detach() if isinstance(x, torch.Tensor) else x for x in leaves])


def _split(out: Any, has_aux: bool) -> tuple[torch.Tensor, Any]:
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("value_and_grad: with has_aux=True the function must return a pair "
                            f"(value, aux), got {type(out).__name__}")
        value, aux = out
    else:
        value, aux = out, None
    if type(value) is not torch.Tensor or value.ndim != 0:
        value = _check_scalar(value, "value_and_grad")
    return value, aux


def _func_path(fn: Callable, nums: tuple[int, ...], multi: bool, has_aux: bool,
               args: list[Any], kwargs: dict[str, Any]) -> Any:
    for i in nums:
        leaves, td = tree_flatten(args[i])
        args[i] = tree_unflatten(td, [_as_float_tensor(x, "value_and_grad") for x in leaves])
    argnums = nums if multi else nums[0]
    g, out = torch.func.grad_and_value(fn, argnums=argnums, has_aux=has_aux)(*args, **kwargs)
    return out, g


def value_and_grad(fn: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """Return a function computing ``fn(*args)`` and its gradient w.r.t. ``args[argnums]``.

    ``fn`` must return a scalar tensor (or ``(scalar, aux)`` with ``has_aux=True``). Inputs at
    ``argnums`` are pytrees of float tensors (numpy arrays / Python floats are converted).

    >>> import torch
    >>> f = value_and_grad(lambda x, y: (x * y).sum(), argnums=(0, 1))
    >>> val, (gx, gy) = f(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))
    >>> gx.tolist(), gy.tolist()
    ([3.0, 4.0], [1.0, 2.0])
    """
    nums, multi = _norm_argnums(argnums)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        args_l = list(args)
        if max(nums) >= len(args_l):
            raise TypeError(f"value_and_grad: argnums={argnums} but the function got "
                            f"{len(args_l)} positional arguments")
        if _transforms_active():
            return _func_path(fn, nums, multi, has_aux, args_l, kwargs)
        if not multi:  # fast path: one plain tensor argument (the HMC/NUTS potential)
            a = args_l[nums[0]]
            if type(a) is torch.Tensor and not a.requires_grad and a.is_floating_point():
                a = a.detach().requires_grad_(True)
                args_l[nums[0]] = a
                if _grad_enabled():
                    out = fn(*args_l, **kwargs)
                else:
                    with torch.enable_grad():
                        out = fn(*args_l, **kwargs)
                value, aux = _split(out, has_aux)
                if value.requires_grad:
                    (g,) = torch.autograd.grad(value, (a,), allow_unused=True)
                    if g is None:
                        g = torch.zeros_like(a)
                else:
                    g = torch.zeros_like(a)
                value = value.detach()
                return ((value, _detached(aux)), g) if has_aux else (value, g)
        create_graph = False
        structs = []
        inputs: list[torch.Tensor] = []
        for i in nums:
            leaves, td = tree_flatten(args_l[i])
            new = []
            for leaf in leaves:
                t = _as_float_tensor(leaf, "value_and_grad")
                if t.requires_grad:
                    create_graph = True
                else:
                    t = t.detach().requires_grad_(True)
                new.append(t)
            structs.append((td, len(new)))
            inputs.extend(new)
            args_l[i] = tree_unflatten(td, new)
        with torch.enable_grad():
            out = fn(*args_l, **kwargs)
            value, aux = _split(out, has_aux)
            if value.requires_grad:
                gs = torch.autograd.grad(value, inputs, allow_unused=True,
                                         create_graph=create_graph)
            else:
                gs = (None,) * len(inputs)
        gs = [torch.zeros_like(x) if g is None else g for g, x in zip(gs, inputs, strict=True)]
        grads = []
        pos = 0
        for td, n in structs:
            grads.append(tree_unflatten(td, gs[pos:pos + n]))
            pos += n
        g_out = tuple(grads) if multi else grads[0]
        if not create_graph:
            value, aux = value.detach(), _detached(aux)
        return ((value, aux), g_out) if has_aux else (value, g_out)

    return wrapped


def grad(fn: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient of scalar ``fn`` w.r.t. ``args[argnums]`` (``(grad, aux)`` with ``has_aux``).

    >>> import torch
    >>> grad(lambda x: (x ** 3).sum())(torch.tensor([2.0])).tolist()
    [12.0]
    """
    vg = value_and_grad(fn, argnums=argnums, has_aux=has_aux)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out, g = vg(*args, **kwargs)
        return (g, out[1]) if has_aux else g

    return wrapped


def jacobian(fn: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Jacobian of ``fn`` w.r.t. ``args[argnums]`` (reverse mode, ``torch.func.jacrev``).

    The result has shape ``out.shape + in.shape``, pytree-structured like JAX's ``jacrev``.

    >>> import torch
    >>> jacobian(lambda x: x * 2.0)(torch.tensor([1.0, 1.0])).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    nums, multi = _norm_argnums(argnums)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        args_l = list(args)
        for i in nums:
            leaves, td = tree_flatten(args_l[i])
            args_l[i] = tree_unflatten(td, [_as_float_tensor(x, "jacobian") for x in leaves])
        return torch.func.jacrev(fn, argnums=nums if multi else nums[0])(*args_l, **kwargs)

    return wrapped


def stop_gradient(x: Any) -> Any:
    """``x`` with no gradient flowing back through it (works on pytrees).

    >>> import torch
    >>> stop_gradient(torch.ones(1, requires_grad=True)).requires_grad
    False
    """
    from .tree import tree_map

    return tree_map(lambda v: v.detach() if isinstance(v, torch.Tensor) else v, x)
