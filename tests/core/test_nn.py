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
