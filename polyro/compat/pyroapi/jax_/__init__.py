"""pyro-api slot modules of the ``polyro-jax`` alias (see :mod:`polyro.compat.pyroapi`)."""
