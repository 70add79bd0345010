"""``polyro.module`` support on JAX: a network is a pair ``(apply_fn, params)``, flax/haiku
style (e.g. ``(flax_module.apply, variables)``); ``apply_fn(params, *args)`` runs it.

Each array leaf of ``params`` becomes the param site ``{name}$$${dotted.path}``.

>>> import jax.numpy as jnp
>>> net = (lambda p, x: p["w"] * x, {"w": jnp.array(2.0)})
>>> float(bind(net, {"w": jnp.array(3.0)})(2.0))
6.0
"""

from __future__ import annotations

from polyro.backends.numpy.nn import bind, flatten_params, module_params, unflatten_params

__all__ = ["bind", "flatten_params", "module_params", "unflatten_params"]
