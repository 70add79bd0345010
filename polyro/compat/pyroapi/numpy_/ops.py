"""pyro-api ``ops`` slot bound to the numpy engine (built by :mod:`polyro.compat.pyroapi._ops`)."""

from polyro.compat.pyroapi import _ops

globals().update(_ops.namespace("numpy"))
__getattr__ = _ops.fallback("numpy")
