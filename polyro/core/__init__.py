"""The engine-neutral core: effect system, primitives, handlers, distributions, densities.

Submodules are imported on use (``polyro.core.runtime``, ``polyro.core.primitives``,
``polyro.core.handlers``, ``polyro.core.density``, ``polyro.core.distributions``...).

>>> import polyro.core.runtime as rt
>>> rt.get_stack()
()
"""
