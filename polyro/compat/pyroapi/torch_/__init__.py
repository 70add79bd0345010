"""pyro-api slot modules of the ``polyro-torch`` alias (see :mod:`polyro.compat.pyroapi`)."""
