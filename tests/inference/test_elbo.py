"""ELBO estimators against closed forms and exact (enumerated by hand) gradients.

Oracles: scipy/numpy closed forms; the exact ELBO of the discrete model below is enumerated over
z in {0, 1} with Gaussian expectations in closed form and differentiated by central differences.
Monte Carlo checks use R independent repeats and a 5-standard-error band (t with R-1 dof:
two-sided false-failure rate < 1e-3 per component).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.distributions import constraints
from polyro.inference import (
    JitTrace_ELBO,
    JitTraceEnum_ELBO,
    JitTraceGraph_ELBO,
    RenyiELBO,
    Trace_ELBO,
    TraceGraph_ELBO,
    TraceMeanField_ELBO,
)

Y_OBS = 0.5
N_PART = 4000  # particles per repeat, vectorized with a plate
R = 8  # repeats


def disc_model(n):
    with polyro.plate("particles", n):
        z = polyro.sample("z", dist.Bernoulli(0.4))
        w = polyro.sample("w", dist.Normal(0.0, 1.0))
        polyro.sample("y", dist.Normal(2.0 * z - 1.0 + w, 1.0), obs=Y_OBS)


def disc_guide(n):
    a = polyro.param("a", 0.2)
    m = polyro.param("m", 0.1)
    s = polyro.param("s", 0.8, constraint=constraints.positive)
    with polyro.plate("particles", n):
        z = polyro.sample("z", dist.Bernoulli(logits=a))
        polyro.sample("w", dist.Normal(m + 0.5 * z, s))


def exact_elbo(a, m, s):
    """Closed-form ELBO of one particle of (disc_model, disc_guide)."""
    q1 = special.expit(a)
    out = 0.0
    l2pi = math.log(2 * math.pi)
    for z, qz in ((0, 1 - q1), (1, q1)):
        mu = m + 0.5 * z
        e_logp_w = -0.5 * l2pi - 0.5 * (mu**2 + s**2)
        e_logp_y = -0.5 * l2pi - 0.5 * ((Y_OBS - 2 * z + 1 - mu) ** 2 + s**2)
        e_logq_w = -0.5 * l2pi - math.log(s) - 0.5
        logpz = math.log(0.4 if z else 0.6)
        out += qz * (logpz - math.log(qz) + e_logp_w + e_logp_y - e_logq_w)
    return out


def exact_grad(a, m, s, eps=1e-6):
    x = np.array([a, m, s])
    g = np.zeros(3)
    for i in range(3):
        e = np.zeros(3)
        e[i] = eps
        g[i] = (exact_elbo(*(x + e)) - exact_elbo(*(x - e))) / (2 * eps)
    return -g  # gradient of the loss (-ELBO)


@pytest.mark.parametrize("elbo_cls", [Trace_ELBO, TraceGraph_ELBO])
def test_gradient_with_discrete_site_matches_exact(grad_backend, elbo_cls):
    be = grad_backend
    params = {"a": be.asarray(0.2), "m": be.asarray(0.1), "s": be.asarray(0.8)}
    elbo = elbo_cls()
    grads = []
    keys = be.split(be.key(11), R)

    @be.jit
    def vg(p, k):
        return be.value_and_grad(
            lambda q: elbo.loss(k, q, disc_model, disc_guide, N_PART) / N_PART)(p)

    for r in range(R):
        val, g = vg(params, keys[r])
        grads.append([float(be.to_numpy(g[n])) for n in ("a", "m", "s")])
    grads = np.array(grads)
    mean, se = grads.mean(0), grads.std(0, ddof=1) / math.sqrt(R)
    want = exact_grad(0.2, 0.1, 0.8)
    assert np.all(np.abs(mean - want) < 5 * se + 1e-4), (mean, want, se)
    # and the loss value is the ELBO estimate: close to the closed form
    assert float(be.to_numpy(val)) == pytest.approx(-exact_elbo(0.2, 0.1, 0.8), abs=0.05)


def test_tracegraph_rao_blackwellization_reduces_variance(grad_backend):
    """Two independent discrete sites: the downstream cost of z2 excludes z1's terms, so the
    gradient of z2's logit has a smaller variance than with Trace_ELBO (same draws)."""
    be = grad_backend

    def model():
        z1 = polyro.sample("z1", dist.Bernoulli(0.5))
        polyro.sample("y1", dist.Normal(3.0 * z1, 1.0), obs=2.5)
        z2 = polyro.sample("z2", dist.Bernoulli(0.5))
        polyro.sample("y2", dist.Normal(z2, 1.0), obs=0.0)

    def guide():
        polyro.sample("z1", dist.Bernoulli(logits=polyro.param("a1", 0.0)))
        polyro.sample("z2", dist.Bernoulli(logits=polyro.param("a2", 0.0)))

    params = {"a1": be.asarray(0.0), "a2": be.asarray(0.0)}
    out = {}
    for cls in (Trace_ELBO, TraceGraph_ELBO):
        elbo = cls(num_particles=1)
        elbo = cls(baseline_beta=None) if cls is TraceGraph_ELBO else elbo
        g2 = []

        @be.jit
        def vg(p, k, elbo=elbo):
            return be.value_and_grad(lambda q: elbo.loss(k, q, model, guide))(p)

        keys = be.split(be.key(0), 60)
        for r in range(60):
            _, g = vg(params, keys[r])
            g2.append(float(be.to_numpy(g["a2"])))
        out[cls.__name__] = np.var(g2)
    assert out["TraceGraph_ELBO"] < 0.5 * out["Trace_ELBO"], out


