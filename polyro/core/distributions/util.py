"""Small helpers shared by every distribution family (engine-neutral).

Family authors use :func:`broadcast_params` in ``__init__``, :func:`validate_sample` on
``log_prob``, :func:`sum_rightmost`, :func:`clamp_probs` and :class:`lazy_property`.

>>> import numpy as np
>>> be, xp, (loc, scale), batch_shape = broadcast_params(np.zeros(3), 1.0)
>>> batch_shape
(3,)
>>> tuple(scale.shape)
(3,)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polyro.backends import backend, backend_of
from polyro.core.distributions.validation import values_trusted
from polyro.core.shared_arrays import shared_array

__all__ = [
    "as_array",
    "broadcast_params",
    "broadcast_shape",
    "clamp_probs",
    "concrete_numpy",
    "cumsum",
    "exclusive_cumsum",
    "format_value",
    "is_concrete",
    "lazy_property",
    "matrix_diagonal",
    "promote_shapes",
    "shape_of",
    "sum_rightmost",
    "tril_matrix_to_vec",
    "validate_sample",
    "vec_to_tril_matrix",
]


class lazy_property:
    """A property computed once on first access and cached in the instance ``__dict__``.

    Distributions that accept either of two parametrisations (``probs``/``logits``) keep the
    one given in ``__dict__`` and compute the other lazily; validation checks only parameters
    present in ``__dict__``.

    >>> class A:
    ...     @lazy_property
    ...     def x(self):
    ...         print("computing"); return 1
    >>> a = A(); a.x
    computing
    1
    >>> a.x
    1
    """

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.fn.__name__] = value
        return value


def shape_of(x: Any) -> tuple[int, ...]:
    """Shape of an array or Python scalar as a plain tuple.

    >>> shape_of(1.0), shape_of(np.zeros((2, 3)))
    ((), (2, 3))
    """
    s = getattr(x, "shape", None)
    if s is None:
        return ()
    if type(s) is tuple:  # numpy / JAX: already a tuple of ints
        return s
    t = tuple(s)  # e.g. torch.Size
    for d in t:
        if type(d) is not int:
            return tuple(int(d) for d in t)
    return t


def broadcast_shape(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The broadcast of ``shapes`` (numpy rules); raises ValueError naming them if incompatible.

    >>> broadcast_shape((3, 1), (4,), ())
    (3, 4)
    """
    fast = _broadcast_small(shapes)
    if fast is not None:
        return fast
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise ValueError(
            f"shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together; "
            "make their trailing dimensions equal or 1"
        ) from None


def concrete_numpy(x: Any) -> np.ndarray | None:
    """``x`` as a numpy array, or None when its value is not available (a JAX tracer, a value
    inside a torch function transform).

    This is how validation detects tracing: by capability, not by backend name.

    >>> concrete_numpy(2.0)
    array(2.)
    """
    if x is None:
        return None
    if isinstance(x, (bool, int, float, np.ndarray, np.generic)):
        return np.asarray(x)
    try:
        be = backend_of(x)
        return np.asarray(be.to_numpy(be.stop_gradient(x)))
    except Exception:  # tracer conversion errors differ per engine and version
        return None


def host_check(constraint: Any, value: Any) -> np.ndarray | None:
    """``constraint.check(value)`` computed in numpy, for a value (and constraint parameters)
    held in host memory; None when one of them is traced or on an accelerator, and the caller
    checks with the engine instead.

    Validation only needs a yes or no for concrete values, and numpy answers it without a
    per-shape XLA compile on JAX or a dozen small-op dispatches on torch.

    >>> from polyro.core.distributions import constraints
    >>> host_check(constraints.positive, np.array([1.0, -1.0]))
    array([ True, False])
    """
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        hv = np.asarray(value)
    else:
        hv = backend_of(value).host_view(value)
    if hv is None:
        return None
    host = constraint.on_host()
    if host is None:
        return None
    with backend("numpy"):  # numpy data would otherwise join the active engine
        return np.asarray(host.check(hv))


