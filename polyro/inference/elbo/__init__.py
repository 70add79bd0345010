"""ELBO losses for SVI: Trace_ELBO, TraceMeanField_ELBO, TraceGraph_ELBO, RenyiELBO.

>>> from polyro.inference.elbo import Trace_ELBO, RenyiELBO
>>> RenyiELBO(alpha=0.5).alpha
0.5
"""

from polyro.inference.elbo.meanfield import TraceMeanField_ELBO
from polyro.inference.elbo.pyro_names import (
    JitTrace_ELBO,
    JitTraceEnum_ELBO,
    JitTraceGraph_ELBO,
    JitTraceMeanField_ELBO,
)
from polyro.inference.elbo.renyi import RenyiELBO
from polyro.inference.elbo.trace_elbo import ELBO, Trace_ELBO
from polyro.inference.elbo.trace_enum import TraceEnum_ELBO
from polyro.inference.elbo.tracegraph import TraceGraph_ELBO

__all__ = ["ELBO", "Trace_ELBO", "TraceMeanField_ELBO", "TraceGraph_ELBO", "RenyiELBO",
           "TraceEnum_ELBO", "JitTrace_ELBO", "JitTraceEnum_ELBO", "JitTraceGraph_ELBO",
           "JitTraceMeanField_ELBO"]
