"""Guide-side enumeration for :class:`~polyro.inference.elbo.trace_enum.TraceEnum_ELBO`.

A guide site marked ``infer={"enumerate": "parallel"}`` takes every value of its support along
its own enumeration dim (the guide runs under ``enum``); the model is replayed against that
trace and enumerates its own marked sites in dims further left (:class:`enum_after`). The ELBO
is then, for guide-enumerated sites ``G``, model-only enumerated sites ``M`` and sampled guide
sites ``C``::

    E_{c~q}[ sum_g q(g|c) ( log sum_m p(x, c, g, m) - log q(c) - log q(g|c) ) ]

computed cost term by cost term (Pyro's Dice rule for enumerated guide sites): a term ``f`` (a
model site's log density, or minus a guide site's) is summed over all its dims against the
product of ``q_s`` over the guide-enumerated sites ``s`` whose plates are a subset of ``f``'s
plates (:func:`expected_cost`). Supported: guide-enumerated sites anywhere when the model
enumerates nothing of its own, and global guide-enumerated sites together with model-side
enumeration (the model's log joint is contracted over ``M`` with the guide labels kept free,
``sum_product(..., keep=G)``). Anything else raises ``NotImplementedError`` naming the sites.

>>> import numpy as np, polyro, polyro.distributions as dist
>>> from polyro.core.distributions import constraints
>>> from polyro.inference import TraceEnum_ELBO
>>> def model():
...     z = polyro.sample("z", dist.Bernoulli(0.3))
...     polyro.sample("y", dist.Normal(2.0 * z, 1.0), obs=1.5)
>>> def guide():
...     q = polyro.param("q", np.array(0.6), constraint=constraints.unit_interval)
...     polyro.sample("z", dist.Bernoulli(q), infer={"enumerate": "parallel"})
>>> loss = TraceEnum_ELBO(max_plate_nesting=0).loss(
...     polyro.backends.current().key(0), {"q": np.array(0.6)}, model, guide)
>>> lp = np.log([0.7, 0.3]) - 0.5 * (1.5 - np.array([0.0, 2.0])) ** 2 - 0.5 * np.log(2 * np.pi)
>>> q = np.array([0.4, 0.6])
>>> bool(abs(float(loss) + (q * (lp - np.log(q))).sum()) < 1e-10)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.handlers.enum import enum
from polyro.core.handlers.vectorized_markov import VMARKOV_KEY
from polyro.inference.elbo import util as eu

__all__ = ["align_to", "enum_after", "enumerated_guide_sites", "expected_cost", "guide_enum_elbo",
           "guide_site_labels"]

Labelled = tuple  # (tensor, labels tuple, plates frozenset)


class enum_after(enum):
    """``enum`` whose enumeration dims skip the dims the guide's enumerated sites hold.

    ``reserved`` (``{dim: guide site name}``) is visible to every site as enumerated variables
    (they appear in each site's ``infer["_dim_to_var"]``), so the model's own enumerated sites
    are allocated further left and its log densities are labelled with the guide's variables.

    >>> enum_after(first_available_dim=-2, reserved={-2: "g"}).reserved
    {-2: 'g'}
    """

    def __init__(self, fn: Any = None, first_available_dim: int | None = None,
                 reserved: Mapping[int, str] | None = None) -> None:
        super().__init__(fn, first_available_dim)
        self.reserved = dict(reserved or {})

    def enter_frame(self) -> enum_after:
        frame = super().enter_frame()
        # an empty markov path: always visible, never freed for reuse
        frame._live = [[name, dim, ()] for dim, name in self.reserved.items()]
        return frame


def enumerated_guide_sites(guide_tr: Mapping[str, Any]) -> dict[str, int]:
    """``{name: enumeration dim}`` of the guide sites that ``enum`` enumerated, in program order.

    Raises ``NotImplementedError`` when two of them share a dim (a ``markov`` loop in the guide
    reuses dims; guide-side enumeration needs one dim per site).

    >>> enumerated_guide_sites({"z": {"type": "sample", "infer": {"_enumerate_dim": -1}}})
    {'z': -1}
    """
    out = {n: s["infer"]["_enumerate_dim"] for n, s in guide_tr.items()
           if s.get("type") == "sample" and "_enumerate_dim" in s.get("infer", {})}
    by_dim: dict[int, list] = {}
    for n, d in out.items():
        by_dim.setdefault(d, []).append(n)
    shared = [ns for ns in by_dim.values() if len(ns) > 1]
    chained = [n for n in out if VMARKOV_KEY in guide_tr[n]["infer"]]
    if chained:
        raise NotImplementedError(
            f"TraceEnum_ELBO: guide-enumerated sites {chained} are in a vectorized_markov "
            "chain; guide-side enumeration of a chain is not supported. Enumerate the chain "
            "in the model (the guide then holds only the continuous sites).")
    if shared:
        raise NotImplementedError(
            f"TraceEnum_ELBO: guide-enumerated sites {shared} share enumeration dims (a markov "
            "loop in the guide reuses them); guide-side enumeration needs one dim per site. "
            "Remove the markov context from the guide or enumerate these sites in the model.")
    return out


def _vector_plates(site: Mapping[str, Any]) -> set[str]:
    return {f.name for f in site.get("cond_indep_stack", ()) if f.dim is not None}


def _labelled(site: Mapping[str, Any], lp: Any, mpn: int, sizes: dict) -> Labelled:
    """``lp`` (a log density of ``site``) reshaped to its labelled (non-size-1) axes."""
    from polyro.inference.enum.api import labelled_log_density

    lp, keep, pseudo = labelled_log_density(site, lp, mpn, sizes)
    for f in site.get("cond_indep_stack", ()):
        if f.dim is not None:
            sizes[f.name] = f.subsample_size
    return lp, keep, frozenset(_vector_plates(site) | pseudo)


def expected_cost(cost: Labelled, weights: Sequence[tuple[str, Labelled]],
                  sizes: Mapping[str, int]) -> Any:
    """``E_q[f]`` of one labelled cost term: the sum over all its dims of ``f`` times the
    product of ``exp(log q_s)`` over the ``weights`` (``(name, labelled log q_s)`` of the
    guide-enumerated sites) whose plates are a subset of ``f``'s plates. Plates of ``f`` that no
    operand carries count ``sizes[plate]`` times.

    >>> import numpy as np
    >>> f = (np.array([1.0, 3.0]), ("g",), frozenset())
    >>> w = [("g", (np.log(np.array([0.25, 0.75])), ("g",), frozenset()))]
    >>> float(expected_cost(f, w, {}))
    2.5
    """
    from polyro.inference.enum.contract import aligned_sum

    t, labels, plates = cost
    be = backend_of(t)
    xp = be.xp
    used = [(n, w) for n, w in weights if w[2] <= plates]
    names = {n for n, _ in used}
    all_names = {n for n, _ in weights}
    for lab in labels:
        if lab in all_names and lab not in names:
            raise NotImplementedError(
                f"TraceEnum_ELBO: a cost term in plates {sorted(plates)} depends on the "
                f"guide-enumerated site {lab!r} whose plates are not a subset of them; "
                "guide-side enumeration needs each such site's plates to nest inside those of "
                "every term that depends on it.")
    union = list(labels)
    for _, (_, labs, _) in used:
        union += [lab for lab in labs if lab not in union]
    missing = [lab for lab in union if lab in all_names and lab not in names]
    if missing:
        raise NotImplementedError(
            f"TraceEnum_ELBO: guide-enumerated sites {missing} are parents of guide-enumerated "
            f"sites in plates outside {sorted(plates)}; guide-side enumeration needs each "
            "site's plates to contain those of the sites it depends on.")
    val = align_to(t, labels, union)
    if used:
        logw = aligned_sum([(w[0], w[1]) for _, w in used], union)
        wgt = xp.exp(logw)
        prod = val * wgt
        # zero-probability guide values contribute nothing (not 0 * inf)
        val = xp.where(wgt > 0, prod, xp.zeros_like(prod))
    out = xp.sum(val) if union else val
    for p in sorted(plates):
        if p not in union:
            n = int(sizes.get(p, 1))
            if n != 1:
                out = out * n
    return out


def align_to(t: Any, labels: Sequence[str], union: Sequence[str]) -> Any:
    """``t`` (axes ``labels``) aligned to ``union`` (size-1 axes for the labels it lacks).

    >>> import numpy as np
    >>> align_to(np.zeros(2), ("a",), ("b", "a")).shape
    (1, 2)
    """
    from polyro.inference.enum.contract import align

    if not labels:
        xp = backend_of(t).xp
        return xp.reshape(t, (1,) * len(union)) if union else t
    return align(t, labels, union)


def guide_enum_elbo(model_tr: Mapping[str, Any], guide_tr: Mapping[str, Any], mpn: int,
                    enumerated: Mapping[str, int]) -> Any:
    """The ELBO of one guide particle whose sites ``enumerated`` (``{name: dim}``) the guide
    enumerated: ``model_tr`` is the model replayed against ``guide_tr`` under
    :class:`enum_after`. Only the *value* is exact; the score-function terms of sampled,
    non-reparameterized guide sites are added by the caller.

    >>> guide_enum_elbo({}, {}, 0, {})
    0.0
    """
    from polyro.inference.enum.api import trace_factors
    from polyro.inference.enum.contract import sum_product

    G = list(enumerated)
    if not G:
        return 0.0
    sizes: dict[str, int] = {}
    weights: list[tuple[str, Labelled]] = []
    for n in G:
        gsite = guide_tr[n]
        msite = model_tr.get(n)
        if msite is not None and msite.get("type") == "sample":
            if _vector_plates(gsite) != _vector_plates(msite):
                raise NotImplementedError(
                    f"TraceEnum_ELBO: guide site(s) {[n]} are enumerated in plates "
                    f"{sorted(_vector_plates(gsite))} in the guide but sit in plates "
                    f"{sorted(_vector_plates(msite))} in the model; guide-side enumeration "
                    "needs a site in the same plates in model and guide.")
        # weights are probabilities: unscaled and unmasked (masks and scales act on costs)
        weights.append((n, _labelled(gsite, gsite["fn"].log_prob(gsite["value"]), mpn, sizes)))
    gplates = {n: w[2] for n, w in weights}

    costs: list[Labelled] = []
    for site in guide_tr.values():
        if not eu.is_latent(site):
            continue
        lq, labs, pl = _labelled(site, eu.site_log_prob(site), mpn, sizes)
        costs.append((-lq, labs, pl))

    factors, var_ord, fsizes, order = trace_factors(model_tr, mpn)
    sizes.update(fsizes)
    model_vars = [v for v in order if v not in enumerated]
    if not model_vars:
        costs.extend(factors)
    else:
        plated = sorted(n for n in G if gplates[n])
        if plated:
            in_plates = sorted(set().union(*[gplates[n] for n in plated]))
            hint = ""
            if "_num_particles_vectorized" in in_plates:
                hint = (" (with num_particles > 1 on an engine without vmap the particles form "
                        "the plate '_num_particles_vectorized': pass vectorize_particles=False)")
            raise NotImplementedError(
                f"TraceEnum_ELBO: the guide enumerates site(s) {plated} inside plates "
                f"{in_plates} while the model enumerates its own site(s) {model_vars}; "
                "guide-side enumeration together with model-side enumeration is supported only "
                f"for guide-enumerated sites outside every plate{hint}. Enumerate these sites "
                "in the model, or sample them in the guide.")
        mvar_ord = {v: o for v, o in var_ord.items() if v not in enumerated}
        logp = sum_product(factors, mvar_ord, sizes, "sum", model_vars, keep=tuple(G))
        if isinstance(logp, float):
            costs.append((logp, (), frozenset()))
        else:
            costs.append(_squeeze_labels(logp, tuple(G)))
    elbo = 0.0
    for cost in costs:
        t = cost[0]
        if isinstance(t, float):
            elbo = elbo + t
            continue
        elbo = elbo + expected_cost(cost, weights, sizes)
    return elbo


def _squeeze_labels(t: Any, labels: tuple) -> Labelled:
    """Drop the size-1 axes of ``t`` (axes ``labels``) with their labels."""
    xp = backend_of(t).xp
    keep = tuple(lab for lab, n in zip(labels, t.shape, strict=True) if int(n) != 1)
    if len(keep) != len(labels):
        t = xp.reshape(t, tuple(int(n) for n in t.shape if int(n) != 1))
    return t, keep, frozenset()


def guide_site_labels(site: Mapping[str, Any], mpn: int) -> tuple:
    """The labels of a guide site's log density (plates and enumerated variables).

    >>> import numpy as np, polyro.distributions as dist
    >>> site = {"name": "c", "fn": dist.Normal(np.zeros((2, 1)), 1.0), "value": np.zeros(1),
    ...         "infer": {"_dim_to_var": {-2: "g"}}, "cond_indep_stack": ()}
    >>> guide_site_labels(site, 1)
    ('g',)
    """
    return _labelled(site, eu.site_log_prob(site), mpn, {})[1]