def concrete_check(constraint: Any, value: Any, concrete_only: bool = False
                   ) -> tuple[np.ndarray | None, Any]:
    """``(ok as numpy, or None while traced; the engine's ok array, or None when the host
    answered)``: :func:`host_check` where it can, else the engine's ``check``, run once.

    ``concrete_only=True`` is for callers that only raise on a concrete answer: a traced
    ``value`` then gives ``(None, None)`` without adding the check's operations to the traced
    program (where nothing would read them).

    >>> from polyro.core.distributions import constraints
    >>> concrete_check(constraints.positive, np.array([1.0, -1.0]))
    (array([ True, False]), None)
    """
    ok_np = host_check(constraint, value)
    if ok_np is not None:
        return ok_np, None
    if concrete_only and not is_concrete(value):
        return None, None
    ok = constraint.check(value)
    return concrete_numpy(ok), ok


def is_concrete(x: Any) -> bool:
    """Whether the value of ``x`` can be read now (False under tracing).

    >>> is_concrete(np.ones(2))
    True
    """
    return concrete_numpy(x) is not None


def as_array(be: Any, x: Any) -> Any:
    """``x`` as an array of backend ``be`` (lists/tuples go through numpy first, so float data
    keeps full float64 precision on every engine).

    >>> import polyro.backends as B
    >>> as_array(B.get("numpy"), [0.1, 0.2]).dtype
    dtype('float64')
    """
    if be.is_array(x):
        return x
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    return be.asarray(x)


def _broadcast_small(shapes: Sequence[Sequence[int]]) -> tuple[int, ...] | None:
    """Broadcast of tuples of ints in pure Python (``None``: leave it to numpy, which also
    writes the error for incompatible shapes). Distributions call this at every construction."""
    out: tuple[int, ...] = ()
    for s in shapes:
        if type(s) is not tuple:
            return None
        if not s or s == out:
            continue
        if not out:
            out = s
            continue
        n = max(len(out), len(s))
        a = (1,) * (n - len(out)) + out
        b = (1,) * (n - len(s)) + s
        res = []
        for x, y in zip(a, b, strict=True):
            if type(x) is not int or type(y) is not int:
                return None
            if x == y or y == 1:
                res.append(x)
            elif x == 1:
                res.append(y)
            else:
                return None
        out = tuple(res)
    for d in out:
        if type(d) is not int:
            return None
    return out


_IS_REAL_FLOAT: dict[Any, bool] = {}


def _is_real_float(xp: Any, dt: Any) -> bool:
    hit = _IS_REAL_FLOAT.get(dt)
    if hit is None:
        hit = _IS_REAL_FLOAT[dt] = bool(xp.isdtype(dt, "real floating"))
    return hit


def _float_dtype_of(be: Any, xp: Any, arrays: Sequence[Any]) -> Any:
    floats = [a for a in arrays if _is_real_float(xp, a.dtype)]
    if not floats:
        return be.float_dtype()
    dt = floats[0].dtype
    for a in floats[1:]:
        if a.dtype != dt:
            dt = xp.result_type(dt, a.dtype)
    return dt


