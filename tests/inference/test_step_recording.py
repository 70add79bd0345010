"""Recorded sampler steps (torch's ``record_graph``): a leapfrog step with its potential,
gradient and bookkeeping recorded as one graph gives the numbers of the step run as written,
bit for bit; what cannot be recorded safely is refused; engines that compile have no such
capability (they compile the whole loop)."""

from __future__ import annotations

import numpy as np
import pytest
from mcmc_checks import as_np as to_np
from test_svi_fastpath import X, Y

import polyro
import polyro.distributions as dist
from polyro.core import density
from polyro.inference.mcmc import HMC, MCMC, NUTS
from polyro.inference.mcmc.util import LazyRecording


def _record_graph(be):
    """The capability, or ``None`` after checking that the engine is one that compiles or has no
    gradients (those run eagerly without it: numpy's gradient-free kernels are not hot enough)."""
    rec = getattr(be, "record_graph", None)
    if rec is None:
        assert be.SUPPORTS_JIT or not be.SUPPORTS_AUTODIFF
    return rec


def _vg_step(be):
    xp = be.xp
    data = be.asarray(np.array([[0.5, -1.0], [2.0, 0.3], [-0.7, 1.1]]))

    def potential(x):
        lin = data @ x
        return xp.sum(xp.logaddexp(xp.zeros_like(lin), lin)) + xp.sum(xp.exp(x) * x) - xp.sum(
            xp.where(x > 0, x, 0.5 * x))

    vg = be.value_and_grad(potential)

    def step(x, s):
        v, g = vg(x)
        return v, x - s * g, g

    return step


def test_recorded_step_is_bit_for_bit_the_step(backend):
    rec = _record_graph(backend)
    if rec is None:
        return
    be = backend
    step = _vg_step(be)
    rng = np.random.default_rng(0)
    ex = (be.asarray(rng.normal(size=2)), be.asarray(0.1))
    f = rec(step, ex, [(be.asarray(rng.normal(size=2)), be.asarray(0.2))])
    assert f is not None
    for _ in range(5):  # new points, both sides of the where
        x, s = be.asarray(rng.normal(size=2) * 2), be.asarray(float(rng.uniform()))
        for a, b in zip(f(x, s), step(x, s), strict=True):
            np.testing.assert_array_equal(to_np(a), to_np(b))
    # another shape: the step as written
    x3 = be.asarray(np.ones(3))
    with pytest.raises(Exception):  # noqa: B017 - the data is 3x2: the step itself fails
        f(x3, be.asarray(0.1))


def test_record_graph_keeps_inputs_apart_and_constants_constant(backend):
    rec = _record_graph(backend)
    if rec is None:
        return
    be = backend
    c = be.asarray(np.array([1.0, 2.0]))

    def f(a, b):
        return (a * 2.0 + b * c,)

    t = be.asarray(np.array([3.0, 4.0]))
    g = rec(f, (t, t))  # one tensor for both arguments in the example
    x, y = be.asarray(np.array([1.0, -1.0])), be.asarray(np.array([5.0, 7.0]))
    np.testing.assert_array_equal(to_np(g(x, y)[0]), [7.0, 12.0])


