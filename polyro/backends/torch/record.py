"""Recording a scalar function of arrays once, for the hot loops of inference (torch only).

torch runs eagerly, so a potential energy evaluated at every leapfrog step pays the Python cost
of the whole model (handlers, distribution objects, shape logic) at every call. When the
function has static shapes and no Python control flow on array *values*, torch's tracer (the
one ``torch.jit.trace`` uses) records the tensor operations of one call into a graph that later
calls run without that Python cost; gradients flow through it with ordinary autograd, higher
orders included. The graph runs op by op, without the TorchScript executor's rewrites, so values
and gradients are those of the function to the last bit.

:func:`record_fn` is an optional capability of this adapter: inference reaches it with
``getattr(be, "record_fn", None)`` and uses the function itself wherever it returns ``None``.
It refuses (returns ``None``) when tracing raises; when, during the recording run, a tensor
whose value depends on the inputs is converted to a Python value (``bool``, ``int``, ``float``,
``.item()``, ``.tolist()``, ``.numpy()``: a branch, loop or constant taken from a value would
make the recording wrong elsewhere -- conversions of sizes and of data do not count); and when
the recorded graph disagrees with the function (bit for bit), in value or gradient, at the
example point or at three points around it. The callable it returns checks at every call that
the inputs have the recorded shapes, dtypes and devices and that no ``torch.func`` transform
(``vmap``, ``grad``, ...) is active, and otherwise calls the function itself.

>>> import torch
>>> f = record_fn(lambda x, y: (x * y).sum(), (torch.ones(3), torch.ones(3)))
>>> float(f(torch.arange(3.0), torch.ones(3)))
3.0
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["record_fn"]

_transforms_active = torch._C._are_functorch_transforms_active
# torch internals this module relies on; where one is missing (another torch version) nothing is
# recorded and every function runs as written
_is_tracing = getattr(torch._C, "_is_tracing", None)
_value_trace = getattr(torch._C, "_get_value_trace", None)
_get_optimize = getattr(torch._C, "_get_graph_executor_optimize", None)
_set_optimize = getattr(torch._C, "_set_graph_executor_optimize", None)
_AVAILABLE = None not in (_is_tracing, _value_trace, _get_optimize, _set_optimize) and hasattr(
    torch._C, "CompilationUnit")


def _run_plain(traced: Callable, args: Sequence[Any]) -> Any:
    """Run a traced graph op by op, without the graph executor's optimizations: those rewrite
    the graph (constant folding, symbolic derivatives) and change results in the last bits, so
    a sampler's trajectory would depend on whether the potential was recorded. Run plainly,
    value and autograd gradient equal the eager function's bit for bit."""
    flag = _get_optimize()
    _set_optimize(False)
    try:
        return traced(*args)
    finally:
        _set_optimize(flag)


# ------------------------------------------------------------------ value-dependence watch
#: Tensor methods that hand a value to Python.
_CONVERSIONS = ("__bool__", "__int__", "__float__", "__index__", "__complex__", "item",
                "tolist", "numpy", "__array__")
#: Graph nodes whose result depends on the *shape* of their input only.
_SHAPE_ONLY = frozenset({"aten::size", "aten::numel", "aten::dim", "aten::len", "prim::device",
                         "prim::dtype", "prim::layout"})
_local = threading.local()
_lock = threading.Lock()
_installed: list[int] = [0]
_saved: dict[str, tuple[bool, Any]] = {}


def _depends_on_inputs(t: Any) -> bool:
    """Whether the traced value of tensor ``t`` depends on the values of the traced inputs
    (reaching a graph input other than through a size)."""
    try:
        v = _value_trace(t)
    except Exception:  # noqa: BLE001 - unknown: assume it does
        return True
    todo, seen = [v], set()
    while todo:
        v = todo.pop()
        u = v.unique()
        if u in seen:
            continue
        seen.add(u)
        node = v.node()
        kind = node.kind()
        if kind == "prim::Param":
            return True
        if kind in _SHAPE_ONLY or kind == "prim::Constant":
            continue
        todo.extend(node.inputs())
    return False


def _watching(name: str, orig: Callable) -> Callable:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        flags = getattr(_local, "flags", None)
        if flags is not None and not flags and _is_tracing() and _depends_on_inputs(self):
            flags.append(name)
        return orig(self, *args, **kwargs)

    method.__name__ = name
    return method


class _ValueWatch:
    """While recording, note (in the list it binds) every conversion of an input-dependent
    tensor to a Python value. The Tensor methods are wrapped only while some thread records
    (the wrappers pass other calls straight through)."""

    def __enter__(self) -> list:
        with _lock:
            if _installed[0] == 0:
                for name in _CONVERSIONS:
                    own = name in torch.Tensor.__dict__
                    _saved[name] = (own, torch.Tensor.__dict__.get(name))
                    setattr(torch.Tensor, name, _watching(name, getattr(torch.Tensor, name)))
            _installed[0] += 1
        self._prev = getattr(_local, "flags", None)
        _local.flags = []
        return _local.flags

    def __exit__(self, *exc: object) -> None:
        _local.flags = self._prev
        with _lock:
            _installed[0] -= 1
            if _installed[0] == 0:
                for name, (own, value) in _saved.items():
                    if own:
                        setattr(torch.Tensor, name, value)
                    else:
                        delattr(torch.Tensor, name)
                _saved.clear()


