"""pyro-api slot modules of the ``polyro-numpy`` alias (see :mod:`polyro.compat.pyroapi`)."""
