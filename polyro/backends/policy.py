"""Process-wide numeric policy: the default float dtype and the random-number scheme.

Float dtype. Unless the user asks, numpy computes in float64 and torch and JAX in float32 (what
their users expect). ``set_default_dtype("float64")`` makes every backend use float64; on JAX this
also switches on ``jax_enable_x64`` -- immediately if JAX is already imported, otherwise the moment
polyro's JAX adapter is first loaded (polyro never imports JAX just to set a flag).
``set_default_dtype(None)`` restores the per-engine defaults. ``default_dtype(...)`` is the same as
a context manager.

Randomness. ``set_rng("portable")`` (the default) makes every backend draw with the same counter
based Threefry-2x32 bits, so one seed gives identical draws on numpy, torch and JAX;
``set_rng("native")`` lets an engine use its own generator (faster, engine-specific streams). The
random modules of the adapters read :func:`get_rng`.

Both settings are plain process-wide values (not thread-local): they describe how numbers are
represented, which should not change under a running computation.

>>> import polyro
>>> polyro.get_default_dtype("numpy")
'float64'
>>> polyro.get_rng()
'portable'
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = [
    "FLOAT_DTYPES",
    "RNG_MODES",
    "default_dtype",
    "get_default_dtype",
    "get_rng",
    "set_default_dtype",
    "set_rng",
    "sync_jax",
    "user_dtype",
]

#: Float dtypes the policy accepts.
FLOAT_DTYPES = ("float32", "float64")
#: Random-number schemes :func:`set_rng` accepts.
RNG_MODES = ("portable", "native")

_ENGINE_DEFAULTS = {"numpy": "float64", "torch": "float32", "jax": "float32"}

_state: dict[str, str | None] = {"dtype": None, "rng": "portable"}


def _check_dtype(name: str | None) -> str | None:
    if name is None:
        return None
    text = getattr(name, "__name__", None) or str(name)
    text = text.rsplit(".", 1)[-1].strip().lower()
    if text not in FLOAT_DTYPES:
        raise ValueError(
            f"set_default_dtype: unsupported dtype {name!r}; use one of {FLOAT_DTYPES} "
            "(or None for the per-engine default: float64 on numpy, float32 on torch/jax)"
        )
    return text


def sync_jax() -> None:
    """Switch on JAX's 64-bit mode if the policy asks for float64 and JAX is imported.

    Called by :func:`set_default_dtype` and by the JAX adapter when it loads. It never imports JAX
    itself, and it never switches x64 *off* (the user may have enabled it on purpose).

    >>> sync_jax()  # no-op unless JAX is loaded and float64 was asked for
    """
    if _state["dtype"] != "float64" or "jax" not in sys.modules:
        return
    jax = sys.modules["jax"]
    config = getattr(jax, "config", None)
    if config is not None and not bool(getattr(config, "jax_enable_x64", False)):
        config.update("jax_enable_x64", True)


def set_default_dtype(dtype: str | None) -> None:
    """Set the default float dtype of every backend: ``"float32"``, ``"float64"`` or ``None``.

    ``None`` restores the engine defaults (numpy float64, torch/jax float32). Asking for float64
    switches on JAX x64 (now if JAX is loaded, else when polyro's JAX adapter loads).

    >>> set_default_dtype("float64"); get_default_dtype("torch")
    'float64'
    >>> set_default_dtype(None); get_default_dtype("torch")
    'float32'
    """
    _state["dtype"] = _check_dtype(dtype)
    sync_jax()


def get_default_dtype(backend: str | None = None) -> str:
    """The default float dtype name of ``backend`` (default: the active backend).

    >>> get_default_dtype("numpy")
    'float64'
    """
    if _state["dtype"] is not None:
        return _state["dtype"]
    if backend is None:
        from polyro.backends import get_backend

        backend = get_backend()
    return _ENGINE_DEFAULTS.get(backend, "float32")


def user_dtype() -> str | None:
    """The dtype the user asked for with :func:`set_default_dtype`, or None.

    >>> user_dtype() in (None, "float32", "float64")
    True
    """
    return _state["dtype"]


@contextlib.contextmanager
def default_dtype(dtype: str | None) -> Iterator[None]:
    """Use ``dtype`` as the default float dtype inside the block, then restore the old setting.

    >>> with default_dtype("float32"):
    ...     get_default_dtype("numpy")
    'float32'
    """
    old = _state["dtype"]
    set_default_dtype(dtype)
    try:
        yield
    finally:
        _state["dtype"] = old


def set_rng(mode: str) -> None:
    """Choose the random-number scheme: ``"portable"`` (default) or ``"native"``.

    >>> set_rng("portable"); get_rng()
    'portable'
    """
    if not isinstance(mode, str) or mode.strip().lower() not in RNG_MODES:
        raise ValueError(f"set_rng: unknown mode {mode!r}; use one of {RNG_MODES}")
    _state["rng"] = mode.strip().lower()


def get_rng() -> str:
    """The random-number scheme in use (``"portable"`` or ``"native"``).

    >>> get_rng() in RNG_MODES
    True
    """
    return str(_state["rng"])
