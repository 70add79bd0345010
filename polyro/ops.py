"""Engine-neutral math: write model and library code once, run it on numpy, torch and JAX.

``polyro.ops`` is what model code and library authors targeting several frameworks write
against. It has every function of the Python array API standard (``exp``, ``sum``, ``stack``,
``where``, ``zeros``, ``eye``, ``matmul``, ...), the special functions (``lgamma``,
``logsumexp``, ``log_softmax``, ``betainc``, ...), the linear-algebra extras (``cholesky``,
``solve_triangular``, ``cho_solve``, ``slogdet``, ``inv``, ``solve``), functional index updates
and ``stop_gradient``. Each call is dispatched on its inputs:

* the computation runs on the **active backend** (``polyro.set_backend`` /
  ``with polyro.backend(...)``), whose arrays come back;
* torch tensors or JAX arrays (tracers included) must belong to that backend, otherwise
  :class:`~polyro.errors.MixedBackendError` says how to fix it (no silent copies between engines);
* numpy arrays, lists and Python numbers are data, converted once, at the call, to the backend's
  arrays (float data in the policy dtype);
* creation functions (``zeros``, ``ones``, ``eye``, ``full``, ``arange``, ``linspace``,
  ``empty``, ``asarray``) create on the active backend, floats in the policy dtype
  (``polyro.set_default_dtype``) unless ``dtype`` is given.

Constants and dtypes (``ops.pi``, ``ops.inf``, ``ops.float32``, ``ops.int64``...) are the active
backend's. ``ops.xp()`` is the active backend's array-API namespace itself.

>>> import polyro
>>> from polyro import ops
>>> x = ops.asarray([0.0, 1.0, 2.0])
>>> float(ops.logsumexp(x)) == float(ops.log(ops.sum(ops.exp(x))))
True
>>> ops.stack([x, x]).shape
(2, 3)
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from polyro.backends import backend_of, current, engine_of
from polyro.core.runtime import Messenger
from polyro.errors import ModelError

# NB: this module defines max, min, sum, any, all, abs, round, pow: use ``builtins.`` for those.

# --- names, by how their arguments are arrays -------------------------------------------------
_UNARY = (
    "abs acos acosh asin asinh atan atanh bitwise_invert ceil conj cos cosh exp expm1 floor imag "
    "isfinite isinf isnan log log1p log2 log10 logical_not negative positive real reciprocal "
    "round sign signbit sin sinh square sqrt tan tanh trunc clip "
    "all any argmax argmin argsort sort count_nonzero nonzero cumulative_prod cumulative_sum diff "
    "max min mean prod std sum var unique_all unique_counts unique_inverse unique_values astype "
    "broadcast_to expand_dims flip moveaxis permute_dims repeat reshape roll squeeze tile unstack "
    "matrix_transpose take take_along_axis empty_like ones_like zeros_like full_like tril triu"
).split()
_BINARY = (
    "add atan2 bitwise_and bitwise_left_shift bitwise_or bitwise_right_shift bitwise_xor "
    "copysign divide equal floor_divide greater greater_equal hypot less less_equal logaddexp "
    "logical_and logical_or logical_xor maximum minimum multiply nextafter not_equal pow "
    "remainder subtract matmul tensordot vecdot searchsorted"
).split()
_TERNARY = ["where"]
_SEQUENCE = ["stack", "concat"]  # first argument is a sequence of arrays
_VARARGS = ["broadcast_arrays", "meshgrid"]  # every positional argument is an array
_DTYPE_FUNCS = ["can_cast", "finfo", "iinfo", "isdtype", "result_type"]
_CREATION = ["zeros", "ones", "empty", "eye", "full", "arange", "linspace"]

#: Protocol functions forwarded to the adapter (which converts its own inputs).
_ADAPTER = (
    "lgamma digamma polygamma erf erfc erfinv ndtr log_ndtr ndtri xlogy xlog1py logsumexp "
    "log_softmax softmax softplus expit logit log1mexp lbeta multigammaln gammainc gammaincc "
    "betainc i0e i1e cholesky solve_triangular cho_solve slogdet inv solve index_update "
    "index_add stop_gradient"
).split()

#: Every array-API function name ``polyro.ops`` provides.
ARRAY_API = sorted(_UNARY + _BINARY + _TERNARY + _SEQUENCE + _VARARGS + _DTYPE_FUNCS
                   + _CREATION + ["asarray"])

__all__ = sorted(set(ARRAY_API + _ADAPTER + ["xp", "float_dtype", "ARRAY_API", "scan"]))


def _is_data(x: Any) -> bool:
    """numpy arrays/scalars and Python lists: data to convert at the boundary."""
    return engine_of(x) == "numpy" or isinstance(x, (list, tuple))


def _prep(be: Any, x: Any, any_engine: bool) -> Any:
    if be.is_array(x):
        return x
    if isinstance(x, (bool, int, float, complex)):
        return x if any_engine else be.asarray(x)
    if _is_data(x):
        return be.asarray(x)
    return x


def _has_engine_array(be: Any, values: Any) -> bool:
    return builtins.any(be.is_array(v) for v in values)


def _make(name: str, positions: tuple[int, ...]) -> Callable[..., Any]:
    stop = builtins.max(positions) + 1

    if stop == 1:
        def fn(x: Any, *args: Any, **kwargs: Any) -> Any:
            be = backend_of(x)
            if not be.is_array(x):
                x = _prep(be, x, False)
            return getattr(be.xp, name)(x, *args, **kwargs)
    else:
        def fn(*args: Any, **kwargs: Any) -> Any:
            head = args[:stop]
            be = backend_of(*head)
            flags = [be.is_array(a) for a in head]
            if not builtins.all(flags):
                anyarr = builtins.any(flags)
                args = tuple(_prep(be, a, anyarr) if i < stop and not flags[i] else a
                             for i, a in enumerate(args))
            return getattr(be.xp, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Array-API ``{name}`` on the active backend (inputs checked and converted "
                  "as described in :mod:`polyro.ops`).")
    return fn


def _make_seq(name: str) -> Callable[..., Any]:
    def fn(arrays: Any, *args: Any, **kwargs: Any) -> Any:
        arrays = list(arrays)
        be = backend_of(*arrays)
        anyarr = _has_engine_array(be, arrays)
        return getattr(be.xp, name)([_prep(be, a, anyarr) for a in arrays], *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Array-API ``{name}`` of a sequence of arrays on the active backend."
    return fn


def _make_varargs(name: str) -> Callable[..., Any]:
    def fn(*arrays: Any, **kwargs: Any) -> Any:
        be = backend_of(*arrays)
        anyarr = _has_engine_array(be, arrays)
        return getattr(be.xp, name)(*[_prep(be, a, anyarr) for a in arrays], **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Array-API ``{name}`` of several arrays on the active backend."
    return fn


def _make_dtype_fn(name: str) -> Callable[..., Any]:
    def fn(*args: Any, **kwargs: Any) -> Any:
        return getattr(backend_of(*args).xp, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Array-API ``{name}`` of the active backend."
    return fn


def _make_adapter(name: str) -> Callable[..., Any]:
    def fn(*args: Any, **kwargs: Any) -> Any:
        return getattr(backend_of(*args), name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The backend protocol's ``{name}`` (see :mod:`polyro.backends.protocol`)."
    return fn


for _n in _UNARY:
    globals()[_n] = _make(_n, (0,))
for _n in _BINARY:
    globals()[_n] = _make(_n, (0, 1))
globals()["where"] = _make("where", (0, 1, 2))
for _n in _SEQUENCE:
    globals()[_n] = _make_seq(_n)
for _n in _VARARGS:
    globals()[_n] = _make_varargs(_n)
for _n in _DTYPE_FUNCS:
    globals()[_n] = _make_dtype_fn(_n)
for _n in _ADAPTER:
    globals()[_n] = _make_adapter(_n)


def take(x: Any, indices: Any, /, *, axis: int | None = None) -> Any:
    """Array-API ``take`` with indices of any shape on every engine, as numpy and JAX allow
    (the array API, and torch through it, accept only a vector): the result has shape
    ``x.shape[:axis] + indices.shape + x.shape[axis + 1:]``. Models index parameters with
    enumerated values this way, whose shape carries the enumeration dims.

    >>> import numpy as np
    >>> take(np.array([10.0, 20.0]), np.array([[1], [0]]), axis=0).tolist()
    [[20.0], [10.0]]
    """
    be = backend_of(x, indices)
    x, indices = _prep(be, x, False), _prep(be, indices, False)
    if axis is None:
        if len(x.shape) != 1:
            raise ValueError(f"take: pass axis for an array of {len(x.shape)} dimensions "
                             f"(shape {tuple(x.shape)})")
        axis = 0
    axis = axis % len(x.shape)
    if len(indices.shape) == 1:
        return be.xp.take(x, indices, axis=axis)
    flat = be.xp.take(x, be.xp.reshape(indices, (-1,)), axis=axis)
    shape = tuple(x.shape[:axis]) + tuple(indices.shape) + tuple(x.shape[axis + 1:])
    return be.xp.reshape(flat, shape)


# --- control flow for pure functions ---------------------------------------------------------
class _NoSites(Messenger):
    """Refuses every effect (sample/param/deterministic...) inside ``ops.scan``'s body: a body
    the engine traces once (``jax.lax.scan``) cannot hold model sites, whose values would leak
    out of the trace."""

    ignores_stop = True

    def process_message(self, msg: Any) -> None:
        site = "" if msg.get("name") is None else f" at site {msg['name']!r}"
        raise ModelError(
            f"polyro.ops.scan: the body function made a {msg['type']!r} statement{site}; "
            "ops.scan runs pure array functions only (on JAX it is traced once, so model sites "
            "inside would leak tracers). Write the sites in a Python loop (with polyro.markov "
            "for a chain) and keep ops.scan for the arithmetic.")


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False) -> tuple[Any, Any]:
    """Engine-neutral ``lax.scan`` for pure array code: ``carry, y = f(carry, x)`` over the
    leading axis of ``xs``; returns ``(final_carry, ys)`` with the ``y`` stacked along axis 0.

    On JAX this is ``jax.lax.scan``: the body is traced and compiled once, however long the
    sequence (a Python loop inside a jitted model is unrolled: its compile time grows with the
    length). On torch and numpy it is a Python loop; gradients flow through it on torch.
    Carries and ``xs`` are pytrees; numpy data in them is converted once to the active backend.
    The body must be pure: a ``polyro.sample``/``param``/``deterministic`` inside raises
    :class:`~polyro.errors.ModelError` (use a Python loop for sites, ``ops.scan`` for the math,
    e.g. an HMM's forward algorithm).

    >>> import numpy as np
    >>> carry, ys = scan(lambda c, x: (c + x, c * x), 0.0, np.array([1.0, 2.0, 3.0]))
    >>> float(carry), ys.tolist()
    (6.0, [0.0, 2.0, 9.0])
    """
    be = backend_of(*current().tree_leaves((init, xs)))
    init, xs = be.tree_map(lambda leaf: _prep(be, leaf, False), (init, xs))

    def body(carry: Any, x: Any) -> tuple[Any, Any]:
        with _NoSites():
            return f(carry, x)

    return be.scan(body, init, xs, length=length, reverse=reverse)


# --- creation: the active backend, policy float dtype ---------------------------------------
def xp() -> Any:
    """The active backend's array-API namespace.

    >>> xp().__name__
    'array_api_compat.numpy'
    """
    return current().xp


def float_dtype() -> Any:
    """The active backend's default float dtype (the dtype policy).

    >>> float_dtype() is not None
    True
    """
    return current().float_dtype()


def asarray(x: Any, dtype: Any = None) -> Any:
    """``x`` as an array of the active backend (float data in the policy dtype).

    >>> asarray([1, 2]).tolist()
    [1, 2]
    """
    return backend_of(x).asarray(x, dtype=dtype)


def _dt(be: Any, dtype: Any) -> Any:
    return be.dtype(dtype) if isinstance(dtype, str) else dtype


def zeros(shape: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """Zeros of ``shape`` (policy float unless ``dtype``).

    >>> zeros((2,)).tolist()
    [0.0, 0.0]
    """
    be = current()
    return be.xp.zeros(shape, dtype=_dt(be, dtype) or be.float_dtype(), **kwargs)


def ones(shape: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """Ones of ``shape`` (policy float unless ``dtype``).

    >>> ones(2).tolist()
    [1.0, 1.0]
    """
    be = current()
    return be.xp.ones(shape, dtype=_dt(be, dtype) or be.float_dtype(), **kwargs)


def empty(shape: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """Uninitialised array of ``shape`` (policy float unless ``dtype``).

    >>> empty((0,)).shape
    (0,)
    """
    be = current()
    return be.xp.empty(shape, dtype=_dt(be, dtype) or be.float_dtype(), **kwargs)


def eye(n_rows: int, n_cols: int | None = None, k: int = 0, dtype: Any = None,
        **kwargs: Any) -> Any:
    """Identity-like matrix (policy float unless ``dtype``).

    >>> eye(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    be = current()
    return be.xp.eye(n_rows, n_cols, k=k, dtype=_dt(be, dtype) or be.float_dtype(), **kwargs)


def full(shape: Any, fill_value: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """``shape`` filled with ``fill_value`` (a Python float fill takes the policy float).

    >>> full((2,), 3).tolist()
    [3, 3]
    """
    be = current()
    dt = _dt(be, dtype)
    if dt is None and isinstance(fill_value, float):
        dt = be.float_dtype()
    if be.is_array(fill_value) or _is_data(fill_value):
        fill_value = be.asarray(fill_value)
        out = be.xp.zeros(shape, dtype=dt or fill_value.dtype, **kwargs)
        return out + fill_value
    return be.xp.full(shape, fill_value, dtype=dt, **kwargs)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None, **kwargs: Any) -> Any:
    """``start, start + step, ...`` below ``stop`` (floats in the policy dtype).

    >>> arange(3).tolist()
    [0, 1, 2]
    """
    be = current()
    dt = _dt(be, dtype)
    if dt is None and builtins.any(isinstance(v, float) for v in (start, stop, step)):
        dt = be.float_dtype()
    return be.xp.arange(start, stop, step, dtype=dt, **kwargs)


def linspace(start: Any, stop: Any, num: int, dtype: Any = None, endpoint: bool = True,
             **kwargs: Any) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (policy float unless ``dtype``).

    >>> linspace(0.0, 1.0, 3).tolist()
    [0.0, 0.5, 1.0]
    """
    be = current()
    return be.xp.linspace(start, stop, num, dtype=_dt(be, dtype) or be.float_dtype(),
                          endpoint=endpoint, **kwargs)


def __getattr__(name: str) -> Any:
    """Constants and dtypes (``pi``, ``inf``, ``float32``, ...) of the active backend."""
    if name.startswith("__"):
        raise AttributeError(name)
    ns = current().xp
    if hasattr(ns, name):
        return getattr(ns, name)
    raise AttributeError(f"module 'polyro.ops' has no attribute {name!r} (and the active "
                         f"backend's namespace {ns.__name__} has none either)")
