"""The MCMC driver: sequential / vectorized / parallel chains, thinning, continuation from
``last_state`` (equal to an uninterrupted run), save/load, KeyboardInterrupt, summary, arviz."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from mcmc_checks import as_np

from polyro.inference.mcmc import MCMC, NUTS, RandomWalkMetropolis

try:
    import jax
except ImportError:  # pragma: no cover - the jax backend then is not tested either
    jax = None


def _pot(be):
    xp = be.xp
    return lambda z: 0.5 * xp.sum((z["x"] - 1.0) ** 2)


def _kernel(be):
    # gradient-based where possible, otherwise the numpy-capable RWM
    if be.SUPPORTS_AUTODIFF:
        return NUTS(potential_fn=_pot(be))
    return RandomWalkMetropolis(potential_fn=_pot(be))


def test_continuation_equals_uninterrupted_run(backend, tmp_path):
    be = backend
    init = {"x": be.asarray([0.0, 0.5])}
    full = MCMC(_kernel(be), num_warmup=30, num_samples=40, progress_bar=False)
    full.run(be.key(0), init_params=init)
    part = MCMC(_kernel(be), num_warmup=30, num_samples=15, progress_bar=False)
    part.run(be.key(0), init_params=init)
    first = as_np(part.get_samples()["x"])
    part.save_state(str(tmp_path / "state.pkl"))
    # continue in memory
    part.post_warmup_state = part.last_state
    part.num_samples = 25
    part.run(be.key(123))
    second = as_np(part.get_samples()["x"])
    np.testing.assert_allclose(np.concatenate([first, second]), as_np(full.get_samples()["x"]),
                               rtol=1e-9, atol=1e-12)
    # continue from the file with a fresh driver and kernel
    fresh = MCMC(_kernel(be), num_warmup=30, num_samples=25, progress_bar=False)
    fresh.load_state(str(tmp_path / "state.pkl"))
    fresh.run(be.key(5), init_params=init)
    np.testing.assert_allclose(as_np(fresh.get_samples()["x"]), second, rtol=1e-9, atol=1e-12)


def test_thinning_and_sequential_chains(backend):
    be = backend
    m = MCMC(_kernel(be), num_warmup=20, num_samples=30, num_chains=2, thinning=3,
             progress_bar=False)
    m.run(be.key(1), init_params={"x": be.asarray(np.zeros((2, 2)))})
    x = m.get_samples(group_by_chain=True)["x"]
    assert tuple(x.shape) == (2, 10, 2)
    assert tuple(m.get_samples()["x"].shape) == (20, 2)
    assert not np.allclose(as_np(x[0]), as_np(x[1]))  # chains got different keys
    ex = m.get_extra_fields(group_by_chain=True)
    assert ex["accept_prob"].shape == (2, 10)
    assert isinstance(m.last_state, list) and len(m.last_state) == 2


def test_parallel_chains(backend):
    """One device per chain where the adapter has pmap (JAX: the suite's conftest gives it four
    host devices); the draws equal the sequential run's, chain by chain. Elsewhere: a warning
    and the sequential run."""
    be = backend
    kw = dict(num_warmup=10, num_samples=10, num_chains=2, progress_bar=False)
    init = {"x": be.asarray(np.zeros((2, 2)))}
    par = MCMC(_kernel(be), chain_method="parallel", **kw)
    if getattr(be, "pmap", None) is None:
        with pytest.warns(UserWarning, match="no pmap.*sequential"):
            par.run(be.key(2), init_params=init)
    else:
        assert be.device_count() >= 2
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            par.run(be.key(2), init_params=init)
    seq = MCMC(_kernel(be), chain_method="sequential", **kw)
    seq.run(be.key(2), init_params=init)
    x = as_np(par.get_samples(group_by_chain=True)["x"])
    assert x.shape == (2, 10, 2)
    np.testing.assert_allclose(x, as_np(seq.get_samples(group_by_chain=True)["x"]),
                               rtol=1e-9, atol=1e-12)
    assert isinstance(par.last_state, list) and len(par.last_state) == 2
    # continuing from the parallel run's last states
    par.post_warmup_state = par.last_state
    par.run(be.key(3))
    assert as_np(par.get_samples(group_by_chain=True)["x"]).shape == (2, 10, 2)


@pytest.mark.parametrize("method", ["vectorized", "parallel"])
def test_one_chain_runs_unbatched(backend, method):
    """With one chain the method makes no difference (as in NumPyro): the draws are the
    sequential run's and ``last_state`` has no chain axis (a batch of one ran torch's NUTS
    unrecorded, about 4x slower)."""
    be = backend
    kw = dict(num_warmup=15, num_samples=10, progress_bar=False)
    init = {"x": be.asarray([0.0, 0.5])}
    # vectorized init_params carry a leading chain axis (documented), with one chain too
    one_init = {"x": be.asarray([[0.0, 0.5]])} if method == "vectorized" else init
    one = MCMC(_kernel(be), chain_method=method, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "parallel cannot run" warning for one chain
        one.run(be.key(4), init_params=one_init)
    seq = MCMC(_kernel(be), **kw)
    seq.run(be.key(4), init_params=init)
    np.testing.assert_array_equal(as_np(one.get_samples()["x"]), as_np(seq.get_samples()["x"]))
    assert tuple(one.last_state.z["x"].shape) == (2,)
    one.post_warmup_state = one.last_state  # and it continues
    one.run(be.key(5))
    assert as_np(one.get_samples(group_by_chain=True)["x"]).shape == (1, 10, 2)


def test_run_and_seed_take_int_seeds_and_typed_jax_keys(backend):
    """``MCMC.run`` and ``seed`` take an int seed like a key (as ``SVI`` and ``Predictive``
    do), and on JAX a typed ``jax.random.key``: the same draws as from ``be.key(seed)``."""
    import polyro
    from polyro import handlers

    be = backend
    kw = dict(num_warmup=10, num_samples=8, progress_bar=False)
    init = {"x": be.asarray([0.0, 0.5])}
    keys = [be.key(3), 3] + ([jax.random.key(3)] if be.NAME == "jax" else [])
    draws = []
    for k in keys:
        m = MCMC(_kernel(be), **kw)
        m.run(k, init_params=init)
        draws.append(as_np(m.get_samples()["x"]))
        site = handlers.trace(handlers.seed(lambda: polyro.sample(
            "z", polyro.distributions.Normal(0.0, 1.0)), rng_seed=k)).get_trace()["z"]
        draws.append(as_np(site["value"]))
    for a, b in zip(draws[::2], draws[1::2], strict=True):
        np.testing.assert_array_equal(a, draws[0])
        np.testing.assert_array_equal(b, draws[1])


def test_parallel_needs_a_device_per_chain(backend):
    if getattr(backend, "pmap", None) is None:
        pytest.skip(f"{backend.NAME} has no pmap: test_parallel_chains checks its fallback")
    n = backend.device_count() + 1
    m = MCMC(_kernel(backend), num_warmup=5, num_samples=5, num_chains=n,
             chain_method="parallel", progress_bar=False)
    with pytest.warns(UserWarning, match=f"{n} chains need {n} devices.*device_count"):
        m.run(backend.key(0), init_params={"x": backend.asarray(np.zeros((n, 2)))})
    assert tuple(m.get_samples(group_by_chain=True)["x"].shape) == (n, 5, 2)


class _Interrupting:
    """Wraps a kernel; raises KeyboardInterrupt at the n-th transition (eager loop)."""

    _jittable = False

    def __init__(self, kernel, n):
        self.k, self.n, self.calls = kernel, n, 0

    def __getattr__(self, name):
        return getattr(self.k, name)

    def sample(self, state, args, kwargs):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.k.sample(state, args, kwargs)


def test_keyboard_interrupt_keeps_draws(backend):
    be = backend
    # The wrapper forces the driver's eager loop. Random-walk Metropolis on every engine keeps
    # that cheap: an eager NUTS step on JAX re-traces its tree-building loops each call (~2 s).
    m = MCMC(_Interrupting(RandomWalkMetropolis(potential_fn=_pot(be)), 25), num_warmup=10, num_samples=50, progress_bar=False)
    with pytest.warns(UserWarning, match="interrupted"):
        m.run(be.key(3), init_params={"x": be.asarray([0.0, 0.0])})
    x = as_np(m.get_samples()["x"])
    assert x.shape == (14, 2) and np.all(np.isfinite(x))
    assert int(be.to_numpy(m.last_state.i)) == 24


def test_print_summary_and_errors(backend, capsys):
    be = backend
    m = MCMC(_kernel(be), num_warmup=20, num_samples=40, progress_bar=False)
    with pytest.raises(RuntimeError, match="run"):
        m.get_samples()
    m.run(be.key(4), init_params={"x": be.asarray([0.0, 0.0])})
    m.print_summary()
    out = capsys.readouterr().out
    assert "x[0]" in out and "r_hat" in out and "divergences" in out
    with pytest.raises(ValueError, match="chain_method"):
        MCMC(_kernel(be), num_warmup=1, num_samples=1, chain_method="threads")
    with pytest.raises(ValueError, match="init_params"):
        MCMC(_kernel(be), num_warmup=1, num_samples=1, progress_bar=False).run(be.key(0))


@pytest.mark.skipif(importlib.util.find_spec("arviz") is None, reason="arviz not installed")
def test_to_arviz(backend):
    import polyro

    be = backend
    m = MCMC(_kernel(be), num_warmup=10, num_samples=20, num_chains=2, progress_bar=False)
    m.run(be.key(5), init_params={"x": be.asarray(np.zeros((2, 2)))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = polyro.to_arviz(m)
    assert idata.posterior["x"].shape == (2, 20, 2)
    assert "diverging" in idata.sample_stats or "acceptance_rate" in idata.sample_stats


@pytest.mark.skipif(importlib.util.find_spec("arviz") is None, reason="arviz not installed")
def test_to_arviz_observed_data_and_log_likelihood(backend):
    """A model's run exports its observed data and the pointwise log-likelihood of each
    observed site at each draw (scipy's logpdf at the draws), which ``az.loo`` reads; a model
    whose log-likelihood cannot be computed gives a warning and keeps its posterior."""
    import arviz as az
    import scipy.stats as st

    import polyro
    import polyro.distributions as dist

    be = backend
    y = np.array([0.3, -1.2, 2.1, 0.7])

    def model(y, scale=1.0):
        mu = polyro.sample("mu", dist.Normal(0.0, 2.0))
        with polyro.plate("data", 4):
            polyro.sample("y", dist.Normal(mu, scale), obs=y)

    kernel = NUTS(model) if be.SUPPORTS_AUTODIFF else RandomWalkMetropolis(model)
    m = MCMC(kernel, num_warmup=50, num_samples=30, num_chains=2, progress_bar=False)
    m.run(be.key(1), be.asarray(y), scale=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = polyro.to_arviz(m)
        loo = az.loo(idata)
    np.testing.assert_array_equal(idata.observed_data["y"].values, y)
    mu = as_np(m.get_samples(group_by_chain=True)["mu"])
    ll = idata.log_likelihood["y"].values
    assert ll.shape == (2, 30, 4)
    np.testing.assert_allclose(ll, st.norm.logpdf(y, mu[..., None], 1.5), rtol=1e-6)
    assert np.isfinite(loo.elpd_loo)
    assert "log_likelihood" not in polyro.to_arviz(m, log_likelihood=False)

    m2 = MCMC(RandomWalkMetropolis(model), num_warmup=5, num_samples=5, progress_bar=False)
    m2.run(be.key(2), be.asarray(y))

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    m2.kernel.model = boom  # the model now fails: arviz's extra groups cannot be computed
    with pytest.warns(UserWarning, match="left out the observed data.*boom"):
        idata2 = polyro.to_arviz(m2)
    assert idata2.posterior["mu"].shape == (1, 5)


def test_init_params_and_summary_errors(backend, capsys):
    """init_params: a name that is no latent site, or a value of another shape (which used to
    run a different model silently), is an error naming them; a subset is completed by the
    init strategy. print_summary before run is an error; exclude_deterministic drops the
    deterministic sites."""
    import polyro
    import polyro.distributions as dist

    be = backend

    def model(y):
        mu = polyro.sample("mu", dist.Normal(0.0, 1.0))
        s = polyro.sample("s", dist.HalfNormal(1.0))
        polyro.deterministic("twice", 2.0 * mu)
        polyro.sample("y", dist.Normal(mu, s), obs=y)

    kernel = NUTS(model) if be.SUPPORTS_AUTODIFF else RandomWalkMetropolis(model)
    m = MCMC(kernel, num_warmup=10, num_samples=10, progress_bar=False)
    with pytest.raises(RuntimeError, match="print_summary: call mcmc.run"):
        m.print_summary()
    y = be.asarray(0.5)
    with pytest.raises(ValueError, match=r"init_params names \['nu'\].*latent sites: \['mu', 's'\]"):
        m.run(0, y, init_params={"nu": be.asarray(0.0)})
    with pytest.raises(ValueError, match=r"'mu' has shape \(3,\), the model's \(\)"):
        m.run(0, y, init_params={"mu": be.asarray(np.zeros(3))})
    m.run(0, y, init_params={"mu": be.asarray(0.3)})  # s from the init strategy
    assert as_np(m.get_samples()["mu"]).shape == (10,)
    m.print_summary(exclude_deterministic=True)
    assert "twice" not in capsys.readouterr().out
    m.print_summary()
    assert "twice" in capsys.readouterr().out


def test_run_takes_numpyro_extra_fields(backend):
    """``run(..., extra_fields=(...))`` as in NumPyro: names are checked before anything runs
    (not passed to the model), ``"adapt_state.step_size"`` is a key of ``get_extra_fields``, the
    draws do not change, and a field the kernel does not have is an error after the run that
    keeps its draws."""
    from polyro.inference.mcmc import AIES

    be = backend
    init = {"x": be.asarray([0.0, 0.5])}
    plain = MCMC(_kernel(be), num_warmup=20, num_samples=10, progress_bar=False)
    plain.run(be.key(0), init_params=init)
    m = MCMC(_kernel(be), num_warmup=20, num_samples=10, progress_bar=False)
    with pytest.raises(ValueError, match=r"\['z'\].*potential_energy"):
        m.run(be.key(0), init_params=init, extra_fields=("potential_energy", "z"))
    with pytest.raises(RuntimeError, match="run"):  # nothing ran
        m.get_samples()
    m.run(be.key(0), init_params=init,
          extra_fields=("diverging", "potential_energy", "adapt_state.step_size"))
    np.testing.assert_array_equal(as_np(m.get_samples()["x"]), as_np(plain.get_samples()["x"]))
    ex = m.get_extra_fields()
    np.testing.assert_array_equal(ex["adapt_state.step_size"], ex["step_size"])
    assert ex["potential_energy"].shape == (10,) and np.all(ex["step_size"] > 0)
    assert "adapt_state.step_size" not in plain.get_extra_fields()

    ens = MCMC(AIES(potential_fn=_pot(be)), num_warmup=10, num_samples=5, progress_bar=False)
    walkers = {"x": be.asarray(np.random.default_rng(0).normal(size=(4, 2)))}
    with pytest.raises(ValueError, match=r"AIES has no \['step_size'\].*kept"):
        ens.run(be.key(1), init_params=walkers, extra_fields=("step_size",))
    assert as_np(ens.get_samples(group_by_chain=True)["x"]).shape == (4, 5, 2)


def test_pyro_kernel_options(grad_backend):
    """Pyro's names: ``full_mass`` is ``dense_mass`` (the same draws, bit for bit, and a dense
    2x2 inverse mass matrix after warmup), ``jit_compile``/``ignore_jit_warnings``/
    ``max_plate_nesting`` change nothing; the draws match the closed form (correlation 0.9).
    Options polyro lacks are errors naming the kernel."""
    import polyro
    import polyro.distributions as dist

    be = grad_backend
    cov = np.array([[1.0, 0.9], [0.9, 1.0]])

    def model():
        polyro.sample("x", dist.MultivariateNormal(be.asarray(np.zeros(2)), be.asarray(cov)))

    runs = []
    for kw in ({"dense_mass": True},
               {"full_mass": True, "jit_compile": True, "ignore_jit_warnings": True,
                "max_plate_nesting": 1}):
        m = MCMC(NUTS(model, **kw), num_warmup=200, num_samples=600, progress_bar=False)
        m.run(be.key(3))
        runs.append(as_np(m.get_samples()["x"]))
        inv = m.last_state.adapt_state.inverse_mass_matrix
        assert [tuple(b.shape) for b in inv] == [(2, 2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    x = runs[1]
    assert np.abs(x.mean(0)).max() < 0.25 and np.abs(x.std(0) - 1.0).max() < 0.15
    assert abs(np.corrcoef(x.T)[0, 1] - 0.9) < 0.05
    with pytest.raises(TypeError, match=r"NUTS: unexpected keyword argument\(s\) \['transforms'\]"):
        NUTS(model, transforms={})
    with pytest.raises(ValueError, match="NUTS: only multinomial sampling"):
        NUTS(model, use_multinomial_sampling=False)
    with pytest.raises(ValueError, match="full_mass .* and dense_mass disagree"):
        NUTS(model, full_mass=True, dense_mass=[("x",)])


def test_sites_listed_in_the_same_order_on_every_engine(backend, capsys):
    """get_samples (and so print_summary) lists sites by sorted name on every engine (JAX
    sorts dicts; torch and numpy kept the model's order, so the same model printed
    differently)."""
    import polyro
    import polyro.distributions as dist

    be = backend

    def model():
        polyro.sample("z", dist.Normal(0.0, 1.0))
        polyro.sample("a", dist.Normal(0.0, 1.0))
        polyro.sample("m", dist.Normal(0.0, 1.0))

    kernel = NUTS(model) if be.SUPPORTS_AUTODIFF else RandomWalkMetropolis(model)
    m = MCMC(kernel, num_warmup=10, num_samples=10, progress_bar=False)
    m.run(be.key(0))
    assert list(m.get_samples()) == ["a", "m", "z"]
    assert list(m.get_samples(group_by_chain=True)) == ["a", "m", "z"]
    m.print_summary()
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()
            if line.strip() and line.split()[0] in ("a", "m", "z")]
    assert rows == ["a", "m", "z"]
