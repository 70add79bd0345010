"""Test helpers for polyro and for libraries built on it: the one ``backend`` fixture.

Use it from a ``conftest.py``::

    from polyro.testing import backend, grad_backend  # noqa: F401

``backend`` runs a test once per installed engine (numpy, torch, jax) inside
``polyro.backend(name)`` with float64 as the default float dtype, and yields the adapter module
(``be.asarray``, ``be.to_numpy``, ``be.key``...). ``grad_backend`` does the same over the engines
with autodiff. This module imports pytest, so import it only from test code.

>>> installed_backends()[0]
'numpy'
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import pytest

import polyro
from polyro import backends
from polyro.backends.policy import default_dtype

__all__ = ["backend", "grad_backend", "installed_backends", "gradient_backends", "sample_values",
           "finite_difference_grad"]


def installed_backends() -> list[str]:
    """Names of the backends whose engine is installed, numpy first."""
    return [n for n in ("numpy", "torch", "jax")
            if importlib.util.find_spec(backends.BACKENDS[n][0]) is not None]


def gradient_backends() -> list[str]:
    """Installed backends that can differentiate (decided by the adapters' capability flag)."""
    return [n for n in installed_backends() if backends.get(n).SUPPORTS_AUTODIFF]


def finite_difference_grad(fn: Callable[[np.ndarray], float], x: np.ndarray,
                           eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar numpy function ``fn`` at ``x`` (float64), one
    coordinate at a time: the independent oracle for autodiff tests.

    >>> finite_difference_grad(lambda v: float((v ** 2).sum()), np.array([1.0, -2.0])).round(6)
    array([ 2., -4.])
    """
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (fn(x + d) - fn(x - d)) / (2 * eps)
    return g


def sample_values(be: object, model: Callable, *args: object, **infer_discrete_kw: object
                  ) -> dict:
    """The value of every sample site of one run of ``model(*args)`` (wrapped by
    ``polyro.inference.enum.infer_discrete(model, **infer_discrete_kw)`` when they are
    given), as numpy arrays, computed as ONE compiled program where the backend compiles:
    tests stay fast on JAX, whose eager ops compile one at a time.

    >>> import polyro, polyro.distributions as dist
    >>> def model():
    ...     z = polyro.sample("z", dist.Bernoulli(0.3), infer={"enumerate": "parallel"})
    ...     polyro.sample("y", dist.Normal(3.0 * z, 1.0), obs=2.9)
    >>> float(sample_values(backends.get("numpy"), model, temperature=0)["z"])
    1.0
    """
    from polyro.core.handlers import trace
    from polyro.inference.enum import infer_discrete

    fn = infer_discrete(model, **infer_discrete_kw) if infer_discrete_kw else model

    def run(*a: object) -> dict:
        tr = trace(fn).get_trace(*a)
        return {k: site["value"] for k, site in tr.items() if site["type"] == "sample"}

    return {k: be.to_numpy(v) for k, v in be.jit(run)(*args).items()}


def _run_in(name: str):
    be = backends.get(name)
    with default_dtype("float64"), polyro.backend(name):
        yield be


@pytest.fixture(params=installed_backends())
def backend(request):
    """Run the test on every installed backend (float64), yielding the adapter module."""
    yield from _run_in(request.param)


@pytest.fixture(params=gradient_backends())
def grad_backend(request):
    """Run the test on every installed backend with autodiff (float64)."""
    yield from _run_in(request.param)
