"""Optimizers over pytrees, learning-rate schedules, gradient clipping and native adapters.

>>> import numpy as np
>>> from polyro.inference.optim import Adam
>>> opt = Adam(0.1)
>>> st = opt.init({"x": np.array(1.0)})
>>> st = opt.update({"x": np.array(2.0)}, st)
>>> round(float(opt.get_params(st)["x"]), 6)
0.9
"""

from polyro.inference.optim.adapters import from_native
from polyro.inference.optim.base import (
    Optimizer,
    OptimState,
    clip_by_global_norm,
    clip_by_value,
    global_norm,
)
from polyro.inference.optim.optimizers import (
    SGD,
    Adagrad,
    Adam,
    ClippedAdam,
    Momentum,
    RMSProp,
)
from polyro.inference.optim.schedules import (
    constant_schedule,
    cosine_decay,
    exponential_decay,
    inverse_time_decay,
    linear_warmup,
    piecewise_constant,
    polynomial_decay,
)

__all__ = [
    "Optimizer",
    "OptimState",
    "SGD",
    "Momentum",
    "Adam",
    "ClippedAdam",
    "Adagrad",
    "RMSProp",
    "from_native",
    "clip_by_global_norm",
    "clip_by_value",
    "global_norm",
    "constant_schedule",
    "exponential_decay",
    "inverse_time_decay",
    "polynomial_decay",
    "cosine_decay",
    "piecewise_constant",
    "linear_warmup",
]
