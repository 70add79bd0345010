"""Known per-backend gaps, read from ``known_gaps.json`` (data, not `if backend ==` lines)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _gaps() -> dict:
    return json.loads((Path(__file__).with_name("known_gaps.json")).read_text())


def gap_for(backend: str, model: str, check: str) -> str | None:
    """The recorded reason why ``check`` of ``model`` cannot run on ``backend``, or None."""
    table = _gaps().get(backend, {})
    return table.get(f"{model}/{check}") or table.get(f"*/{check}")
