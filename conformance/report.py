"""Write the conformance report (Markdown and JSON) from a list of check results.

``report.md`` has a summary matrix (one row per model and check, one column per backend, and a
column for the checks that compare engines with each other), then every result with its measured
numbers and notes. ``report.json`` holds the same results with full-precision numbers.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from .checks import Result

REPORT_DIR = Path(__file__).with_name("report")
SINGLE = ("numpy", "torch", "jax")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def mark(r: Result) -> str:
    return "n/a" if r.passed is None else ("pass" if r.passed else "**FAIL**")


def _cell(r: Result) -> str:
    nums = ", ".join(f"{k}={_fmt(v)}" for k, v in r.numbers.items())
    return f"{mark(r)} ({nums})" if nums else mark(r)


def _matrix(results: list[Result]) -> list[str]:
    cols = [b for b in SINGLE if any(r.backend == b for r in results)]
    cells: dict[tuple[str, str], dict[str, list[str]]] = {}
    for r in results:
        col = r.backend if r.backend in cols else "across engines"
        cells.setdefault((r.model, r.check), {}).setdefault(col, []).append(
            mark(r) if col in cols else f"{mark(r)} ({r.backend})")
    has_across = any("across engines" in c for c in cells.values())
    head = cols + (["across engines"] if has_across else [])
    lines = ["| model | check | " + " | ".join(head) + " |",
             "|---|---|" + "---|" * len(head)]
    for (model, check), row in sorted(cells.items()):
        lines.append(f"| {model} | {check} | "
                     + " | ".join("; ".join(row.get(c, ["—"])) for c in head) + " |")
    return lines


def load_report(directory: Path | None = None) -> tuple[list[Result], dict, dict]:
    """``(results, meta, timings)`` of the report written earlier in ``directory`` (default
    :data:`REPORT_DIR`); empty when there is none.

    >>> load_report(Path("/nonexistent"))
    ([], {}, {})
    """
    path = (directory or REPORT_DIR) / "report.json"
    if not path.exists():
        return [], {}, {}
    data = json.loads(path.read_text())
    fields = ("model", "backend", "check", "passed", "numbers", "note", "stats")
    results = [Result(**{k: row[k] for k in fields if k in row}) for row in data["results"]]
    return results, data.get("meta", {}), data.get("timings", {})


def merge_results(old: list[Result], new: list[Result]) -> list[Result]:
    """The earlier results with every (model, backend, check) that ``new`` measured again
    replaced by the new result; the comparisons across engines (``posterior_across``) are left
    out of both, to be computed again from the merged posterior runs.

    >>> a = [Result("m", "jax", "posterior", True), Result("m", "numpy", "log_density", True)]
    >>> b = [Result("m", "jax", "posterior", False)]
    >>> [(r.backend, r.passed) for r in merge_results(a, b)]
    [('numpy', True), ('jax', False)]
    """
    def key(r: Result) -> tuple[str, str, str]:
        return r.model, r.backend, r.check

    fresh = {key(r) for r in new}
    return ([r for r in old if r.check != "posterior_across" and key(r) not in fresh]
            + [r for r in new if r.check != "posterior_across"])


def merged_meta(old: dict, new: dict) -> dict:
    """Meta of a merged report: the new run's, with ``merged_with`` listing the earlier runs
    (date, mode, backends, seconds) whose results were kept."""
    earlier = list(old.get("merged_with", []))
    if old:
        earlier.append({k: old[k] for k in ("date", "mode", "backends", "seconds") if k in old})
    return {**new, "merged_with": earlier}


def write_report(results: list[Result], meta: dict | None = None,
                 timings: dict[str, dict] | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` (a models x backends x checks table) and ``report.json``.

    ``timings``: ``{section: {"seconds": wall, "cpu_seconds": cpu}}`` per model (all its checks
    on every backend) and for the extra checks."""
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
    timings = timings or {}
    jpath.write_text(json.dumps({"meta": meta, "timings": timings, "results": rows}, indent=1,
                                default=float))
    n_pass = sum(r.passed is True for r in results)
    n_fail = sum(r.passed is False for r in results)
    n_na = sum(r.passed is None for r in results)
    lines = ["# polyro conformance report", "",
             ", ".join(f"{k}: {_fmt(v)}" for k, v in meta.items()), "",
             f"**{n_pass} passed, {n_fail} failed, {n_na} not applicable** "
             "(n/a: a known gap from `conformance/known_gaps.json`, or a measurement)", "",
             "## Summary", "", *_matrix(results), "",
             "## Results with the measured numbers", "",
             "| model | check | backend | result | note |", "|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (r.model, r.check, r.backend)):
        note = r.note.replace("|", "/").replace("\n", " ")
        lines.append(f"| {r.model} | {r.check} | {r.backend} | {_cell(r)} | {note} |")
    if timings:
        lines += ["", "## Time per model (all its checks, every backend)", "",
                  "| section | wall seconds | CPU seconds (all threads) |", "|---|---|---|"]
        lines += [f"| {k} | {v['seconds']} | {v['cpu_seconds']} |" for k, v in timings.items()]
    mpath = REPORT_DIR / "report.md"
    mpath.write_text("\n".join(lines) + "\n")
    return mpath, jpath
