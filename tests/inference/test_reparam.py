"""``ProjectedNormalReparam``: a latent ProjectedNormal (support: the sphere, which has no
unconstrained parameterization) sampled by NUTS through its normal pushforward.

Oracles: the reparameterized site is ``Normal(concentration, I)`` exactly, so its draws are
checked against that normal's moments at 4 MCSE (``mcmc_checks``; seed fixed, false-failure rate
about 1e-3 per test when the ESS estimate is right), and the unit vector against ``x / |x|``
computed in numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from mcmc_checks import as_np, check_moments

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.inference.mcmc import MCMC, NUTS
from polyro.inference.reparam import ProjectedNormalReparam

C = np.array([1.0, 2.0, -0.5])


def _model(be, n=None):
    c = be.asarray(C)
    if n is None:
        return polyro.sample("u", dist.ProjectedNormal(c))
    with polyro.plate("k", n):
        return polyro.sample("u", dist.ProjectedNormal(c))


def test_trace_has_the_normal_site_and_the_unit_vector(backend):
    h = handlers.reparam(lambda: _model(backend, 4), config={"u": ProjectedNormalReparam()})
    tr = handlers.trace(handlers.seed(h, rng_seed=0)).get_trace()
    assert list(tr) == ["k", "u_normal", "u"]
    assert tr["u"]["type"] == "deterministic" and tr["u_normal"]["type"] == "sample"
    x = as_np(tr["u_normal"]["value"])
    assert x.shape == (4, 3) and tr["u_normal"]["fn"].event_shape == (3,)
    np.testing.assert_allclose(as_np(tr["u"]["value"]),
                               x / np.linalg.norm(x, axis=-1, keepdims=True), rtol=1e-14)
    # the normal site's density is Normal(C, 1) per component (scipy-free closed form)
    want = -0.5 * ((x - C) ** 2).sum(-1) - 1.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(as_np(tr["u_normal"]["fn"].log_prob(tr["u_normal"]["value"])),
                               want, rtol=1e-12)


def test_rejects_other_distributions_and_observed_sites(backend):
    r = ProjectedNormalReparam()
    with pytest.raises(TypeError, match="site 'z'.*expected a ProjectedNormal, got Normal"):
        r("z", dist.Normal(backend.asarray(0.0), 1.0), None)
    with pytest.raises(ValueError, match="observed site 'u'"):
        r("u", dist.ProjectedNormal(backend.asarray(C)), backend.asarray(C / np.linalg.norm(C)))


def test_nuts_needs_the_reparam_and_samples_with_it(grad_backend):
    be = grad_backend
    with pytest.raises(NotImplementedError, match="latent site 'u'.*ProjectedNormalReparam"):
        MCMC(NUTS(lambda: _model(be)), num_warmup=5, num_samples=5,
             progress_bar=False).run(0)
    h = handlers.reparam(lambda: _model(be), config={"u": ProjectedNormalReparam()})
    mcmc = MCMC(NUTS(h), num_warmup=300, num_samples=1000, progress_bar=False)
    mcmc.run(1)
    s = mcmc.get_samples()
    x = as_np(s["u_normal"])
    check_moments(x[None], C, 1.0, label="u_normal")
    np.testing.assert_allclose(as_np(s["u"]), x / np.linalg.norm(x, axis=-1, keepdims=True),
                               rtol=1e-12)
