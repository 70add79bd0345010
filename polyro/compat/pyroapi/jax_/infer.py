"""pyro-api ``infer`` slot bound to the jax engine (built by :mod:`polyro.compat.pyroapi._infer`)."""

from polyro.compat.pyroapi import _infer

globals().update(_infer.namespace("jax"))
