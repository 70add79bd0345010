"""MkDocs hook: render docstring doctests (``>>>`` lines and their output) as code blocks.

polyro's docstrings carry runnable ``>>>`` examples without Markdown fences (they run as
doctests). Markdown would read ``>>>`` as nested block quotes and ``x["a"]["b"]`` as reference
links, so this hook adds a Markdown preprocessor, used by the pages and by mkdocstrings' inner
renderer alike, that wraps each doctest run in a ``pycon`` fence.
"""

from __future__ import annotations

import re
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^(\s*)>>>( |$)")


class DoctestFences(Preprocessor):
    """Wrap runs of ``>>>`` / ``...`` lines and the output lines after them in fences."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_fence = False
        i = 0
        while i < len(lines):
            line = lines[i]
            if _FENCE.match(line):
                in_fence = not in_fence
                out.append(line)
                i += 1
                continue
            m = None if in_fence else _PROMPT.match(line)
            if m is None:
                out.append(line)
                i += 1
                continue
            indent = m.group(1)
            block = []
            while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
                block.append(lines[i][len(indent):])
                i += 1
            if out and out[-1].strip():
                out.append("")
            out.extend([f"{indent}```pycon", *(indent + b for b in block), f"{indent}```", ""])
        return out


class DoctestFencesExtension(Extension):
    """Markdown extension registering :class:`DoctestFences` before the fence parsers."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's API name)
        md.preprocessors.register(DoctestFences(md), "polyro_doctest_fences", 40)


def on_config(config: Any) -> Any:
    """Add the extension to every Markdown instance MkDocs and mkdocstrings create."""
    config.markdown_extensions.append(DoctestFencesExtension())
    return config