def test_record_graph_skips_autograd_only_where_nothing_needs_it(backend, monkeypatch):
    """Inputs that need no gradient run the graph below autograd's dispatch layer (the backward
    pass is in the graph already): the same bits, plain tensors out. An input that requires a
    gradient runs through autograd, so gradients still flow through the recorded graph; a graph
    with an in-place operation never skips the version tracking."""
    rec = _record_graph(backend)
    if rec is None:
        return
    import torch

    from polyro.backends.torch import record

    entered = []
    real = record._below_autograd

    def counting():
        entered.append(1)
        return real()

    monkeypatch.setattr(record, "_below_autograd", counting)
    be = backend
    step = _vg_step(be)
    rng = np.random.default_rng(1)
    f = rec(step, (be.asarray(rng.normal(size=2)), be.asarray(0.1)),
            [(be.asarray(rng.normal(size=2)), be.asarray(0.2))])
    assert f is not None
    x, s = be.asarray(rng.normal(size=2)), be.asarray(0.3)
    entered.clear()
    out = f(x, s)
    assert entered == [1]
    for a, b in zip(out, step(x, s), strict=True):
        np.testing.assert_array_equal(to_np(a), to_np(b))
        assert not a.requires_grad and not a.is_inference()
    # differentiating through a recorded graph: autograd runs, the gradient is the function's
    def smooth(a):
        return (a * xp.exp(a) + xp.sin(a) * a,)

    xp = be.xp
    h = rec(smooth, (be.asarray(rng.normal(size=2)),))
    assert h is not None
    xg = x.clone().requires_grad_(True)
    entered.clear()
    (gx,) = torch.autograd.grad(h(xg)[0].sum(), (xg,))
    assert entered == []
    xv = to_np(x)
    want = np.exp(xv) * (1 + xv) + np.cos(xv) * xv + np.sin(xv)
    np.testing.assert_allclose(to_np(gx), want, rtol=1e-12)

    def inplace(a):
        b = a * 2.0
        b.add_(1.0)
        return (b,)

    g = rec(inplace, (be.asarray(np.ones(2)),))
    assert g is not None
    entered.clear()
    np.testing.assert_array_equal(to_np(g(be.asarray(np.array([1.0, 3.0])))[0]), [3.0, 7.0])
    assert entered == []


def test_record_graph_refuses_what_it_cannot_record(backend):
    rec = _record_graph(backend)
    if rec is None:
        return
    be = backend
    xp = be.xp
    x = be.asarray(np.array([1.0, 2.0]))

    def branch(a):  # a Python branch on a value
        return (a * 2.0,) if float(xp.sum(a)) > 0 else (a,)

    def baked(a):  # a value copied into a new tensor
        return (be.asarray(to_np(a).tolist()) + a,)

    assert rec(branch, (x,)) is None
    assert rec(baked, (x,)) is None
    assert rec(lambda a: (a * 2.0,), (x,), [(be.asarray(np.ones(3)),)]) is None  # probe shape
    assert rec(lambda a: (a * 2.0,), (x,)) is not None


def test_lazy_recording_falls_back_on_a_fault(backend):
    """A recorded step whose math raises (a failed factorization, say) runs as written for
    that call, so the sampler's own fault handling applies."""
    be = backend
    calls = []

    def fn(a):
        calls.append("fn")
        return (a + 1.0,)

    def raising(*_):
        raise RuntimeError("factorization failed")

    lazy = LazyRecording(be, fn, fn)
    lazy._rec = raising  # as if recorded
    out = lazy(be.asarray(np.zeros(2)))
    np.testing.assert_array_equal(to_np(out[0]), [1.0, 1.0])
    assert calls == ["fn"]


def schools(y, sigma):
    mu = polyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = polyro.sample("tau", dist.HalfCauchy(5.0))
    with polyro.plate("J", 5):
        eta = polyro.sample("eta", dist.Normal(0.0, 1.0))
        polyro.sample("y", dist.Normal(mu + tau * eta, sigma), obs=y)


def _schools_draws(be, kernel, seed):
    data = (be.asarray([28.0, 8.0, -3.0, 7.0, -1.0]), be.asarray([15.0, 10.0, 16.0, 11.0, 9.0]))
    m = MCMC(kernel, num_warmup=40, num_samples=40, progress_bar=False)
    m.run(be.key(seed), *data)
    return {n: to_np(v) for n, v in m.get_samples().items()}


