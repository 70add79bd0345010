"""Every model check of issue 3, item 6: triggered and its message checked (names the site)."""

from __future__ import annotations

import numpy as np
import pytest

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.density import check_observations, initialize_model, validate_model
from polyro.core.distributions import constraints
from polyro.core.runtime import MissingKeyError
from polyro.errors import ModelError


def test_sampling_outside_seed(backend):
    def model():
        polyro.sample("theta", dist.Normal(0.0, 1.0))

    with pytest.raises(MissingKeyError) as e:
        handlers.trace(model).get_trace()
    msg = str(e.value)
    assert "'theta'" in msg and "polyro.handlers.seed(model, rng_seed=0)" in msg


def test_param_init_function_outside_seed(backend):
    with pytest.raises(MissingKeyError, match=r"param site 'w'.*seed"):
        handlers.trace(lambda: polyro.param("w", lambda key: backend.normal(key, (2,)))).get_trace()


def test_random_subsample_outside_seed(backend):
    with pytest.raises(MissingKeyError, match=r"plate 'n'.*subsample"):
        with polyro.plate("n", 10, subsample_size=3):
            pass


def test_duplicate_site_names(backend):
    def model():
        polyro.sample("x", dist.Normal(0.0, 1.0), obs=0.0)
        polyro.sample("x", dist.Normal(0.0, 1.0), obs=1.0)

    with pytest.raises(ModelError, match=r"site name 'x' is used twice"):
        handlers.trace(model).get_trace()

    def model2():
        polyro.sample("x", dist.Normal(0.0, 1.0), obs=0.0)
        polyro.deterministic("x", 1.0)

    with pytest.raises(ModelError, match=r"'x'.*sample site and a deterministic site"):
        handlers.trace(model2).get_trace()


def test_observed_shape_does_not_broadcast(backend):
    def model():
        with polyro.plate("N", 2):
            polyro.sample("obs", dist.Normal(backend.asarray(np.zeros(2)), 1.0),
                          obs=backend.asarray(np.zeros((3, 4))))

    with pytest.raises(ModelError) as e:
        model()
    msg = str(e.value)
    assert "'obs'" in msg and "(3, 4)" in msg and "(2,)" in msg and "N(size=2" in msg


def test_observed_event_shape_must_match(backend):
    d = dist.Normal(backend.asarray(np.zeros(3)), 1.0).to_event(1)
    with pytest.raises(ModelError, match=r"'v'.*shape \(2,\).*event_shape=\(3,\)"):
        polyro.sample("v", d, obs=backend.asarray(np.zeros(2)))


def test_plate_size_disagrees_with_batch_dim(backend):
    def model():
        with polyro.plate("G", 4):
            polyro.sample("g", dist.Normal(backend.asarray(np.zeros(5)), 1.0))

    with pytest.raises(ModelError, match=r"'g'.*batch_shape \(5,\).*plate 'G' has size 4"):
        handlers.seed(model, rng_seed=0)()


def test_full_size_data_in_subsampled_plate_gets_hint(backend):
    def model():
        with polyro.plate("N", 6, subsample_size=2):
            polyro.sample("y", dist.Normal(backend.asarray(np.zeros(6)), 1.0))

    with pytest.raises(ModelError, match="polyro.subsample"):
        handlers.seed(model, rng_seed=0)()


def test_subsample_index_out_of_range(backend):
    from polyro.core.distributions.validation import trusted_values

    bad = backend.asarray(np.array([-1, 2]))
    with pytest.raises(ModelError, match=r"plate 'n'.*index -1 at position 0"):
        with polyro.plate("n", 5, subsample=bad):
            pass
    with trusted_values():  # a step on inputs already checked (or validation off): no check
        with polyro.plate("n", 5, subsample=bad) as idx:
            assert idx is bad


def test_obs_outside_support_names_first_bad_index(backend):
    y = np.array([[0.5, 1.0], [2.0, -3.0], [-1.0, 1.0]])

    def model():
        with polyro.plate("n", 2), polyro.plate("m", 3, dim=-2):
            polyro.sample("rate", dist.LogNormal(0.0, 1.0), obs=backend.asarray(y))

    with pytest.raises(ModelError) as e:
        validate_model(model)
    msg = str(e.value)
    assert "'rate'" in msg and "index (1, 1)" in msg and "-3.0" in msg and "2 bad entries" in msg
    assert "support" in msg
    with pytest.raises(ModelError, match="'rate'"):
        initialize_model(0, model)


