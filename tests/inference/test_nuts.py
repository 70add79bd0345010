"""NUTS and HMC on user potentials against closed forms (torch and jax), vectorized chains,
faults (NaN / raising math inside trajectories), and blocked dense mass.

Tolerance: 4 MCSE from each run's own ESS (see mcmc_checks.py); seeds fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from mcmc_checks import as_np, check_moments

from polyro.inference.mcmc import HMC, MCMC, NUTS

COV = np.array([[1.0, 0.9], [0.9, 1.0]]) * np.array([[1.0], [2.0]]) * np.array([1.0, 2.0])


def _gauss(be, cov=COV, mean=(1.0, -2.0)):
    xp = be.xp
    P = be.asarray(np.linalg.inv(cov))
    mu = be.asarray(np.asarray(mean, float))

    def pot(z):
        d = z["x"] - mu
        return 0.5 * xp.sum(d * xp.matmul(P, d))

    return pot


def test_nuts_correlated_gaussian_dense_mass(grad_backend):
    be = grad_backend
    k = NUTS(potential_fn=_gauss(be), dense_mass=True)
    m = MCMC(k, num_warmup=300, num_samples=600, progress_bar=False)
    m.run(be.key(1), init_params={"x": be.asarray([0.0, 0.0])})
    x = m.get_samples(group_by_chain=True)["x"]
    assert tuple(x.shape) == (1, 600, 2)
    check_moments(x, [1.0, -2.0], np.sqrt(np.diag(COV)), label="x")
    ex = m.get_extra_fields()
    for f in ("diverging", "accept_prob", "num_steps", "potential_energy", "step_size"):
        assert ex[f].shape == (600,)
    assert ex["diverging"].sum() == 0
    # the adapted inverse mass approximates the covariance (dense mass helps: few steps)
    inv = as_np(m.last_state.adapt_state.inverse_mass_matrix[0])
    np.testing.assert_allclose(inv, COV, rtol=0.35, atol=0.3)
    assert ex["num_steps"].mean() < 8


def test_hmc_diag_and_vectorized_chains(grad_backend):
    be = grad_backend
    cov = np.diag([1.0, 9.0])
    k = HMC(potential_fn=_gauss(be, cov), trajectory_length=2.0)
    m = MCMC(k, num_warmup=200, num_samples=300, num_chains=3, chain_method="vectorized",
             progress_bar=False)
    init = {"x": be.asarray(np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]]))}
    m.run(be.key(2), init_params=init)
    x = m.get_samples(group_by_chain=True)["x"]
    assert tuple(x.shape) == (3, 300, 2)
    check_moments(x, [1.0, -2.0], [1.0, 3.0], label="x")
    # each chain adapted its own step size and diagonal mass
    steps = m.get_extra_fields(group_by_chain=True)["step_size"]
    assert steps.shape == (3, 300)
    inv = as_np(m.last_state.adapt_state.inverse_mass_matrix[0])
    assert inv.shape == (3, 2) and np.all(inv[:, 1] > 2 * inv[:, 0])


def test_nuts_vectorized_rhat_and_flat_samples(grad_backend):
    from polyro.inference.diagnostics import rhat

    be = grad_backend
    k = NUTS(potential_fn=_gauss(be, np.diag([1.0, 1.0]), (0.0, 0.0)))
    m = MCMC(k, num_warmup=150, num_samples=200, num_chains=4, chain_method="vectorized",
             progress_bar=False)
    init = {"x": be.asarray(np.array([[3.0, 3.0], [-3.0, 3.0], [3.0, -3.0], [-3.0, -3.0]]))}
    m.run(be.key(3), init_params=init)
    x = as_np(m.get_samples(group_by_chain=True)["x"])
    assert np.all(rhat(x) < 1.05)
    assert tuple(m.get_samples()["x"].shape) == (800, 2)
    check_moments(x, 0.0, 1.0, label="x")


def _walled(be):
    """N(0, 0.5^2) cut at |x| < 1 by a Cholesky that fails outside (raises on torch, NaN on
    jax): a trajectory that crosses the wall must end as a divergence."""
    xp = be.xp
    eye = be.asarray(np.eye(2))
    off = be.asarray(np.array([[0.0, 1.0], [1.0, 0.0]]))

    def pot(z):
        x = z["x"]
        L = be.cholesky(eye + x[0] * off)  # PD only for |x| < 1
        return 0.5 * xp.sum(x ** 2) / 0.25 + 0.0 * xp.sum(L)

    return pot


def test_faults_become_divergences(grad_backend):
    be = grad_backend
    k = NUTS(potential_fn=_walled(be), step_size=0.5)
    m = MCMC(k, num_warmup=60, num_samples=200, progress_bar=False)
    # Key 5, not 4 (issue 6): with key 4 the chain is 1e-6 from the wall at iteration 53, the
    # end of the one slow window of a 60-iteration warmup, where Stan's scheme re-initializes
    # the step size; every trajectory that heads into the wall then diverges at its first step
    # (statistic 0), so dual averaging, with 6 iterations of final buffer left, ends at 5e-7 and
    # the chain stays at the wall. That is Stan's / NumPyro's adaptation as specified (NumPyro
    # continued from the same mid-warmup state is trapped at least as often), met by 1 key in 80
    # here and in NumPyro; not a fault-handling defect. The accept statistic with a divergent
    # step and the step-size search on non-finite energies have their own closed-form tests.
    m.run(be.key(5), init_params={"x": be.asarray([0.1])})
    x = as_np(m.get_samples()["x"])
    ex = m.get_extra_fields()
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) < 1.0)
    assert np.all(np.isfinite(ex["potential_energy"]))
    assert ex["diverging"].sum() > 0
    # the truncation at 2 sd barely matters: sd of N(0, .5) cut at 2 sd is 0.4397
    assert abs(x.mean()) < 0.15
    assert 0.3 < x.std() < 0.55


@pytest.mark.parametrize("x0, n_leaves, accept", [(0.0, 4, 0.75), (0.9, 1, 0.0)])
def test_divergent_leaf_counts_zero_in_accept_stat(grad_backend, x0, n_leaves, accept):
    # Stan's accept statistic of a NUTS transition: the mean over every leapfrog step built
    # (the rejected divergent subtree included) of min(1, exp(H0 - H)), a divergent (non-finite)
    # step counting 0. A flat potential inside the wall (exact leapfrog, H constant: every
    # finite step accepts with probability 1) walled at |x| < 1 by the failing Cholesky; momentum
    # r = 1 forward, step 0.3, so the steps land at x0 + 0.3 k. By hand:
    #  x0 = 0: depth 0 -> 0.3, depth 1 -> 0.6, 0.9 (no U-turn on a flat line), depth 2 -> 1.2
    #  diverges at its first step: 4 steps, 3 accepted with probability 1 -> 3/4;
    #  x0 = 0.9: the first step (1.2) diverges: 1 step, statistic 0, the chain stays at 0.9.
    from polyro.inference.mcmc.integrator import MassSpec
    from polyro.inference.mcmc.nuts_tree import nuts_transition, random_size
    from polyro.inference.mcmc.util import FlatLayout, make_value_and_grad

    be = grad_backend
    xp = be.xp
    eye = be.asarray(np.eye(2))
    off = be.asarray(np.array([[0.0, 1.0], [1.0, 0.0]]))

    def pot(z):
        return 0.0 * xp.sum(be.cholesky(eye + z["x"][0] * off))

    layout = FlatLayout({"x": be.asarray([x0])})
    vg = make_value_and_grad(be, pot, layout, False)
    spec = MassSpec([(0, 1, False)])
    ones = (be.asarray([1.0]),)
    x = be.asarray([x0])
    pe, g = vg(x)
    depth = 4
    u = np.full(random_size(1, depth), 0.5)
    u[0] = 0.8413447460685429  # Phi(1): momentum 1
    u[1:1 + depth] = 0.1  # every doubling forward
    res = nuts_transition(be, vg, spec, ones, ones, x, pe, g, be.asarray(0.3), be.asarray(u),
                          depth, 1000.0, False)
    assert bool(res.diverging)
    assert int(res.num_steps) == n_leaves
    assert float(res.accept_prob) == pytest.approx(accept, abs=1e-12)
    x1 = float(as_np(res.x)[0])
    assert np.isfinite(float(res.pe)) and np.isfinite(float(res.energy))
    assert min(abs(x1 - v) for v in (x0, x0 + 0.3, x0 + 0.6, x0 + 0.9) if v < 1) < 1e-9


def test_nan_region_hmc_never_returns_nan(grad_backend):
    be = grad_backend
    xp = be.xp

    def pot(z):  # NaN for x > 1.5 (log of a negative number)
        x = z["x"]
        return 0.5 * xp.sum(x ** 2) - 0.0 * xp.sum(xp.log(1.5 - x))

    k = HMC(potential_fn=pot, num_steps=10, step_size=0.3, adapt_step_size=False)
    m = MCMC(k, num_warmup=0, num_samples=300, progress_bar=False)
    m.run(be.key(5), init_params={"x": be.asarray([0.0])})
    x = as_np(m.get_samples()["x"])
    assert np.all(np.isfinite(x)) and np.all(x < 1.5)
    assert m.get_extra_fields()["diverging"].sum() > 0


def test_blocked_dense_mass(grad_backend):
    be = grad_backend
    xp = be.xp
    P = be.asarray(np.linalg.inv(np.array([[1.0, 0.95], [0.95, 1.0]])))

    def pot(z):
        ab = xp.stack([z["a"], z["b"]])
        return 0.5 * xp.sum(ab * xp.matmul(P, ab)) + 0.5 * xp.sum(z["c"] ** 2) / 4.0

    k = NUTS(potential_fn=pot, dense_mass=[("a", "b")])
    m = MCMC(k, num_warmup=300, num_samples=400, progress_bar=False)
    init = {"a": be.asarray(0.0), "b": be.asarray(0.0), "c": be.asarray([0.0, 0.0, 0.0])}
    m.run(be.key(6), init_params=init)
    s = m.get_samples(group_by_chain=True)
    check_moments(s["a"], 0.0, 1.0, label="a")
    check_moments(s["c"], 0.0, 2.0, label="c")
    inv = m.last_state.adapt_state.inverse_mass_matrix
    assert len(inv) == 2 and tuple(inv[0].shape) == (2, 2) and tuple(inv[1].shape) == (3,)
    assert float(as_np(inv[0])[0, 1]) > 0.5  # the (a, b) correlation was learned
    with pytest.raises(ValueError, match="not latent sites"):
        NUTS(potential_fn=pot, dense_mass=[("a", "zz")]).init(be.key(0), 10, init)


def test_max_tree_depth_pair_bounds_warmup_and_sampling(grad_backend):
    """NumPyro's max_tree_depth=(warmup, sampling): with a step size far too small for the
    target every trajectory runs to the depth bound, 2**6 - 1 = 63 leapfrog steps during the
    3 warmup transitions and 2**2 - 1 = 3 after; a full run still matches the target (x ~
    N(0, 10^2): mean within 5 MC standard errors from the run's ESS); an int keeps one depth;
    a bad pair is an error naming both forms."""
    import polyro
    import polyro.distributions as dist
    from polyro.inference.diagnostics import effective_sample_size

    be = grad_backend

    def model():
        polyro.sample("x", dist.Normal(0.0, 10.0))
        polyro.sample("y", dist.Normal(0.0, 0.1))

    k = NUTS(model, max_tree_depth=(6, 2), adapt_step_size=False, step_size=1e-4,
             adapt_mass_matrix=False)
    state = k.init(be.key(0), 3)
    steps = []
    for _ in range(5):
        state = k.sample(state)
        steps.append(int(be.to_numpy(state.num_steps)))
    assert steps == [63, 63, 63, 3, 3]
    m = MCMC(NUTS(model, max_tree_depth=(8, 3)), num_warmup=300, num_samples=600,
             progress_bar=False)
    m.run(be.key(0), extra_fields=("num_steps",))
    assert np.asarray(be.to_numpy(m.get_extra_fields()["num_steps"])).max() <= 7
    x = np.asarray(be.to_numpy(m.get_samples()["x"]))
    ess = float(effective_sample_size(x[None, :]))
    assert abs(x.mean()) < 5 * 10.0 / np.sqrt(ess)
    assert NUTS(model, max_tree_depth=(8, 2)).max_tree_depth == (8, 2)
    assert NUTS(model, max_tree_depth=np.int64(7)).max_tree_depth == 7
    with pytest.raises(ValueError, match=r"an int in \[1, 20\] or a pair \(warmup, sampling\)"):
        NUTS(model, max_tree_depth=(8, 30))