def _trace(fn: Callable, examples: tuple) -> tuple[Callable | None, list]:
    """``(graph function, value conversions seen)`` of one traced run of ``fn``.

    ``torch.jit.trace`` registers every traced function, and the arrays its graph holds (the
    model's data), in torch's process-wide compilation unit, which never frees them: one
    recording per sampler run would leak. The same tracer, reached through
    ``torch.jit._trace._get_trace_graph`` (what the ONNX exporter uses), gives the graph alone;
    the function made from it lives as long as the returned object."""
    from torch.jit._trace import _get_trace_graph

    with warnings.catch_warnings():  # the tracer's own warnings: the watch decides instead
        warnings.simplefilter("ignore")
        with _ValueWatch() as flags:
            graph, _ = _get_trace_graph(fn, examples)
    return torch._C.CompilationUnit().create_function("polyro_recorded", graph), list(flags)


# ------------------------------------------------------------------ verification
def _signature(args: Sequence[Any]) -> tuple | None:
    sig = []
    for a in args:
        if type(a) is not torch.Tensor or not a.is_floating_point():
            return None
        sig.append((tuple(a.shape), a.dtype, a.device))
    return tuple(sig)


def _value_and_grads(fn: Callable, args: Sequence[torch.Tensor]) -> tuple[Any, list]:
    xs = [a.detach().requires_grad_(True) for a in args]
    with torch.enable_grad():
        v = fn(*xs)
        if not isinstance(v, torch.Tensor) or v.ndim != 0 or not v.is_floating_point():
            raise TypeError("record_fn: the function must return a float scalar tensor")
        if v.requires_grad:
            gs = torch.autograd.grad(v, xs, allow_unused=True)
        else:
            gs = (None,) * len(xs)
    return v.detach(), [torch.zeros_like(x) if g is None else g.detach()
                        for x, g in zip(xs, gs, strict=True)]


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    nan_a, nan_b = a.isnan(), b.isnan()
    return bool(torch.equal(nan_a, nan_b) and torch.equal(a[~nan_a], b[~nan_b]))


def _probes(args: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
    """The example point and three points around it (fixed offsets of different sizes; no
    random state is touched)."""
    out = [list(args)]
    for k, scale in enumerate((0.37, 1.9, 0.013)):
        pts = []
        for i, a in enumerate(args):
            idx = torch.arange(a.numel(), dtype=a.dtype, device=a.device).reshape(a.shape)
            pts.append(a + scale * torch.sin(idx * 1.7 + 0.9 * i + 2.3 * k + 0.5))
        out.append(pts)
    return out


def record_fn(fn: Callable[..., torch.Tensor], example_args: Sequence[Any],
              *, verify: bool = True) -> Callable[..., torch.Tensor] | None:
    """Record ``fn(*arrays) -> scalar`` with torch's tracer at ``example_args``; ``None``
    when that is not safe (see the module docstring).

    The returned callable computes ``fn(*arrays)`` (differentiably) from the recorded graph for
    inputs of the example's shapes, dtypes and devices, outside ``torch.func`` transforms, and
    calls ``fn`` otherwise. ``verify`` compares value and gradient of graph and function at
    the example point and three points around it (at least two of them must give finite values,
    or the recording is refused).

    >>> import torch
    >>> def f(x):
    ...     return x.sum() if float(x.sum()) > 0 else -x.sum()   # a branch on a value
    >>> record_fn(f, (torch.ones(2),)) is None
    True
    """
    if not _AVAILABLE or _transforms_active() or _is_tracing():
        return None
    sig = _signature(example_args)
    if sig is None:
        return None
    examples = tuple(a.detach() for a in example_args)
    try:  # (also where torch.jit._trace._get_trace_graph is missing)
        traced, conversions = _trace(fn, examples)
    except Exception:  # noqa: BLE001 - anything the tracer cannot handle: stay eager
        return None
    if conversions:
        return None
    if verify:
        finite = 0
        try:
            for pts in _probes(examples):
                v_e, g_e = _value_and_grads(fn, pts)
                v_t, g_t = _value_and_grads(lambda *a: _run_plain(traced, a), pts)
                if not _same_bits(v_e, v_t) or not all(
                        _same_bits(a, b) for a, b in zip(g_e, g_t, strict=True)):
                    return None
                finite += math.isfinite(float(v_e))
        except Exception:  # noqa: BLE001 - e.g. the function fails near the example point
            return None
        if finite < 2:  # too little evidence (the points are where the function is not finite)
            return None

    def recorded(*args: Any) -> torch.Tensor:
        if len(args) == len(sig) and not _transforms_active():
            for a, (shape, dtype, device) in zip(args, sig, strict=True):
                if (type(a) is not torch.Tensor or a.dtype != dtype or a.shape != shape
                        or a.device != device):
                    break
            else:
                return _run_plain(traced, args)
        return fn(*args)

    recorded.__wrapped__ = fn  # type: ignore[attr-defined]
    return recorded
