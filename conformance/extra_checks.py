"""Conformance checks beyond the per-model table: SVI agreement, failure semantics,
gradient-free MCMC on numpy, and simulation-based calibration (full run only)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import polyro
import polyro.distributions as dist
from polyro import handlers

from .catalog import CATALOG
from .checks import Result, to_backend
from .known_gaps import gap_for


def _grad_backends(backends):
    return [b for b in backends if polyro.backends.get(b).SUPPORTS_AUTODIFF]


# ---------------------------------------------------------------- SVI agreement


def svi_fit(entry_name: str, backend: str, guide_name: str, steps: int = 400) -> dict:
    from polyro.inference import SVI, Trace_ELBO, autoguide
    from polyro.optim import Adam

    entry = CATALOG[entry_name]
    with polyro.backend(backend) as be:
        guide = getattr(autoguide, guide_name)(entry.model)
        svi = SVI(entry.model, guide, Adam(0.02), Trace_ELBO())
        res = svi.run(be.key(0), steps, progress_bar=False, **to_backend(be, entry.data()))
        return {k: be.to_numpy(v) for k, v in res.params.items()}


def check_svi_agreement(backends, models=("normal_normal", "sblrc_blr"), steps=400):
    """The fitted variational parameters agree across torch and jax (same seed, same noise)."""
    gb = _grad_backends(backends)
    out = []
    if len(gb) < 2:
        return out
    for m in models:
        for guide in ("AutoNormal", "AutoMultivariateNormal"):
            fits = {b: svi_fit(m, b, guide, steps) for b in gb}
            a, c = fits[gb[0]], fits[gb[1]]
            err = max(float(np.max(np.abs(a[k] - c[k]) / np.maximum(np.abs(a[k]), 1e-3)))
                      for k in a)
            out.append(Result(m, "+".join(gb), f"svi_{guide}", err < 1e-6,
                              {"max_rel_diff": err, "steps": steps}))
    return out


# ---------------------------------------------------------------- failure semantics


def _bad_scale_model():
    polyro.sample("x", dist.Normal(0.0, -1.0))


def check_failure_semantics(backends):
    """An input that makes one backend raise makes all raise the same exception class."""
    cases = {
        "negative_scale": lambda be: handlers.seed(_bad_scale_model, rng_seed=0)(),
        "log_prob_outside_support": lambda be: dist.Gamma(1.0, 1.0).log_prob(be.asarray(-1.0)),
        "simplex_violation": lambda be: dist.Categorical(be.asarray(np.array([0.5, 0.6]))),
    }
    out = []
    for name, fn in cases.items():
        raised = {}
        for b in backends:
            with polyro.backend(b) as be:
                try:
                    fn(be)
                    raised[b] = None
                except Exception as e:  # noqa: BLE001 - the class is what is compared
                    raised[b] = type(e).__name__
        same = len(set(raised.values())) == 1 and None not in raised.values()
        out.append(Result(name, ",".join(backends), "same_exception", same, {"raised": raised}))
    return out


def check_nuts_fault(backends):
    """A model whose Cholesky fails in part of the space: divergent transitions, no exception,
    no NaN draws, the same outcome everywhere."""
    from polyro import ops
    from polyro.inference import MCMC, NUTS

    def model():
        r = polyro.sample("r", dist.Uniform(-1.5, 1.5))
        cov = ops.stack([ops.stack([1.0 + 0 * r, r]), ops.stack([r, 1.0 + 0 * r])])
        L = ops.cholesky(cov)  # not PD for |r| >= 1: torch raises, jax gives NaN
        polyro.factor("f", -0.5 * ops.sum(L**2))

    out = []
    for b in _grad_backends(backends):
        with polyro.backend(b) as be:
            mcmc = MCMC(NUTS(model), num_warmup=200, num_samples=300, progress_bar=False)
            try:
                mcmc.run(be.key(0))
                r = be.to_numpy(mcmc.get_samples()["r"])
                div = int(np.sum(be.to_numpy(mcmc.get_extra_fields()["diverging"])))
                ok = bool(np.all(np.isfinite(r)) and np.all(np.abs(r) < 1.0))
                out.append(Result("cholesky_fault", b, "fault_is_rejection", ok,
                                  {"divergences": div, "max_abs_r": float(np.max(np.abs(r)))}))
            except Exception as e:  # noqa: BLE001
                out.append(Result("cholesky_fault", b, "fault_is_rejection", False,
                                  note=f"raised {type(e).__name__}: {e}"))
    return out


# ---------------------------------------------------------------- gradient-free on numpy


def check_gradient_free(backends, num_samples=4000):
    """Gradient-free MCMC (AIES) on every engine, numpy included, vs the closed form, on the
    catalog models marked ``gradient_free`` (small enough for an ensemble sampler)."""
    from polyro.inference import AIES, MCMC

    out = []
    for name in [n for n, e in CATALOG.items() if e.gradient_free]:
        entry = CATALOG[name]
        exact = entry.exact(entry.data())
        for b in backends:
            with polyro.backend(b) as be:
                mcmc = MCMC(AIES(entry.model), num_warmup=1000, num_samples=num_samples // 20,
                            num_chains=20, chain_method="vectorized", progress_bar=False)
                mcmc.run(be.key(1), **to_backend(be, entry.data()))
                s = {k: be.to_numpy(v) for k, v in mcmc.get_samples().items()}
            nums, ok = {}, True
            for site, (m, sd) in exact.items():
                x = s[site]
                # ensemble draws are autocorrelated: allow 4 SE at an effective size of n/10
                se = sd / math.sqrt(len(x) / 10)
                z = abs(x.mean() - m) / se
                nums[site + "_z"] = round(float(z), 3)
                nums[site + "_sd_rel"] = round(float(abs(x.std() / sd - 1)), 3)
                ok &= z < 4 and abs(x.std() / sd - 1) < 0.15
            out.append(Result(name, b, "aies_posterior", bool(ok), nums))
    return out


# ---------------------------------------------------------------- simulation-based calibration
#
# Design (Talts et al. 2018). For each case, 200 simulations (theta_s, y_s) are drawn from the
# prior predictive and the posterior of each y_s is sampled with NUTS; the rank of theta_s among
# 99 thinned posterior draws is uniform on {0, ..., 99} when inference is calibrated. The ranks
# are counted in 20 bins of 5 rank values each and tested with chi-square (19 d.o.f.), one test
# per scalar parameter. Seed 0; the simulations are the same on torch and JAX (portable RNG).
#
# Vectorized: the 200 simulations are one model with a "sims" plate (dim -2) over independent
# copies of the small model, so one NUTS run samples all 200 posteriors at once (one compilation
# on JAX, one batched gradient per leapfrog step on torch). The joint posterior is the product of
# the 200 posteriors, so its draws are draws of each; the diagonal mass matrix adapts a scale per
# simulation and coordinate, and only the step size and the tree depth are shared. (Vectorized
# chains cannot carry different data per chain, and on torch four vectorized chains cost 21 ms
# per leapfrog step against 5 ms for the plated joint.) 300 warmup iterations, then 495 kept
# thinned by 5: the ESS of the 99 thinned draws (median about 96, 5% quantile about 60) is that of
# 99 independent draws (numpy iid reference: 96 and 61), as SBC needs.
#
# max_tree_depth 6 (63 leapfrog steps): these posteriors need 15. The cap bounds the cost of
# polyro's NUTS missing U-turns on near-iid-normal targets (the joint is one), where a run drifts
# into 100-1023-step trajectories at random (stan-dev/stan#2799; polyro lacks Stan's extra
# subtree checks). The sigma priors are LogNormal(0, 0.5): with HalfNormal(1), the simulations
# whose sigma is near 0 set the shared step size and every trajectory needs 127 steps (8x the
# cost; capped at 31, the ESS of the thinned draws drops to 28 of 99).
#
# Thresholds: a real case passes when every parameter has p > SBC_ALPHA = 1e-4 (per test; 6 real
# tests per backend, 12 in all: a false-failure rate of about 1.2e-3 per full run). The canary
# simulates from N(0, 1) but infers with the prior N(0, 0.3): its posteriors are over-confident
# and shrunk toward 0, and the test must reject it (p < SBC_ALPHA). Its power, measured with the
# exact posteriors (numpy, 50 repetitions of 200 simulations): the largest p was 1e-62. The
# canary row passes only when the canary fails.

SBC_ALPHA = 1e-4
SBC_MAX_TREE_DEPTH = 6


def _sbc_normal_mean(S, y=None, prior_scale=1.0):
    """mu ~ N(0, prior_scale); y[1..5] ~ N(mu, 1); S independent copies."""
    with polyro.plate("sims", S, dim=-2):
        mu = polyro.sample("mu", dist.Normal(0.0, prior_scale))
        with polyro.plate("obs", 5, dim=-1):
            polyro.sample("y", dist.Normal(mu, 1.0), obs=y)


def _sbc_canary_tight_prior(S, y=None):
    """The canary's inference model: the prior N(0, 0.3) differs from the simulating N(0, 1)."""
    _sbc_normal_mean(S, y, prior_scale=0.3)