@pytest.mark.parametrize("kernel", [NUTS, HMC])
def test_draws_do_not_depend_on_step_recording(grad_backend, monkeypatch, kernel):
    be = grad_backend
    draws, kernels = [], []
    for after in (0, 5):  # 0: nothing recorded
        monkeypatch.setattr(density, "RECORD_AFTER", after)
        k = kernel(schools) if kernel is NUTS else kernel(schools, num_steps=8)
        draws.append(_schools_draws(be, k, 2))
        kernels.append(k)
    for n in draws[0]:
        np.testing.assert_array_equal(draws[0][n], draws[1][n])
    leaf = kernels[1]._leaf_runner(be) if kernel is NUTS else None
    if _record_graph(be) is None:
        assert leaf is None
        return
    if kernel is NUTS:
        assert leaf.recorded and not kernels[0]._leaf_runner(be).recorded


def _same_draws_without(be, monkeypatch, capability, seed):
    """NUTS draws (leaves recorded) with the backend's optional ``capability`` and without it:
    identical, and the leaves recorded either way."""
    monkeypatch.setattr(density, "RECORD_AFTER", 5)
    draws, kernels = [], []
    for hide in (False, True):
        if hide:
            monkeypatch.delattr(be, capability)
        k = NUTS(schools)
        draws.append(_schools_draws(be, k, seed))
        kernels.append(k)
    for n in draws[0]:
        np.testing.assert_array_equal(draws[0][n], draws[1][n])
    assert all(k._leaf_runner(be).recorded for k in kernels)


def test_nuts_draws_do_not_depend_on_the_take_row_capability(grad_backend, monkeypatch):
    """The leaf step reads its table rows and leaf uniforms with the backend's ``take_row``
    where it has one (torch: fewer operations in the recorded graph): the draws are those of
    the array-API ``take`` path, and the leaf is still recorded."""
    be = grad_backend
    take_row = getattr(be, "take_row", None)
    if take_row is None:
        assert _record_graph(be) is None  # the engines that record (torch) have it
        return
    tab = be.asarray(np.arange(12.0).reshape(4, 3))
    for i in range(4):
        np.testing.assert_array_equal(to_np(take_row(tab, be.asarray(i))),
                                      np.arange(12.0)[3 * i:3 * i + 3])
    _same_draws_without(be, monkeypatch, "take_row", 4)


def test_mcmc_uniforms_do_not_depend_on_the_open_uniforms_capability(grad_backend,
                                                                     monkeypatch):
    """A transition's key and uniforms: the words of ``random_bits(key, (n + 2,))``, the first
    two the next key, the others ``clip((w + 0.5) 2**-32, eps, 1 - eps)`` (numpy computes the
    oracle from the words). Where the backend has the fused ``open_uniforms`` (torch: one host
    call instead of a dozen small tensor operations) the numbers are the same with it hidden,
    bit for bit, and so are the NUTS draws."""
    from polyro.inference.mcmc.util import draw_uniforms

    be = grad_backend
    fused = getattr(be, "open_uniforms", None) is not None
    draws = []
    for hide in (False, True) if fused else (False,):
        if hide:
            monkeypatch.delattr(be, "open_uniforms")
        for dt in (be.xp.float32, be.xp.float64):
            npdt = be.to_numpy(be.xp.zeros(1, dtype=dt)).dtype.type
            for batch, size in (((), 5), ((3,), 7)):
                n = int(np.prod(batch, dtype=int)) * size
                words = be.to_numpy(be.random_bits(be.key(11), (n + 2,))).astype(np.uint64)
                eps = np.finfo(npdt).eps
                want = np.clip((words[2:].astype(npdt) + npdt(0.5)) * npdt(2.0 ** -32),
                               npdt(eps), npdt(1.0 - eps)).reshape(batch + (size,))
                k, u = draw_uniforms(be, be.key(11), batch, size, dt)
                np.testing.assert_array_equal(be.to_numpy(k).astype(np.uint64), words[:2])
                assert be.to_numpy(u).dtype == want.dtype
                np.testing.assert_array_equal(be.to_numpy(u), want)
        draws.append(_schools_draws(be, NUTS(schools), 2))
    for n in draws[0]:
        np.testing.assert_array_equal(draws[0][n], draws[-1][n])


