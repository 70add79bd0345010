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

import functools
import math
import operator
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .graph_rewrites import simplify

__all__ = ["record_fn", "record_graph", "host_call"]

_transforms_active = torch._C._are_functorch_transforms_active
# torch internals this module relies on; where one is missing (another torch version) nothing is
# recorded and every function runs as written
_is_tracing = getattr(torch._C, "_is_tracing", None)
_value_trace = getattr(torch._C, "_get_value_trace", None)
_get_optimize = getattr(torch._C, "_get_graph_executor_optimize", None)
_set_optimize = getattr(torch._C, "_set_graph_executor_optimize", None)
_AVAILABLE = None not in (_is_tracing, _value_trace, _get_optimize, _set_optimize) and hasattr(
    torch._C, "CompilationUnit")
#: A guard that dispatches below torch's autograd and view-tracking layers, or ``None``.
_below_autograd = getattr(torch._C, "_AutoDispatchBelowADInplaceOrView", None)


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
        if flags is not None and not flags and (
                getattr(_local, "strict", False) or (_is_tracing() and _depends_on_inputs(self))):
            flags.append(name)
        return orig(self, *args, **kwargs)

    method.__name__ = name
    return method


class _ValueWatch:
    """While recording, note (in the list it binds) every conversion of an input-dependent
    tensor to a Python value (``strict``: of any tensor). The Tensor methods are wrapped only
    while some thread records (the wrappers pass other calls straight through)."""

    def __init__(self, strict: bool = False) -> None:
        self._strict = strict

    def __enter__(self) -> list:
        with _lock:
            if _installed[0] == 0:
                for name in _CONVERSIONS:
                    own = name in torch.Tensor.__dict__
                    _saved[name] = (own, torch.Tensor.__dict__.get(name))
                    setattr(torch.Tensor, name, _watching(name, getattr(torch.Tensor, name)))
            _installed[0] += 1
        self._prev = getattr(_local, "flags", None), getattr(_local, "strict", False)
        _local.flags, _local.strict = [], self._strict
        return _local.flags

    def __exit__(self, *exc: object) -> None:
        _local.flags, _local.strict = self._prev
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
def _signature(args: Sequence[Any], floats_only: bool = True) -> tuple | None:
    """Shapes, dtypes and devices of plain tensor ``args`` (float ones only, by default);
    ``None`` for anything else."""
    sig = []
    for a in args:
        if type(a) is not torch.Tensor or (floats_only and not a.is_floating_point()):
            return None
        sig.append((tuple(a.shape), a.dtype, a.device))
    return tuple(sig)


def _fits(args: Sequence[Any], sig: tuple, start: int = 0) -> bool:
    """Whether a recording made for ``sig`` serves ``args`` (plain tensors of its shapes, dtypes
    and devices, outside ``torch.func`` transforms); the arguments before ``start`` are known to
    fit."""
    if len(args) != len(sig) or _transforms_active():
        return False
    for i in range(start, len(sig)):
        a = args[i]
        shape, dtype, device = sig[i]
        if type(a) is not torch.Tensor or a.dtype != dtype or a.shape != shape or (
                a.device != device):
            return False
    return True


#: carry signature -> [the last outputs of a recording with that carry, whether they are free
#: of autograd]. Recordings with one carry signature (a loop body recorded in two variants, say)
#: share the cell: an output of either, passed back, needs no check.
_CARRY_CELLS: dict[tuple, list] = {}


def _carry_cell(carry_sig: tuple) -> list:
    """The shared cell of ``carry_sig`` (:data:`_CARRY_CELLS`)."""
    with _lock:
        if len(_CARRY_CELLS) > 64:  # many models in one process: start over (cells stay valid)
            _CARRY_CELLS.clear()
        return _CARRY_CELLS.setdefault(carry_sig, [(), False])


