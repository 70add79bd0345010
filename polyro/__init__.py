"""polyro: deep probabilistic programming on numpy, PyTorch and JAX with one model code.

>>> import polyro
>>> polyro.get_backend()
'numpy'

``import polyro`` imports neither torch nor jax; an engine is imported the first time its
backend is selected. Public names are resolved lazily (PEP 562) from the modules below.
"""

from __future__ import annotations

import importlib
from typing import Any

from polyro.backends import backend, get_backend, set_backend

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    # primitives (issue: modeling language)
    "sample": "polyro.core.primitives",
    "param": "polyro.core.primitives",
    "plate": "polyro.core.primitives",
    "plate_stack": "polyro.core.primitives",
    "subsample": "polyro.core.primitives",
    "factor": "polyro.core.primitives",
    "deterministic": "polyro.core.primitives",
    "module": "polyro.core.primitives",
    "prng_key": "polyro.core.primitives",
    "markov": "polyro.core.handlers.markov",
    "vectorized_markov": "polyro.core.handlers.vectorized_markov",
    "get_param_store": "polyro.core.param_store",
    "clear_param_store": "polyro.core.param_store",
    # dtype / rng policy
    "set_default_dtype": "polyro.backends.policy",
    "get_default_dtype": "polyro.backends.policy",
    "set_rng": "polyro.backends.policy",
    "get_rng": "polyro.backends.policy",
    "enable_validation": "polyro.core.distributions.validation",
    "to_arviz": "polyro.inference.diagnostics",
}
_SUBMODULES = {"ops", "handlers", "distributions", "infer", "inference", "optim", "backends",
               "errors", "diagnostics", "poutine"}

__all__ = ["backend", "get_backend", "set_backend", *_LAZY, *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    # resolved once, then cached as a module global: ``polyro.sample`` in a model's body is
    # looked up at every site of every call (every leapfrog step on torch)
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"polyro.{name}")
    else:
        raise AttributeError(f"module 'polyro' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
