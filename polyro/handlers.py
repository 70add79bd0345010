"""Public effect handlers: ``from polyro import handlers``.

>>> from polyro import handlers
>>> handlers.seed is handlers.seed
True
"""

from polyro.core.handlers import *  # noqa: F401,F403
from polyro.core.handlers import __all__  # noqa: F401
