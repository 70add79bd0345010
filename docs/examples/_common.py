"""Shared command line and plotting helpers for the example scripts in ``docs/examples``.

Every example takes ``--backend {numpy,torch,jax}``, ``--quick`` (a few iterations, for the
tests), ``--seed`` and ``--plot PATH`` (default ``docs/examples/figures/<name>.png``; ``vae.py``
saves ``vae_elbo.png`` in the working directory).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import polyro
from polyro.errors import AutodiffUnavailableError

FIGURES = Path(__file__).resolve().parent / "figures"


def parser(name: str, doc: str | None, backends: tuple[str, ...]) -> argparse.ArgumentParser:
    """The common flags; ``backends`` are the engines the example supports."""
    ap = argparse.ArgumentParser(description=(doc or name).splitlines()[0])
    ap.add_argument("--backend", default="jax", choices=["numpy", "torch", "jax"],
                    help=f"engine to run on (this example supports: {', '.join(backends)})")
    ap.add_argument("--quick", action="store_true", help="a few iterations only (tests)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default=str(FIGURES / f"{name}.png"), help="where to save the figure")
    return ap


def setup(args: argparse.Namespace) -> Any:
    """Select the backend (float64) and return its adapter."""
    polyro.set_backend(args.backend)
    polyro.set_default_dtype("float64")
    return polyro.backends.current()


def run(main: Any) -> None:
    """Run ``main()``; polyro's ``AutodiffUnavailableError`` becomes a message and exit code 2."""
    try:
        main()
    except AutodiffUnavailableError as e:
        print(f"AutodiffUnavailableError: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def pyplot() -> Any:
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: str) -> None:
    """Save a figure (small PNG) and say where."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    print(f"saved {path}")
