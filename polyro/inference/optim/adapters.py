"""Use an engine's own optimizer (an ``optax`` transformation on JAX, a ``torch.optim`` class on
torch) with polyro's SVI.

The engine-specific code lives in ``polyro/backends/<name>/optim_adapter.py``; this module only
reaches the active backend's adapter module, so the core never names an engine.

>>> import polyro
>>> from polyro.inference.optim import from_native
>>> try:
...     from_native(object())      # numpy backend: nothing native to wrap
... except TypeError as e:
...     print("polyro.optim" in str(e))
True
"""

from __future__ import annotations

import importlib
from typing import Any

import polyro.backends as backends

__all__ = ["from_native"]


def from_native(optimizer: Any, *args: Any, **kwargs: Any) -> Any:
    """Wrap a native optimizer of the active backend into polyro's ``init/update/get_params``.

    On JAX pass an optax ``GradientTransformation`` (anything with ``init(params)`` and
    ``update(grads, state, params)``); on torch pass a ``torch.optim.Optimizer`` subclass and its
    keyword arguments, e.g. ``from_native(torch.optim.Adam, lr=1e-3)``.

    >>> import polyro
    >>> hasattr(from_native, "__call__")
    True
    """
    be = backends.current()
    try:
        adapter = importlib.import_module(be.__name__ + ".optim_adapter")
    except ImportError as e:  # pragma: no cover - every shipped backend has one
        raise TypeError(
            f"the {be.NAME!r} backend has no native-optimizer adapter; use polyro.optim.Adam etc."
        ) from e
    return adapter.wrap(optimizer, *args, **kwargs)
