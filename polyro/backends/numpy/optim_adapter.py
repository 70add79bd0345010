"""numpy has no native optimizers (and no gradients): :func:`wrap` explains what to use instead.

>>> try:
...     wrap(object())
... except TypeError as e:
...     print("torch" in str(e))
True
"""

from __future__ import annotations

from typing import Any


def wrap(optimizer: Any, *args: Any, **kwargs: Any) -> Any:
    """Refuse: the numpy backend has no native optimizer classes to adapt."""
    raise TypeError(
        f"cannot adapt {optimizer!r} on the numpy backend: numpy has no native optimizers "
        "(and no autodiff). Use polyro.optim.Adam/SGD/... , or select the 'torch' backend for "
        "torch.optim classes or the 'jax' backend for optax transformations."
    )
