"""Shared machinery of the ELBOs and SVI: running guide and model, per-site log densities,
parameter collection and (un)constraining, model/guide checks and non-finite diagnosis.

>>> from polyro.inference.elbo.util import is_latent
>>> is_latent({"type": "sample", "is_observed": False, "infer": {}})
True
"""

from __future__ import annotations

import warnings
from typing import Any

import polyro.backends as backends
from polyro.core.handlers.enum import first_support_value
from polyro.core.handlers.trace import site_log_density

__all__ = [
    "get_traces",
    "trace_nodes",
    "site_log_prob",
    "is_latent",
    "is_reparam",
    "collect_params",
    "constrain_params",
    "unconstrain_params",
    "validate_model_guide",
    "find_nonfinite_sites",
    "call_loss",
    "all_finite",
    "publish_params",
]


def _handlers():
    from polyro import handlers

    return handlers


def trace_nodes(tr: Any) -> dict:
    """The ``{name: site}`` dict of a trace object (or a plain dict).

    >>> trace_nodes({"x": 1})
    {'x': 1}
    """
    return tr.nodes if hasattr(tr, "nodes") else tr


def is_latent(site: dict) -> bool:
    """A sample site that is neither observed nor deterministic.

    >>> is_latent({"type": "sample", "is_observed": True, "infer": {}})
    False
    """
    return (site.get("type") == "sample" and not site.get("is_observed", False)
            and not site.get("infer", {}).get("_deterministic", False))


def is_reparam(site: dict) -> bool:
    """Whether a sample site's value carries pathwise gradients (its distribution has rsample).

    >>> is_reparam({"fn": None})
    True
    """
    fn = site.get("fn")
    if fn is None:
        return True
    return bool(getattr(fn, "has_rsample", True)) and not bool(getattr(fn, "is_discrete", False))


def get_traces(rng_key: Any, params: dict, model: Any, guide: Any, args: tuple,
               kwargs: dict) -> tuple[dict, dict]:
    """Run the guide (seeded, params substituted), then the model replayed against it.

    Returns ``(model_nodes, guide_nodes)`` as ``{name: site}`` dicts.
    """
    h = _handlers()
    be = backends.current()
    keys = be.split(rng_key)
    g = h.seed(h.substitute(guide, data=params), rng_seed=keys[0])
    guide_tr = h.trace(g).get_trace(*args, **kwargs)
    m = h.seed(h.substitute(h.replay(model, trace=guide_tr), data=params), rng_seed=keys[1])
    model_tr = h.trace(m).get_trace(*args, **kwargs)
    return trace_nodes(model_tr), trace_nodes(guide_tr)


def site_log_prob(site: dict) -> Any:
    """The site's log density array: ``fn.log_prob(value)`` masked by ``mask`` and multiplied by
    ``scale`` (shape: the site's batch shape).
    """
    lp = site_log_density(site)
    mask = site.get("mask")
    xp = backends.namespace(lp)
    if mask is not None and not (isinstance(mask, bool) and mask):
        if isinstance(mask, bool):
            lp = lp * 0.0
        else:
            lp = xp.where(mask, lp, xp.zeros_like(lp))
    scale = site.get("scale")
    if scale is not None:
        lp = scale * lp
    return lp


def site_log_prob_sum(site: dict) -> Any:
    """Sum of :func:`site_log_prob` over all dims."""
    lp = site_log_prob(site)
    xp = backends.namespace(lp)
    return xp.sum(lp)


# ------------------------------------------------------------------ plate-aware costs
def _plate_axes(site: dict, ndim: int) -> dict[str, int]:
    """``{plate name: axis}`` of the vectorized plates of a site whose log-prob has ``ndim``."""
    out = {}
    for f in site.get("cond_indep_stack", ()):
        if f.dim is not None and -f.dim <= ndim:
            out[f.name] = ndim + f.dim
    return out


def _seq_plates(site: dict) -> dict[str, int]:
    return {f.name: f.counter for f in site.get("cond_indep_stack", ()) if f.dim is None}


