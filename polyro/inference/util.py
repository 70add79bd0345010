"""Helpers NumPyro keeps in ``numpyro.infer.util``: :class:`Predictive`, :func:`log_likelihood`,
:func:`log_density` (``from polyro.infer.util import log_likelihood``).

>>> import polyro, polyro.distributions as dist
>>> from polyro.infer.util import log_density
>>> def model():
...     polyro.sample("x", dist.Normal(0.0, 1.0))
>>> lp, tr = log_density(model, (), {}, {"x": 0.0})
>>> round(float(lp), 6)
-0.918939
"""

from polyro.core.density import log_density
from polyro.inference.predictive import Predictive, log_likelihood

__all__ = ["Predictive", "log_density", "log_likelihood"]
