"""ELBO losses for SVI: Trace_ELBO, TraceMeanField_ELBO, TraceGraph_ELBO, RenyiELBO.

>>> from polyro.inference.elbo import Trace_ELBO, RenyiELBO
>>> RenyiELBO(alpha=0.5).alpha
0.5
"""

from polyro.inference.elbo.meanfield import TraceMeanField_ELBO
from polyro.inference.elbo.renyi import RenyiELBO
from polyro.inference.elbo.trace_elbo import ELBO, Trace_ELBO
from polyro.inference.elbo.trace_enum import TraceEnum_ELBO
from polyro.inference.elbo.tracegraph import TraceGraph_ELBO

__all__ = ["ELBO", "Trace_ELBO", "TraceMeanField_ELBO", "TraceGraph_ELBO", "RenyiELBO",
           "TraceEnum_ELBO"]
