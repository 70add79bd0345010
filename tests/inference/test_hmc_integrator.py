"""Leapfrog invariants (energy conservation with a tiny step, exact reversibility) and the mass
matrix algebra, on torch and jax; numpy's clear error for the gradient-based kernels."""

from __future__ import annotations

import numpy as np
import pytest

from polyro.errors import AutodiffUnavailableError
from polyro.inference.mcmc import HMC, NUTS
from polyro.inference.mcmc.integrator import (
    MassSpec,
    kinetic_energy,
    leapfrog,
    momentum_factor,
    sample_momentum,
    velocity,
)
from polyro.inference.mcmc.util import FlatLayout, make_value_and_grad

A = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])


def _setup(be, spec, inv_np):
    xp = be.xp
    P = be.asarray(A)

    def pot(z):
        x = z["x"]
        return 0.5 * xp.sum(x * xp.matmul(P, x)) + 0.1 * xp.sum(x ** 4)

    lay = FlatLayout({"x": be.asarray(np.zeros(3))})
    vg = make_value_and_grad(be, pot, lay, batched=False)
    inv = tuple(be.asarray(m) for m in inv_np)
    return vg, inv


MASSES = [
    (MassSpec([(0, 3, False)]), (np.array([1.0, 0.5, 2.0]),)),
    (MassSpec([(0, 3, True)]), (np.array([[1.0, 0.2, 0.0], [0.2, 0.5, 0.1], [0.0, 0.1, 2.0]]),)),
    (MassSpec([(0, 2, True), (2, 3, False)]), (np.array([[1.0, 0.2], [0.2, 0.5]]),
                                                np.array([2.0]))),
]


@pytest.mark.parametrize("mass", range(3))
def test_energy_conservation_and_reversibility(grad_backend, mass):
    be = grad_backend
    xp = be.xp
    spec, inv_np = MASSES[mass]
    vg, inv = _setup(be, spec, inv_np)
    x = be.asarray([0.3, -0.5, 0.8])
    r = be.asarray([0.7, 0.2, -0.4])
    pe, g = vg(x)
    h0 = float(pe + kinetic_energy(spec, inv, r, xp))

    def integrate(x, r, g, step, n):
        def body(i, c):
            x, r, g, _ = c
            x, r, pe, g = leapfrog(vg, spec, inv, x, r, g, step, xp)
            return x, r, g, pe + kinetic_energy(spec, inv, r, xp)
        return be.fori_loop(0, n, body, (x, r, g, pe))

    fwd = be.jit(integrate, static_argnums=(4,))
    # energy along the way: 10 segments of 20 tiny steps
    x1, r1, g1 = x, r, g
    step = be.asarray(1e-3)
    for _ in range(10):
        x1, r1, g1, h = fwd(x1, r1, g1, step, 20)
        assert abs(float(h) - h0) < 1e-5
    # reversibility: flip the momentum and integrate back
    x2, r2, g2, _ = fwd(x1, -r1, g1, step, 200)
    np.testing.assert_allclose(be.to_numpy(x2), be.to_numpy(x), atol=1e-4)
    np.testing.assert_allclose(be.to_numpy(-r2), be.to_numpy(r), atol=1e-4)
    # a large step is still reversible (symplectic integrator), energy not conserved exactly
    big = be.asarray(0.2)
    x3, r3, g3, _ = fwd(x, r, g, big, 20)
    x3, r3, g3, _ = fwd(x3, -r3, g3, big, 20)
    np.testing.assert_allclose(be.to_numpy(x3), be.to_numpy(x), atol=1e-4)


@pytest.mark.parametrize("mass", range(3))
def test_mass_matrix_algebra(grad_backend, mass):
    be = grad_backend
    xp = be.xp
    spec, inv_np = MASSES[mass]
    inv = tuple(be.asarray(m) for m in inv_np)
    full = np.zeros((3, 3))
    for (a, b, dense), m in zip(spec.blocks, inv_np, strict=False):
        full[a:b, a:b] = m if dense else np.diag(m)
    r = np.array([0.7, 0.2, -0.4])
    np.testing.assert_allclose(be.to_numpy(velocity(spec, inv, be.asarray(r), xp)), full @ r,
                               atol=1e-12)
    np.testing.assert_allclose(float(kinetic_energy(spec, inv, be.asarray(r), xp)),
                               0.5 * r @ full @ r, atol=1e-12)
    # momentum factor: r = factor(eps) has covariance M = inv(full)
    fac = momentum_factor(spec, inv, be)
    E = np.eye(3)
    cols = np.stack([be.to_numpy(sample_momentum(spec, fac, be.asarray(E[i]), xp))
                     for i in range(3)])
    np.testing.assert_allclose(cols.T @ cols, np.linalg.inv(full), atol=1e-10)


def test_numpy_backend_refuses_gradient_kernels(backend):
    be = backend
    pot = lambda z: 0.5 * be.xp.sum(z["x"] ** 2)
    for K in (HMC, NUTS):
        k = K(potential_fn=pot)
        if be.SUPPORTS_AUTODIFF:
            s = k.init(be.key(0), 5, {"x": be.asarray([0.1, 0.2])})
            assert bool(be.xp.isfinite(s.potential_energy))
        else:
            with pytest.raises(AutodiffUnavailableError) as e:
                k.init(be.key(0), 5, {"x": be.asarray([0.1, 0.2])})
            msg = str(e.value)
            assert "RandomWalkMetropolis" in msg and "AIES" in msg
            assert "jax" in msg and "torch" in msg