def reduce_to_site(term: Any, term_site: dict, target_site: dict, target_ndim: int) -> Any:
    """Sum ``term`` over every axis that is not a vectorized plate shared with the target site,
    and shape the result to broadcast with the target's log-prob (``target_ndim`` dims)."""
    xp = backends.namespace(term)
    t_axes = _plate_axes(term_site, term.ndim)
    s_axes = _plate_axes(target_site, target_ndim)
    keep = {t_axes[n] for n in s_axes if n in t_axes}
    red = tuple(a for a in range(term.ndim) if a not in keep)
    if red:
        term = xp.sum(term, axis=red, keepdims=True)
    if term.ndim > target_ndim:
        term = xp.reshape(term, term.shape[term.ndim - target_ndim:] if target_ndim else ())
    return term


def independent_sites(a: dict, b: dict) -> bool:
    """Sites in different iterations of a common sequential plate are independent."""
    sa, sb = _seq_plates(a), _seq_plates(b)
    return any(n in sb and sb[n] != c for n, c in sa.items())



# ------------------------------------------------------------------ params
def _param_sites(nodes: dict) -> dict:
    return {n: s for n, s in nodes.items() if s.get("type") == "param"}


def _constraint_of(site: dict) -> Any:
    c = site.get("kwargs", {}).get("constraint")
    if c is None:
        from polyro.core.distributions import constraints

        c = constraints.real
    return c


def collect_params(rng_key: Any, model: Any, guide: Any, args: tuple, kwargs: dict,
                   init_params: dict | None = None, enumerated: bool = False
                   ) -> tuple[dict, dict, dict, tuple]:
    """Run guide and model once; return ``(params, transforms)``: constrained initial param
    values by name, the bijection (``biject_to(constraint)``) of each (``None`` for a param
    that is a pytree such as a network's weights: those are left unconstrained), and the
    constraints, and the ``(model, guide)`` traces of that run. ``enumerated`` (a loss that
    enumerates): the sites marked for parallel enumeration take the first value of their
    support (:func:`first_support_value`) instead of a draw the loss never uses (on JAX a draw
    of a new shape is one more compile)."""
    h = _handlers()
    from polyro.core.distributions import biject_to

    be = backends.current()
    keys = be.split(rng_key)
    init_params = dict(init_params or {})

    def firsts(fn: Any) -> Any:
        return h.substitute(fn, substitute_fn=first_support_value) if enumerated else fn

    g = h.seed(firsts(h.substitute(guide, data=init_params)), rng_seed=keys[0])
    guide_tr = trace_nodes(h.trace(g).get_trace(*args, **kwargs))
    m = h.seed(firsts(h.substitute(h.replay(model, trace=guide_tr), data=init_params)),
               rng_seed=keys[1])
    model_tr = trace_nodes(h.trace(m).get_trace(*args, **kwargs))
    sites = {**_param_sites(model_tr), **_param_sites(guide_tr)}
    params, transforms, cons = {}, {}, {}
    for name, site in sites.items():
        value = site["value"]
        if be.is_array(value) or isinstance(value, (int, float)):
            value = be.asarray(value) if not be.is_array(value) else value
            value = be.stop_gradient(value)  # e.g. torch nn.Parameters: no autograd history
            cons[name] = _constraint_of(site)
            transforms[name] = biject_to(cons[name])
        else:
            value = be.tree_map(lambda v: be.stop_gradient(v) if be.is_array(v) else v, value)
            transforms[name] = None
        params[name] = value
    return params, transforms, cons, (model_tr, guide_tr)


def constrain_params(uparams: dict, transforms: dict) -> dict:
    """Map unconstrained values to the constrained space, site by site."""
    return {k: (v if transforms.get(k) is None else transforms[k](v)) for k, v in uparams.items()}


def unconstrain_params(params: dict, transforms: dict) -> dict:
    """Map constrained values to the unconstrained space, site by site."""
    return {k: (v if transforms.get(k) is None else transforms[k].inv(v))
            for k, v in params.items()}


