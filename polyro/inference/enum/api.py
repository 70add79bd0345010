"""Exact inference over enumerated discrete sites: factors of a trace, the log marginal
likelihood, and ``infer_discrete`` (MAP or posterior samples of the discrete sites).

>>> import numpy as np, polyro, polyro.distributions as dist
>>> from polyro.core.enum_config import config_enumerate
>>> @config_enumerate
... def model():
...     z = polyro.sample("z", dist.Bernoulli(0.3))
...     polyro.sample("y", dist.Normal(2.0 * z, 1.0), obs=1.0)
>>> lm = log_marginal(model)
>>> ref = np.log(0.7 * np.exp(-0.5) + 0.3 * np.exp(-0.5)) - 0.5 * np.log(2 * np.pi)
>>> bool(abs(float(lm) - ref) < 1e-9)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from polyro.backends import backend_of, current
from polyro.core.distributions.util import broadcast_shape
from polyro.core.handlers import block, enum, seed, substitute, trace
from polyro.core.handlers.enum import is_enumerated
from polyro.core.handlers.trace import is_observed_data
from polyro.core.handlers.vectorized_markov import VMARKOV_KEY
from polyro.core.primitives import prng_key
from polyro.core.runtime import site_shape
from polyro.errors import ModelError
from polyro.inference.enum.contract import sum_product
from polyro.inference.enum.vectorized import (
    contract_vectorized_chains,
    sample_chain,
    vectorized_chains,
)

__all__ = ["enum_log_joint", "guess_max_plate_nesting", "infer_discrete", "log_marginal",
           "pointwise_log_likelihood",
           "trace_factors"]


def _site_log_prob(site: dict) -> Any:
    from polyro.core.handlers.trace import scale_and_mask, site_log_density

    return scale_and_mask(site_log_density(site), site["scale"], site["mask"])


def guess_max_plate_nesting(tr: Mapping[str, Any]) -> int:
    """The number of batch dims a trace's sites use: the deepest vectorized plate dim or the
    longest batch shape of a sample site.

    >>> guess_max_plate_nesting({})
    0
    """
    n = 0
    for site in tr.values():
        if site.get("type") != "sample":
            continue
        for f in site["cond_indep_stack"]:
            if f.dim is not None:
                n = max(n, -f.dim)
        if not is_enumerated(site) or "_enumerate_dim" not in site["infer"]:
            n = max(n, len(tuple(getattr(site["fn"], "batch_shape", ()))))
    return n


def unplated_overlap(tr: Mapping[str, Any], mpn: int) -> tuple[str, tuple, list] | None:
    """The first non-enumerated sample site with a batch dim left of ``-mpn`` that is no plate's
    and has a size above 1, as ``(name, batch shape, such dims)``; ``None`` when there is none.
    Enumeration dims start at ``-mpn - 1``: they would fall on such dims, with no error when the
    sizes agree. (Plates past ``max_plate_nesting`` and enumerated sites' own batch dims have
    their errors where the enumeration runs.)

    >>> unplated_overlap({}, 0) is None
    True
    """
    for name, site in tr.items():
        if site.get("type") != "sample" or is_enumerated(site):
            continue
        plated = {f.dim for f in site["cond_indep_stack"] if f.dim is not None}
        bs = tuple(getattr(site["fn"], "batch_shape", ()))
        dims = [-d for d in range(mpn + 1, len(bs) + 1) if bs[-d] > 1 and -d not in plated]
        if dims:
            return name, bs, dims
    return None


def nesting_error(what: str, mpn: int, hit: tuple) -> ValueError:
    """The error for :func:`unplated_overlap`'s finding ``hit`` under ``max_plate_nesting=mpn``.

    >>> str(nesting_error("f(max_plate_nesting=0)", 0, ("y", (3,), [-1])))[:40]
    "f(max_plate_nesting=0): site 'y' has bat"
    """
    name, bs, dims = hit
    need = -min(dims)
    return ValueError(
        f"{what}: site {name!r} has batch shape {bs}, with dim(s) {dims} in no plate, but "
        f"enumeration dims start at dim {-mpn - 1} and would fall on them (mixing them up, "
        f"with no error). Declare them with plate(...) or .to_event(...), or pass "
        f"max_plate_nesting={need} (first_available_dim={-need - 1}) or None to guess it.")


def _plate_at(site: dict, dim: int) -> str | None:
    for f in site["cond_indep_stack"]:
        if f.dim == dim:
            return f.name
    return None


def _labels(site: dict, shape: tuple, mpn: int, what: str) -> tuple[list, set]:
    labels, pseudo = [], set()
    d2v = site["infer"].get("_dim_to_var", {})
    nd = len(shape)
    for i, size in enumerate(shape):
        d = i - nd
        if d >= -mpn:
            p = _plate_at(site, d)
            if p is None and size != 1:
                p = f"_dim{d}"
                pseudo.add(p)
            labels.append(p if size != 1 else None)
        else:
            if size == 1:
                labels.append(None)
                continue
            v = d2v.get(d)
            if v is None:
                raise ModelError(
                    f"site {site['name']!r}: its {what} has size {size} at dim {d}, left of the "
                    f"plate dims (max_plate_nesting={mpn}), but no enumerated site visible here "
                    f"owns that dim (visible: {d2v}). Raise max_plate_nesting to cover the "
                    "site's batch dims, or increase markov(history=) if the site depends on "
                    "older steps."
                )
            labels.append(v)
    return labels, pseudo


def labelled_log_density(site: dict, lp: Any, max_plate_nesting: int, sizes: dict
                         ) -> tuple[Any, tuple, set]:
    """``(lp, labels, pseudo_plates)``: a log density ``lp`` of ``site`` as an array with one
    axis per label (its size-1 axes dropped), each axis labelled by the plate or enumerated
    variable it belongs to. The sizes of unnamed batch dims (pseudo plates ``_dim-k``) are
    recorded in ``sizes``.

    >>> import numpy as np
    >>> site = {"name": "y", "infer": {}, "cond_indep_stack": ()}
    >>> lp, labels, pseudo = labelled_log_density(site, np.zeros(3), 1, {})
    >>> lp.shape, labels, pseudo
    ((3,), ('_dim-1',), {'_dim-1'})
    """
    be = backend_of(lp)
    if not be.is_array(lp):
        lp = be.asarray(lp, dtype=be.float_dtype())
    shape = tuple(int(s) for s in lp.shape)
    labels, pseudo = _labels(site, shape, max_plate_nesting, "log density")
    for lab, s in zip(labels, shape, strict=True):
        if lab is not None and lab.startswith("_dim"):
            sizes[lab] = s
    keep = tuple(lab for lab in labels if lab is not None)
    if len(keep) != len(shape):
        lp = be.xp.reshape(lp, tuple(s for lab, s in zip(labels, shape, strict=True)
                                     if lab is not None))
    return lp, keep, pseudo


def _with_sample_dims(site: dict, lp: Any) -> Any:
    """The log density of an enumerated site drawn with ``sample_shape``, broadcast over those
    dims: its enumerated value carries none, so each of them is independent and enumerated
    alike (as a distribution ``expand``-ed to that shape would be)."""
    xp = backend_of(lp).xp
    want = tuple(site["kwargs"]["sample_shape"]) + tuple(site["fn"].batch_shape)
    shape = tuple(int(s) for s in lp.shape)
    n = max(len(shape), len(want))
    shape, want = (1,) * (n - len(shape)) + shape, (1,) * (n - len(want)) + want
    return xp.broadcast_to(lp, tuple(max(a, b) for a, b in zip(shape, want, strict=True)))


def trace_factors(tr: Mapping[str, Any], max_plate_nesting: int, chain_steps: dict | None = None,
                  op: str = "sum") -> tuple[list, dict, dict, list]:
    """``(factors, var_ordinals, plate_sizes, order)`` of a trace run under ``enum``.

    Every sample site contributes its scaled, masked log density as a factor labelled by the
    plates and enumerated variables its dims belong to; the vectorized steps of a
    ``vectorized_markov`` chain are already contracted into one factor over its first step's
    state (:mod:`polyro.inference.enum.vectorized`; with ``chain_steps`` a dict, each chain's
    step matrices are kept there, as ``infer_discrete`` needs them; ``op="max"`` contracts the
    chains by max-product).

    >>> trace_factors({}, 0)
    ([], {}, {}, [])
    """
    factors, var_ord, sizes, order = [], {}, {}, []
    marked = False  # a vectorized_markov site seen: only then look for chains (a second pass)
    for name, site in tr.items():
        if site.get("type") != "sample":
            continue
        marked = marked or VMARKOV_KEY in site["infer"]
        for f in site["cond_indep_stack"]:
            if f.dim is not None:
                sizes[f.name] = f.subsample_size
        plates = {f.name for f in site["cond_indep_stack"] if f.dim is not None}
        if "_enumerate_dim" in site["infer"]:
            batch = tuple(site["kwargs"].get("sample_shape", ())) + tuple(site["fn"].batch_shape)
            _, pseudo = _labels(site, batch, max_plate_nesting, "batch shape")
            var_ord[name] = frozenset(plates | pseudo)
            order.append(name)
        lp = _site_log_prob(site)
        if "_enumerate_dim" in site["infer"] and site["kwargs"].get("sample_shape"):
            lp = _with_sample_dims(site, lp)
        lp, keep, pseudo = labelled_log_density(site, lp, max_plate_nesting, sizes)
        factors.append((lp, keep, frozenset(plates | pseudo)))
    chains = vectorized_chains(tr) if marked else None
    if chains:
        factors, var_ord, order = contract_vectorized_chains(factors, var_ord, sizes, order,
                                                             chains, op, chain_steps)
    return factors, var_ord, sizes, order


def _run_enum(model: Callable, args: tuple, kwargs: dict, mpn: int) -> Any:
    return trace(enum(model, first_available_dim=-mpn - 1)).get_trace(*args, **kwargs)


def probe_trace(model: Callable, args: tuple, kwargs: dict) -> Any:
    """One run of ``model`` for its structure: hidden from outer handlers, seeded, enumerated
    sites at a placeholder value (no enumeration dims)."""
    from polyro.core.density import _EnumProbe

    with block(), _EnumProbe():
        return trace(seed(model, rng_seed=0)).get_trace(*args, **kwargs)


def _prototype(model: Callable, args: tuple, kwargs: dict) -> int:
    """max_plate_nesting guessed from one enumerated run with room for any plate nesting."""
    return guess_max_plate_nesting(probe_trace(model, args, kwargs))


def _checked_nesting(model: Callable, args: tuple, kwargs: dict, mpn: int | None,
                     what: str) -> int:
    """``mpn`` given by the user, checked with one probe run (:func:`unplated_overlap`);
    guessed when None."""
    if mpn is None:
        return _prototype(model, args, kwargs)
    hit = unplated_overlap(probe_trace(model, args, kwargs), mpn)
    if hit is not None:
        raise nesting_error(what, mpn, hit)
    return mpn


def enum_log_joint(model: Callable, args: tuple = (), kwargs: Mapping[str, Any] | None = None,
                   max_plate_nesting: int | None = None) -> tuple[Any, Any]:
    """``(log joint with the enumerated sites summed out, trace)`` of ``model`` run under
    ``enum``. Other latent sites need values (``substitute``/``seed`` the model).

    >>> import polyro, polyro.distributions as dist
    >>> m = lambda: polyro.sample("z", dist.Bernoulli(0.5), infer={"enumerate": "parallel"})
    >>> round(float(enum_log_joint(m)[0]), 6)
    0.0
    """
    kwargs = dict(kwargs or {})
    if max_plate_nesting is None:
        max_plate_nesting = _prototype(model, args, kwargs)
    tr = _run_enum(model, args, kwargs, max_plate_nesting)
    factors, var_ord, sizes, order = trace_factors(tr, max_plate_nesting)
    total = sum_product(factors, var_ord, sizes, "sum", order)
    if isinstance(total, float):
        total = current().asarray(total, dtype=current().float_dtype())
    return total, tr


def pointwise_log_likelihood(model: Callable, args: tuple = (),
                             kwargs: Mapping[str, Any] | None = None,
                             max_plate_nesting: int | None = None) -> dict:
    """Per observed site, the log density of its value with every enumerated site summed out,
    element by element: ``{site: array}`` of the site's batch shape, element ``i`` being
    ``log sum_z p(z) p(y_i | z)`` (the enumerated sites ``z`` marginalized for that element
    alone, the other observed sites left out). What LOO and WAIC need from a mixture after NUTS
    marginalized its assignments. Other latent sites need values (``substitute`` the model);
    the site's mask applies, its scale does not (as in ``log_likelihood``).

    Raises NotImplementedError for a ``vectorized_markov`` chain (its steps are one site).

    >>> import numpy as np, polyro, polyro.distributions as dist
    >>> def mix(y):
    ...     with polyro.plate("N", 2):
    ...         z = polyro.sample("z", dist.Bernoulli(0.5), infer={"enumerate": "parallel"})
    ...         polyro.sample("y", dist.Normal(3.0 * z, 1.0), obs=y)
    >>> ll = pointwise_log_likelihood(mix, (np.array([0.0, 3.0]),))["y"]
    >>> np.round(ll, 4).tolist()
    [-1.601, -1.601]
    """
    kwargs = dict(kwargs or {})
    mpn = _prototype(model, args, kwargs) if max_plate_nesting is None else max_plate_nesting
    tr = _run_enum(model, args, kwargs, mpn)
    sites = {n: s for n, s in tr.items() if s.get("type") == "sample"}
    if any(VMARKOV_KEY in s["infer"] for s in sites.values()):
        raise NotImplementedError(
            "pointwise_log_likelihood: a vectorized_markov chain scores all its steps as one "
            "site; write the chain with markov(range(T)) to get one site per step")
    latent = {n: s for n, s in sites.items() if "_enumerate_dim" in s["infer"]}
    out = {}
    for name, site in sites.items():
        if not is_observed_data(site):
            continue
        site = {**site, "scale": None}
        factors, var_ord, sizes, order = trace_factors({**latent, name: site}, mpn)
        labels = [lab for lab in factors[-1][1] if lab not in var_ord]
        free = frozenset(labels)  # the site's own plates and batch dims: left unreduced
        factors = [(t, labs, frozenset(p) - free) for t, labs, p in factors]
        var_ord = {v: o - free for v, o in var_ord.items()}
        res = sum_product(factors, var_ord, sizes, "sum", order, keep=tuple(labels))
        be = backend_of(res) if not isinstance(res, float) else current()
        res = res if be.is_array(res) else be.asarray(res, dtype=be.float_dtype())
        # the site's log-density shape (its batch dims and the enumerated ones left of them),
        # without computing it again: the plate dims are the last ``mpn`` of it
        value = site_shape(site["value"])
        shape = broadcast_shape(value[:len(value) - len(site["fn"].event_shape)],
                                tuple(site["fn"].batch_shape))
        out[name] = be.xp.reshape(res, shape[max(len(shape) - mpn, 0):])
    return out


def log_marginal(model: Callable, *args: Any, max_plate_nesting: int | None = None,
                 **kwargs: Any) -> Any:
    """Exact log marginal likelihood of a model whose latents are all enumerated discrete sites
    (continuous latents must be conditioned or substituted). Works on every backend.

    >>> import polyro, polyro.distributions as dist
    >>> m = lambda: polyro.sample("z", dist.Bernoulli(0.5), infer={"enumerate": "parallel"})
    >>> round(float(log_marginal(m)), 6)
    0.0
    """
    mpn = _checked_nesting(model, args, kwargs, max_plate_nesting,
                           f"log_marginal(max_plate_nesting={max_plate_nesting})")
    return enum_log_joint(model, args, kwargs, mpn)[0]


def _place(idx: Any, labels: tuple, var: str, tr: Mapping[str, Any], mpn: int) -> Any:
    """Put a sampled index tensor (axes ``labels``, plates only) at the site's batch dims."""
    site = tr[var]
    batch = tuple(site["kwargs"].get("sample_shape", ())) + tuple(site["fn"].batch_shape)
    nd = 0
    for i, size in enumerate(batch):
        d = i - len(batch)
        if d >= -mpn and (size != 1 or _plate_at(site, d) is not None):
            nd = max(nd, -d)
    dims = []
    for i in range(nd):
        d = i - nd
        p = _plate_at(site, d) or f"_dim{d}"
        dims.append(p)
    x = idx
    xp = backend_of(x).xp
    from polyro.inference.enum.contract import align

    x = align(x, labels, dims) if labels else xp.reshape(x, (1,) * nd)
    return x


