"""The numpy backend: plain numpy + scipy.special, no autodiff, no compilation.

Everything gradient-free runs here (sampling, log densities, Predictive, enumeration,
gradient-free MCMC). ``value_and_grad``/``grad``/``jacobian`` raise
:class:`~polyro.errors.AutodiffUnavailableError`; ``jit`` is the identity; control flow and
``vmap`` are Python loops with the JAX semantics.

>>> from polyro.backends import numpy as be
>>> be.NAME, be.SUPPORTS_AUTODIFF
('numpy', False)
>>> float(be.lgamma(be.asarray(5.0)))  # log(4!)
3.1780538303479458
"""

from __future__ import annotations

from typing import Any

import array_api_compat.numpy as xp  # noqa: F401  (protocol name)
import numpy as np

from polyro.backends import policy as _policy
from polyro.errors import MixedBackendError

from .autodiff import *  # noqa: F403
from .control_flow import *  # noqa: F403
from .linalg import *  # noqa: F403
from .random import *  # noqa: F403
from .special import *  # noqa: F403
from .tree import *  # noqa: F403

NAME = "numpy"
#: numpy cannot differentiate: value_and_grad, grad and jacobian raise.
SUPPORTS_AUTODIFF = False
#: ``jit`` is the identity.
SUPPORTS_JIT = False
#: ``vmap`` works, as a Python loop (not vectorized).
SUPPORTS_VMAP = False

_DTYPES = {
    "float16": np.float16, "float32": np.float32, "float64": np.float64,
    "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
    "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
    "bool": np.bool_, "complex64": np.complex64, "complex128": np.complex128,
}


def float_dtype() -> Any:
    """The policy's default float dtype on numpy (float64 unless the user asked float32).

    >>> float_dtype()
    <class 'numpy.float64'>
    """
    return _DTYPES[_policy.get_default_dtype(NAME)]


def dtype(name: Any) -> Any:
    """The numpy dtype called ``name`` ('float32', 'float64', 'int64', 'bool', 'uint32', ...).

    ``'float'`` means the policy's float dtype. A dtype object is returned unchanged.

    >>> dtype("int64")
    <class 'numpy.int64'>
    """
    if not isinstance(name, str):
        return np.dtype(name).type
    key = name.strip().lower()
    if key == "float":
        return float_dtype()
    if key not in _DTYPES:
        raise ValueError(f"dtype: unknown dtype name {name!r}; known: {sorted(_DTYPES)} or 'float'")
    return _DTYPES[key]


_resolve_dtype = dtype


def is_array(x: Any) -> bool:
    """True for numpy arrays and numpy scalars.

    >>> is_array(np.ones(2)), is_array(1.0)
    (True, False)
    """
    return isinstance(x, (np.ndarray, np.generic))


def _foreign(x: Any) -> str | None:
    mod = type(x).__module__.split(".", 1)[0]
    if mod in ("torch", "jax", "jaxlib"):
        return "jax" if mod == "jaxlib" else mod
    return None


def asarray(x: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``x`` (array, Python number, nested list) to a numpy array.

    numpy arrays keep their dtype unless ``dtype`` is given; Python floats take the policy float
    (:func:`float_dtype`). torch tensors and JAX arrays are refused with
    :class:`~polyro.errors.MixedBackendError` (convert explicitly with ``to_numpy``).

    >>> asarray([1.0, 2.0]).dtype
    dtype('float64')
    """
    eng = _foreign(x)
    if eng is not None:
        raise MixedBackendError(
            f"asarray on the numpy backend got a {eng} array ({type(x).__name__}); polyro does not "
            f"copy between engines implicitly. Use polyro.backends.get({eng!r}).to_numpy(x) "
            f"to copy it to numpy, or run the computation on the {eng} backend."
        )
    if dtype is not None:
        return np.asarray(x, dtype=_resolve_dtype(dtype))
    if isinstance(x, np.ndarray):
        return x
    out = np.asarray(x)
    if out.dtype.kind == "f" and not isinstance(x, np.generic):
        out = out.astype(float_dtype(), copy=False)
    return out


def to_numpy(x: Any) -> np.ndarray:
    """A numpy copy/view of ``x``.

    >>> to_numpy(1.5)
    array(1.5)
    """
    return np.asarray(x)


def host_view(x: Any) -> np.ndarray:
    """``x`` itself as numpy: numpy arrays always live on the host.

    >>> host_view([1.0, 2.0])
    array([1., 2.])
    """
    return np.asarray(x)


def device_put(x: Any, device: Any = None) -> np.ndarray:
    """Move ``x`` to ``device``; numpy has only the CPU (``None`` or ``"cpu"``).

    >>> device_put(np.ones(2), "cpu")
    array([1., 1.])
    """
    if device is not None and str(device).lower() != "cpu":
        raise ValueError(f"device_put: the numpy backend has only the 'cpu' device, got {device!r}")
    return asarray(x)


def default_device() -> str:
    """The device arrays are created on: ``"cpu"``.

    >>> default_device()
    'cpu'
    """
    return "cpu"