def _sbc_normal_mean_scale(S, y=None):
    """mu ~ N(0, 1); sigma ~ LogNormal(0, 0.5); y[1..8] ~ N(mu, sigma)."""
    with polyro.plate("sims", S, dim=-2):
        mu = polyro.sample("mu", dist.Normal(0.0, 1.0))
        sigma = polyro.sample("sigma", dist.LogNormal(0.0, 0.5))
        with polyro.plate("obs", 8, dim=-1):
            polyro.sample("y", dist.Normal(mu, sigma), obs=y)


def _sbc_regression(S, x, y=None):
    """coef[1..2] ~ N(0, 1) (intercept, slope); sigma ~ LogNormal(0, 0.5);
    y[i] ~ N(coef[1] + coef[2] x[i], sigma), i = 1..10."""
    with polyro.plate("sims", S, dim=-2):
        coef = polyro.sample("coef", dist.Normal(0.0, 1.0).expand([2]).to_event(1))  # (S, 1, 2)
        sigma = polyro.sample("sigma", dist.LogNormal(0.0, 0.5))  # (S, 1)
        with polyro.plate("obs", x.shape[0], dim=-1):
            polyro.sample("y", dist.Normal(coef[..., 0] + coef[..., 1] * x, sigma), obs=y)


@dataclass(frozen=True)
class SBCCase:
    """One SBC case: ``model(S, **data, y=None)`` simulates S copies; ``infer_model`` (default:
    the same) is what NUTS samples. ``canary``: the test must reject it."""

    name: str
    model: Callable
    data_site: str = "y"
    data: dict = field(default_factory=dict)
    infer_model: Callable | None = None
    canary: bool = False
    num_warmup: int = 300
    nuts: dict = field(default_factory=lambda: {"max_tree_depth": SBC_MAX_TREE_DEPTH})


