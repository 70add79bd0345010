"""Initialization strategies, where NumPyro users look for them
(``from polyro.infer.initialization import init_to_median``; also in :mod:`polyro.infer` and
:mod:`polyro.infer.autoguide`, as in Pyro).

>>> from polyro.infer.initialization import init_to_value
>>> callable(init_to_value(values={"x": 1.0}))
True
"""

from polyro.core.init_strategies import *  # noqa: F403
from polyro.core.init_strategies import __all__ as __all__  # noqa: F401
