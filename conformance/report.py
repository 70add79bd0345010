"""Write the conformance report (Markdown and JSON) from a list of check results."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from .checks import Result

REPORT_DIR = Path(__file__).with_name("report")


def _cell(r: Result) -> str:
    if r.passed is None:
        return "n/a"
    mark = "pass" if r.passed else "FAIL"
    nums = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in r.numbers.items())
    return f"{mark} ({nums})" if nums else mark


def write_report(results: list[Result], meta: dict | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` (a models x backends x checks table) and ``report.json``."""
    import numpy as np

    REPORT_DIR.mkdir(exist_ok=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, **(meta or {})}
    for mod in ("torch", "jax"):
        try:
            meta[mod] = __import__(mod).__version__
        except ImportError:
            meta[mod] = "not installed"
    rows = [r.row() for r in results]
    jpath = REPORT_DIR / "report.json"
    jpath.write_text(json.dumps({"meta": meta, "results": rows}, indent=1, default=float))
    lines = ["# polyro conformance report", "",
             ", ".join(f"{k}: {v}" for k, v in meta.items()), "",
             "| model | check | backend | result | note |", "|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (r.model, r.check, r.backend)):
        lines.append(f"| {r.model} | {r.check} | {r.backend} | {_cell(r)} | {r.note} |")
    n_pass = sum(r.passed is True for r in results)
    n_fail = sum(r.passed is False for r in results)
    n_na = sum(r.passed is None for r in results)
    lines += ["", f"{n_pass} passed, {n_fail} failed, {n_na} not applicable"]
    mpath = REPORT_DIR / "report.md"
    mpath.write_text("\n".join(lines) + "\n")
    return mpath, jpath