def test_single_particle_value_closed_form(grad_backend):
    """One particle: loss = -(log p(x, z) - log q(z)) at the guide's draw (scipy)."""
    be = grad_backend

    def model():
        z = polyro.sample("z", dist.Normal(0.0, 1.0))
        polyro.sample("x", dist.Normal(z, 0.5), obs=0.3)

    def guide():
        polyro.sample("z", dist.Normal(0.2, 0.7))

    key = be.key(5)
    loss = float(be.to_numpy(Trace_ELBO().loss(key, {}, model, guide)))
    # the particle's guide draw, as the ELBO makes it (guide seeded with the first split key)
    gk = be.split(key)[0]
    z = float(be.to_numpy(handlers.trace(handlers.seed(guide, rng_seed=gk)).get_trace()["z"][
        "value"]))
    want = -(stats.norm(0, 1).logpdf(z) + stats.norm(z, 0.5).logpdf(0.3)
             - stats.norm(0.2, 0.7).logpdf(z))
    assert loss == pytest.approx(want, abs=1e-10)


def test_exact_posterior_guide_gives_log_evidence(grad_backend):
    """With the exact posterior as guide, log w = log p(y) for every draw: every ELBO (and the
    Renyi bound for any alpha) equals -log p(y) exactly."""
    be = grad_backend
    y, s0, s = 1.3, 2.0, 1.0
    prec = 1 / s0**2 + 1 / s**2
    mu, sd = (y / s**2) / prec, 1 / math.sqrt(prec)
    log_ev = stats.norm(0, math.sqrt(s0**2 + s**2)).logpdf(y)

    def model():
        z = polyro.sample("z", dist.Normal(0.0, s0))
        polyro.sample("y", dist.Normal(z, s), obs=y)

    def guide():
        polyro.sample("z", dist.Normal(mu, sd))

    key = be.key(2)
    for elbo in (Trace_ELBO(), Trace_ELBO(num_particles=3), TraceGraph_ELBO(num_particles=2),
                 Trace_ELBO(num_particles=3, vectorize_particles="plate"),
                 RenyiELBO(alpha=0.0, num_particles=4),
                 RenyiELBO(alpha=0.5, num_particles=3), RenyiELBO(alpha=1.0),
                 # Pyro's names and options (no effect here)
                 JitTrace_ELBO(num_particles=2, max_plate_nesting=1, ignore_jit_warnings=True),
                 JitTraceGraph_ELBO(jit_options={}, retain_graph=True),
                 JitTraceEnum_ELBO(max_plate_nesting=0, strict_enumeration_warning=False),
                 RenyiELBO(alpha=0.5, num_particles=2, max_plate_nesting=2)):
        got = float(be.to_numpy(elbo.loss(key, {}, model, guide)))
        assert got == pytest.approx(-log_ev, abs=1e-10), elbo
    with pytest.raises(TypeError, match=r"Trace_ELBO: unexpected keyword argument\(s\) "
                                        r"\['tail_adaptive_beta'\]; it takes \['num_particles', "
                                        r"'vectorize_particles'\]"):
        Trace_ELBO(tail_adaptive_beta=0.5)


def test_meanfield_analytic_kl(grad_backend):
    """No observations: TraceMeanField loss is exactly KL(q || p) (no sampling noise)."""
    be = grad_backend

    def model():
        polyro.sample("z", dist.Normal(1.0, 2.0))

    def guide():
        polyro.sample("z", dist.Normal(polyro.param("m", 0.3), 0.5))

    kl = math.log(2.0 / 0.5) + (0.5**2 + (0.3 - 1.0) ** 2) / (2 * 2.0**2) - 0.5
    params = {"m": be.asarray(0.3)}
    val, g = be.value_and_grad(
        lambda p: TraceMeanField_ELBO().loss(be.key(0), p, model, guide))(params)
    assert float(be.to_numpy(val)) == pytest.approx(kl, abs=1e-12)
    assert float(be.to_numpy(g["m"])) == pytest.approx((0.3 - 1.0) / 4.0, abs=1e-12)