SBC_CASES = (
    SBCCase("normal_mean", _sbc_normal_mean),
    SBCCase("normal_mean_scale", _sbc_normal_mean_scale),
    SBCCase("regression", _sbc_regression, data={"x": np.linspace(-1.0, 1.0, 10)}),
    SBCCase("canary_tight_prior", _sbc_normal_mean, infer_model=_sbc_canary_tight_prior,
            canary=True),
)


def _latent_sites(tr, data_site: str) -> list[str]:
    return [k for k, n in tr.nodes.items() if n.get("type") == "sample" and k != data_site
            and not n.get("is_observed", False)]


def sbc(backend: str, case: SBCCase, num_sims: int = 200, num_draws: int = 99, thin: int = 5,
        bins: int = 20, seed: int = 0) -> dict:
    """Run one SBC case on one backend. Returns per-parameter chi-square p-values and bin counts,
    the ESS of the thinned draws, the divergences and the wall/CPU seconds."""
    from polyro.inference import MCMC, NUTS
    from polyro.inference.diagnostics import effective_sample_size

    if (num_draws + 1) % bins:
        raise ValueError(f"sbc: num_draws + 1 = {num_draws + 1} must be a multiple of {bins}")
    t0, c0 = time.perf_counter(), time.process_time()
    with polyro.backend(backend) as be:
        data = to_backend(be, case.data)
        k_sim, k_mcmc = be.split(be.key(seed))
        tr = handlers.trace(handlers.seed(case.model, rng_seed=k_sim)).get_trace(num_sims, **data)
        sites = _latent_sites(tr, case.data_site)
        truth = {k: be.to_numpy(tr.nodes[k]["value"]) for k in sites}
        y = tr.nodes[case.data_site]["value"]
        mcmc = MCMC(NUTS(case.infer_model or case.model, **case.nuts), num_warmup=case.num_warmup,
                    num_samples=num_draws * thin, thinning=thin, progress_bar=False)
        mcmc.run(k_mcmc, num_sims, y=y, **data)
        draws = {k: be.to_numpy(v) for k, v in mcmc.get_samples().items()}
        extra = mcmc.get_extra_fields()
    out = {"p": {}, "counts": {}, "ess": [], "seconds": time.perf_counter() - t0,
           "cpu_seconds": time.process_time() - c0,
           "divergences": int(np.sum(extra["diverging"])),
           "mean_steps": float(np.mean(extra["num_steps"]))}
    for k in sites:
        d = draws[k].reshape(num_draws, num_sims, -1)  # (draws, sims, components)
        t = truth[k].reshape(num_sims, -1)
        for j in range(d.shape[2]):
            name = k if d.shape[2] == 1 else f"{k}[{j + 1}]"
            out["p"][name], counts = rank_test(d[:, :, j], t[:, j], bins)
            out["counts"][name] = counts.tolist()
            out["ess"] += list(np.atleast_1d(effective_sample_size(d[None, :, :, j])))
    return out


