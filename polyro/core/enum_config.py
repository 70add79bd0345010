"""``config_enumerate``: mark the discrete latent sites of a model (or guide) for enumeration.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> def model():
...     polyro.sample("z", dist.Bernoulli(0.5))
...     polyro.sample("x", dist.Normal(0.0, 1.0))
>>> tr = handlers.trace(handlers.seed(config_enumerate(model), rng_seed=0)).get_trace()
>>> tr["z"]["infer"], tr["x"]["infer"]
({'enumerate': 'parallel'}, {})
"""

from __future__ import annotations

from collections.abc import Callable

from polyro.core.handlers.infer_config import infer_config
from polyro.core.runtime import Message

__all__ = ["config_enumerate"]


def config_enumerate(fn: Callable | None = None, default: str = "parallel") -> Callable:
    """Wrap ``fn`` so its latent sample sites with finite support get
    ``infer={"enumerate": default}`` (sites that already say otherwise keep their setting).

    Usable as ``config_enumerate(model)`` or as a decorator ``@config_enumerate``.

    >>> config_enumerate(default="sequential")
    Traceback (most recent call last):
    ...
    ValueError: config_enumerate: only default='parallel' is supported, got 'sequential'
    """
    if default != "parallel":
        raise ValueError(f"config_enumerate: only default='parallel' is supported, got "
                         f"{default!r}")
    if fn is None:
        return lambda f: config_enumerate(f, default=default)

    def config_fn(msg: Message) -> dict:
        if msg["type"] != "sample" or msg["is_observed"]:
            return {}
        if "enumerate" in msg["infer"]:
            return {}
        if getattr(msg["fn"], "has_enumerate_support", False):
            return {"enumerate": default}
        return {}

    return infer_config(fn, config_fn=config_fn)
