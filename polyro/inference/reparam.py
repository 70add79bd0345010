"""Reparameterizers for the ``reparam`` handler, where NumPyro and Pyro users look for them
(``from polyro.infer.reparam import LocScaleReparam``).

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> from polyro.infer.reparam import LocScaleReparam
>>> def model():
...     return polyro.sample("x", dist.Normal(1.0, 2.0))
>>> tr = handlers.trace(handlers.seed(handlers.reparam(
...     model, config={"x": LocScaleReparam(0.0)}), rng_seed=0)).get_trace()
>>> sorted(tr)
['x', 'x_decentered']
"""

from polyro.core.handlers.reparam import (
    LocScaleReparam,
    ProjectedNormalReparam,
    Reparam,
    TransformReparam,
)

__all__ = ["LocScaleReparam", "ProjectedNormalReparam", "Reparam", "TransformReparam"]
