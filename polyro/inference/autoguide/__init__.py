"""Automatic guides: AutoDelta, AutoNormal, AutoDiagonalNormal, AutoMultivariateNormal,
AutoLowRankMultivariateNormal, AutoLaplaceApproximation, AutoGuideList.

>>> from polyro.inference.autoguide import AutoNormal
>>> AutoNormal(lambda: None).init_scale
0.1
"""

from polyro.core.init_strategies import (
    init_to_feasible,
    init_to_mean,
    init_to_median,
    init_to_sample,
    init_to_uniform,
    init_to_value,
)
from polyro.inference.autoguide.base import AutoGuide
from polyro.inference.autoguide.continuous import (
    AutoContinuous,
    AutoDiagonalNormal,
    AutoLaplaceApproximation,
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
)
from polyro.inference.autoguide.guide_list import AutoGuideList
from polyro.inference.autoguide.normal import AutoDelta, AutoNormal

__all__ = [
    "AutoGuide",
    "AutoContinuous",
    "AutoDelta",
    "AutoNormal",
    "AutoDiagonalNormal",
    "AutoMultivariateNormal",
    "AutoLowRankMultivariateNormal",
    "AutoLaplaceApproximation",
    "AutoGuideList",
    "init_to_feasible",
    "init_to_mean",
    "init_to_median",
    "init_to_sample",
    "init_to_uniform",
    "init_to_value",
]
