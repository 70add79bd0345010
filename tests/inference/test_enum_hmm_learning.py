"""Issue 7: learning a Gaussian HMM whose hidden states are enumerated along a ``markov`` chain
with ``TraceEnum_ELBO``, on every backend.

Oracles (numpy float64, independent of polyro): the exact log marginal likelihood by summing
over all ``K**T`` state paths, its gradient by central finite differences, and a numpy
stick-breaking map for the gradient with respect to the unconstrained (SVI) parameters.

The transition matrix starts at ties (a uniform row and a row with two equal entries): their
stick-breaking coordinates are exactly 0, where a ``max(x, 0) + log1p(exp(-|x|))`` softplus
has a wrong derivative (JAX: 0, so the row never moves; torch: twice the true one).
"""

import itertools

import numpy as np
import pytest

import polyro
import polyro.distributions as dist
from polyro.core.distributions import constraints
from polyro.core.distributions.transforms import biject_to
from polyro.inference import SVI, TraceEnum_ELBO
from polyro.inference.enum import markov
from polyro.inference.optim import Adam
from polyro.testing import finite_difference_grad

ENUM = {"enumerate": "parallel"}
K, T = 3, 4
YS = np.array([-2.1, -1.4, 0.3, 2.6])
TRANS0 = np.array([[0.8, 0.1, 0.1], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.1, 0.8]])
LOCS0 = np.array([-1.0, 0.0, 1.0])
RNG = np.random.default_rng(7)
TRANS1 = RNG.dirichlet(np.ones(K), size=K)
LOCS1 = RNG.normal(size=K)


def hmm(ys, trans0=TRANS0, locs0=LOCS0):
    trans = polyro.param("trans", trans0, constraint=constraints.simplex)
    locs = polyro.param("locs", locs0)
    x = 0
    for t in markov(range(ys.shape[0])):
        x = polyro.sample(f"x_{t}", dist.Categorical(probs=trans[x]), infer=ENUM)
        polyro.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=ys[t])


def guide(ys, trans0=TRANS0, locs0=LOCS0):
    pass


def brute_loss(trans, locs, ys=YS):
    """-log p(ys) summed over all K**T paths (rows of ``trans`` normalized, as Categorical
    does)."""
    trans = trans / trans.sum(-1, keepdims=True)
    k = trans.shape[0]
    lps = []
    for path in itertools.product(range(k), repeat=len(ys)):
        lp, prev = 0.0, 0
        for y, x in zip(ys, path, strict=True):
            lp += np.log(trans[prev, x]) - 0.5 * (y - locs[x]) ** 2 - 0.5 * np.log(2 * np.pi)
            prev = x
        lps.append(lp)
    return -np.logaddexp.reduce(np.array(lps))


def stick_breaking(u):
    """Unconstrained (..., K-1) -> simplex (..., K): z_i = sigmoid(u_i - log(K-1-i))."""
    d = u.shape[-1]
    z = 1.0 / (1.0 + np.exp(-(u - np.log(np.arange(d, 0, -1.0)))))
    left = np.cumprod(np.concatenate([np.ones(u.shape[:-1] + (1,)), 1 - z], -1), -1)
    return np.concatenate([z * left[..., :-1], left[..., -1:]], -1)


@pytest.mark.parametrize("point", [(TRANS0, LOCS0), (TRANS1, LOCS1)], ids=["ties", "random"])
def test_hmm_trace_enum_loss_equals_brute_force(backend, point):
    be = backend
    trans, locs = point
    elbo = TraceEnum_ELBO(max_plate_nesting=0)
    loss = be.jit(lambda tr, lc, y: elbo.loss(be.key(0), {"trans": tr, "locs": lc}, hmm, guide,
                                              y))(be.asarray(trans), be.asarray(locs),
                                                  be.asarray(YS))
    np.testing.assert_allclose(be.to_numpy(loss), brute_loss(trans, locs), rtol=0, atol=1e-8)


