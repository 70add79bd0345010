"""Alias of :mod:`polyro.inference` for NumPyro users (``from polyro.infer import MCMC, NUTS``).

>>> from polyro.infer import SVI, Trace_ELBO
>>> SVI is __import__("polyro.inference", fromlist=["SVI"]).SVI
True
"""

from __future__ import annotations

from typing import Any

from polyro import inference as _inference
from polyro.inference import *  # noqa: F403
from polyro.inference import __all__ as __all__  # noqa: PLE0604
from polyro.inference import autoguide as autoguide  # noqa: F401


def __getattr__(name: str) -> Any:
    return getattr(_inference, name)