def test_particles_average(grad_backend):
    """num_particles=K averages K single-particle estimates with the split keys, in a loop or
    with vmap (where the backend compiles vmapped code)."""
    be = grad_backend

    def model():
        z = polyro.sample("z", dist.Normal(0.0, 1.0))
        polyro.sample("x", dist.Normal(z, 1.0), obs=0.3)

    def guide():
        polyro.sample("z", dist.Normal(0.5, 0.5))

    key = be.key(9)
    keys = be.split(key, 3)
    singles = [float(be.to_numpy(Trace_ELBO().loss(keys[i], {}, model, guide)))
               for i in range(3)]
    for vec in ((False, "vmap") if be.SUPPORTS_JIT else (False,)):
        got = float(be.to_numpy(Trace_ELBO(3, vectorize_particles=vec).loss(key, {}, model,
                                                                          guide)))
        assert got == pytest.approx(np.mean(singles), abs=1e-12)


def test_renyi_rejects_discrete_and_bad_args(grad_backend):
    be = grad_backend

    def model():
        polyro.sample("z", dist.Bernoulli(0.5))

    with pytest.raises(ValueError, match="site 'z'"):
        RenyiELBO(num_particles=2).loss(be.key(0), {}, model, model)
    with pytest.raises(ValueError, match="num_particles"):
        Trace_ELBO(num_particles=0)
    with pytest.raises(ValueError, match="baseline_beta"):
        TraceGraph_ELBO(baseline_beta=1.5)


def test_particles_of_a_model_that_does_not_broadcast(backend):
    """``vectorize_particles=True`` (the default) on an engine that draws particles in a plate
    (torch, numpy): a model whose sites do not broadcast over the particle plate gets a warning
    and its particles drawn one per key, the loss of ``vectorize_particles=False``; a forced
    ``"plate"`` raises the model's own error. On JAX the default is ``vmap``: no warning."""
    import warnings

    be = backend
    x = be.asarray(np.linspace(-1.0, 1.0, 7))

    def model():
        w = polyro.sample("w", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
        with polyro.plate("N", 7):
            polyro.sample("y", dist.Normal(w[0] + w[1] * x, 1.0), obs=x)  # w[1] * x: no batch

    def guide():
        loc = polyro.param("loc", be.asarray(np.array([0.1, -0.2])))
        polyro.sample("w", dist.Normal(loc, 0.5).to_event(1))

    params = {"loc": be.asarray(np.array([0.1, -0.2]))}
    want = Trace_ELBO(num_particles=4, vectorize_particles=False).loss(
        be.key(2), params, model, guide)
    elbo = Trace_ELBO(num_particles=4)
    plated = elbo._mode() == "plate"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = elbo.loss(be.key(2), params, model, guide)
        again = elbo.loss(be.key(2), params, model, guide)  # remembered: no second warning
    msgs = [str(w.message) for w in seen if "particle plate" in str(w.message)]
    assert len(msgs) == (1 if plated else 0)
    np.testing.assert_allclose(float(be.to_numpy(got)), float(be.to_numpy(want)), rtol=1e-12)
    np.testing.assert_allclose(float(be.to_numpy(again)), float(be.to_numpy(want)), rtol=1e-12)
    if plated:
        with pytest.raises(Exception, match="size|shape|broadcast"):
            Trace_ELBO(num_particles=4, vectorize_particles="plate").loss(
                be.key(2), params, model, guide)


def test_particle_plate_goes_left_of_batch_dims_outside_plates(backend):
    """A latent with batch dims but no plate (mu: three independent normals): the particle
    plate must go left of those dims. It used to be placed by the plates alone, at dim -1, and
    with num_particles == 3 == the batch size nothing failed: the estimate was silently wrong.
    Checked against the closed-form ELBO (mean of 150 three-particle estimates)."""
    be = backend
    y = np.array([0.3, -1.2, 2.0])
    m, s = np.array([0.1, -0.4, 1.1]), np.array([0.5, 0.8, 0.3])

    def model():
        mu = polyro.sample("mu", dist.Normal(be.asarray(np.zeros(3)), 1.0))
        polyro.sample("y", dist.Normal(mu, 1.0), obs=be.asarray(y))

    def guide():
        polyro.sample("mu", dist.Normal(be.asarray(m), be.asarray(s)))

    exact = np.sum(-np.log(2 * np.pi) - 0.5 * ((y - m) ** 2 + s**2) - 0.5 * (m**2 + s**2)
                   + 0.5 * np.log(2 * np.pi * np.e * s**2))
    elbo = Trace_ELBO(num_particles=3)
    if elbo._mode() == "plate":
        pm, _ = elbo._plated(be.key(0), {}, model, guide, (), {})
        tr = handlers.trace(handlers.seed(pm, rng_seed=0)).get_trace()
        assert tuple(tr["mu"]["value"].shape) == (3, 3)
        assert tr["mu"]["cond_indep_stack"][0].dim == -2
    est = [-float(be.to_numpy(elbo.loss(be.key(i), {}, model, guide))) for i in range(150)]
    se = np.std(est) / np.sqrt(len(est))
    assert abs(np.mean(est) - exact) < 4 * se + 1e-9
