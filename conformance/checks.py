"""The conformance checks. Each returns a :class:`Result` with pass/fail and measured numbers.

All checks run in float64. Reference values never come from the backend under test: they are
Stan reference posteriors, closed forms, or the other engines (for the cross-backend checks,
where agreement *is* the property checked).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

import polyro
from polyro import handlers

from .catalog import Entry
from .known_gaps import gap_for
from .posteriordb import flatten_samples, reference_stats

GRAD_BACKENDS = ("torch", "jax")


@dataclass
class Result:
    model: str
    backend: str
    check: str
    passed: bool | None  # None: not applicable / known gap
    numbers: dict = field(default_factory=dict)
    note: str = ""
    #: per parameter ``[mean, sd, mcse]`` of a posterior run, for the comparison across engines
    stats: dict = field(default_factory=dict)

    def row(self) -> dict:
        row = {"model": self.model, "backend": self.backend, "check": self.check,
               "passed": self.passed, "numbers": self.numbers, "note": self.note}
        if self.stats:
            row["stats"] = self.stats
        return row


def to_backend(be, data: dict) -> dict:
    """Convert numpy data to the backend's arrays once, at the boundary."""
    return {k: (be.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in data.items()}


def _model_for(entry: Entry):
    # subsampling draws its index set from the key: the same key gives the same subsample on
    # every engine (portable Threefry), so log densities stay comparable.
    return handlers.seed(entry.model, rng_seed=11) if "subsample" in entry.tags else entry.model


def unconstrained_point(entry: Entry, seed: int = 0) -> dict[str, np.ndarray]:
    """A random unconstrained point (numpy float64) with the shapes of the model's latents."""
    from polyro.core.density import initialize_model

    with polyro.backend("numpy") as be:
        info = initialize_model(be.key(seed), _model_for(entry),
                                model_kwargs=to_backend(be, entry.data()))
        rng = np.random.default_rng(seed)
        return {k: 0.5 * rng.normal(size=np.shape(be.to_numpy(v)))
                for k, v in info.init_params.items()}


def potential_and_grad(entry: Entry, backend: str, z: dict[str, np.ndarray]):
    """Potential energy (and its gradient where the backend has autodiff) at point ``z``."""
    from polyro.core.density import initialize_model

    with polyro.backend(backend) as be:
        data = to_backend(be, entry.data())
        info = initialize_model(be.key(0), _model_for(entry), model_kwargs=data)
        zb = {k: be.asarray(v) for k, v in z.items()}
        # compiled where the engine compiles (as NUTS and SVI run it; eager JAX would compile
        # every operation of the model separately)
        pe = float(be.to_numpy(be.jit(info.potential_fn)(zb)))
        grad = None
        if be.SUPPORTS_AUTODIFF:
            _, g = be.jit(be.value_and_grad(info.potential_fn))(zb)
            grad = {k: be.to_numpy(v) for k, v in g.items()}
        return pe, grad


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def check_log_density(entry: Entry, backends: list[str], rtol: float = 1e-10) -> list[Result]:
    """Log density at the same unconstrained points equal across engines (1e-10 relative);
    gradients equal between torch and jax (1e-10 relative, max over coordinates)."""
    out = []
    for seed in (0, 1):
        z = unconstrained_point(entry, seed)
        vals, grads = {}, {}
        for b in backends:
            vals[b], grads[b] = potential_and_grad(entry, b, z)
        base = backends[0]
        for b in backends:
            err = _rel(vals[b], vals[base])
            num = {"potential": vals[b], "rel_err_vs_" + base: err}
            ok = err <= rtol and math.isfinite(vals[b])
            if grads[b] is not None and base != b:
                pass
            out.append(Result(entry.name, b, f"log_density[{seed}]", ok, num))
        gb = [b for b in backends if grads[b] is not None]
        if len(gb) >= 2:
            g0, g1 = grads[gb[0]], grads[gb[1]]
            errs = [float(np.max(np.abs(g0[k] - g1[k]) / np.maximum(np.maximum(np.abs(g0[k]),
                    np.abs(g1[k])), 1e-12))) for k in g0]
            err = max(errs) if errs else 0.0
            out.append(Result(entry.name, "+".join(gb), f"gradient[{seed}]", err <= rtol,
                              {"max_rel_err": err}))
    return out


def check_forward_sampling(entry: Entry, backends: list[str], num_samples: int = 2000
                           ) -> list[Result]:
    """Prior predictive draws: identical across engines from one seed (portable RNG), and
    prior moments of the seed model against the analytic values."""
    from polyro.inference import Predictive

    draws = {}
    data = {k: v for k, v in entry.data().items() if k not in _observed_names(entry)}
    for b in backends:
        with polyro.backend(b) as be:
            pred = Predictive(entry.model, num_samples=num_samples)
            s = pred(be.key(0), **to_backend(be, data))
            draws[b] = {k: be.to_numpy(v) for k, v in s.items()}
    out = []
    base = backends[0]
    for b in backends:
        errs = [float(np.max(np.abs(draws[b][k] - draws[base][k])
                             / np.maximum(np.abs(draws[base][k]), 1e-300)))
                for k in draws[base] if np.issubdtype(draws[base][k].dtype, np.floating)]
        err = max(errs) if errs else 0.0
        # bits and uniforms are identical; transformed draws agree to a few ulp, but XLA's fused
        # exp/log on CPU differ from libm by more once chained through LogNormal draws: the
        # measured worst case on the plated seed model is 2.2e-8 relative (jax vs numpy/torch).
        out.append(Result(entry.name, b, "forward_identical", err <= 1e-7,
                          {"max_rel_diff_vs_" + base: err}))
    if entry.name == "seed_generative":
        from .models_small import seed_prior_moments

        mom = seed_prior_moments()
        for b in backends:
            d = draws[b]
            got = {"A": d["A"], "B": d["B"], "logC": np.log(d["C"])}
            ok, nums = True, {}
            for k, (m, v) in mom.items():
                x = got[k]
                se = math.sqrt(v / len(x))
                z = abs(x.mean() - m) / se
                nums[k + "_z"] = round(float(z), 3)
                ok &= z < 4.5  # two-sided false-failure rate ~7e-6 per moment
            out.append(Result(entry.name, b, "prior_moments", ok, nums))
    return out


def _observed_names(entry: Entry) -> set[str]:
    obs = {"y", "k", "x", "X", "Y", "kid_score", "log_earn", "y_now"}
    # data arrays that are observations (dropped for prior predictive)
    keep = {"y"} if entry.name in ("garch11", "low_dim_gauss_mix", "hmm_example") else set()
    return obs - keep


def run_nuts(entry: Entry, backend: str, num_chains: int = 4, seed: int = 0, **override):
    from polyro.inference import MCMC, NUTS

    cfg = {"num_warmup": 500, "num_samples": 1000, **entry.nuts, **override}
    kernel_kw = {k: cfg.pop(k) for k in ("target_accept_prob", "dense_mass", "max_tree_depth")
                 if k in cfg}
    with polyro.backend(backend) as be:
        # an engine that compiles runs the chains as one batch; one that runs eagerly runs them
        # one at a time, where each chain's leaf steps are recorded (a batch would run the
        # slowest chain's tree for all, with the potential under vmap)
        method = "vectorized" if be.SUPPORTS_JIT else "sequential"
        mcmc = MCMC(NUTS(_model_for(entry), **kernel_kw), num_warmup=cfg["num_warmup"],
                    num_samples=cfg["num_samples"], num_chains=num_chains,
                    chain_method=method, progress_bar=False)
        mcmc.run(be.key(seed), **to_backend(be, entry.data()))
        samples = {k: be.to_numpy(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
        extra = mcmc.get_extra_fields(group_by_chain=True)
        div = int(np.sum(be.to_numpy(extra["diverging"]))) if "diverging" in extra else -1
    return samples, div


def posterior_stats(samples: dict) -> dict[str, tuple[float, float, float, float]]:
    """Per scalar parameter (``name`` or ``name[i]``, 1-based, flattened) of draws grouped by
    chain: ``(mean, sd, mcse, rhat)``; constant components (an LKJ factor's fixed entries) are
    left out."""
    from polyro.inference.diagnostics import effective_sample_size, split_gelman_rubin

    out = {}
    for k, v in samples.items():  # (chains, draws, ...)
        c, n = v.shape[:2]
        flat = v.reshape(c, n, -1)
        for i in range(flat.shape[2]):
            name = k if flat.shape[2] == 1 and v.ndim == 2 else f"{k}[{i + 1}]"
            x = flat[:, :, i]
            sd = float(x.std(ddof=1))
            if sd == 0.0:
                continue
            ess = float(effective_sample_size(x))
            out[name] = (float(x.mean()), sd, sd / math.sqrt(max(ess, 1.0)),
                         float(split_gelman_rubin(x)))
    return out


def compare_posterior(entry: Entry, backend: str, samples: dict, diverging: int,
                      ref: dict[str, tuple[float, float, float]] | None,
                      rhat_max: float = 1.01) -> Result:
    """Means within 4 combined MCSE, sds within 15%, R-hat < 1.01 (4 chains). Without a
    reference (``ref`` None) only R-hat is checked here; the run's statistics go with the result
    for :func:`compare_engines`."""
    stats = posterior_stats(samples)
    worst = {"mean_z": 0.0, "sd_rel": 0.0, "rhat": 0.0}
    fails = []
    for p, (m_ref, sd_ref, mcse_ref) in (ref or {}).items():
        if p not in stats:
            fails.append(f"{p}: missing")
            continue
        m, sd, mcse, _ = stats[p]
        z = abs(m - m_ref) / math.sqrt(mcse**2 + mcse_ref**2)
        sd_rel = abs(sd / sd_ref - 1)
        worst["mean_z"] = max(worst["mean_z"], z)
        worst["sd_rel"] = max(worst["sd_rel"], sd_rel)
        if z > 4 or sd_rel > 0.15:
            fails.append(f"{p}: mean {m:.4g} vs {m_ref:.4g} (z={z:.2f}), sd {sd:.4g} vs "
                         f"{sd_ref:.4g}")
    for p, (_, _, _, rhat) in stats.items():
        if ref is not None and p not in ref:
            continue
        worst["rhat"] = max(worst["rhat"], rhat)
        if not rhat <= rhat_max:
            fails.append(f"{p}: rhat {rhat:.4f}")
    if ref is None:
        del worst["mean_z"], worst["sd_rel"]
    worst = {k: round(v, 4) for k, v in worst.items()}
    worst["divergences"] = diverging
    note = "; ".join(fails[:3]) or ("" if ref is not None else
                                    "no reference: compared across engines")
    return Result(entry.name, backend, "posterior", not fails, worst, note,
                  stats={p: list(v[:3]) for p, v in stats.items()})


def compare_engines(results: list[Result], z_max: float = 4.0, sd_tol: float = 0.15
                    ) -> list[Result]:
    """Posterior runs of one model on two engines against each other: every common parameter's
    means within ``z_max`` combined MCSE, sds within ``sd_tol`` relative. One result per model
    and pair of engines whose runs passed their own checks.

    >>> a = Result("m", "torch", "posterior", True, stats={"x": [0.0, 1.0, 0.02]})
    >>> b = Result("m", "jax", "posterior", True, stats={"x": [0.05, 1.05, 0.02]})
    >>> r = compare_engines([a, b])[0]
    >>> r.backend, r.passed, r.numbers["mean_z"]
    ('torch vs jax', True, 1.7678)
    """
    runs: dict[str, list[Result]] = {}
    for r in results:
        if r.check == "posterior" and r.passed and r.stats:
            runs.setdefault(r.model, []).append(r)
    out = []
    for model, rs in runs.items():
        for i, a in enumerate(rs):
            for b in rs[i + 1:]:
                common = sorted(set(a.stats) & set(b.stats))
                worst, fails = {"mean_z": 0.0, "sd_rel": 0.0}, []
                for p in common:
                    (ma, sa, ea), (mb, sb, eb) = a.stats[p], b.stats[p]
                    z = abs(ma - mb) / math.sqrt(ea**2 + eb**2)
                    sd_rel = abs(sa / sb - 1)
                    worst = {"mean_z": max(worst["mean_z"], z),
                             "sd_rel": max(worst["sd_rel"], sd_rel)}
                    if z > z_max or sd_rel > sd_tol:
                        fails.append(f"{p}: mean {ma:.4g} vs {mb:.4g} (z={z:.2f}), "
                                     f"sd {sa:.4g} vs {sb:.4g}")
                nums = {k: round(v, 4) for k, v in worst.items()}
                nums["parameters"] = len(common)
                out.append(Result(model, f"{a.backend} vs {b.backend}", "posterior_across",
                                  bool(common) and not fails, nums,
                                  "; ".join(fails[:3]) or ("" if common else "no common "
                                                                            "parameters")))
    return out


def check_posterior(entry: Entry, backends: list[str], num_chains: int = 4) -> list[Result]:
    out = []
    if entry.posteriordb:
        ref = reference_stats(entry.posteriordb)
    elif entry.exact:
        ref = {k: (m, s, 0.0) for k, (m, s) in entry.exact(entry.data()).items()}
    else:
        ref = None  # no reference: each engine's run is compared with the others'
        if "posteriordb" in entry.tags:
            return out  # a posteriordb model without a reference (the centered funnel)
    for b in backends:
        gap = gap_for(b, entry.name, "posterior")
        if gap:
            out.append(Result(entry.name, b, "posterior", None, note="known gap: " + gap))
            continue
        samples, div = run_nuts(entry, b, num_chains=num_chains)
        out.append(compare_posterior(entry, b, samples, div, ref))
    return out


__all__ = ["Result", "check_log_density", "check_forward_sampling", "check_posterior",
           "compare_posterior", "compare_engines", "posterior_stats", "run_nuts",
           "flatten_samples"]
