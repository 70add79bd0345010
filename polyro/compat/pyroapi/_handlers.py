"""The pyro-api ``handlers`` slot (Pyro's ``poutine``), built once per engine.

Every polyro effect handler (``trace``, ``seed``, ``condition``, ``substitute``, ``replay``,
``block``, ``do``, ``scale``, ``mask``, ``lift``, ``escape``, ``infer_config``, ``markov``,
``uncondition``, ``reparam``, ``scope``, ``enum``) is re-exported as a subclass whose block runs
on the alias's engine (see :mod:`polyro.compat.pyroapi._engine`). They work as context managers
and as function wrappers, exactly like polyro's own: ``handlers.trace(fn).get_trace(*args)``,
``with handlers.seed(rng_seed=1):``. ``pyroapi.pyro_backend(alias)`` enters
``handlers.seed(rng_seed=1)``, which is what makes the alias's engine active inside the block.

>>> ns = namespace("numpy")
>>> import polyro, polyro.distributions as dist
>>> tr = ns["trace"](ns["seed"](lambda: polyro.sample("x", dist.Normal(0.0, 1.0)), 0)).get_trace()
>>> list(tr)
['x']
"""

from __future__ import annotations

from typing import Any

import polyro.core.handlers as ph
from polyro.compat.pyroapi._engine import engine_handler
from polyro.core.runtime import Messenger

__all__ = ["HANDLER_NAMES", "namespace"]

#: polyro handler names re-exported (Pyro ``poutine`` names, plus NumPyro's ``seed``)
HANDLER_NAMES = ("block", "condition", "do", "enum", "escape", "infer_config", "lift", "markov",
                 "mask", "reparam", "replay", "scale", "scope", "seed", "substitute", "trace",
                 "uncondition")


def namespace(engine: str) -> dict[str, Any]:
    """The ``handlers`` slot's names, bound to ``engine``.

    >>> ns = namespace("numpy")
    >>> issubclass(ns["seed"], __import__("polyro").handlers.seed)
    True
    """
    out: dict[str, Any] = {}
    for name in HANDLER_NAMES:
        cls = getattr(ph, name)
        if not (isinstance(cls, type) and issubclass(cls, Messenger)):  # pragma: no cover
            raise TypeError(f"polyro.handlers.{name} is not a Messenger class")
        out[name] = engine_handler(cls, engine)
    out["Trace"] = ph.Trace
    out["Messenger"] = Messenger
    return out
