"""Public alias of :mod:`polyro.core.distributions` (``import polyro.distributions as dist``).

Everything the core package exports is available here: the families, the combinators,
``constraints``, ``transforms``, ``biject_to``, ``kl_divergence``, ``register_kl`` and the
validation switch.

>>> import polyro.distributions as dist
>>> dist.constraints.real
real
>>> dist.biject_to(dist.constraints.positive)
ExpTransform()
"""

from __future__ import annotations

from typing import Any

import polyro.core.distributions as _core
from polyro.core.distributions import *  # noqa: F401,F403
from polyro.core.distributions import constraints, transforms  # noqa: F401
from polyro.core.distributions.util import (  # noqa: F401
    broadcast_params,
    sum_rightmost,
    validate_sample,
)

__all__ = list(_core.__all__)


def __getattr__(name: str) -> Any:
    # names a family module added after this module was first imported
    try:
        return getattr(_core, name)
    except AttributeError:
        raise AttributeError(f"module 'polyro.distributions' has no attribute {name!r}") from None
