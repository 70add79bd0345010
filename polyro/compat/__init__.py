"""Compatibility layers that let other probabilistic-programming front ends drive polyro.

* :mod:`polyro.compat.pyroapi`: polyro as `pyro-api <https://github.com/pyro-ppl/pyro-api>`_
  backends, one alias per engine (``polyro-numpy``, ``polyro-torch``, ``polyro-jax``).

Nothing here is imported by ``import polyro``; pyro-api itself is imported only when
:func:`polyro.compat.pyroapi.register` is called.

>>> import polyro.compat.pyroapi as pa
>>> sorted(pa.ALIASES)
['polyro-jax', 'polyro-numpy', 'polyro-torch']
"""