@pytest.mark.parametrize("point", [(TRANS0, LOCS0), (TRANS1, LOCS1)], ids=["ties", "random"])
def test_hmm_trace_enum_grad_matches_finite_differences(grad_backend, point):
    """Gradient with respect to the constrained params (the enumerated contraction only)."""
    be = grad_backend
    trans, locs = point
    elbo = TraceEnum_ELBO(max_plate_nesting=0)

    def loss(tr, lc):
        return elbo.loss(be.key(0), {"trans": tr, "locs": lc}, hmm, guide, be.asarray(YS))

    # one compiled program on JAX (eager JAX compiles each op of the contraction)
    val, (g_tr, g_lc) = be.jit(be.value_and_grad(loss, argnums=(0, 1)))(be.asarray(trans),
                                                                         be.asarray(locs))
    np.testing.assert_allclose(be.to_numpy(val), brute_loss(trans, locs), rtol=0, atol=1e-8)
    np.testing.assert_allclose(be.to_numpy(g_tr), finite_difference_grad(lambda a: brute_loss(a, locs), trans),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(be.to_numpy(g_lc), finite_difference_grad(lambda a: brute_loss(trans, a), locs),
                               rtol=1e-6, atol=1e-6)


def test_hmm_trace_enum_unconstrained_grad_at_simplex_ties(grad_backend):
    """The gradient SVI follows: through the simplex bijection at a tie point (stick-breaking
    coordinates exactly 0). Issue 7: torch doubled, JAX zeroed these components."""
    be = grad_backend
    tf = biject_to(constraints.simplex)
    u0 = be.to_numpy(tf.inv(be.asarray(TRANS0)))
    assert np.any(u0 == 0.0)  # the point is a tie point
    np.testing.assert_allclose(stick_breaking(u0), TRANS0, atol=1e-12)
    elbo = TraceEnum_ELBO(max_plate_nesting=0)

    def loss(u):
        return elbo.loss(be.key(0), {"trans": tf(u), "locs": be.asarray(LOCS0)}, hmm, guide,
                         be.asarray(YS))

    val, g = be.jit(be.value_and_grad(loss))(be.asarray(u0))
    ref = finite_difference_grad(lambda u: brute_loss(stick_breaking(u), LOCS0), u0)
    np.testing.assert_allclose(be.to_numpy(val), brute_loss(TRANS0, LOCS0), rtol=0, atol=1e-8)
    np.testing.assert_allclose(be.to_numpy(g), ref, rtol=1e-6, atol=1e-6)


def _adam_reference(ys, trans0, locs0, lr, steps, b1=0.9, b2=0.999, eps=1e-8):
    """Losses of Adam on the brute-force oracle in the unconstrained space (stick-breaking
    rows, finite-difference gradients): the trajectory SVI must follow."""
    d = trans0.shape[0]
    u = np.zeros((d, d - 1)) if np.allclose(trans0, 1.0 / d) else None
    assert u is not None  # the reference starts from a uniform matrix: u = 0
    x = np.concatenate([u.ravel(), locs0])

    def f(x):
        return brute_loss(stick_breaking(x[:u.size].reshape(u.shape)), x[u.size:], ys)

    m, v, losses = np.zeros_like(x), np.zeros_like(x), []
    for t in range(1, steps + 1):
        losses.append(f(x))
        g = finite_difference_grad(f, x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return np.array(losses)


def test_hmm_svi_follows_exact_adam_trajectory(grad_backend):
    """A short SVI run from a uniform transition matrix (every stick coordinate exactly 0):
    the per-step losses equal those of Adam on the brute-force oracle, the loss drops and every
    transition row moves (issue 7: JAX left the rows at 0.5, torch drifted off the trajectory).
    """
    be = grad_backend
    ys = np.array([-2.2, -1.9, 2.4, 2.1])
    trans0, locs0 = np.full((2, 2), 0.5), np.array([-0.5, 0.5])
    steps, lr = 20, 0.1
    svi = SVI(hmm, guide, Adam(lr), TraceEnum_ELBO(max_plate_nesting=0))
    res = svi.run(be.key(0), steps, be.asarray(ys), trans0, locs0, progress_bar=False)
    losses = be.to_numpy(res.losses)
    ref = _adam_reference(ys, trans0, locs0, lr, steps)
    np.testing.assert_allclose(losses, ref, rtol=0, atol=1e-6)
    assert losses[-1] < losses[0] - 1.0
    params = {k: be.to_numpy(v) for k, v in svi.get_params(res.state).items()}
    assert np.all(np.abs(params["trans"] - 0.5) > 0.05), params["trans"]
    assert params["locs"][0] < -1.0 and params["locs"][1] > 1.0
