"""Exact clean-ups of a recorded graph: operations that return their input, dropped.

A recorded step (:func:`polyro.backends.torch.record.record_graph`) holds every operation that
reached torch's dispatcher, the backward pass's included: ``detach``, an ``expand`` or ``view``
to the shape the tensor already has, ``x - 0``, ``x * 1``, ``x / 1``, ``x ** 1`` (in the
gradient of a square), the ``sum`` of a 0-d tensor, and ``ones_like``/``zeros_like`` of a
tensor whose shape is known (a constant, which constant propagation then carries through the
``neg`` and ``expand`` after it). Each costs about
a microsecond per call on CPU and changes no value: this pass removes them, before torch's own
constant propagation, common-subexpression elimination and dead-code elimination run again.

Every rule returns exactly the value the operation computes, bit for bit, for every input:
``x - 0`` only for a positive zero (``-0.0 - 0.0`` is ``-0.0``; ``x + 0`` is not exact for
``x = -0.0``, so it stays), and only where the result has the input's shape and dtype (no
broadcasting, no type promotion). The recording is still checked against the function
afterwards, as before.

>>> import torch
>>> g = torch._C.parse_ir('''graph(%x : Double(3, strides=[1], requires_grad=0, device=cpu)):
...   %one : Double(requires_grad=0, device=cpu) = prim::Constant[value={1}]()
...   %y : Double(3, strides=[1], requires_grad=0, device=cpu) = aten::mul(%x, %one)
...   %z : Double(3, strides=[1], requires_grad=0, device=cpu) = aten::detach(%y)
...   return (%z)''', parse_tensor_constants=True)
>>> simplify(g)
2
>>> [n.kind() for n in g.nodes() if n.kind() != "prim::Constant"]
[]
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["simplify"]

_MISSING = object()


def _constant(v: Any) -> Any:
    """The value of a graph value made by ``prim::Constant``, else ``_MISSING``."""
    node = v.node()
    if node.kind() != "prim::Constant":
        return _MISSING
    try:
        return v.toIValue()
    except RuntimeError:  # pragma: no cover - a constant kind toIValue cannot convert
        return _MISSING


def _is_scalar_const(v: Any, want: float, positive_zero: bool = False) -> bool:
    """``v`` is a constant number or tensor whose every element equals ``want`` (for 0: a
    positive zero where asked)."""
    c = _constant(v)
    if c is _MISSING or isinstance(c, bool) or c is None:
        return False
    if isinstance(c, (int, float)):
        if c != want:
            return False
        return not (positive_zero and math.copysign(1.0, c) < 0)
    if isinstance(c, torch.Tensor) and c.numel() > 0 and not c.is_complex():
        if not bool((c == want).all()):
            return False
        return not (positive_zero and bool(torch.signbit(c).any()))
    return False


def _same_type(a: Any, b: Any) -> bool:
    """Both values are tensors of one known shape and dtype."""
    ta, tb = a.type(), b.type()
    if not (isinstance(ta, torch._C.TensorType) and isinstance(tb, torch._C.TensorType)):
        return False
    sa, sb = ta.sizes(), tb.sizes()
    return (sa is not None and sa == sb and ta.scalarType() is not None
            and ta.scalarType() == tb.scalarType())


def _passthrough(node: Any) -> Any:
    """The input value ``node`` returns unchanged, or None."""
    kind = node.kind()
    ins = list(node.inputs())
    out = node.output() if node.outputsSize() == 1 else None
    if out is None:
        return None
    x = ins[0] if ins else None
    if kind == "aten::detach":
        return x if _same_type(x, out) else None
    if kind in ("aten::expand", "aten::view", "aten::reshape", "aten::expand_as"):
        return x if _same_type(x, out) else None
    if kind == "aten::sub" and len(ins) == 3:  # x - c * alpha
        if _is_scalar_const(ins[1], 0.0, positive_zero=True) and _is_scalar_const(ins[2], 1) \
                and _same_type(x, out):
            return x
        return None
    if kind in ("aten::mul", "aten::div") and len(ins) == 2:
        if _is_scalar_const(ins[1], 1.0) and _same_type(x, out):
            return x
        if kind == "aten::mul" and _is_scalar_const(ins[0], 1.0) and _same_type(ins[1], out):
            return ins[1]
        return None
    if kind == "aten::pow" and len(ins) == 2:  # x ** 1 (a square's gradient has one)
        if _is_scalar_const(ins[1], 1.0) and _same_type(x, out):
            return x
        return None
    if kind == "aten::sum" and len(ins) == 2 and _constant(ins[1]) is None:  # sum(x, dtype=None)
        t = x.type()
        if isinstance(t, torch._C.TensorType) and t.sizes() == [] and _same_type(x, out):
            return x
    return None


def _filled(node: Any) -> torch.Tensor | None:
    """The constant ``ones_like``/``zeros_like`` returns, where its type is fully known."""
    kind = node.kind()
    if kind not in ("aten::ones_like", "aten::zeros_like") or node.outputsSize() != 1:
        return None
    t = node.output().type()
    if not isinstance(t, torch._C.TensorType):
        return None
    sizes, dtype, device = t.sizes(), t.dtype(), t.device()
    if sizes is None or dtype is None or device is None:
        return None
    fill = torch.ones if kind == "aten::ones_like" else torch.zeros
    return fill(sizes, dtype=dtype, device=device)


def simplify(graph: Any) -> int:
    """Remove, in place, the operations of ``graph`` that return their input unchanged, and
    turn ``ones_like``/``zeros_like`` of known shape into constants; returns how many nodes
    were rewritten. Run torch's constant propagation and dead-code elimination after it.

    >>> import torch
    >>> g = torch._C.parse_ir('''graph(%x : Double(requires_grad=0, device=cpu)):
    ...   %n : NoneType = prim::Constant()
    ...   %s : Double(requires_grad=0, device=cpu) = aten::sum(%x, %n)
    ...   return (%s)''')
    >>> simplify(g)
    1
    """
    count = 0
    for node in list(graph.nodes()):
        src = _passthrough(node)
        if src is not None:
            node.output().replaceAllUsesWith(src)
            node.destroy()
            count += 1
            continue
        value = _filled(node)
        if value is not None:
            with graph.insert_point_guard(node):
                const = graph.insertConstant(value)
            const.setType(node.output().type())
            node.output().replaceAllUsesWith(const)
            node.destroy()
            count += 1
    return count
