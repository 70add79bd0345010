"""MCMC diagnostics where NumPyro users look for them (``from polyro.diagnostics import hpdi,
summary``): an alias of :mod:`polyro.inference.diagnostics`.

>>> import numpy as np
>>> from polyro.diagnostics import hpdi
>>> hpdi(np.arange(101.0), 0.9).tolist()
[0.0, 90.0]
"""

from polyro.inference.diagnostics import *  # noqa: F403
from polyro.inference.diagnostics import __all__ as __all__  # noqa: F401
