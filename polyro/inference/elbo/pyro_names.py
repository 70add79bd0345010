"""Pyro's ``Jit*`` ELBO names. Pyro compiles a step with ``torch.jit`` only when asked; polyro
compiles it on JAX and records it on torch by itself, so each is the plain ELBO under Pyro's
name, for Pyro code to run unchanged.

>>> JitTrace_ELBO(num_particles=2).num_particles
2
>>> issubclass(JitTraceEnum_ELBO, TraceEnum_ELBO)
True
"""

from __future__ import annotations

from polyro.inference.elbo.meanfield import TraceMeanField_ELBO
from polyro.inference.elbo.trace_elbo import Trace_ELBO
from polyro.inference.elbo.trace_enum import TraceEnum_ELBO
from polyro.inference.elbo.tracegraph import TraceGraph_ELBO

__all__ = ["JitTrace_ELBO", "JitTraceEnum_ELBO", "JitTraceGraph_ELBO",
           "JitTraceMeanField_ELBO"]


class JitTrace_ELBO(Trace_ELBO):
    """Pyro's ``JitTrace_ELBO``: :class:`Trace_ELBO`."""


class JitTraceEnum_ELBO(TraceEnum_ELBO):
    """Pyro's ``JitTraceEnum_ELBO``: :class:`TraceEnum_ELBO`."""


class JitTraceGraph_ELBO(TraceGraph_ELBO):
    """Pyro's ``JitTraceGraph_ELBO``: :class:`TraceGraph_ELBO`."""


class JitTraceMeanField_ELBO(TraceMeanField_ELBO):
    """Pyro's ``JitTraceMeanField_ELBO``: :class:`TraceMeanField_ELBO`."""
