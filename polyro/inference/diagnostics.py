"""MCMC diagnostics in plain numpy, for draws of any engine (numpy, torch, JAX arrays).

Rank-normalized split R-hat and bulk / tail effective sample sizes follow Vehtari, Gelman,
Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and localization: an
improved R-hat"; the ESS uses Geyer's initial monotone sequence on the multi-chain
autocorrelation as in Stan. Arrays are ``(chains, draws, ...)`` unless stated.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(4, 1000))
>>> bool(abs(split_gelman_rubin(x) - 1.0) < 0.01)
True
>>> bool(3000 < effective_sample_size(x) < 5000)
True
>>> hpdi(np.arange(101.0), 0.5).tolist()
[0.0, 50.0]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "to_numpy", "autocovariance", "autocorrelation", "gelman_rubin", "split_gelman_rubin",
    "rhat", "effective_sample_size", "ess_bulk", "ess_tail", "ess_mean", "mcse_mean",
    "hpdi", "quantiles", "summary", "print_summary", "to_arviz",
]


def to_numpy(x: Any) -> np.ndarray:
    """float64 numpy copy of ``x`` (numpy, torch or JAX array, or nested lists).

    >>> to_numpy([1, 2]).dtype
    dtype('float64')
    """
    if isinstance(x, np.ndarray):
        return x.astype(np.float64) if x.dtype != np.bool_ else x.astype(np.float64)
    mod = type(x).__module__.split(".", 1)[0]
    if mod in ("torch", "jax", "jaxlib"):
        from polyro import backends

        x = backends.backend_of(x).to_numpy(x)
    return np.asarray(x, dtype=np.float64)


def autocovariance(x: Any, axis: int = 0) -> np.ndarray:
    """Autocovariance (biased, FFT) along ``axis``, lag 0 first.

    >>> autocovariance(np.array([1.0, -1.0, 1.0, -1.0])).tolist()
    [1.0, -0.75, 0.5, -0.25]
    """
    x = np.moveaxis(to_numpy(x), axis, -1)
    n = x.shape[-1]
    m = 1 << (2 * n - 1).bit_length()
    c = x - x.mean(axis=-1, keepdims=True)
    f = np.fft.rfft(c, n=m, axis=-1)
    acov = np.fft.irfft(f * np.conjugate(f), n=m, axis=-1)[..., :n] / n
    return np.moveaxis(acov, -1, axis)


def autocorrelation(x: Any, axis: int = 0) -> np.ndarray:
    """Autocorrelation along ``axis`` (lag 0 is 1).

    >>> autocorrelation(np.array([1.0, -1.0, 1.0, -1.0]))[1]
    np.float64(-0.75)
    """
    acov = np.moveaxis(autocovariance(x, axis), axis, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = acov / acov[..., :1]
    return np.moveaxis(out, -1, axis)


def _as_chains(x: Any) -> np.ndarray:
    x = to_numpy(x)
    if x.ndim == 1:
        x = x[None]
    if x.shape[1] < 4:
        raise ValueError(f"diagnostics need at least 4 draws per chain, got shape {x.shape}")
    return x


def _split(x: np.ndarray) -> np.ndarray:
    n = x.shape[1] // 2
    return np.concatenate([x[:, :n], x[:, x.shape[1] - n:]], axis=0)


def gelman_rubin(x: Any) -> np.ndarray:
    """Classic potential scale reduction over ``(chains, draws, ...)`` (no split, no ranks).

    >>> float(gelman_rubin(np.zeros((2, 10)) + np.arange(10.0)))
    0.9486832980505138
    """
    x = _as_chains(x)
    m, n = x.shape[:2]
    means = x.mean(axis=1)
    B = n * means.var(axis=0, ddof=1) if m > 1 else np.zeros(x.shape[2:])
    W = x.var(axis=1, ddof=1).mean(axis=0)
    var_plus = (n - 1) / n * W + B / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(var_plus / W)


def split_gelman_rubin(x: Any) -> np.ndarray:
    """Split R-hat (each chain cut in two halves), without rank normalization."""
    return gelman_rubin(_split(_as_chains(x)))


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalize over all chains and draws (per trailing index)."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    shape = x.shape
    flat = x.reshape((-1,) + shape[2:])
    r = rankdata(flat, axis=0, method="average")
    s = flat.shape[0]
    return ndtri((r - 0.375) / (s + 0.25)).reshape(shape)


def rhat(x: Any) -> np.ndarray:
    """Rank-normalized split R-hat: the max of the bulk and the folded (tail) versions.

    >>> x = np.random.default_rng(1).normal(size=(4, 500))
    >>> bool(rhat(x + np.arange(4.0)[:, None]) > 1.1)
    True
    """
    x = _split(_as_chains(x))
    bulk = gelman_rubin(_z_scale(x))
    folded = np.abs(x - np.median(x.reshape((-1,) + x.shape[2:]), axis=0))
    tail = gelman_rubin(_z_scale(folded))
    return np.maximum(bulk, tail)


def effective_sample_size(x: Any) -> np.ndarray:
    """ESS of ``(chains, draws, ...)`` (Geyer initial monotone sequence, Stan's estimator).

    >>> rng = np.random.default_rng(2)
    >>> bool(1500 < effective_sample_size(rng.normal(size=(2, 1000))) < 2500)
    True
    """
    x = _as_chains(x)
    m, n = x.shape[:2]
    acov = autocovariance(x, axis=1)
    means = x.mean(axis=1)
    W = (acov[:, 0] * n / (n - 1.0)).mean(axis=0)
    B_over_n = means.var(axis=0, ddof=1) if m > 1 else np.zeros(x.shape[2:])
    var_plus = (n - 1.0) / n * W + B_over_n
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (W - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    rho = rho.reshape((n, -1))
    out = np.empty(rho.shape[1])
    for k in range(rho.shape[1]):
        out[k] = _geyer_ess(rho[:, k], m * n)
    return out.reshape(x.shape[2:])[()] if x.ndim > 2 else out[0]


def _geyer_ess(rho: np.ndarray, total: int) -> float:
    """Stan's estimator: Geyer's initial positive then initial monotone sequence of the sums of
    consecutive (even, odd) autocorrelations; the last positive even lag is kept."""
    if not np.all(np.isfinite(rho)):
        return float("nan")
    n = rho.shape[0]
    r = np.zeros(n)
    r[0] = 1.0
    r[1] = rho[1] if n > 1 else 0.0
    even, odd = 1.0, r[1]
    t = 1
    while t < n - 3 and even + odd > 0.0:
        even, odd = rho[t + 1], rho[t + 2]
        if even + odd >= 0.0:
            r[t + 1], r[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0.0:
        r[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        if r[t + 1] + r[t + 2] > r[t - 1] + r[t]:
            r[t + 1] = r[t + 2] = (r[t - 1] + r[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * r[: max_t + 1].sum() + r[max_t + 1: max_t + 2].sum()
    tau = max(tau, 1.0 / math.log10(total))
    return total / tau


def ess_mean(x: Any) -> np.ndarray:
    """ESS of the split chains (for the MCSE of the mean)."""
    return effective_sample_size(_split(_as_chains(x)))


def ess_bulk(x: Any) -> np.ndarray:
    """Bulk ESS: ESS of the rank-normalized split chains."""
    return effective_sample_size(_z_scale(_split(_as_chains(x))))


def ess_tail(x: Any) -> np.ndarray:
    """Tail ESS: the smaller ESS of the indicators ``x <= q05`` and ``x <= q95`` (split chains)."""
    x = _split(_as_chains(x))
    flat = x.reshape((-1,) + x.shape[2:])
    q05, q95 = np.quantile(flat, [0.05, 0.95], axis=0)
    e1 = effective_sample_size((x <= q05).astype(float))
    e2 = effective_sample_size((x <= q95).astype(float))
    return np.minimum(e1, e2)


def mcse_mean(x: Any) -> np.ndarray:
    """Monte Carlo standard error of the mean: ``sd / sqrt(ess_mean)``."""
    x = _as_chains(x)
    sd = x.reshape((-1,) + x.shape[2:]).std(axis=0, ddof=1)
    return sd / np.sqrt(ess_mean(x))


def hpdi(x: Any, prob: float = 0.9, axis: int = 0) -> np.ndarray:
    """Highest posterior density interval: the shortest interval holding ``prob`` of the draws.

    Returns ``[lower, upper]`` stacked on a new first axis.

    >>> hpdi(np.array([0.0, 1.0, 2.0, 3.0, 100.0]), 0.6).tolist()
    [0.0, 3.0]
    """
    if not 0.0 < prob < 1.0:
        raise ValueError(f"hpdi: prob must be in (0, 1), got {prob}")
    x = np.sort(np.moveaxis(to_numpy(x), axis, 0), axis=0)
    n = x.shape[0]
    k = max(1, min(n - 1, int(math.floor(prob * n))))
    widths = x[k:] - x[: n - k]
    i = np.argmin(widths, axis=0)
    lo = np.take_along_axis(x[: n - k], i[None], axis=0)[0]
    hi = np.take_along_axis(x[k:], i[None], axis=0)[0]
    return np.stack([lo, hi])


def quantiles(x: Any, q: Any, axis: int = 0) -> np.ndarray:
    """Quantiles ``q`` (in [0, 1]) along ``axis``.

    >>> quantiles(np.arange(11.0), [0.1, 0.5]).tolist()
    [1.0, 5.0]
    """
    return np.quantile(to_numpy(x), np.asarray(q, dtype=float), axis=axis)


def summary(samples: Any, prob: float = 0.9, group_by_chain: bool = True) -> dict[str, dict]:
    """Per-site statistics: mean, std, median, the ``prob`` central interval (quantiles), the
    HPDI bounds, n_eff (bulk ESS), ess_tail, mcse_mean and r_hat.

    ``samples``: a dict of site -> ``(chains, draws, ...)`` arrays (or ``(draws, ...)`` with
    ``group_by_chain=False``), or a single array.

    >>> s = summary({"x": np.random.default_rng(0).normal(size=(2, 500))})
    >>> sorted(s["x"])[2:6]
    ['ess_tail', 'hpdi_high', 'hpdi_low', 'mcse_mean']
    """
    if not isinstance(samples, dict):
        samples = {"Param:0": samples}
    out: dict[str, dict] = {}
    lo_q, hi_q = (1.0 - prob) / 2.0, (1.0 + prob) / 2.0
    for name, v in samples.items():
        x = to_numpy(v)
        if not group_by_chain:
            x = x[None]
        flat = x.reshape((-1,) + x.shape[2:])
        stats = {
            "mean": flat.mean(axis=0),
            "std": flat.std(axis=0, ddof=1) if flat.shape[0] > 1 else np.zeros(flat.shape[1:]),
            "median": np.median(flat, axis=0),
            f"{100 * lo_q:.1f}%": np.quantile(flat, lo_q, axis=0),
            f"{100 * hi_q:.1f}%": np.quantile(flat, hi_q, axis=0),
        }
        h = hpdi(flat, prob)
        stats["hpdi_low"], stats["hpdi_high"] = h[0], h[1]
        if x.shape[1] >= 4:
            stats["n_eff"] = ess_bulk(x)
            stats["ess_tail"] = ess_tail(x)
            stats["mcse_mean"] = mcse_mean(x)
            stats["r_hat"] = rhat(x) if x.shape[1] >= 8 else np.full(flat.shape[1:], np.nan)
        out[name] = stats
    return out


def print_summary(samples: Any, prob: float = 0.9, group_by_chain: bool = True) -> None:
    """Print :func:`summary` as a table, one row per scalar component.

    >>> print_summary({"x": np.zeros((1, 10)) + np.arange(10.0)})  # doctest: +ELLIPSIS
    <BLANKLINE>
    ...mean...
    """
    stats = summary(samples, prob, group_by_chain)
    cols = ["mean", "std", "median", f"{50 * (1 - prob):.1f}%", f"{50 * (1 + prob):.1f}%",
            "n_eff", "r_hat"]
    name_w = max([len("") + 12] + [len(k) + 8 for k in stats])
    print()
    print(" " * name_w + "".join(f"{c:>10}" for c in cols))
    for name, st in stats.items():
        shape = np.shape(st["mean"])
        for idx in np.ndindex(*shape) if shape else [()]:
            label = name + (f"[{','.join(map(str, idx))}]" if idx else "")
            row = []
            for c in cols:
                v = st.get(c)
                row.append(f"{float(np.asarray(v)[idx]):>10.2f}" if v is not None
                           else f"{'':>10}")
            print(f"{label:>{name_w}}" + "".join(row))
    print()


def to_arviz(mcmc: Any, log_likelihood: bool = True) -> Any:
    """ArviZ ``InferenceData`` of an ``MCMC`` run: the posterior draws and sample stats, and,
    for a kernel built from a model, the observed data and (``log_likelihood=True``) the
    pointwise log-likelihood of every observed site at every draw (what ``az.loo``,
    ``az.waic`` and ``az.compare`` read), computed with the run's model arguments.

    A failure computing the observed data or the log-likelihood is a warning, and those groups
    are left out: the posterior is never lost to it. Raises ImportError (with the pip command)
    when arviz is not installed.
    """
    try:
        import arviz as az
    except ImportError as e:
        raise ImportError("polyro.to_arviz needs the arviz package: pip install arviz") from e
    grouped = mcmc.get_samples(group_by_chain=True)
    posterior = {k: to_numpy(v) for k, v in grouped.items()}
    names = {"diverging": "diverging", "accept_prob": "acceptance_rate", "num_steps": "n_steps",
             "step_size": "step_size", "energy": "energy"}
    stats: dict[str, np.ndarray] = {}
    for k, v in mcmc.get_extra_fields(group_by_chain=True).items():
        if k in names:
            arr = np.asarray(v)
            stats[names[k]] = arr.astype(bool) if k == "diverging" else arr
        elif k == "potential_energy":
            stats["lp"] = -np.asarray(v, dtype=float)
    groups: dict[str, Any] = {"posterior": posterior, "sample_stats": stats}
    model = getattr(getattr(mcmc, "kernel", None), "model", None)
    if model is not None and grouped:
        groups.update(_observed_groups(model, mcmc, grouped, log_likelihood))
    return az.from_dict(**groups)


def _observed_groups(model: Any, mcmc: Any, grouped: dict, with_ll: bool) -> dict:
    """``observed_data`` and ``log_likelihood`` groups of :func:`to_arviz` (warnings, not
    errors, when they cannot be computed)."""
    import warnings

    import polyro.backends as backends
    from polyro.core.handlers import seed, substitute, trace
    from polyro.core.handlers.trace import is_observed_data
    from polyro.inference.predictive import log_likelihood

    args, kwargs = getattr(mcmc, "_args", ()), getattr(mcmc, "_kwargs", {})
    be = backends.backend_of(*grouped.values())
    out: dict[str, Any] = {}
    with backends.backend(be.NAME):
        try:
            first = {k: v[0, 0] for k, v in grouped.items()}
            tr = trace(seed(substitute(model, data=first), rng_seed=0)).get_trace(*args,
                                                                                  **kwargs)
            observed = {name: to_numpy(site["value"]) for name, site in tr.items()
                        if is_observed_data(site)}
            if observed:
                out["observed_data"] = observed
            if with_ll and observed:
                ll = log_likelihood(model, grouped, *args, batch_ndims=2, **kwargs)
                out["log_likelihood"] = {k: to_numpy(v) for k, v in ll.items()}
        except Exception as e:  # noqa: BLE001 - the posterior must reach the user regardless
            warnings.warn(f"to_arviz: left out the observed data / log-likelihood groups: "
                          f"{type(e).__name__}: {e}", stacklevel=3)
    return out
