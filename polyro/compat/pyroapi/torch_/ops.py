"""pyro-api ``ops`` slot bound to the torch engine (built by :mod:`polyro.compat.pyroapi._ops`)."""

from polyro.compat.pyroapi import _ops

globals().update(_ops.namespace("torch"))
__getattr__ = _ops.fallback("torch")
