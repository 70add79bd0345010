"""Effect handlers under Pyro's name (``from polyro import poutine``): an alias of
:mod:`polyro.handlers`.

>>> import polyro, polyro.distributions as dist
>>> from polyro import poutine
>>> tr = poutine.trace(poutine.seed(lambda: polyro.sample("x", dist.Normal(0.0, 1.0)),
...                                 rng_seed=0)).get_trace()
>>> list(tr)
['x']
"""

from polyro.core.handlers import *  # noqa: F403
from polyro.core.handlers import __all__ as __all__  # noqa: F401
