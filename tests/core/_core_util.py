"""Helpers shared by the tests of the modeling language (tests/core)."""

from __future__ import annotations

import numpy as np

from polyro.backends import backend_of


def to_np(x):
    """A float64 numpy copy of a backend array or Python scalar."""
    if isinstance(x, (int, float, bool)):
        return np.asarray(x, dtype=float)
    return np.asarray(backend_of(x).to_numpy(x), dtype=float)


def fnum(x) -> float:
    """A Python float from a 0-d backend array."""
    return float(to_np(x))