def publish_params(params: dict, constraints: dict) -> None:
    """Write constrained params into the Pyro-style param store (for ``SVI.step`` users), and
    ``polyro.module`` networks' trained weights into the network objects where those are
    mutable (torch)."""
    from polyro.core.param_store import get_param_store
    from polyro.core.primitives import write_back_networks

    store = get_param_store()
    for k, v in params.items():
        c = constraints.get(k)
        if c is None:
            continue  # network weights (pytrees) stay in the SVI state only
        store.set(k, v, c)
    write_back_networks(params)


# ------------------------------------------------------------------ checks
def _support_name(fn: Any) -> str:
    sup = getattr(fn, "support", None)
    return repr(sup)


def _equal_constraints(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        if a == b:
            return True
    except Exception:  # noqa: BLE001
        pass
    return repr(a) == repr(b)


def _same_support(q: Any, p: Any) -> bool:
    """Whether guide distribution ``q`` draws inside model distribution ``p``'s support: the
    same support, or the image of ``biject_to(p.support)`` (what autoguides sample on: e.g.
    ``positive`` for a ``nonnegative`` HalfNormal, as in Pyro)."""
    sq, sp = getattr(q, "support", None), getattr(p, "support", None)
    if sq is None or sp is None or _equal_constraints(sq, sp):
        return True
    from polyro.core.distributions import biject_to

    try:
        image = biject_to(sp).codomain
    except Exception:  # noqa: BLE001 - no bijection to that support: only equality counts
        return False
    return _equal_constraints(sq, image)


def support_mismatches(model_tr: dict, guide_tr: dict) -> list[str]:
    """Names of the latent sites the guide samples on another support than the model's
    (point masses excepted: AutoDelta and flat-latent autoguides carry in-support values)."""
    out = []
    for name, gsite in guide_tr.items():
        msite = model_tr.get(name)
        if msite is None or not is_latent(gsite) or not is_latent(msite):
            continue
        if gsite.get("infer", {}).get("is_auxiliary", False):
            continue
        qf, pf = gsite["fn"], msite["fn"]
        if type(qf).__name__ == "Delta":
            continue
        if not _same_support(qf, pf):
            out.append(name)
    return sorted(out)


def validate_model_guide(model_tr: dict, guide_tr: dict) -> None:
    """Warn (naming the sites) when the guide misses a model latent, has a non-auxiliary site
    that the model lacks, or samples a site with a different support than the model."""
    model_latent = {n for n, s in model_tr.items() if is_latent(s)}
    guide_latent = {n for n, s in guide_tr.items()
                    if is_latent(s) and not s.get("infer", {}).get("is_auxiliary", False)}
    enumerated = {n for n in model_latent if model_tr[n].get("infer", {}).get("enumerate")}
    missing = sorted(model_latent - guide_latent - enumerated)
    extra = sorted(guide_latent - set(model_tr))
    if missing:
        warnings.warn(
            f"the guide has no sample site for the model's latent site(s) {missing}: they are "
            "drawn from the prior at every step and get no variational parameters. Add them to "
            "the guide (or use an autoguide).", UserWarning, stacklevel=3)
    if extra:
        warnings.warn(
            f"the guide samples site(s) {extra} that the model does not have: they do not enter "
            "the ELBO. Check the site names, or mark helper sites with "
            "infer={'is_auxiliary': True}.", UserWarning, stacklevel=3)
    for name in sorted(guide_latent & model_latent):
        qf, pf = guide_tr[name]["fn"], model_tr[name]["fn"]
        if type(qf).__name__ == "Delta":
            continue  # point masses (AutoDelta, flat-latent autoguides) carry in-support values
        if not _same_support(qf, pf):
            warnings.warn(
                f"site {name!r}: the guide's distribution has support {_support_name(qf)} but "
                f"the model's has support {_support_name(pf)}; guide draws outside the model's "
                "support give -inf log densities. Use a guide distribution on the model's "
                "support (autoguides transform with biject_to(support)).",
                UserWarning, stacklevel=3)


def find_nonfinite_sites(rng_key: Any, params: dict, model: Any, guide: Any, args: tuple,
                         kwargs: dict) -> list[str]:
    """Names of the sites (``'guide:x'``/``'model:y'``) whose log density, or param value, is not
    finite at ``params``; ``[]`` when all are finite."""
    import numpy as np

    be = backends.current()
    bad = []
    for name, v in params.items():
        for leaf in be.tree_leaves(v):
            if be.is_array(leaf) and not np.all(np.isfinite(be.to_numpy(leaf))):
                bad.append(f"param:{name}")
                break
    from polyro.core.distributions import validation_enabled

    try:
        with validation_enabled(False):
            model_tr, guide_tr = get_traces(rng_key, params, model, guide, args, kwargs)
    except Exception as e:  # noqa: BLE001 - diagnosing, report what failed
        return bad + [f"(running model/guide raised {type(e).__name__}: {e})"]
    for label, nodes in (("guide", guide_tr), ("model", model_tr)):
        for name, site in nodes.items():
            if site.get("type") != "sample":
                continue
            if label == "guide" and site.get("is_observed"):
                continue
            try:
                with validation_enabled(False):
                    lp = be.to_numpy(site_log_prob_sum(site))
            except Exception:  # noqa: BLE001
                continue
            if not np.all(np.isfinite(lp)):
                bad.append(f"{label}:{name}")
    return bad


def call_loss(loss: Any, rng_key: Any, params: dict, model: Any, guide: Any, args: tuple,
              kwargs: dict, loss_state: Any) -> tuple[Any, Any]:
    """Call an ELBO with its mutable state when it has one: ``(loss, new_state)``."""
    if hasattr(loss, "loss_with_state"):
        return loss.loss_with_state(rng_key, params, model, guide, loss_state, *args, **kwargs)
    return loss.loss(rng_key, params, model, guide, *args, **kwargs), loss_state


def all_finite(tree: Any) -> Any:
    """A backend boolean scalar: every element of every array leaf is finite."""
    be = backends.current()
    xp = be.xp
    ok = None
    for leaf in be.tree_leaves(tree):
        if not be.is_array(leaf):
            continue
        f = xp.all(xp.isfinite(leaf))
        ok = f if ok is None else xp.logical_and(ok, f)
    return xp.asarray(True) if ok is None else ok


def map_leading(fn: Any, *xs: Any, jit: bool = False, loop_memo: set | None = None,
                memo_key: Any = None) -> Any:
    """``fn`` over the leading dim of ``xs`` (pytrees of arrays), stacking the outputs.

    Uses ``be.vmap`` where the backend supports it. If vectorizing fails on a backend without
    JIT (e.g. a draw that ``torch.func.vmap`` cannot batch, such as a rejection loop), it runs a
    loop instead: the values are the same either way, since each item gets its own key. Pass
    ``loop_memo``, a set owned by the caller (a ``Predictive``, an ELBO), to remember that
    failure for ``memo_key`` so that the next call loops at once; nothing is remembered
    process-wide, so one model that cannot be vectorized does not slow down another. With
    ``jit=True`` the vectorized function is compiled with ``be.jit`` on backends that have JIT.

    >>> import numpy as np
    >>> map_leading(lambda a: 2 * a, np.arange(3.0)).tolist()
    [0.0, 2.0, 4.0]
    """
    be = backends.current()
    key = (be.NAME, memo_key)
    if be.SUPPORTS_VMAP and (loop_memo is None or key not in loop_memo):
        try:
            vfn = be.vmap(fn)
            if jit and be.SUPPORTS_JIT:
                vfn = be.jit(vfn)
            return vfn(*xs)
        except Exception:  # noqa: BLE001 - retried as a loop below; real errors re-raise there
            if be.SUPPORTS_JIT:
                raise
            if loop_memo is not None:
                loop_memo.add(key)
    xp = be.xp
    n = int(be.tree_leaves(xs)[0].shape[0])
    outs = [fn(*be.tree_map(lambda a, i=i: a[i], xs)) for i in range(n)]
    return be.tree_map(
        lambda *ys: xp.stack([y if be.is_array(y) else be.asarray(y) for y in ys]), *outs)