# ------------------------------------------------------------------ SVI steps
def logistic(X, y):
    w = polyro.sample("w", dist.Normal(0.0, 1.0).expand((3,)).to_event(1))
    s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
    with polyro.plate("N", X.shape[0]):
        # written to broadcast over a leading particle dim of w and s
        logits = (X * w[..., None, :]).sum(-1) * s[..., None]
        polyro.sample("y", dist.Bernoulli(logits=logits), obs=y)


def mixed(X, y):
    """A discrete latent (score-function term) next to a reparameterized one."""
    w = polyro.sample("w", dist.Normal(0.0, 1.0).expand((3,)).to_event(1))
    z = polyro.sample("z", dist.Bernoulli(0.3))
    with polyro.plate("N", X.shape[0]):
        polyro.sample("y", dist.Bernoulli(logits=polyro.ops.matmul(X, w) + z), obs=y)


def mixed_guide(X, y):
    loc = polyro.param("loc", polyro.ops.zeros(3))
    p = polyro.param("p", polyro.ops.asarray(0.5), constraint=dist.constraints.unit_interval)
    polyro.sample("w", dist.Normal(loc, 0.5).to_event(1))
    polyro.sample("z", dist.Bernoulli(p))


def _svi_runs(be, monkeypatch, make, steps=70, **run_kw):
    from polyro.inference.svi import SVI

    out = []
    for after in (0, 16):  # 0: nothing recorded
        monkeypatch.setattr(density, "RECORD_AFTER", after)
        svi = make(SVI)
        res = svi.run(3, steps, be.asarray(X), be.asarray(Y), progress_bar=False, **run_kw)
        out.append((res, svi))
    return out


@pytest.mark.parametrize("case", ["autonormal", "stable", "score_function", "particles",
                                  "plate_particles"])
def test_svi_losses_do_not_depend_on_step_recording(grad_backend, monkeypatch, case):
    from polyro.inference import Trace_ELBO, TraceGraph_ELBO
    from polyro.inference.autoguide import AutoNormal
    from polyro.optim import Adam

    be = grad_backend

    def make(SVI):
        if case == "score_function":
            return SVI(mixed, mixed_guide, Adam(0.05), TraceGraph_ELBO())
        elbo = {"particles": Trace_ELBO(num_particles=3, vectorize_particles=True),
                "plate_particles": Trace_ELBO(num_particles=3, vectorize_particles="plate")
                }.get(case, Trace_ELBO())
        return SVI(logistic, AutoNormal(logistic), Adam(0.05), elbo)

    (plain, _), (rec, svi) = _svi_runs(be, monkeypatch, make,
                                       stable_update=(case == "stable"))
    np.testing.assert_array_equal(to_np(plain.losses), to_np(rec.losses))
    for k in plain.params:
        np.testing.assert_array_equal(to_np(plain.params[k]), to_np(rec.params[k]))
    recorders = [getattr(f, "recorded_structures", None) for f in svi._compiled.values()]
    if _record_graph(be) is None:
        assert not any(recorders)
    elif case != "particles":  # vmap'd particles are refused (they run as written)
        assert any(r and r() for r in recorders)  # it did record