def _carry_length(out_sig: tuple | None, sig: tuple) -> int:
    """How many leading outputs have the signature of the argument at their position: a loop
    that passes them back as those arguments (its carry) needs no check of them."""
    k = 0
    for o, i in zip(out_sig or (), sig, strict=False):
        if o != i:
            break
        k += 1
    return k


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
        if _fits(args, sig):
            return _run_plain(traced, args)
        flags = getattr(_local, "flags", None)
        if flags is not None and getattr(_local, "strict", False):
            flags.append("eager fallback of a recorded function")
        return fn(*args)

    recorded.__wrapped__ = fn  # type: ignore[attr-defined]
    return recorded


# ------------------------------------------------------------------ whole steps, gradients inside
def _alias_key(t: torch.Tensor) -> tuple:
    """Identity of a tensor's *contents*: autograd hands saved tensors back as new objects over
    the same memory, so objects are matched by memory and layout, not by ``id``."""
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(),
            t.dtype, t.device)


class _Slot:
    """A tensor of a recorded tape made by an input or an earlier operation."""

    __slots__ = ("key",)

    def __init__(self, key: int) -> None:
        self.key = key


def host_call(fn: Callable) -> Callable:
    """Mark ``fn`` as a host computation of this adapter: torch's portable random draws compute
    their bits in numpy from a key's two words taken as Python integers, which a recording may
    not bake in. While :func:`record_graph` records, a call to ``fn`` is written down as one step
    of the recording's *host program* (run before the graph at every call; its results enter the
    graph as inputs) instead of as the operations it runs.

    >>> @host_call
    ... def words(k):
    ...     return torch.tensor(k.tolist()) + 1
    >>> words(torch.tensor([1, 2])).tolist()
    [2, 3]
    """

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        rec = getattr(_local, "host", None)
        if rec is None:
            return fn(*args, **kwargs)
        return rec(fn, args, kwargs)

    return wrapped


def _op_log_mode() -> Any:
    from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

    class OpLog(TorchDispatchMode):
        """Writes down every operation that reaches the dispatcher below autograd (the backward
        pass's included), with its arguments and results, and every host call."""

        def __init__(self) -> None:
            super().__init__()
            self.ops: list[tuple] = []

        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # torch would wrap __torch_dispatch__ to keep its compiler out, importing that
            # compiler (seconds) on the first call; nothing here is compiled
            return False

        def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (),
                               kwargs: dict | None = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            self.ops.append(("op", func, args, kwargs, out))
            return out

        def host(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
            saved = _local.flags, _local.host
            _local.flags, _local.host = None, None  # its own conversions are its business
            try:
                with _disable_current_modes():
                    out = fn(*args, **kwargs)
            finally:
                _local.flags, _local.host = saved
            self.ops.append(("host", fn, args, kwargs, out))
            return out

    return OpLog()


def _tensors_of(x: Any) -> list:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for y in x for t in _tensors_of(y)]
    return []


def _slot_ids(a: Any) -> list[int]:
    if isinstance(a, _Slot):
        return [a.key]
    if isinstance(a, (list, tuple)):
        return [i for b in a for i in _slot_ids(b)]
    if isinstance(a, dict):
        return [i for b in a.values() for i in _slot_ids(b)]
    return []


def _resolve(a: Any, env: dict) -> Any:
    if isinstance(a, _Slot):
        return env[a.key]
    if isinstance(a, (list, tuple)):
        return type(a)(_resolve(b, env) for b in a)
    if isinstance(a, dict):
        return {k: _resolve(v, env) for k, v in a.items()}
    return a


def _run_tape(tape: list, env: dict) -> None:
    for func, args, kwargs, oids in tape:
        new = func(*_resolve(args, env), **_resolve(kwargs, env))
        env.update(zip(oids, _tensors_of(new), strict=True))


