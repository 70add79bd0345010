"""posteriordb ``hmm_example`` and ``low_dim_gauss_mix`` with their discrete states *enumerated*
(not hand-marginalized as Stan and the catalog do; ``hmm_example`` also with ``DiscreteHMM``)
under NUTS on JAX and torch, against Stan's reference posteriors (10,000 draws).

Criteria: every parameter's mean within 4 combined Monte Carlo standard errors (ours from the
run's ESS, the reference's from its file) and its sd within 15% of the reference sd. Seeds fixed
(key(0)); the false-failure rate of a correct sampler is about 1e-4 per parameter.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyro as pr
import polyro.distributions as dist
from polyro import ops
from polyro.distributions import constraints
from polyro.inference import MCMC, NUTS
from polyro.inference.diagnostics import effective_sample_size
from polyro.inference.enum import markov, vectorized_markov

from .posteriordb import load_data, load_reference

ENUM = {"enumerate": "parallel"}


def _hmm_example_params(y):
    theta1 = pr.sample("theta1", dist.Dirichlet(ops.ones(2, dtype=y.dtype)))
    theta2 = pr.sample("theta2", dist.Dirichlet(ops.ones(2, dtype=y.dtype)))
    mu = pr.sample("mu", dist.ImproperUniform(constraints.positive_ordered_vector, (), (2,)))
    pr.factor("mu_prior", dist.Normal(3.0, 1.0).log_prob(mu[0])
              + dist.Normal(10.0, 1.0).log_prob(mu[1]))
    return ops.stack([theta1, theta2]), mu  # trans[from, to], the state means


def hmm_example_enum(y):
    trans, mu = _hmm_example_params(y)
    x = None
    for t in markov(range(y.shape[0])):
        # Stan's forward algorithm has no initial-state factor: a uniform start (a constant)
        probs = ops.ones(2, dtype=y.dtype) / 2.0 if t == 0 else trans[x]
        x = pr.sample(f"x_{t}", dist.Categorical(probs=probs), infer=ENUM)
        pr.sample(f"y_{t}", dist.Normal(mu[x], 1.0), obs=y[t])


def hmm_example_vectorized(y):
    """The same model with the chain written once (``vectorized_markov``): two steps traced,
    the T - 1 transitions multiplied as one log-depth chain product."""
    trans, mu = _hmm_example_params(y)
    x = None
    for t in vectorized_markov(name="time", size=y.shape[0], dim=-1):
        probs = ops.ones(2, dtype=y.dtype) / 2.0 if t == 0 else trans[x]
        x = pr.sample(f"x_{t}", dist.Categorical(probs=probs), infer=ENUM)
        pr.sample(f"y_{t}", dist.Normal(mu[x], 1.0), obs=y[t])


def hmm_example_discrete_hmm(y):
    """The same model with the chain summed out by ``dist.DiscreteHMM`` (one site, no
    enumeration). Step 0's transition is uniform from either state, so the first observation
    has Stan's uniform start."""
    trans, mu = _hmm_example_params(y)
    n = y.shape[0]
    start = ops.zeros((1, 2, 2), dtype=y.dtype)
    logits = ops.concat([start, ops.broadcast_to(ops.log(trans), (n - 1, 2, 2))], axis=0)
    pr.sample("y", dist.DiscreteHMM(ops.zeros(2, dtype=y.dtype), logits,
                                    dist.Normal(mu, 1.0)), obs=y)


def low_dim_gauss_mix_enum(y):
    """Stan's ``log_mix(theta, normal(mu[1], sigma[1]), normal(mu[2], sigma[2]))`` per datum,
    written with the component ``z`` as an enumerated latent (component 1 with probability
    theta)."""
    mu = pr.sample("mu", dist.ImproperUniform(constraints.ordered_vector, (), (2,)))
    pr.factor("mu_prior", ops.sum(dist.Normal(0.0, 2.0).log_prob(mu)))
    sigma = pr.sample("sigma", dist.HalfNormal(2.0).expand([2]).to_event(1))
    theta = pr.sample("theta", dist.Beta(5.0, 5.0))
    with pr.plate("N", y.shape[0]):
        z = pr.sample("z", dist.Categorical(probs=ops.stack([theta, 1.0 - theta])), infer=ENUM)
        pr.sample("y", dist.Normal(ops.take(mu, z, axis=0), ops.take(sigma, z, axis=0)), obs=y)


def _check(samples, ref):
    draws = {}
    for name, v in samples.items():
        v = np.asarray(v)
        if v.ndim == 1:
            draws[name] = v
        else:
            draws.update({f"{name}[{i + 1}]": v[:, i] for i in range(v.shape[1])})
    draws = {k: v for k, v in draws.items() if k in ref["parameters"]}
    assert len(draws) == len(ref["parameters"]), (sorted(draws), sorted(ref["parameters"]))
    problems = []
    for name, x in draws.items():
        r = ref["parameters"][name]
        ess = float(effective_sample_size(x[None, :]))
        mcse = np.sqrt((x.std(ddof=1) ** 2) / ess + r["mcse_mean"] ** 2)
        if abs(x.mean() - r["mean"]) > 4 * mcse:
            problems.append(f"{name}: mean {x.mean():.4f} vs {r['mean']:.4f} (4 mcse={4*mcse:.4f})")
        if abs(x.std(ddof=1) / r["sd"] - 1) > 0.15:
            problems.append(f"{name}: sd {x.std(ddof=1):.4f} vs {r['sd']:.4f}")
    return problems


@pytest.mark.full
@pytest.mark.parametrize("form", ["markov", "vectorized_markov", "DiscreteHMM"])
def test_hmm_example_enumerated_nuts(grad_backend, form):
    be = grad_backend
    if form == "markov" and not be.SUPPORTS_JIT:
        pytest.skip("a markov loop traces T=100 steps per gradient: hours of NUTS without jit; "
                    "the vectorized_markov form runs on this engine")
    model = {"markov": hmm_example_enum, "vectorized_markov": hmm_example_vectorized,
             "DiscreteHMM": hmm_example_discrete_hmm}[form]
    y = be.asarray(np.asarray(load_data("hmm_example-hmm_example")["y"], dtype=float))
    mcmc = MCMC(NUTS(model), num_warmup=300, num_samples=500, progress_bar=False)
    mcmc.run(be.key(0), y)
    samples = {k: np.asarray(be.to_numpy(v)) for k, v in mcmc.get_samples().items()}
    problems = _check(samples, load_reference("hmm_example-hmm_example"))
    assert not problems, problems


@pytest.mark.full
def test_low_dim_gauss_mix_enumerated_nuts(grad_backend):
    be = grad_backend
    y = be.asarray(np.asarray(load_data("low_dim_gauss_mix-low_dim_gauss_mix")["y"], dtype=float))
    mcmc = MCMC(NUTS(low_dim_gauss_mix_enum), num_warmup=300, num_samples=500,
                progress_bar=False)
    mcmc.run(be.key(0), y)
    samples = {k: np.asarray(be.to_numpy(v)) for k, v in mcmc.get_samples().items()}
    problems = _check(samples, load_reference("low_dim_gauss_mix-low_dim_gauss_mix"))
    assert not problems, problems
