"""Effect handlers, one per module; ``polyro.handlers`` re-exports them.

Every handler works as a context manager (``with handlers.seed(rng_seed=0):``) and as a function
wrapper (``handlers.seed(model, rng_seed=0)``). Handlers keep no state on themselves while
applied, so one object may be reused, nested and used inside ``jax.jit``.

>>> from polyro.core import handlers
>>> sorted(handlers.__all__)[:3]
['LocScaleReparam', 'Messenger', 'NonlocalExit']
"""

from __future__ import annotations

from polyro.core.handlers.block import block
from polyro.core.handlers.condition import condition
from polyro.core.handlers.do import do
from polyro.core.handlers.enum import enum
from polyro.core.handlers.escape import NonlocalExit, escape
from polyro.core.handlers.infer_config import infer_config
from polyro.core.handlers.lift import lift
from polyro.core.handlers.markov import markov
from polyro.core.handlers.mask import mask
from polyro.core.handlers.reparam import (
    LocScaleReparam,
    ProjectedNormalReparam,
    Reparam,
    TransformReparam,
    reparam,
)
from polyro.core.handlers.replay import replay
from polyro.core.handlers.scale import scale
from polyro.core.handlers.scope import scope
from polyro.core.handlers.seed import seed
from polyro.core.handlers.substitute import substitute
from polyro.core.handlers.trace import Trace, scale_and_mask, trace
from polyro.core.handlers.uncondition import uncondition
from polyro.core.handlers.vectorized_markov import vectorized_markov
from polyro.core.runtime import Messenger

__all__ = [
    "LocScaleReparam",
    "Messenger",
    "NonlocalExit",
    "ProjectedNormalReparam",
    "Reparam",
    "Trace",
    "TransformReparam",
    "block",
    "condition",
    "do",
    "enum",
    "escape",
    "infer_config",
    "lift",
    "markov",
    "mask",
    "reparam",
    "replay",
    "scale",
    "scale_and_mask",
    "scope",
    "seed",
    "substitute",
    "trace",
    "uncondition",
    "vectorized_markov",
]
