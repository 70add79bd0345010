"""``polyro.module`` with a torch.nn.Module (parameters as param sites, functional_call)."""

from __future__ import annotations

import numpy as np
import pytest

import polyro
from polyro import handlers


def test_torch_module_params_are_param_sites_and_substitutable():
    torch = pytest.importorskip("torch")
    with polyro.backend("torch"):
        torch.manual_seed(0)
        lin = torch.nn.Linear(2, 1).double()

        def model(x):
            return polyro.module("lin", lin)(x)

        x = torch.ones(1, 2, dtype=torch.float64)
        tr = handlers.trace(model).get_trace(x)
        assert set(tr.param_nodes) == {"lin$$$weight", "lin$$$bias"}
        new = {"lin$$$weight": torch.tensor([[1.0, 2.0]], dtype=torch.float64),
               "lin$$$bias": torch.tensor([0.5], dtype=torch.float64)}
        out = handlers.substitute(model, data=new)(x)
        np.testing.assert_allclose(out.detach().numpy(), [[3.5]])
        # the module itself is unchanged
        assert not torch.equal(lin.weight, new["lin$$$weight"])
        # gradients flow to the substituted values
        w = new["lin$$$weight"].clone().requires_grad_(True)
        out = handlers.substitute(model, data={**new, "lin$$$weight": w})(x)
        out.sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), [[1.0, 1.0]])


def test_torch_backend_rejects_non_module():
    pytest.importorskip("torch")
    with polyro.backend("torch"), pytest.raises(TypeError, match="torch.nn.Module"):
        polyro.module("m", (lambda p, x: x, {}))


def test_numpy_backend_rejects_non_pair():
    with polyro.backend("numpy"), pytest.raises(TypeError, match="apply_fn, params"):
        polyro.module("m", object())


def test_training_leaves_the_network_trained(grad_backend):
    """A least-squares fit of a linear network through ``polyro.module`` (its weights are the
    only unknowns): ``svi.run`` and Pyro's ``svi.step`` loop end with the trained weights, which
    match numpy's lstsq. A ``torch.nn.Module`` then holds them itself, as in Pyro; the JAX pair
    ``(apply_fn, params)`` is functional and keeps its initial params (read ``result.params``)."""
    import polyro.distributions as dist
    from polyro.inference import SVI, Trace_ELBO
    from polyro.optim import Adam

    be = grad_backend
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    y = x @ np.array([1.5, -0.7]) + 0.3 + 0.05 * rng.normal(size=50)
    coef = np.linalg.lstsq(np.c_[x, np.ones(50)], y, rcond=None)[0]
    w0 = np.array([[0.1, 0.2]])
    if be.NAME == "torch":
        import torch

        net = torch.nn.Linear(2, 1).double()
        with torch.no_grad():
            net.weight.copy_(torch.tensor(w0))
            net.bias.zero_()
        weights = lambda: net.weight.detach().numpy()  # noqa: E731
    else:
        init = {"weight": be.asarray(w0), "bias": be.asarray(np.zeros(1))}
        net = (lambda p, v: v @ p["weight"].T + p["bias"], init)
        weights = lambda: be.to_numpy(init["weight"])  # noqa: E731

    def model(x, y):
        f = polyro.module("net", net)
        with polyro.plate("data", 50):
            polyro.sample("y", dist.Normal(f(x)[..., 0], 0.05), obs=y)

    def guide(x, y):
        pass

    args = (be.asarray(x), be.asarray(y))
    svi = SVI(model, guide, Adam(0.05), Trace_ELBO())
    res = svi.run(be.key(0), 800, *args, progress_bar=False)
    fitted = np.r_[be.to_numpy(res.params["net$$$weight"]).ravel(),
                   be.to_numpy(res.params["net$$$bias"])]
    np.testing.assert_allclose(fitted, coef, atol=1e-4)
    if be.NAME == "torch":
        np.testing.assert_allclose(weights().ravel(), coef[:2], atol=1e-4)
        with torch.no_grad():  # back to the start, then Pyro's loop
            net.weight.copy_(torch.tensor(w0))
            net.bias.zero_()
        svi = SVI(model, guide, Adam(0.05), Trace_ELBO())
        for _ in range(800):
            svi.step(*args)
        np.testing.assert_allclose(np.r_[weights().ravel(), net.bias.detach().numpy()], coef,
                                   atol=1e-4)
    else:
        np.testing.assert_array_equal(weights(), w0)