def test_obs_nan_names_index(backend):
    y = np.array([0.1, 0.2, np.nan, 0.4])

    def model():
        with polyro.plate("n", 4):
            polyro.sample("y", dist.Normal(0.0, 1.0), obs=backend.asarray(y))

    with pytest.raises(ModelError, match=r"'y'.*\[?nan\]?.*index \(2,\) is NaN"):
        validate_model(model)


def test_masked_out_bad_entries_are_allowed(backend):
    y = np.array([0.5, -1.0])
    m = np.array([True, False])

    def model():
        with polyro.plate("n", 2), handlers.mask(mask=backend.asarray(m)):
            polyro.sample("y", dist.LogNormal(0.0, 1.0), obs=backend.asarray(y))

    tr = validate_model(model)
    check_observations(tr)


def test_param_init_outside_constraint(backend):
    def model():
        polyro.param("scale", backend.asarray(np.array([1.0, -0.5])), constraint=constraints.positive)

    with pytest.raises(ModelError) as e:
        handlers.trace(model).get_trace()
    msg = str(e.value)
    assert "'scale'" in msg and "-0.5" in msg and "(1,)" in msg and "positive" in msg


def test_obs_mask_without_obs():
    with pytest.raises(ModelError, match=r"'y'.*obs_mask"):
        polyro.sample("y", dist.Normal(0.0, 1.0), obs_mask=np.array([True]))


def test_bad_site_names():
    with pytest.raises(TypeError, match="non-empty str"):
        polyro.sample("", dist.Normal(0.0, 1.0))
    with pytest.raises(TypeError, match="non-empty str"):
        polyro.param(3, 1.0)


def test_param_without_init():
    with pytest.raises(ModelError, match=r"param site 'nothing'.*init_value"):
        handlers.trace(lambda: polyro.param("nothing")).get_trace()


def test_discrete_and_multivariate_obs_outside_support(backend):
    def pois():
        with polyro.plate("n", 3):
            polyro.sample("counts", dist.Poisson(2.0), obs=backend.asarray(np.array([1.0, 2.5, 3.0])))

    with pytest.raises(ModelError, match=r"'counts'.*2\.5.*index \(1,\).*outside the support"):
        validate_model(pois)

    probs = np.array([[0.2, 0.8], [0.7, 0.7], [0.5, 0.5]])

    def dirich():
        with polyro.plate("n", 3):
            polyro.sample("pr", dist.Dirichlet(backend.asarray(np.ones(2))), obs=backend.asarray(probs))

    with pytest.raises(ModelError, match=r"'pr'.*\[0\.7, 0\.7\] at index \(1,\).*simplex"):
        validate_model(dirich)


def test_discrete_latent_without_enumeration_rejected_by_initialize_model(backend):
    def model():
        polyro.sample("k", dist.Categorical(backend.asarray(np.array([0.3, 0.7]))))

    with pytest.raises(ModelError, match=r"'k' is discrete.*enumerate"):
        initialize_model(0, model)


def test_log_prob_outside_support_names_the_site_on_every_path(backend):
    """A distribution's support error, raised where a site's log density is computed (a trace's
    log_prob, log_density, an ELBO's site term, log_likelihood, enumeration), names the site:
    it used to read "Poisson.log_prob: value outside the support", which no model shows."""
    from polyro.core.density import log_density
    from polyro.inference import log_likelihood
    from polyro.inference.elbo import util as eu
    from polyro.inference.enum.api import _site_log_prob

    def model(k):
        rate = polyro.sample("rate", dist.LogNormal(0.0, 1.0))
        polyro.sample("count", dist.Poisson(rate), obs=k)

    bad = backend.asarray(2.5)
    tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace(bad)
    name = r"sample site 'count': Poisson.log_prob: value outside the support"
    with pytest.raises(ModelError, match=name):
        tr.compute_log_prob()
    with pytest.raises(ModelError, match=name):
        eu.site_log_prob(tr["count"])
    with pytest.raises(ModelError, match=name):
        _site_log_prob(tr["count"])
    with pytest.raises(ModelError, match=name):
        log_density(model, (bad,), {}, {"rate": backend.asarray(1.0)})
    with pytest.raises(ModelError, match=name):
        log_likelihood(model, {"rate": backend.asarray(np.array([1.0, 2.0]))}, bad)
    ok = backend.asarray(2.0)  # a count inside the support: no error anywhere
    lp, _ = log_density(model, (ok,), {}, {"rate": backend.asarray(1.0)})
    assert np.isfinite(float(backend.to_numpy(lp)))
