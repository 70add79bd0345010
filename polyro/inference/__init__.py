"""Inference: SVI with ELBOs and autoguides, Predictive, log_likelihood; MCMC (lazily).

>>> from polyro.inference import SVI, Trace_ELBO, Predictive
>>> Trace_ELBO().num_particles
1
"""

from __future__ import annotations

import importlib
from typing import Any

from polyro.core.init_strategies import *  # noqa: F403
from polyro.core.init_strategies import __all__ as _INIT_NAMES
from polyro.inference.elbo import (
    ELBO,
    JitTrace_ELBO,
    JitTraceEnum_ELBO,
    JitTraceGraph_ELBO,
    JitTraceMeanField_ELBO,
    RenyiELBO,
    Trace_ELBO,
    TraceEnum_ELBO,
    TraceGraph_ELBO,
    TraceMeanField_ELBO,
)
from polyro.inference.enum import config_enumerate, infer_discrete, log_marginal
from polyro.inference.predictive import Predictive, log_likelihood
from polyro.inference.svi import SVI, NonFiniteLossError, SVIRunResult, SVIState

_MCMC_NAMES = ("MCMC", "NUTS", "HMC", "RandomWalkMetropolis", "AIES")
#: submodules that ``polyro.inference.<name>`` imports on first use
_SUBMODULES = frozenset({"autoguide", "diagnostics", "elbo", "enum", "initialization", "mcmc",
                         "optim", "predictive", "recording", "reparam", "svi", "util"})

__all__ = [
    "SVI",
    "SVIState",
    "SVIRunResult",
    "NonFiniteLossError",
    "ELBO",
    "Trace_ELBO",
    "TraceMeanField_ELBO",
    "TraceGraph_ELBO",
    "TraceEnum_ELBO",
    "RenyiELBO",
    "JitTrace_ELBO",
    "JitTraceEnum_ELBO",
    "JitTraceGraph_ELBO",
    "JitTraceMeanField_ELBO",
    "config_enumerate",
    "infer_discrete",
    "log_marginal",
    "Predictive",
    "log_likelihood",
    *_INIT_NAMES,
    *_MCMC_NAMES,
]


def __getattr__(name: str) -> Any:
    if name in _MCMC_NAMES:
        return getattr(importlib.import_module("polyro.inference.mcmc"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"polyro.inference.{name}")
    raise AttributeError(f"module 'polyro.inference' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