class _PolicyFloat:
    """Stands for a Python float parameter in the dtype promotion of :func:`broadcast_params`."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype


_CONSTANTS: dict[tuple, Any] = {}


def _fresh_constant(be: Any, value: float | int, dt: Any) -> Any:
    # as before the cache: the value in its own default dtype, then cast (same bits)
    arr = be.asarray(value)
    return arr if arr.dtype == dt else be.xp.astype(arr, dt)


def _constant(be: Any, value: float | int, dt: Any, policy_dt: Any) -> Any:
    """A scalar array of ``value`` in dtype ``dt``, made once per (backend, value, dtype, device)
    and shared: distributions built at every step of an inference loop with literal parameters
    (``Normal(0.0, 1.0)``) create no new arrays. Never modify it in place (numpy copies are
    read-only). Engines that compile stage every array creation into the compiled code (a
    cached array made while tracing would leak the tracer): they get a fresh one."""
    if value != value:  # NaN: no key
        return _fresh_constant(be, value, dt)
    k = (be, type(value), value, math.copysign(1.0, value), dt, policy_dt, be.default_device())
    return shared_array(be, _CONSTANTS, k, lambda: _fresh_constant(be, value, dt))


def broadcast_params(
    *params: Any, dtype: Any = None, event_dims: Sequence[int] | None = None
) -> tuple[Any, Any, tuple[Any, ...], tuple[int, ...]]:
    """Convert parameters to arrays of one engine and float dtype and broadcast their batch dims.

    Returns ``(be, xp, params, batch_shape)``. Python scalars and numpy data become arrays of
    the backend that owns the other parameters (or the active one); integer/bool parameters
    are cast to the common float dtype (pass ``dtype`` to force one). ``event_dims`` gives the
    number of event dims of each parameter (default all 0): only the leading dims broadcast.

    >>> be, xp, (a, b), bs = broadcast_params([1.0, 2.0], np.ones((3, 1)))
    >>> bs, tuple(a.shape)
    ((3, 2), (3, 2))
    """
    be = backend_of(*params)
    xp = be.xp
    arrays: list[Any] = []
    literals = []  # positions of Python float/int parameters: shared constants below
    py_float = False
    for i, p in enumerate(params):
        tp = type(p)
        if tp is float or tp is int:
            literals.append(i)
            py_float = py_float or tp is float
            arrays.append(None)
        else:
            arrays.append(None if p is None else as_array(be, p))
    present = [a for a in arrays if a is not None]
    policy_dt = be.float_dtype() if literals else None
    if dtype is not None:
        dt = dtype
    else:
        if py_float:  # a Python float counts as an array of the policy float dtype
            present.append(_PolicyFloat(policy_dt))
        dt = _float_dtype_of(be, xp, present)
    arrays = [None if a is None else (a if a.dtype == dt else xp.astype(a, dt)) for a in arrays]
    for i in literals:
        arrays[i] = _constant(be, params[i], dt, policy_dt)
    if event_dims is None:
        event_dims = [0] * len(arrays)
    batch_shapes = []
    for a, ed in zip(arrays, event_dims, strict=False):
        if a is None:
            continue
        s = shape_of(a)
        batch_shapes.append(s[: len(s) - ed] if ed else s)
    batch_shape = broadcast_shape(*batch_shapes) if batch_shapes else ()
    out = []
    for a, ed in zip(arrays, event_dims, strict=False):
        if a is None:
            out.append(None)
            continue
        s = shape_of(a)
        ev = s[len(s) - ed :] if ed else ()
        target = batch_shape + ev
        out.append(a if s == target else xp.broadcast_to(a, target))
    return be, xp, tuple(out), batch_shape


def promote_shapes(*args: Any, shape: Sequence[int] = ()) -> list[Any]:
    """Left-pad array dims with size-1 axes so all have the same number of dims (no broadcast).

    >>> [tuple(a.shape) for a in promote_shapes(np.ones(3), np.ones((2, 1)))]
    [(1, 3), (2, 1)]
    """
    ndim = max([len(shape)] + [len(shape_of(a)) for a in args])
    out = []
    for a in args:
        s = shape_of(a)
        if len(s) == ndim or not hasattr(a, "shape"):
            out.append(a)
        else:
            xp = backend_of(a).xp
            out.append(xp.reshape(a, (1,) * (ndim - len(s)) + s))
    return out


def sum_rightmost(x: Any, n: int) -> Any:
    """Sum the ``n`` rightmost dims of ``x`` (a no-op for ``n <= 0``).

    >>> sum_rightmost(np.ones((2, 3, 4)), 2)
    array([12., 12.])
    """
    if n <= 0:
        return x
    xp = backend_of(x).xp
    if not hasattr(x, "shape"):
        return x
    nd = len(shape_of(x))
    n = min(n, nd)
    if n == 0:
        return x
    return xp.sum(x, axis=tuple(range(nd - n, nd)))


def clamp_probs(p: Any) -> Any:
    """Clip probabilities into ``[eps, 1 - eps]`` of their float dtype.

    >>> float(clamp_probs(np.array(0.0))) > 0
    True
    """
    xp = backend_of(p).xp
    eps = float(xp.finfo(p.dtype).eps)
    return xp.clip(p, eps, 1.0 - eps)


def cumsum(x: Any, axis: int = -1) -> Any:
    """Cumulative sum along ``axis`` (array-API ``cumulative_sum``).

    >>> cumsum(np.array([1.0, 2.0, 3.0]))
    array([1., 3., 6.])
    """
    xp = backend_of(x).xp
    return xp.cumulative_sum(x, axis=axis)


def exclusive_cumsum(x: Any, axis: int = -1) -> Any:
    """Cumulative sum that excludes the current element (starts at 0) along the last axis.

    >>> exclusive_cumsum(np.array([1.0, 2.0, 3.0]))
    array([0., 1., 3.])
    """
    xp = backend_of(x).xp
    if axis != -1:
        x = xp.moveaxis(x, axis, -1)
    c = xp.cumulative_sum(x, axis=-1)
    out = xp.concat([xp.zeros_like(c[..., :1]), c[..., :-1]], axis=-1)
    if axis != -1:
        out = xp.moveaxis(out, -1, axis)
    return out


def matrix_diagonal(x: Any) -> Any:
    """The diagonal of the last two dims.

    >>> matrix_diagonal(np.eye(2) * 3)
    array([3., 3.])
    """
    return backend_of(x).xp.linalg.diagonal(x)


@functools.lru_cache(maxsize=256)
def _tril_gather_index(n: int, diagonal: int) -> tuple[np.ndarray, int]:
    rows, cols = np.tril_indices(n, k=diagonal)
    k = len(rows)
    idx = np.full((n, n), k, dtype=np.int64)  # k points at an appended zero
    idx[rows, cols] = np.arange(k)
    return idx.reshape(-1), k


def _n_from_tril_len(k: int, diagonal: int) -> int:
    # k = m (m + 1) / 2 with m = n + diagonal
    m = int(round((math.sqrt(8 * k + 1) - 1) / 2))
    if m * (m + 1) // 2 != k:
        raise ValueError(
            f"a vector of length {k} cannot fill a triangular matrix (lengths are n(n+1)/2)"
        )
    return m - diagonal


def vec_to_tril_matrix(x: Any, diagonal: int = 0) -> Any:
    """Fill a lower-triangular matrix (row-major, up to ``diagonal``) from the last dim of ``x``.

    >>> vec_to_tril_matrix(np.array([1.0, 2.0, 3.0]))
    array([[1., 0.],
           [2., 3.]])
    """
    be = backend_of(x)
    xp = be.xp
    k = shape_of(x)[-1]
    n = _n_from_tril_len(k, diagonal)
    idx, _ = _tril_gather_index(n, diagonal)
    padded = xp.concat([x, xp.zeros_like(x[..., :1])], axis=-1)
    flat = xp.take(padded, be.asarray(idx), axis=-1)
    return xp.reshape(flat, shape_of(x)[:-1] + (n, n))


def tril_matrix_to_vec(x: Any, diagonal: int = 0) -> Any:
    """The lower-triangular entries (row-major, up to ``diagonal``) of the last two dims.

    >>> tril_matrix_to_vec(np.array([[1.0, 0.0], [2.0, 3.0]]))
    array([1., 2., 3.])
    """
    be = backend_of(x)
    xp = be.xp
    n = shape_of(x)[-1]
    rows, cols = np.tril_indices(n, k=diagonal)
    flat = xp.reshape(x, shape_of(x)[:-2] + (n * n,))
    return xp.take(flat, be.asarray(rows * n + cols), axis=-1)


def format_value(v: Any) -> str:
    """Short text for a value in an error message (numbers, small arrays).

    >>> format_value(np.array([1.0, -2.0]))
    '[ 1. -2.]'
    """
    a = np.asarray(v)
    if a.ndim == 0:
        return repr(a.item())
    return np.array2string(a, threshold=12, precision=6)


def _first_bad(ok: np.ndarray) -> tuple[int, ...]:
    bad = np.argwhere(~np.asarray(ok, dtype=bool))
    return tuple(int(i) for i in bad[0]) if len(bad) else ()


def _value_at(value: np.ndarray, event_dim: int, index: tuple[int, ...]) -> Any:
    """The entry of ``value`` behind ``index`` of a (possibly broadcast) check result."""
    value = np.asarray(value)
    vb = value.shape[: max(value.ndim - event_dim, 0)]
    idx = tuple(index[len(index) - len(vb):]) if len(vb) <= len(index) else ()
    idx = tuple(0 if d == 1 else i for d, i in zip(vb[len(vb) - len(idx):], idx, strict=False))
    try:
        return value[idx]
    except IndexError:
        return value


def validate_sample(log_prob: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for ``log_prob(self, value)``: check ``value`` against ``self.support``.

    With validation on (and a concrete value) a value outside the support raises ValueError
    naming the distribution, the support, the first bad index and the value; otherwise
    (validation off, or traced values) out-of-support entries get ``-inf``.

    >>> class D:
    ...     _validate_args = False
    ...     from polyro.core.distributions import constraints
    ...     support = constraints.positive
    ...     @validate_sample
    ...     def log_prob(self, value):
    ...         return value * 0.0
    >>> D().log_prob(np.array([1.0, -1.0]))
    array([  0., -inf])
    """

    @functools.wraps(log_prob)
    def wrapper(self: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        if values_trusted() and not getattr(self, "_validate_args", False):
            return log_prob(self, value, *args, **kwargs)
        be = backend_of(value)
        if not be.is_array(value):
            value = be.asarray(value)
        support = self.support
        ok = None
        if getattr(self, "_validate_args", False):
            ok_np, ok = concrete_check(support, value)
            if ok_np is not None:
                if not ok_np.all():
                    raise_outside_support(self, value, ok_np)
                return log_prob(self, value, *args, **kwargs)
        if ok is None:
            ok = support.check(value)
        lp = log_prob(self, value, *args, **kwargs)
        xp = backend_of(lp).xp
        return xp.where(ok, lp, xp.asarray(-math.inf, dtype=lp.dtype))

    return wrapper


def raise_outside_support(dist: Any, value: Any, ok_np: np.ndarray) -> None:
    """Raise the standard ValueError for a value outside ``dist.support``.

    >>> from polyro.core.distributions import constraints
    >>> class D: support = constraints.positive
    >>> raise_outside_support(D(), np.array([1.0, -1.0]), np.array([True, False]))
    Traceback (most recent call last):
    ...
    ValueError: D.log_prob: value outside the support positive: value[1] = -1.0 (value shape (2,)); pass a value inside the support, or validate_args=False to get -inf instead
    """
    vnp = concrete_numpy(value)
    idx = _first_bad(ok_np)
    bad = _value_at(vnp, dist.support.event_dim, idx) if vnp is not None else "?"
    where = "value" + ("[" + ", ".join(map(str, idx)) + "]" if idx else "")
    missing = ""
    if vnp is not None and np.issubdtype(np.asarray(vnp).dtype, np.floating) and bool(
            np.isnan(vnp).any()):
        missing = ("; NaN entries (missing data?) can be left out with "
                   "obs_mask=~isnan(data) on the sample site")
    raise ValueError(
        f"{type(dist).__name__}.log_prob: value outside the support {dist.support!r}: "
        f"{where} = {format_value(bad)} (value shape {shape_of(value)}); pass a value inside "
        f"the support, or validate_args=False to get -inf instead{missing}"
    )