def _dispatch_graph(fn: Callable, examples: tuple) -> tuple[Callable | None, tuple, list]:
    """``(runner, fn's outputs at the examples, value conversions seen)``.

    One run of ``fn`` under a dispatch mode logs its operations and host calls. The log becomes
    a tape (each tensor argument a slot, made by an input or an earlier entry, or a constant,
    e.g. the model's data). The host calls and the entries they depend on form the host program,
    run in Python at every call; the rest, replayed under torch's tracer, is the graph, in which
    the gradients are plain operations. Lighter than ``make_fx``, which imports torch's compiler
    stack (seconds)."""
    from torch.jit._trace import _get_trace_graph

    log = _op_log_mode()
    prev = getattr(_local, "host", None)
    _local.host = log.host
    try:
        with _ValueWatch(strict=True) as flags, log:
            outs = tuple(fn(*examples))
    finally:
        _local.host = prev
    if flags:
        return None, outs, list(flags)
    # tensors are matched by memory and layout, not by object: autograd hands saved tensors
    # back as new objects over the same memory
    ids = {_alias_key(a): i for i, a in enumerate(examples)}
    n_in = count = len(examples)

    def template(a: Any) -> Any:
        if isinstance(a, torch.Tensor):
            k = _alias_key(a)
            return _Slot(ids[k]) if k in ids else a.detach()
        if isinstance(a, (list, tuple)):
            return type(a)(template(b) for b in a)
        if isinstance(a, dict):
            return {k: template(v) for k, v in a.items()}
        return a

    entries = []
    for kind, func, args, kwargs, out in log.ops:
        targs, tkw = template(args), template(kwargs)
        oids = []
        for o in _tensors_of(out):
            ids[_alias_key(o)] = count  # a fresh slot (an in-place result included)
            oids.append(count)
            count += 1
        entries.append((kind, (func, targs, tkw, oids)))
    results = [template(o) for o in outs]
    del log
    # the host program: host calls and, backwards, every entry they read
    needed: set[int] = set()
    on_host = [False] * len(entries)
    for i in range(len(entries) - 1, -1, -1):
        kind, (_, targs, tkw, oids) = entries[i]
        if kind == "host" or needed.intersection(oids):
            on_host[i] = True
            needed.update(_slot_ids(targs), _slot_ids(tkw))
    host = [e for (_, e), h in zip(entries, on_host, strict=True) if h]
    graph_tape = [e for (_, e), h in zip(entries, on_host, strict=True) if not h]
    made_on_host = {o for e in host for o in e[3]}
    read = {i for e in graph_tape for i in _slot_ids(e[1]) + _slot_ids(e[2])}
    read.update(i for r in results for i in _slot_ids(r))
    extra = sorted(made_on_host & read)  # host results the graph reads: graph inputs

    def replay(*gin: torch.Tensor) -> tuple:
        env = dict(zip(list(range(n_in)) + extra, gin, strict=True))
        _run_tape(graph_tape, env)
        return tuple(_resolve(r, env) for r in results)

    env0 = dict(enumerate(examples))
    _run_tape(host, env0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph, _ = _get_trace_graph(replay, (*examples, *[env0[i] for i in extra]))
    # structural clean-ups that leave every value as it is: operations on constants alone (the
    # data's) done once here, operations that return their input dropped (graph_rewrites),
    # repeated operations merged, unused ones dropped
    passes = [getattr(torch._C, name, lambda g: None) for name in
              ("_jit_pass_constant_propagation", "_jit_pass_cse", "_jit_pass_dce")]
    passes[0](graph)
    simplify(graph)
    for rewrite in passes:
        rewrite(graph)
    graph_fn = torch._C.CompilationUnit().create_function("polyro_recorded_step", graph)
    # The graph holds the backward pass as plain operations, so when no input requires a
    # gradient, autograd has nothing to record: its dispatch layer (and the view and version
    # tracking beside it) can be skipped, about a fifth of the cost of each small operation.
    # Not with an in-place operation in the graph: version counters must still see those.
    below = _below_autograd if not any(n.kind().endswith("_") for n in graph.nodes()) else None

    def run(args: Sequence[torch.Tensor], grad: bool | None = None) -> Any:
        """The graph at ``args``; ``grad``: whether any of them requires a gradient (None:
        look)."""
        if grad is None:
            grad = any(a.requires_grad for a in args)
        if host:
            env = dict(enumerate(args))
            _run_tape(host, env)
            args = (*args, *[env[i] for i in extra])
        if below is not None and not grad:
            with below():
                return _run_plain(graph_fn, args)
        return _run_plain(graph_fn, args)

    return run, outs, []


def _same_outputs(want: Sequence[Any], got: Any) -> bool:
    got = (got,) if isinstance(got, torch.Tensor) else tuple(got)
    return len(got) == len(want) and all(
        isinstance(w, torch.Tensor) and w.dtype == g.dtype and _same_bits(w, g)
        for w, g in zip(want, got, strict=True))


def record_graph(fn: Callable[..., tuple], example_args: Sequence[Any],
                 probe_args: Sequence[Sequence[Any]] = ()) -> Callable[..., tuple] | None:
    """Record ``fn(*tensors) -> tuple of tensors`` -- gradients taken inside it included -- as
    one graph run op by op; ``None`` when that is not safe.

    This serves a sampler's inner step (a leapfrog step with its potential, gradient and
    bookkeeping): every operation of one call that reaches torch's dispatcher, those of the
    backward pass included, is written down, and the graph of those operations then runs
    without Python, autograd or the model. Refused when recording fails, when any tensor is
    turned into a Python value during the recording run (the function must be branch-free:
    ``where``, not ``if``; the potentials it calls must be recorded ones), and when the graph's
    outputs differ from the function's in any bit at the example or at any of ``probe_args``
    (other inputs of the same shapes: a tensor taken for a constant by mistake shows there).
    The returned callable runs the graph for inputs of the example's shapes, dtypes and devices
    (outside ``torch.func`` transforms), and ``fn`` otherwise.

    >>> import torch
    >>> def step(x):
    ...     x = x.detach().requires_grad_(True)
    ...     with torch.enable_grad():
    ...         v = (x * x.exp()).sum()
    ...         (g,) = torch.autograd.grad(v, (x,))
    ...     return v.detach(), g
    >>> f = record_graph(step, (torch.ones(2),), [(torch.zeros(2),)])
    >>> x = torch.tensor([1.0, 3.0])
    >>> all(torch.equal(a, b) for a, b in zip(f(x), step(x)))
    True
    >>> record_graph(lambda x: (x * 2,) if float(x.sum()) > 0 else (x,), (torch.ones(2),))
    """
    if not _AVAILABLE or _transforms_active() or _is_tracing():
        return None
    sig = _signature(example_args, floats_only=False)
    if sig is None or any(_signature(p, floats_only=False) != sig for p in probe_args):
        return None
    # own memory for every input: tensors are matched by memory while recording, and two
    # arguments that are one tensor in the example may not be one in later calls
    examples = tuple(a.detach().clone() for a in example_args)
    try:
        run, want, flags = _dispatch_graph(fn, examples)
        if flags or not _same_outputs(want, run(examples)):
            return None
        for p in probe_args:
            p = tuple(a.detach() for a in p)
            if not _same_outputs(tuple(fn(*p)), run(p)):
                return None
    except Exception:  # noqa: BLE001 - anything the tracers cannot handle: stay eager
        return None
    single = len(want) == 1
    carry = _carry_length(_signature(want, floats_only=False), sig)
    last = _carry_cell(sig[:carry])

    def recorded(*args: Any) -> tuple:
        prev, prev_free = last
        k = min(len(prev), carry)
        if k and len(args) == len(sig) and all(map(operator.is_, args[:k], prev[:k])):
            if not _fits(args, sig, k):
                return tuple(fn(*args))
            grad = not prev_free or any(args[i].requires_grad for i in range(k, len(args)))
        elif _fits(args, sig):
            grad = any(a.requires_grad for a in args)
        else:
            return tuple(fn(*args))
        out = run(args, grad)
        out = (out,) if single else tuple(out)
        last[0], last[1] = out, not grad
        return out

    recorded.__wrapped__ = fn  # type: ignore[attr-defined]
    return recorded
