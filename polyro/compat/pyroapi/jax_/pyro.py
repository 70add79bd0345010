"""pyro-api ``pyro`` slot bound to the jax engine (built by :mod:`polyro.compat.pyroapi._pyro`)."""

from polyro.compat.pyroapi import _pyro

globals().update(_pyro.namespace("jax"))
