"""Public home of polyro's optimizers (``from polyro.optim import Adam``).

Re-exports :mod:`polyro.inference.optim`.

>>> from polyro.optim import Adam, SGD, exponential_decay
>>> Adam(1e-3)
Adam(lr=0.001)
"""

from polyro.inference.optim import *  # noqa: F401,F403
from polyro.inference.optim import __all__  # noqa: F401
