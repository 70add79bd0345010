"""Access to the Stan reference posteriors shipped beside the project (``../shared/posteriordb``).

The folder is found, in order, from ``$POLYRO_POSTERIORDB``, then ``shared/posteriordb`` or
``../shared/posteriordb`` next to the repository root (CI lays a copy of ``shared/`` beside the
clone).
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def posteriordb_dir() -> Path | None:
    """The posteriordb folder, or None where it is not laid out on this machine."""
    env = os.environ.get("POLYRO_POSTERIORDB")
    cands = [Path(env)] if env else []
    cands += [ROOT / "shared" / "posteriordb", ROOT.parent / "shared" / "posteriordb"]
    for c in cands:
        if c.is_dir() and any(c.iterdir()):
            return c
    return None


@cache
def load_data(name: str) -> dict:
    """The ``data.json`` of posterior ``name`` with lists turned into float64/int arrays."""
    d = posteriordb_dir()
    if d is None:
        raise FileNotFoundError("posteriordb folder not found; set POLYRO_POSTERIORDB")
    raw = json.loads((d / name / "data.json").read_text())
    return {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in raw.items()}


@cache
def load_reference(name: str) -> dict:
    """The ``reference.json`` of posterior ``name``."""
    d = posteriordb_dir()
    if d is None:
        raise FileNotFoundError("posteriordb folder not found; set POLYRO_POSTERIORDB")
    return json.loads((d / name / "reference.json").read_text())


_IDX = re.compile(r"^(\w+)\[(\d+)\]$")


def reference_stats(name: str) -> dict[str, tuple[float, float, float]]:
    """``{'theta[1]': (mean, sd, mcse_mean), ...}`` for every reference parameter."""
    ref = load_reference(name)
    return {k: (v["mean"], v["sd"], v["mcse_mean"]) for k, v in ref["parameters"].items()}


def flatten_samples(samples: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Turn ``{'theta': (draws, 8)}`` into Stan-style ``{'theta[1]': (draws,), ...}``."""
    out: dict[str, np.ndarray] = {}
    for k, v in samples.items():
        v = np.asarray(v)
        if v.ndim == 1:
            out[k] = v
        else:
            flat = v.reshape(v.shape[0], -1)
            for i in range(flat.shape[1]):
                out[f"{k}[{i + 1}]"] = flat[:, i]
    return out
