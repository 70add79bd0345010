"""Prior and posterior predictive sampling, and per-draw log likelihoods. Runs on every backend
(numpy included: it needs no gradients).

Draw ``i`` always uses key ``split(rng_key, num_samples)[i]``, so results do not depend on
``parallel`` or ``batch_size`` (chunks only bound memory; on JAX, compiled chunks of different
sizes may differ in the last bit).

>>> import polyro
>>> import polyro.distributions as dist
>>> from polyro.inference import Predictive
>>> def model():
...     x = polyro.sample("x", dist.Normal(0.0, 1.0))
...     polyro.sample("y", dist.Normal(x, 1.0))
>>> out = Predictive(model, num_samples=5)(0)
>>> sorted(out), out["y"].shape
(['x', 'y'], (5,))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import polyro.backends as backends
from polyro.core.handlers.enum import is_enumerated
from polyro.core.handlers.trace import is_observed_data, site_log_density
from polyro.inference.elbo import util as eu

__all__ = ["Predictive", "log_likelihood"]


def _h():
    from polyro import handlers

    return handlers


def _is_returnable(site: dict) -> bool:
    """Sample and deterministic sites, except ``factor`` sites (observed auxiliary sites: their
    value is an empty array), which ``return_sites`` can still name."""
    if site.get("type") == "sample" and site.get("is_observed"):
        return is_observed_data(site)
    return site.get("type") in ("sample", "deterministic")


def _returning(model: Callable) -> Callable:
    """``model`` with its return value recorded as the deterministic site ``"_RETURN"`` (Pyro's
    ``Predictive(..., return_sites=["_RETURN"])``)."""
    import polyro

    def run(*args: Any, **kwargs: Any) -> Any:
        value = model(*args, **kwargs)
        be = backends.current()
        if not (be.is_array(value) or isinstance(value, (int, float))):
            raise TypeError(
                f"Predictive: return_sites has '_RETURN', so the model must return an array "
                f"(drawn once per sample), but it returned {type(value).__name__}; return an "
                "array, or record values with polyro.deterministic and ask for those sites")
        return polyro.deterministic("_RETURN", value if be.is_array(value) else
                                    be.asarray(value, dtype=be.float_dtype()))

    return run


def _num_draws(samples: dict, batch_ndims: int = 1) -> int:
    sizes = {name: tuple(getattr(v, "shape", ()))[:batch_ndims] for name, v in samples.items()}
    distinct = set(sizes.values())
    if len(distinct) != 1:
        raise ValueError(
            "posterior_samples must all share the same leading (draw) dims, got "
            + ", ".join(f"{k}: {s}" for k, s in sizes.items())
        )
    shape = distinct.pop()
    if len(shape) < batch_ndims:
        raise ValueError(f"posterior_samples need {batch_ndims} leading draw dim(s), got {shape}")
    return int(np.prod(shape))


def _map_draws(fn: Callable, keys: Any, samples: dict, parallel: bool,
               batch_size: int | None, loop_memo: set | None = None, memo_key: Any = None
               ) -> dict:
    """Apply ``fn(key, sample)`` to each draw, in chunks of ``batch_size``, stacking outputs
    (``loop_memo``/``memo_key``: see :func:`polyro.inference.elbo.util.map_leading`)."""
    be = backends.current()
    xp = be.xp
    n = int(keys.shape[0])
    bs = n if not batch_size else int(batch_size)
    if bs < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    chunks = []
    for start in range(0, n, bs):
        stop = min(n, start + bs)
        k = keys[start:stop]
        s = {name: v[start:stop] for name, v in samples.items()}
        if parallel and be.SUPPORTS_VMAP:
            chunks.append(eu.map_leading(fn, k, s, jit=True, loop_memo=loop_memo,
                                         memo_key=memo_key))
        else:
            outs = [fn(k[i], {name: v[i] for name, v in s.items()}) for i in range(stop - start)]
            chunks.append({name: xp.stack([o[name] if be.is_array(o[name]) else be.asarray(o[name]) for o in outs])
                           for name in (outs[0] if outs else {})})
    if len(chunks) == 1:
        return chunks[0]
    return {name: xp.concat([c[name] for c in chunks], axis=0) for name in chunks[0]}


class Predictive:
    """Draw from the prior predictive (``Predictive(model, num_samples=...)``) or the posterior
    predictive (with ``posterior_samples`` or a ``guide``).

    The arguments are in Pyro's and NumPyro's order: ``Predictive(model, mcmc.get_samples())``
    draws the posterior predictive.

    Args:
        model: the model.
        posterior_samples: dict of arrays with a leading draw dim (e.g. MCMC output).
        guide: optional guide; posterior draws of its sites come from it.
        num_samples: number of draws (needed without ``posterior_samples``).
        return_sites: names to return (default: every sample and deterministic site not given
            in ``posterior_samples``, other than ``factor`` sites; with a guide, also the
            guide's sites). ``"_RETURN"`` (as
            in Pyro) is the model's return value, an array.
        parallel: vectorize draws with ``be.vmap`` where the backend supports it.
        batch_size: draws per chunk (bounds memory); results are the same for any value.
        params: constrained param values (e.g. ``svi.get_params(state)``) substituted into model
            and guide.
        infer_discrete: draw the model's enumerated discrete sites from their exact posterior
            given each draw's other values (NumPyro's option; e.g. the mixture assignments
            after NUTS marginalized them), instead of from their prior.

    >>> import polyro, polyro.distributions as dist
    >>> def model():
    ...     polyro.sample("x", dist.Normal(0.0, 1.0))
    >>> Predictive(model, posterior_samples={"x": [0.0, 1.0]})(0)
    {}
    """

    def __init__(self, model: Callable, posterior_samples: dict | None = None,
                 guide: Callable | None = None, num_samples: int | None = None,
                 return_sites: list[str] | None = None, parallel: bool = True, *,
                 batch_size: int | None = None, params: dict | None = None,
                 batch_ndims: int = 1, infer_discrete: bool = False) -> None:
        if callable(posterior_samples) and not isinstance(posterior_samples, dict):
            raise TypeError(
                "Predictive(model, posterior_samples, guide, num_samples, ...): the second "
                f"argument is posterior_samples (a dict of draws), got the callable "
                f"{getattr(posterior_samples, '__name__', type(posterior_samples).__name__)!r}; "
                "pass a guide as guide=..."
            )
        if posterior_samples is not None and guide is not None:
            raise ValueError("pass either posterior_samples or a guide to Predictive, not both")
        if posterior_samples is None and num_samples is None:
            raise ValueError("Predictive needs num_samples when no posterior_samples are given")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.model, self.guide = model, guide
        if posterior_samples is not None:
            posterior_samples = {k: (v if hasattr(v, "shape") else np.asarray(v))
                                 for k, v in posterior_samples.items()}
        self.posterior_samples = posterior_samples
        if posterior_samples is not None:
            n = _num_draws(posterior_samples, batch_ndims)
            if num_samples is not None and num_samples != n:
                raise ValueError(
                    f"num_samples={num_samples} disagrees with the {n} draws in "
                    "posterior_samples; leave num_samples out"
                )
            num_samples = n
        self.num_samples = int(num_samples)
        self.return_sites = list(return_sites) if return_sites is not None else None
        self.parallel, self.batch_size = bool(parallel), batch_size
        self._loop_memo: set = set()  # (backend, "model"/"guide") whose draws vmap cannot batch
        self.params = dict(params or {})
        self.batch_ndims = batch_ndims
        self.infer_discrete = bool(infer_discrete)

    def _run_one(self, fn: Callable, key: Any, sample: dict, args: tuple, kwargs: dict,
                 exclude: set) -> dict:
        h = _h()
        if fn is self.model and self.return_sites is not None and "_RETURN" in self.return_sites:
            fn = _returning(fn)
        model = h.substitute(h.substitute(fn, data=self.params), data=sample)
        if self.infer_discrete and fn is self.model:
            from polyro.inference.enum import infer_discrete

            # the enumerated sites drawn from their exact posterior given this draw's others
            model = infer_discrete(model, temperature=1)
        tr = eu.trace_nodes(h.trace(h.seed(model, rng_seed=key)).get_trace(*args, **kwargs))
        if self.return_sites is not None:
            missing = [s for s in self.return_sites if s not in tr and s not in exclude]
            if missing:
                raise KeyError(
                    f"return_sites {missing} are not sites of the model (sites: {list(tr)})"
                )
            names = [s for s in self.return_sites if s in tr]
        else:
            names = [n for n, s in tr.items() if _is_returnable(s) and n not in exclude]
        be = backends.current()
        return {n: (tr[n]["value"] if be.is_array(tr[n]["value"])
                    else be.asarray(tr[n]["value"])) for n in names}

    def __call__(self, rng_key: Any, *args: Any, **kwargs: Any) -> dict:
        """Draw; returns ``{site: array with a leading num_samples dim}``."""
        be = backends.current()
        key = backends.as_key(rng_key, be)
        samples = self.posterior_samples
        batch_shape = None
        if samples is not None:
            samples = {k: (v if be.is_array(v) else be.asarray(v)) for k, v in samples.items()}
            if self.batch_ndims != 1:
                batch_shape = tuple(next(iter(samples.values())).shape[: self.batch_ndims])
                samples = {k: be.xp.reshape(v, (self.num_samples,) + tuple(v.shape[
                    self.batch_ndims:])) for k, v in samples.items()}
        keys_all = be.split(key, 2)
        out: dict = {}
        if self.guide is not None:
            gkeys = be.split(keys_all[0], self.num_samples)

            def guide_fn(k, _s):
                return self._run_one(self.guide, k, {}, args, kwargs, set())

            gs = _map_draws(guide_fn, gkeys, {}, self.parallel, self.batch_size,
                            self._loop_memo, "guide")
            samples = {k: v for k, v in gs.items()}
            out.update(gs)
        samples = samples or {}
        exclude = set(samples) if self.guide is None else set()
        mkeys = be.split(keys_all[1], self.num_samples)

        def model_fn(k, s):
            return self._run_one(self.model, k, s, args, kwargs, exclude)

        ms = _map_draws(model_fn, mkeys, samples, self.parallel, self.batch_size,
                        self._loop_memo, "model")
        out.update(ms)
        if self.return_sites is not None:
            out = {k: out[k] for k in self.return_sites if k in out}
        else:  # by name, as JAX orders a dict: every engine lists the sites alike
            out = {k: out[k] for k in sorted(out)}
        if batch_shape is not None:
            out = {k: be.xp.reshape(v, batch_shape + tuple(v.shape[1:])) for k, v in out.items()}
        return out

    def __repr__(self) -> str:
        return f"Predictive(num_samples={self.num_samples}, parallel={self.parallel})"


#: log_likelihood sums enumerated sites out per observed site (one contraction each); past this
#: many observed sites (a long markov chain: one site per step, O(T^2) work per draw) it keeps
#: the conditional form, with a warning
MAX_MARGINAL_SITES = 16


def _marginal_pointwise(model: Callable, samples: dict, args: tuple, kwargs: dict
                        ) -> Callable | None:
    """``fn(key, draw)`` giving each observed site's pointwise log-likelihood with the
    enumerated sites that ``samples`` lacks summed out
    (:func:`polyro.inference.enum.api.pointwise_log_likelihood`), or None when the model has
    no such site or a ``vectorized_markov`` chain (the conditional form is used then)."""
    from polyro.core.handlers.vectorized_markov import VMARKOV_KEY
    from polyro.inference.enum.api import (
        guess_max_plate_nesting,
        pointwise_log_likelihood,
        probe_trace,
    )

    h = _h()
    first = {k: v[0] for k, v in samples.items()}
    tr = probe_trace(h.substitute(model, data=first), args, kwargs)
    sites = [s for s in tr.values() if s.get("type") == "sample"]
    observed = [s for s in sites if is_observed_data(s)]
    if any(VMARKOV_KEY in s["infer"] for s in sites) or len(observed) > MAX_MARGINAL_SITES or \
            not any(is_enumerated(s) and s["name"] not in samples for s in sites):
        return None
    mpn = guess_max_plate_nesting(tr)

    def fn(k, s):
        m = h.seed(h.substitute(model, data=s), rng_seed=k)
        return pointwise_log_likelihood(m, args, kwargs, mpn)

    return fn


def log_likelihood(model: Callable, posterior_samples: dict, *args: Any,
                   parallel: bool = True, batch_size: int | None = None,
                   batch_ndims: int = 1, **kwargs: Any) -> dict:
    """Log density of each observed site at each posterior draw: ``{site: (num_draws, ...)}``
    (the site's masked, unscaled ``log_prob``). Enumerated discrete sites that the draws lack
    (NUTS marginalized them) are summed out element by element
    (:func:`polyro.inference.enum.api.pointwise_log_likelihood`): the marginal pointwise
    likelihood that LOO and WAIC need.

    >>> import numpy as np, polyro, polyro.distributions as dist
    >>> def model():
    ...     m = polyro.sample("m", dist.Normal(0.0, 1.0))
    ...     polyro.sample("y", dist.Normal(m, 1.0), obs=0.0)
    >>> ll = log_likelihood(model, {"m": np.array([0.0, 1.0])})
    >>> np.round(ll["y"], 4).tolist()
    [-0.9189, -1.4189]
    """
    be = backends.current()
    samples = {k: (v if be.is_array(v) else be.asarray(v)) for k, v in posterior_samples.items()}
    n = _num_draws(samples, batch_ndims)
    batch_shape = tuple(next(iter(samples.values())).shape[:batch_ndims])
    samples = {k: be.xp.reshape(v, (n,) + tuple(v.shape[batch_ndims:])) for k, v in samples.items()}
    keys = be.split(be.key(0), n)
    h = _h()
    drawn: set[str] = set()  # enumerated sites the draws lack: drawn from the model instead

    def fn(k, s):
        tr = eu.trace_nodes(h.trace(h.seed(h.substitute(model, data=s), rng_seed=k))
                            .get_trace(*args, **kwargs))
        res = {}
        drawn.update(name for name, site in tr.items() if is_enumerated(site) and name not in s)
        for name, site in tr.items():
            if is_observed_data(site):
                lp = site_log_density(site)
                mask = site.get("mask")
                if mask is not None and not isinstance(mask, bool):
                    lp = be.xp.where(mask, lp, be.xp.zeros_like(lp))
                res[name] = lp
        return res

    marginal = _marginal_pointwise(model, samples, args, kwargs)
    if marginal is not None:  # enumerated sites the draws lack: summed out, element by element
        out = _map_draws(marginal, keys, samples, parallel, batch_size)
    else:
        out = _map_draws(fn, keys, samples, parallel, batch_size)
    if drawn:
        warnings.warn(
            f"log_likelihood: the enumerated site(s) {sorted(drawn)} are not in "
            "posterior_samples, so each draw's log-likelihood uses one draw of them from the "
            "model: a conditional log-likelihood, not the marginal one that MCMC's enumeration "
            "targeted (WAIC/LOO from it are noisy and biased); the marginal is computed for "
            f"plated sites and markov chains of up to {MAX_MARGINAL_SITES} observed sites, not "
            "for a vectorized_markov chain or more observed sites. Pass their values in "
            "posterior_samples to condition on them", stacklevel=2)
    if batch_ndims != 1:
        out = {k: be.xp.reshape(v, batch_shape + tuple(v.shape[1:])) for k, v in out.items()}
    return out
