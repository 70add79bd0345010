"""The JAX backend: ``jax.jit``, ``jax.lax`` control flow, ``jax.vmap``, ``jax.grad``.

Loading it applies the dtype policy: if float64 was asked for (``polyro.set_default_dtype``),
``jax_enable_x64`` is switched on here. Arrays include tracers, so every adapter function works
inside ``jax.jit``/``vmap``/``grad``.

>>> from polyro.backends import jax as be
>>> be.NAME, be.SUPPORTS_JIT
('jax', True)
>>> float(be.jit(lambda x: x * 2)(be.asarray(1.5)))
3.0
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as xp
import numpy as np

from polyro.backends import policy as _policy
from polyro.backends import sync_engine_registrations as _sync
from polyro.errors import MixedBackendError

from .autodiff import *  # noqa: F403
from .control_flow import *  # noqa: F403
from .linalg import *  # noqa: F403
from .random import *  # noqa: F403
from .special import *  # noqa: F403
from .tree import *  # noqa: F403

_Tracer = jax.core.Tracer

NAME = "jax"
SUPPORTS_AUTODIFF = True
SUPPORTS_JIT = True
SUPPORTS_VMAP = True

_NAMES = (
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
    "uint16", "uint32", "uint64", "bool", "complex64", "complex128",
)
_DTYPES = {n: getattr(xp, "bool_" if n == "bool" else n) for n in _NAMES}

_policy.sync_jax()


def float_dtype() -> Any:
    """The policy's default float dtype on JAX (float32 unless the user asked float64).

    >>> float_dtype() in (xp.float32, xp.float64)
    True
    """
    return _DTYPES[_policy.get_default_dtype(NAME)]


def dtype(name: Any) -> Any:
    """The JAX dtype called ``name`` ('float32', 'float64', 'int64', 'bool', 'uint32', ...).

    ``'float'`` means the policy's float dtype. (64-bit types need JAX x64, which polyro enables
    when float64 is the policy.)

    >>> dtype("uint32")
    <class 'jax.numpy.uint32'>
    """
    if not isinstance(name, str):
        return np.dtype(name).type if not hasattr(name, "dtype") else name
    key = name.strip().lower()
    if key == "float":
        return float_dtype()
    if key not in _DTYPES:
        raise ValueError(f"dtype: unknown dtype name {name!r}; known: {sorted(_DTYPES)} or 'float'")
    return _DTYPES[key]


_resolve_dtype = dtype


def is_array(x: Any) -> bool:
    """True for JAX arrays and tracers.

    >>> is_array(xp.ones(2)), is_array(np.ones(2))
    (True, False)
    """
    return isinstance(x, jax.Array)


def asarray(x: Any, dtype: Any = None) -> Any:
    """Convert ``x`` to a JAX array (a JAX array or tracer of the right dtype is returned as is).

    Python numbers and lists, and numpy arrays, are *data*: floating data takes the policy float
    dtype (:func:`float_dtype`). torch tensors are refused with
    :class:`~polyro.errors.MixedBackendError`.

    >>> asarray([1.0, 2.0]).shape
    (2,)
    """
    if isinstance(x, jax.Array):
        return x if dtype is None else x.astype(_resolve_dtype(dtype))
    if type(x).__module__.split(".", 1)[0] == "torch":
        raise MixedBackendError(
            f"asarray on the jax backend got a torch tensor ({type(x).__name__}); polyro does not "
            "copy between engines implicitly. Use polyro.backends.get('torch').to_numpy(x) to copy "
            "it, or run the computation on the torch backend."
        )
    if dtype is not None:
        return xp.asarray(x, dtype=_resolve_dtype(dtype))
    if isinstance(x, float):
        return xp.asarray(x, dtype=float_dtype())
    if isinstance(x, (bool, int)):
        return xp.asarray(x)
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return xp.asarray(arr, dtype=float_dtype())
    return xp.asarray(arr)


def to_numpy(x: Any) -> np.ndarray:
    """A numpy array with the values of ``x`` (blocks until it is computed).

    >>> to_numpy(xp.ones(2)).tolist()
    [1.0, 1.0]
    """
    if isinstance(x, _Tracer):
        # refuse at once: JAX's own conversion error describes the whole program traced so
        # far, and validation asks ~5 times per sample site (an HMM's tracing grew as T**2)
        raise TypeError(f"to_numpy: {type(x).__name__} has no value while JAX traces a function")
    return np.asarray(x)


def host_view(x: Any) -> np.ndarray | None:
    """The values of a concrete array held on CPU devices, as numpy; None for a tracer or an
    array on an accelerator.

    >>> host_view(xp.ones(2)).tolist()
    [1.0, 1.0]
    """
    if isinstance(x, _Tracer):
        return None
    if not isinstance(x, jax.Array):
        return np.asarray(x)
    try:
        if any(d.platform != "cpu" for d in x.devices()):
            return None
    except Exception:  # deleted or otherwise unreadable buffers: no host value
        return None
    return np.asarray(x)


def device_put(x: Any, device: Any = None) -> Any:
    """``x`` on ``device`` (a ``jax.Device``, or a platform name like ``"cpu"``/``"gpu"``).

    >>> device_put([1.0], "cpu").shape
    (1,)
    """
    if isinstance(device, str):
        device = jax.devices(device)[0]
    return jax.device_put(asarray(x), device)


def default_device() -> Any:
    """The device JAX places new arrays on.

    >>> default_device().platform
    'cpu'
    """
    dev = jax.config.jax_default_device
    return dev if dev is not None and not isinstance(dev, str) else jax.devices()[0]


_sync()