def test_record_graph_carry_needs_no_check_and_the_rest_is_checked(backend):
    """A loop passing a recording's outputs back as its leading arguments (the carry) skips their
    check: the values are those of the function, call after call, also when two recordings share
    the carry's signature (a loop body recorded in two variants). Any other argument is still
    checked: a wrong shape runs the function itself; a carry that requires a gradient runs
    through autograd."""
    rec = _record_graph(backend)
    if rec is None:
        return
    be, xp = backend, backend.xp

    def body(x, n, scale):  # carry (x, n), then an argument that is not carried
        return x * scale + xp.sin(x) + scale.shape[0], n + 1  # a size is a graph constant

    def other(x, n, scale):
        return x - scale * xp.cos(x), n + 2

    rng = np.random.default_rng(3)
    x0, n0, s0 = be.asarray(rng.normal(size=3)), be.asarray(0), be.asarray([0.5])
    probes = [(be.asarray(rng.normal(size=3)), be.asarray(1), be.asarray([0.7]))]
    f, g = rec(body, (x0, n0, s0), probes), rec(other, (x0, n0, s0), probes)
    assert f is not None and g is not None
    got, want = (x0, n0), (x0, n0)
    for i in range(6):
        step_rec, step_fn = (f, body) if i % 2 == 0 else (g, other)
        got, want = step_rec(*got, s0), step_fn(*want, s0)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(to_np(a), to_np(b))
    # the argument after the carry is checked: a scale of another shape runs the function
    # (the graph would add the recorded size, 1)
    wide = be.asarray(np.array([0.5, 1.0, 2.0]))
    out = f(*got, wide)
    np.testing.assert_array_equal(to_np(out[0]), to_np(body(*got, wide)[0]))
    assert not np.array_equal(to_np(out[0]), to_np(body(*got, wide)[0]) - 2.0)
    # a carry that needs a gradient: autograd sees the recorded operations
    xg = be.asarray(np.array([0.1, 0.2, 0.3]))
    xg.requires_grad_(True)
    y = f(*f(xg, n0, s0), s0)[0]
    (gx,) = __import__("torch").autograd.grad(y.sum(), (xg,))
    v = np.array([0.1, 0.2, 0.3])
    d1 = 0.5 + np.cos(v)
    v1 = v * 0.5 + np.sin(v) + 1.0
    np.testing.assert_allclose(to_np(gx), (0.5 + np.cos(v1)) * d1, rtol=1e-12)


def test_nuts_draws_do_not_depend_on_the_split_last_capability(grad_backend, monkeypatch):
    """The flat vector of latent values is cut into sites with the backend's ``split_last``
    where it has one (torch: one operation, and one for its gradient): the draws are those of
    the slicing path, bit for bit, and the leaf is still recorded."""
    be = grad_backend
    split = getattr(be, "split_last", None)
    if split is None:
        assert _record_graph(be) is None  # the engines that record (torch) have it
        return
    parts = split(be.asarray(np.arange(6.0)), [1, 2, 3])
    assert [to_np(p).tolist() for p in parts] == [[0.0], [1.0, 2.0], [3.0, 4.0, 5.0]]
    _same_draws_without(be, monkeypatch, "split_last", 5)


def test_a_state_edited_between_transitions_is_read_again(grad_backend):
    """An eager kernel starts a transition from the flat vectors behind the state it returned
    last, without concatenating its sites again; a state whose ``z`` dict was edited (or
    replaced) since is read afresh: its next transition equals that of an unrelated kernel
    started from the same values."""
    be = grad_backend

    def pot(z):
        return 0.5 * be.xp.sum(z["x"] ** 2) + 0.5 * be.xp.sum((z["y"] - 1.0) ** 2)

    def kernel():
        return HMC(potential_fn=pot, num_steps=3, step_size=0.1, adapt_step_size=False,
                   adapt_mass_matrix=False)

    init = {"x": be.asarray([0.5, -1.0]), "y": be.asarray(2.0)}
    k = kernel()
    s = k.sample(k.init(be.key(0), 0, init))
    s.z["x"] = be.asarray([3.0, 3.0])  # edited in place: same dict, new value
    s.z_grad["x"] = be.asarray([3.0, 3.0])
    got = k.sample(s)
    fresh = kernel()
    fresh.init(be.key(0), 0, init)
    want = fresh.sample(s._replace(z=dict(s.z), z_grad=dict(s.z_grad)))
    for name in ("x", "y"):
        np.testing.assert_array_equal(to_np(got.z[name]), to_np(want.z[name]))
    assert float(to_np(got.z["x"])[0]) > 1.0  # it started from the edit