def rank_test(draws: np.ndarray, truth: np.ndarray, bins: int = 20) -> tuple[float, np.ndarray]:
    """Chi-square p-value (``bins - 1`` d.o.f.) of the ranks of ``truth`` (sims,) among
    ``draws`` (num_draws, sims), and the bin counts; ``num_draws + 1`` must be a multiple of
    ``bins``."""
    from scipy import stats

    L = draws.shape[0]
    if (L + 1) % bins:
        raise ValueError(f"rank_test: num_draws + 1 = {L + 1} must be a multiple of {bins}")
    ranks = np.sum(draws < truth[None, :], axis=0)
    counts = np.histogram(ranks, bins=bins, range=(0, L + 1))[0]
    return float(stats.chisquare(counts).pvalue), counts


def check_sbc(backends, num_sims: int = 200, cases=SBC_CASES) -> list[Result]:
    """SBC of NUTS on every backend (a backend without gradients has its known gap): each real
    case passes when every parameter's p > SBC_ALPHA; the canary passes only when the test
    rejects it."""
    out = []
    for b in backends:
        total, total_cpu, ran = 0.0, 0.0, False
        for case in cases:
            check = "sbc_canary" if case.canary else "sbc"
            gap = gap_for(b, "sbc_" + case.name, check)
            if gap:
                out.append(Result("sbc_" + case.name, b, check, None, note="known gap: " + gap))
                continue
            try:
                r = sbc(b, case, num_sims=num_sims)
            except Exception as e:  # noqa: BLE001 - a crash fails this case, the rest go on
                out.append(Result("sbc_" + case.name, b, check, False,
                                  note=f"crash: {type(e).__name__}: {e}"))
                continue
            ran = True
            total += r["seconds"]
            total_cpu += r["cpu_seconds"]
            ps = r["p"]
            passed = (min(ps.values()) < SBC_ALPHA) if case.canary else \
                (min(ps.values()) > SBC_ALPHA)
            ess = np.asarray(r["ess"])
            nums = {f"p[{k}]": v for k, v in ps.items()}
            nums.update({"alpha": SBC_ALPHA, "sims": num_sims,
                         "ess_median": float(np.median(ess)),
                         "ess_q05": float(np.quantile(ess, 0.05)), "divergences": r["divergences"],
                         "mean_steps": r["mean_steps"], "seconds": round(r["seconds"], 1),
                         "cpu_seconds": round(r["cpu_seconds"], 1)})
            note = ("canary: must be rejected (p < alpha)" if case.canary else "") + \
                "; counts " + " ".join(f"{k}={v}" for k, v in r["counts"].items())
            out.append(Result("sbc_" + case.name, b, check, passed, nums, note.lstrip("; ")))
        if ran:
            out.append(Result("sbc_total", b, "sbc_time", None,
                              {"seconds": round(total, 1), "cpu_seconds": round(total_cpu, 1)},
                              "measurement, not a check"))
    return out


def run_all(backends, full: bool = False) -> list[Result]:
    results: list[Result] = []
    for fn in (check_failure_semantics, check_gradient_free, check_nuts_fault,
               check_svi_agreement):
        try:
            results += fn(backends)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            results.append(Result(fn.__name__, ",".join(backends), "crash", False,
                                  note=f"{type(e).__name__}: {e}"))
    if full:
        try:
            results += check_sbc(backends)
        except Exception as e:  # noqa: BLE001
            results.append(Result("sbc", ",".join(backends), "crash", False,
                                  note=f"{type(e).__name__}: {e}"))
    return results
