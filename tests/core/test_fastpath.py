"""The fast paths of the potential and of distribution construction give the results of the
plain paths: the lean log-joint handler, cached site transforms and constants, and (torch) the
recorded potential, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from _core_util import to_np

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core import density
from polyro.core.density import _same_constraint, initialize_model, potential_energy
from polyro.core.distributions import constraints

Y = np.array([0.4, 1.3, -0.9, 2.2, 0.1, 1.7])


def rich_model(y, idx):
    """Transformed supports (positive, interval with array bounds, simplex), a vector site, a
    subsampled plate (scaled log densities and Jacobians), mask, scale and factor."""
    mu = polyro.sample("mu", dist.Normal(0.0, 3.0))
    s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
    p = polyro.sample("p", dist.Uniform(0.0, 2.0))
    w = polyro.sample("w", dist.Normal(0.0, 1.0).expand((3,)).to_event(1))
    pr = polyro.sample("pr", dist.Dirichlet(polyro.ops.ones(3) * 2.0))
    with polyro.plate("n", len(y), subsample=idx):
        loc = polyro.sample("loc", dist.Normal(mu, s))
        ys = polyro.subsample(y, event_dim=0)
        with handlers.mask(mask=ys > 0.0):
            polyro.sample("y", dist.Normal(loc, s), obs=ys)
    with handlers.scale(scale=0.5):
        polyro.sample("z", dist.Exponential(p + 1.0), obs=1.5)
    polyro.factor("f", -(w * w).sum() * pr[0])


def _args(be):
    return be.asarray(Y), be.asarray(np.array([4, 1, 2]))


def _points(be, init, k):
    rng = np.random.default_rng(k)
    return {n: v + be.asarray(rng.normal(size=tuple(v.shape)) * 0.3) for n, v in init.items()}


def test_lean_potential_equals_the_traced_potential(backend):
    be = backend
    args = _args(be)
    info = initialize_model(be.key(0), rich_model, args)
    assert sorted(info.init_params) == ["loc", "mu", "p", "pr", "s", "w"]
    for k in range(2 if be.SUPPORTS_JIT else 4):  # (uncompiled JAX grads are slow)
        u = _points(be, info.init_params, k)
        lean = info.potential_fn(u)
        traced = potential_energy(rich_model, args, {}, u)  # trace + substitute path
        np.testing.assert_allclose(to_np(lean), to_np(traced), rtol=1e-12)
        if be.SUPPORTS_AUTODIFF:
            g1 = be.grad(info.potential_fn)(u)
            g2 = be.grad(lambda v: potential_energy(rich_model, args, {}, v))(u)
            for n in u:
                np.testing.assert_allclose(to_np(g1[n]), to_np(g2[n]), rtol=1e-10, atol=1e-12)


def gp_model(x, k):
    """A latent GP with a Poisson likelihood (posteriordb's gp_pois_regr): the potential
    factors a covariance matrix with the backend's ``cholesky`` at every call."""
    rho = polyro.sample("rho", dist.Gamma(25.0, 4.0))
    alpha = polyro.sample("alpha", dist.HalfNormal(2.0))
    with polyro.plate("N", x.shape[0]):
        f_tilde = polyro.sample("f_tilde", dist.Normal(0.0, 1.0))
    diff = x[:, None] - x[None, :]
    cov = alpha**2 * polyro.ops.exp(-(diff**2) / (2 * rho**2)) + 1e-10 * polyro.ops.eye(
        x.shape[0], dtype=x.dtype)
    f = polyro.ops.matmul(polyro.ops.cholesky(cov), f_tilde)
    with polyro.plate("N", x.shape[0]):
        polyro.sample("k", dist.Poisson(polyro.ops.exp(f)), obs=k)


def _gp_args(be):
    return be.asarray(np.linspace(-5.0, 5.0, 6)), be.asarray(np.array([2.0, 1, 0, 3, 5, 1]))


@pytest.mark.parametrize("model, make_args", [(rich_model, _args), (gp_model, _gp_args)],
                         ids=["rich", "cholesky"])
def test_recorded_potential_is_bit_for_bit_the_eager_one(grad_backend, monkeypatch, model,
                                                         make_args):
    be = grad_backend
    if be.SUPPORTS_JIT:  # they compile the potential themselves: no recording capability
        assert getattr(be, "record_fn", None) is None
        return
    args = make_args(be)
    monkeypatch.setattr(density, "RECORD_AFTER", 0)  # off
    eager = initialize_model(be.key(0), model, args).potential_fn
    monkeypatch.setattr(density, "RECORD_AFTER", 3)
    recorded = []
    record = be.record_fn
    monkeypatch.setattr(be, "record_fn", lambda f, ex: recorded.append(record(f, ex))
                        or recorded[-1])
    fast = initialize_model(be.key(0), model, args).potential_fn
    init = initialize_model(be.key(0), model, args).init_params
    for k in range(8):  # crosses the recording point
        u = _points(be, init, k)
        v1, g1 = be.value_and_grad(eager)(u)
        v2, g2 = be.value_and_grad(fast)(u)
        assert to_np(v1) == to_np(v2)
        for n in u:
            np.testing.assert_array_equal(to_np(g1[n]), to_np(g2[n]))
    assert len(recorded) == 1 and recorded[0] is not None  # it did record
    if model is gp_model:  # a covariance that is not positive definite: NaN, as eager
        u = dict(init, alpha=be.asarray(float("nan")))
        assert np.isnan(to_np(fast(u))) and np.isnan(to_np(eager(u)))


def _branchy(y):
    m = polyro.sample("m", dist.Normal(0.0, 1.0))
    # a Python branch on a latent value: a recording would freeze one branch
    scale = 1.0 if float(polyro.backends.backend_of(m).to_numpy(m)) > 0 else 3.0
    polyro.sample("y", dist.Normal(m, scale), obs=y)


def test_potential_with_value_branch_stays_eager(grad_backend, monkeypatch):
    be = grad_backend
    if be.SUPPORTS_JIT:
        pytest.skip("a Python branch on a traced value cannot run under jax.grad")
    monkeypatch.setattr(density, "RECORD_AFTER", 2)
    info = initialize_model(be.key(0), _branchy, (be.asarray(0.3),))
    for m in (0.5, -0.5, 0.7, -0.7, 0.2, -0.2):
        u = {"m": be.asarray(m)}
        expect = -(np.log(np.exp(-0.5 * m * m) / np.sqrt(2 * np.pi))
                   + np.log(np.exp(-0.5 * ((0.3 - m) / (1.0 if m > 0 else 3.0)) ** 2)
                            / (np.sqrt(2 * np.pi) * (1.0 if m > 0 else 3.0))))
        np.testing.assert_allclose(to_np(info.potential_fn(u)), expect, rtol=1e-12)


def test_nuts_draws_do_not_depend_on_recording(grad_backend, monkeypatch):
    from polyro.inference.mcmc import MCMC, NUTS

    be = grad_backend
    if be.SUPPORTS_JIT:  # they compile the potential themselves: no recording capability
        assert getattr(be, "record_fn", None) is None
        return

    def centered(y, sigma):
        mu = polyro.sample("mu", dist.Normal(0.0, 5.0))
        tau = polyro.sample("tau", dist.HalfCauchy(5.0))
        with polyro.plate("J", 4):
            theta = polyro.sample("theta", dist.Normal(mu, tau))
            polyro.sample("y", dist.Normal(theta, sigma), obs=y)

    data = (be.asarray([28.0, 8.0, -3.0, 7.0]), be.asarray([15.0, 10.0, 16.0, 11.0]))
    draws = []
    for after in (0, 5):
        monkeypatch.setattr(density, "RECORD_AFTER", after)
        m = MCMC(NUTS(centered), num_warmup=15, num_samples=15, progress_bar=False)
        m.run(be.key(1), *data)
        draws.append({k: to_np(v) for k, v in m.get_samples().items()})
    for k in draws[0]:
        np.testing.assert_array_equal(draws[0][k], draws[1][k])


def test_same_constraint():
    assert _same_constraint(constraints.positive, constraints.positive)
    assert _same_constraint(constraints.independent(constraints.real, 1),
                            constraints.independent(constraints.real, 1))
    assert not _same_constraint(constraints.independent(constraints.real, 1),
                                constraints.independent(constraints.real, 2))
    assert _same_constraint(constraints.interval(0.0, 1.0), constraints.interval(0.0, 1.0))
    assert not _same_constraint(constraints.interval(0.0, 1.0), constraints.interval(0.0, 2.0))
    a, b = np.zeros(2), np.ones(2)
    same = constraints.interval(a, b)
    assert _same_constraint(same, same)
    assert not _same_constraint(same, constraints.interval(a.copy(), b.copy()))  # arrays: identity
    assert not _same_constraint(constraints.positive, constraints.real)


def test_literal_parameters_follow_the_dtype_rules(backend):
    be = backend
    d = dist.Normal(0.0, 1.0)
    assert d.loc.dtype == be.float_dtype() and d.scale.dtype == be.float_dtype()
    x32 = be.asarray(np.ones(2, np.float32), dtype=be.dtype("float32"))
    assert dist.Normal(x32, 2.0).scale.dtype == be.float_dtype()  # promoted like an array
    assert dist.Normal(x32, 2).scale.dtype == be.dtype("float32")  # ints take the float dtype
    assert np.signbit(to_np(dist.Normal(-0.0, 1.0).loc))
    assert not np.signbit(to_np(dist.Normal(0.0, 1.0).loc))
    assert np.isnan(to_np(dist.Normal(float("nan"), 1.0, validate_args=False).loc))
    with polyro.backends.policy.default_dtype("float32"):
        assert dist.Normal(0.1, 1.0).loc.dtype == be.dtype("float32")
    assert dist.Normal(0.1, 1.0).loc.dtype == be.float_dtype()
    assert dist.Normal(be.asarray(np.zeros(3)), 1.0).batch_shape == (3,)
    with pytest.raises(ValueError):
        dist.Normal(be.asarray(np.zeros(3)), be.asarray(np.ones(2)))


def test_plate_indices_are_right(backend):
    assert backend.NAME == polyro.get_backend()  # the fixture selects the backend

    def model():
        with polyro.plate("n", 5) as idx:
            return idx

    np.testing.assert_array_equal(to_np(model()), np.arange(5))
    np.testing.assert_array_equal(to_np(model()), np.arange(5))


# ------------------------------------------------------------------------------ torch only


def _torch():
    torch = pytest.importorskip("torch")
    from polyro.backends.torch.record import record_fn

    return torch, record_fn


def test_record_fn_refuses_what_it_cannot_record():
    torch, record_fn = _torch()

    def branch(x):
        return x.sum() if float(x.sum()) > 0 else -x.sum()

    def loop(x):  # an int from a value sets a loop length
        n = int((x[0] * 3).floor()) + 1
        return (x[:n] ** 2).sum()

    def item(x):
        return x.sum() * x[0].item()

    def baked(x):  # a value copied into a new tensor: a constant of the recording
        return x.sum() * torch.tensor(x[0].tolist())

    def data_branch(x):  # branches on sizes and on data (not on x's values) are fine
        data = torch.tensor([1.0, -2.0], dtype=x.dtype)
        if x.shape[0] > 3 and len(x) == 4 and float(data.sum()) < 0 and data.numpy()[0] > 0:
            return (x * torch.arange(x.shape[0], dtype=x.dtype)).sum() + data.sum()
        return x.sum()

    ex = (torch.tensor([0.5, 0.2, 0.3, 0.4], dtype=torch.float64),)
    before = {n: torch.Tensor.__dict__.get(n) for n in ("__bool__", "__array__", "item")}
    for f in (branch, loop, item, baked):
        assert record_fn(f, ex) is None, f.__name__
    g = record_fn(data_branch, ex)
    assert g is not None
    x = torch.tensor([1.5, -0.2, 0.3, 2.0], dtype=torch.float64)
    assert torch.equal(g(x), data_branch(x))
    assert record_fn(lambda x: x.sum(), (torch.tensor([1, 2]),)) is None  # not float
    assert record_fn(lambda x: (x * x).sum(), (torch.ones(3),)) is not None
    # the Tensor methods watched while recording are torch's own again
    assert {n: torch.Tensor.__dict__.get(n) for n in before} == before
    assert torch.Tensor.__bool__ is torch._C.TensorBase.__bool__


def test_record_fn_calls_the_function_outside_its_recording():
    torch, record_fn = _torch()
    calls = []

    def f(x, y):
        calls.append(1)
        return (x.exp() * y).sum()

    ex = (torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    g = record_fn(f, ex)
    assert g is not None
    n = len(calls)
    x = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    assert torch.equal(g(x, x), f(x, x))
    assert len(calls) == n + 1  # the graph ran, only f itself was called
    x4 = torch.ones(4, dtype=torch.float64)  # another shape: the function itself
    assert torch.equal(g(x4, x4), f(x4, x4))
    x32 = x.float()  # another dtype
    assert torch.equal(g(x32, x32), f(x32, x32))
    X = torch.stack([x, 2 * x])  # under vmap: the function itself
    out = torch.func.vmap(lambda a: g(a, a))(X)
    assert torch.allclose(out, torch.stack([f(x, x), f(2 * x, 2 * x)]))
    # gradients, second derivatives included, flow through the graph
    xa = x.clone().requires_grad_(True)
    (g1,) = torch.autograd.grad(g(xa, x), xa, create_graph=True)
    (h1,) = torch.autograd.grad(g1.sum(), xa)
    xb = x.clone().requires_grad_(True)
    (g2,) = torch.autograd.grad(f(xb, x), xb, create_graph=True)
    (h2,) = torch.autograd.grad(g2.sum(), xb)
    assert torch.equal(g1, g2) and torch.equal(h1, h2)


def test_torch_default_device_follows_the_context():
    torch = pytest.importorskip("torch")
    import polyro.backends.torch as tbe

    assert tbe.default_device() == torch.get_default_device()
    with torch.device("meta"):
        assert tbe.default_device().type == "meta"
    assert tbe.default_device().type == torch.get_default_device().type
