"""pyro-api ``ops`` slot bound to the jax engine (built by :mod:`polyro.compat.pyroapi._ops`)."""

from polyro.compat.pyroapi import _ops

globals().update(_ops.namespace("jax"))
__getattr__ = _ops.fallback("jax")
