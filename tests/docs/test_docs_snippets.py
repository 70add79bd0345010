"""The fenced ``python`` snippets of the documentation pages: all must compile, and the cheap
ones (no training loop or sampler run) must run as written, on the backends they name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# snippets that run inference at full size or import a user package: compiled, not run here
# (the examples gallery runs the same calls briefly in test_examples.py)
HEAVY = ("MCMC(", "SVI(", "mypkg", "from polyro.testing import")


def _snippets() -> list[tuple[str, int, str]]:
    out = []
    for page in sorted(DOCS.glob("*.md")):
        for i, m in enumerate(FENCE.finditer(page.read_text())):
            out.append((page.name, i, m.group(1)))
    return out


SNIPPETS = _snippets()
IDS = [f"{p}#{i}" for p, i, _ in SNIPPETS]


def test_pages_have_snippets() -> None:
    assert len(SNIPPETS) >= 8


@pytest.mark.parametrize(("page", "index", "code"), SNIPPETS, ids=IDS)
def test_snippet_compiles(page: str, index: int, code: str) -> None:
    compile(code, f"{page}#{index}", "exec")


RUNNABLE = [(p, i, c) for p, i, c in SNIPPETS if not any(h in c for h in HEAVY)]


@pytest.mark.parametrize(("page", "index", "code"), RUNNABLE,
                         ids=[f"{p}#{i}" for p, i, _ in RUNNABLE])
def test_snippet_runs(page: str, index: int, code: str, capsys: pytest.CaptureFixture) -> None:
    import polyro

    # a snippet may use names defined by an earlier snippet of its page: run them in order
    before = [c for p, i, c in RUNNABLE if p == page and i < index]
    name, dtype = polyro.get_backend(), polyro.get_default_dtype()
    ns: dict = {"__name__": f"snippet_{index}"}
    try:
        for c in [*before, code]:
            exec(compile(c, f"{page}#{index}", "exec"), ns)
    finally:
        polyro.set_backend(name)
        polyro.set_default_dtype(dtype)
