"""pyro-api ``handlers`` slot bound to the jax engine (built by :mod:`polyro.compat.pyroapi._handlers`)."""

from polyro.compat.pyroapi import _handlers

globals().update(_handlers.namespace("jax"))
