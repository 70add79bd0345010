"""Enumeration of discrete latent sites: tensor variable elimination on every backend.

``log_marginal`` (exact marginal likelihood), ``infer_discrete`` (MAP or posterior samples of
the discrete sites), ``enum_log_joint`` (used by ``polyro.core.density`` so NUTS/HMC marginalize
enumerated sites) and the contraction engine ``sum_product`` / ``log_einsum``.

>>> from polyro.inference.enum import log_marginal, infer_discrete
>>> callable(log_marginal) and callable(infer_discrete)
True
"""

from polyro.core.enum_config import config_enumerate
from polyro.core.handlers.enum import enum
from polyro.core.handlers.markov import markov
from polyro.core.handlers.vectorized_markov import vectorized_markov
from polyro.inference.enum.api import (
    enum_log_joint,
    guess_max_plate_nesting,
    infer_discrete,
    log_marginal,
    trace_factors,
)
from polyro.inference.enum.contract import log_einsum, sum_product

__all__ = [
    "config_enumerate",
    "enum",
    "enum_log_joint",
    "guess_max_plate_nesting",
    "infer_discrete",
    "log_einsum",
    "log_marginal",
    "markov",
    "sum_product",
    "trace_factors",
    "vectorized_markov",
]
