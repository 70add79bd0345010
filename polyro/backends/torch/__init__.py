"""The PyTorch backend: eager autograd, ``torch.func.vmap``, Python control flow.

``value_and_grad`` uses plain reverse-mode autograd (the fastest path per call in eager mode);
``jit`` is the identity; ``while_loop``/``fori_loop``/``scan``/``cond`` run as Python loops with
JAX's semantics; ``vmap`` is ``torch.func.vmap``.

>>> from polyro.backends import torch as be
>>> be.NAME, be.SUPPORTS_AUTODIFF
('torch', True)
>>> float(be.value_and_grad(lambda x: (x * x).sum())(be.asarray([1.0, 2.0]))[0])
5.0
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp  # noqa: F401  (protocol name)
import numpy as np
import torch

from polyro.backends import policy as _policy
from polyro.backends import sync_engine_registrations as _sync
from polyro.errors import MixedBackendError

from .autodiff import *  # noqa: F403
from .control_flow import *  # noqa: F403
from .linalg import *  # noqa: F403
from .random import *  # noqa: F403
from .record import record_fn, record_graph  # noqa: F401  (optional capabilities, record.py)
from .special import *  # noqa: F403
from .tree import *  # noqa: F403

NAME = "torch"
SUPPORTS_AUTODIFF = True
#: ``jit`` is the identity (no tracing compiler is used).
SUPPORTS_JIT = False
#: ``vmap`` is ``torch.func.vmap`` (vectorized).
SUPPORTS_VMAP = True

_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "uint16": torch.uint16, "uint32": torch.uint32,
    "uint64": torch.uint64, "bool": torch.bool, "complex64": torch.complex64,
    "complex128": torch.complex128,
}


def float_dtype() -> torch.dtype:
    """The policy's default float dtype on torch (float32 unless the user asked float64).

    >>> float_dtype() in (torch.float32, torch.float64)
    True
    """
    return _DTYPES[_policy.get_default_dtype(NAME)]


def dtype(name: Any) -> torch.dtype:
    """The torch dtype called ``name`` ('float32', 'float64', 'int64', 'bool', 'uint32', ...).

    ``'float'`` means the policy's float dtype; a torch dtype is returned unchanged, a numpy dtype
    is translated.

    >>> dtype("int64")
    torch.int64
    """
    if isinstance(name, torch.dtype):
        return name
    key = name.strip().lower() if isinstance(name, str) else np.dtype(name).name
    if key == "float":
        return float_dtype()
    if key not in _DTYPES:
        raise ValueError(f"dtype: unknown dtype name {name!r}; known: {sorted(_DTYPES)} or 'float'")
    return _DTYPES[key]


_resolve_dtype = dtype


def is_array(x: Any) -> bool:
    """True for torch tensors.

    >>> is_array(torch.ones(2)), is_array(np.ones(2))
    (True, False)
    """
    return isinstance(x, torch.Tensor)


def asarray(x: Any, dtype: Any = None) -> torch.Tensor:
    """Convert ``x`` to a torch tensor (no copy for a tensor of the right dtype).

    Python numbers and lists, and numpy arrays, are *data*: floating data takes the policy float
    dtype (:func:`float_dtype`), integers become int64, bools stay bool. torch tensors keep their
    dtype unless ``dtype`` is given. JAX arrays are refused with
    :class:`~polyro.errors.MixedBackendError`.

    >>> asarray([1, 2]).dtype
    torch.int64
    """
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(_resolve_dtype(dtype))
    mod = type(x).__module__.split(".", 1)[0]
    if mod in ("jax", "jaxlib"):
        raise MixedBackendError(
            f"asarray on the torch backend got a JAX array ({type(x).__name__}); polyro does not "
            "copy between engines implicitly. Use polyro.backends.get('jax').to_numpy(x) to copy "
            "it, or run the computation on the jax backend."
        )
    if dtype is not None:
        dt = _resolve_dtype(dtype)
        if isinstance(x, (list, tuple)):
            x = np.asarray(x)  # lists through numpy: float64 data is never rounded to float32
        if isinstance(x, np.ndarray):
            return torch.from_numpy(np.asarray(x, order="C")).to(dt)
        return torch.as_tensor(x, dtype=dt)
    if isinstance(x, (np.ndarray, np.generic)):
        arr = np.asarray(x)
        if arr.dtype.kind == "f":
            return torch.as_tensor(arr, dtype=float_dtype())
        if arr.dtype.kind in "iub" and arr.dtype.name in _DTYPES:
            return torch.from_numpy(np.asarray(arr, order="C"))
        return torch.as_tensor(arr)
    if isinstance(x, bool):
        return torch.tensor(x)
    if isinstance(x, float):
        return torch.tensor(x, dtype=float_dtype())
    if isinstance(x, int):
        return torch.tensor(x, dtype=torch.int64)
    out = torch.as_tensor(np.asarray(x) if isinstance(x, (list, tuple)) else x)
    if out.is_floating_point():
        out = out.to(float_dtype())
    return out


def to_numpy(x: Any) -> np.ndarray:
    """A numpy array with the values of ``x`` (detached, on the CPU).

    >>> to_numpy(torch.tensor([1.5]))
    array([1.5], dtype=float32)
    """
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().resolve_conj().resolve_neg().numpy()
    return np.asarray(x)


def take_row(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    """``x[i]`` along the first axis for a non-negative 0-d integer tensor ``i``, as tensor
    operations (no Python value is read, so a recorded step may contain it): ``index_select``
    without the wrap of negative indices that the array API's ``take`` adds. An optional
    capability (inference reaches it with ``getattr(be, "take_row", None)``).

    >>> take_row(torch.arange(6).reshape(3, 2), torch.tensor(2)).tolist()
    [4, 5]
    """
    return torch.index_select(x, 0, i.reshape(1))[0]


def split_last(x: torch.Tensor, sizes: list[int]) -> tuple[torch.Tensor, ...]:
    """``x`` cut along its last axis into consecutive pieces of ``sizes``: one operation, whose
    gradient is one operation too (slices would take one each, and their gradients one each
    plus the sums joining them). An optional capability (inference reaches it with
    ``getattr(be, "split_last", None)``).

    >>> [p.tolist() for p in split_last(torch.arange(5), [1, 4])]
    [[0], [1, 2, 3, 4]]
    """
    return torch.split(x, sizes, dim=-1)


def host_view(x: Any) -> np.ndarray | None:
    """A zero-copy numpy view of a CPU tensor (detached); None for a tensor on another device
    or one inside a ``torch.func`` transform (no plain storage to view).

    >>> host_view(torch.tensor([1.5])).tolist()
    [1.5]
    """
    if not isinstance(x, torch.Tensor):
        return np.asarray(x)
    if x.device.type != "cpu":
        return None
    try:
        return x.detach().resolve_conj().resolve_neg().numpy()
    except (RuntimeError, TypeError, ValueError):  # functorch-wrapped (vmap / grad) tensors
        return None


def device_put(x: Any, device: Any = None) -> torch.Tensor:
    """``x`` as a tensor on ``device`` (a ``torch.device`` or a string like ``"cpu"``).

    >>> device_put([1.0], "cpu").device.type
    'cpu'
    """
    t = asarray(x)
    return t if device is None else t.to(device)


_CPU = torch.device("cpu")
try:  # the cheap test first: torch.get_default_device costs microseconds per call
    _n_function_modes = torch._C._len_torch_function_stack
    _device_ctx = torch._GLOBAL_DEVICE_CONTEXT
except AttributeError:  # pragma: no cover - other torch versions
    _n_function_modes = _device_ctx = None


def default_device() -> torch.device:
    """The device torch creates tensors on by default.

    >>> default_device().type
    'cpu'
    """
    if (_n_function_modes is not None and _n_function_modes() == 0
            and getattr(_device_ctx, "device_context", None) is None):
        return _CPU  # no ``with torch.device(...)`` and no torch.set_default_device
    return torch.get_default_device()


_sync()
