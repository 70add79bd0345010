"""The pyro-api ``distributions`` slot (shared by every polyro alias).

Re-exports :mod:`polyro.distributions` -- the families under Pyro's names, ``constraints``,
``transforms`` (``AffineTransform``, ``ExpTransform``, ...), ``biject_to``,
``kl_divergence`` -- unchanged: a distribution's arrays belong to the engine of its parameters
(Python numbers: the active backend, which ``pyro_backend(alias)`` sets). So one module serves
all three aliases.

One Pyro difference is kept: like torch (hence Pyro), ``Categorical``, ``OneHotCategorical``
and ``Multinomial`` here take *unnormalized* nonnegative ``probs`` and normalize them along the
last dim (polyro's own classes require ``probs`` on the simplex). They are subclasses of
polyro's, so polyro's inference treats them alike.

>>> from polyro.compat.pyroapi import distributions as dist
>>> float(dist.transforms.AffineTransform(0.0, 2.0)(1.5))
3.0
"""

from __future__ import annotations

from typing import Any

import polyro.distributions as _dist
from polyro.backends import backend_of
from polyro.distributions import *  # noqa: F401,F403
from polyro.distributions import constraints, transforms  # noqa: F401

__all__ = list(_dist.__all__)


def _normalized(probs: Any) -> Any:
    if probs is None:
        return None
    be = backend_of(probs)
    p = probs if be.is_array(probs) else be.asarray(probs, dtype=be.float_dtype())
    return p / be.xp.sum(p, axis=-1, keepdims=True)


class Categorical(_dist.Categorical):
    """Pyro's ``Categorical``: ``probs`` may be unnormalized (normalized along the last dim).

    >>> import numpy as np
    >>> Categorical(np.array([2.0, 6.0])).probs.tolist()
    [0.25, 0.75]
    """

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
                 ) -> None:
        super().__init__(_normalized(probs), logits, validate_args=validate_args)


class OneHotCategorical(_dist.OneHotCategorical):
    """Pyro's ``OneHotCategorical``: ``probs`` may be unnormalized.

    >>> import numpy as np
    >>> OneHotCategorical(np.array([1.0, 3.0])).probs.tolist()
    [0.25, 0.75]
    """

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
                 ) -> None:
        super().__init__(_normalized(probs), logits, validate_args=validate_args)


class Multinomial(_dist.Multinomial):
    """Pyro's ``Multinomial(total_count=1, probs=None, logits=None)``: ``probs`` may be
    unnormalized.

    >>> import numpy as np
    >>> Multinomial(4, np.array([1.0, 1.0])).probs.tolist()
    [0.5, 0.5]
    """

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        super().__init__(total_count, _normalized(probs), logits, validate_args=validate_args)


def __getattr__(name: str) -> Any:
    try:
        return getattr(_dist, name)
    except AttributeError:
        raise AttributeError(f"polyro.distributions has no {name!r}") from None