def _sample_vectorized(be: Any, m: str, step: tuple, sampled: dict, tr: Mapping,
                       temperature: int, key: Any) -> dict:
    """The states of a vectorized chain's later steps given its first step's sampled state:
    ``{site: (indices, labels)}`` with axes ``(m, *batch)``."""
    mats, batch, pairs, sizes = step
    outside = [lab for lab in batch if lab in tr and tr[lab].get("type") == "sample"]
    if outside:
        raise NotImplementedError(
            f"infer_discrete: the steps of vectorized_markov {m!r} depend on enumerated sites "
            f"{outside} outside the chain; not supported. Write the chain with "
            "markov(range(T)).")
    xp = be.xp
    from polyro.inference.enum.contract import align

    first = None
    for (p, _), k in zip(pairs, sizes, strict=True):
        idx, labs = sampled[p]
        idx = align(idx, labs, batch) if batch else xp.reshape(idx, ())
        first = idx if first is None else first * k + idx

    def draw(shape: tuple) -> Any:  # a stream apart from the records' fold_in(key, i)
        return be.gumbel(be.fold_in(key, 7919), shape)

    joint = sample_chain(mats, first, temperature, draw if temperature == 1 else None)
    out = {}
    stride = 1
    for (_, c), k in reversed(list(zip(pairs, sizes, strict=True))):
        out[c] = ((joint // stride) % k, (m,) + tuple(batch))
        stride *= k
    return out


def infer_discrete(fn: Callable | None = None, first_available_dim: int | None = None,
                   temperature: int = 1, rng_key: Any = None) -> Callable:
    """Wrap ``fn`` so that its enumerated discrete sites take values drawn from their exact
    posterior given everything else (``temperature=1``) or their joint MAP values
    (``temperature=0``, max-product). Continuous latents must be conditioned/substituted or
    seeded. Returns a function with ``fn``'s signature and return value; trace it to read the
    discrete values.

    >>> import numpy as np, polyro, polyro.distributions as dist
    >>> from polyro import handlers
    >>> def model():
    ...     z = polyro.sample("z", dist.Bernoulli(0.3), infer={"enumerate": "parallel"})
    ...     polyro.sample("y", dist.Normal(3.0 * z, 1.0), obs=2.9)
    ...     return z
    >>> float(infer_discrete(model, temperature=0)())
    1.0
    """
    if fn is None:
        return lambda f: infer_discrete(f, first_available_dim, temperature, rng_key)
    if temperature not in (0, 1):
        raise ValueError(f"infer_discrete: temperature must be 0 or 1, got {temperature!r}")

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        be = current()
        # an enclosing seed handler drives the draws (a fresh key per call), as it drives
        # every other random choice; rng_key= fixes them
        outer_key = prng_key() if temperature == 1 and rng_key is None else None
        mpn = None if first_available_dim is None else -first_available_dim - 1
        mpn = _checked_nesting(fn, args, kwargs, mpn,
                               f"infer_discrete(first_available_dim={first_available_dim})")
        with block():
            tr = _run_enum(fn, args, kwargs, mpn)
        steps: dict = {}  # the vectorized chains' step matrices, by chain
        factors, var_ord, sizes, order = trace_factors(tr, mpn, steps,
                                                       "sum" if temperature == 1 else "max")
        records: list = []
        sum_product(factors, var_ord, sizes, "sum" if temperature == 1 else "max", order,
                    record=records)
        key = rng_key if rng_key is not None or temperature == 0 else outer_key
        if temperature == 1 and key is None:  # not seeded: a fixed key
            key = be.key(0)
        sampled: dict[str, tuple[Any, tuple]] = {}
        for i, (v, phi, labels) in enumerate(reversed(records)):
            ops = [(phi, labels)]
            for u in labels:
                if u in sampled:
                    idx_u, labs_u = sampled[u]
                    k = tr[u]["infer"]["_enum_support"][0]
                    xp = backend_of(phi).xp
                    oh = (xp.reshape(idx_u, idx_u.shape + (1,))
                          == xp.reshape(xp.arange(k), (1,) * idx_u.ndim + (k,)))
                    zero = xp.zeros(oh.shape, dtype=phi.dtype)
                    ops.append((xp.where(oh, zero, zero - float("inf")), labs_u + (u,)))
            out_plates = tuple(lab for lab in labels if lab not in var_ord)
            for _, labs in ops[1:]:
                out_plates += tuple(lab for lab in labs[:-1] if lab not in out_plates)
            from polyro.inference.enum.contract import log_einsum

            logits = log_einsum(ops, out_plates + (v,), "max")
            xp = backend_of(logits).xp
            if temperature == 1:
                g = be.gumbel(be.fold_in(key, i), tuple(logits.shape))
                idx = xp.argmax(logits + xp.asarray(g, dtype=logits.dtype), axis=-1)
            else:
                idx = xp.argmax(logits, axis=-1)
            sampled[v] = (idx, out_plates)
        for m, step in steps.items():
            sampled.update(_sample_vectorized(be, m, step, sampled, tr, temperature, key))
        values = {}
        for v, (idx, labs) in sampled.items():
            site = tr[v]
            support = site["fn"].enumerate_support(expand=False)
            k, event = site["infer"]["_enum_support"]
            xp = backend_of(support).xp
            support = xp.reshape(support, (k,) + tuple(event))
            placed = _place(idx, labs, v, tr, mpn)
            values[v] = xp.take(support, xp.reshape(placed, (-1,)), axis=0)
            values[v] = xp.reshape(values[v], tuple(placed.shape) + tuple(event))
        return substitute(fn, data=values)(*args, **kwargs)

    return wrapped
