"""Initialization strategies, where NumPyro users look for them
(``from polyro.infer.initialization import init_to_median``; also in :mod:`polyro.infer` and
:mod:`polyro.infer.autoguide`, as in Pyro).

>>> from polyro.infer.initialization import init_to_value
>>> callable(init_to_value(values={"x": 1.0}))
True
"""

from polyro.core.init_strategies import (
    init_to_feasible,
    init_to_mean,
    init_to_median,
    init_to_sample,
    init_to_uniform,
    init_to_value,
)

__all__ = ["init_to_feasible", "init_to_mean", "init_to_median", "init_to_sample",
           "init_to_uniform", "init_to_value"]
