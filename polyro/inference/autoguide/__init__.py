"""Automatic guides: AutoDelta, AutoNormal, AutoDiagonalNormal, AutoMultivariateNormal,
AutoLowRankMultivariateNormal, AutoLaplaceApproximation, AutoGuideList.

>>> from polyro.inference.autoguide import AutoNormal
>>> AutoNormal(lambda: None).init_scale
0.1
"""

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
]
