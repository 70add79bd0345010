"""The dependency graph of a model's sites, as text (graphviz optional).

Dependencies are found engine-neutrally by *perturbation*: the model is run with every site
fixed at a reference value except one, which is moved; a site whose log density (or, for a
deterministic site, value) changes depends directly on the moved one. Every other site is held
fixed, so only direct edges are found. This costs one model run per latent/deterministic site.

>>> import polyro, polyro.distributions as dist
>>> def model():
...     a = polyro.sample("a", dist.Normal(0.0, 1.0))
...     b = polyro.sample("b", dist.Normal(a, 1.0))
...     polyro.sample("y", dist.Normal(b, 1.0), obs=0.0)
>>> get_dependencies(model)["y"]
['b']
>>> print(render_model(model))
a ~ Normal
b ~ Normal <- a
y ~ Normal [observed] <- b
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from polyro.backends import backend_of
from polyro.core.handlers import seed, substitute, trace

__all__ = ["get_dependencies", "render_model", "to_graphviz"]


def _np(x: Any) -> np.ndarray:
    return np.asarray(backend_of(x).to_numpy(x), dtype=float)


def _site_logp(site: Any) -> np.ndarray:
    return _np(site["fn"].log_prob(site["value"]))


def _differs(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return True
    both_nan = np.isnan(a) & np.isnan(b)
    return not bool(np.all(both_nan | np.isclose(a, b, rtol=1e-9, atol=1e-12)))


def get_dependencies(
    model: Callable,
    model_args: tuple = (),
    model_kwargs: Mapping[str, Any] | None = None,
    rng_seed: int = 0,
) -> dict[str, list[str]]:
    """``{site: [direct parents]}`` for the sample and deterministic sites of ``model``.

    >>> import polyro, polyro.distributions as dist
    >>> get_dependencies(lambda: polyro.sample("a", dist.Normal(0.0, 1.0)))
    {'a': []}
    """
    kwargs = dict(model_kwargs or {})
    base = trace(seed(model, rng_seed=rng_seed)).get_trace(*model_args, **kwargs)
    nodes = [n for n, s in base.items() if s["type"] in ("sample", "deterministic")]
    ref = {n: base[n]["value"] for n in nodes}
    ref_out = {}
    for n in nodes:
        s = base[n]
        ref_out[n] = _site_logp(s) if s["type"] == "sample" else _np(s["value"])
    parents: dict[str, list[str]] = {n: [] for n in nodes}
    movable = [n for n in nodes if not (base[n]["type"] == "sample" and base[n]["is_observed"])]
    for i, p in enumerate(movable):
        site = base[p]
        if site["type"] == "sample":
            alts = [site["fn"].sample(backend_of(site["value"]).key(rng_seed + 7919 * (i + 1) + j),
                                      tuple(site["kwargs"].get("sample_shape", ())))
                    for j in range(2)]
        else:
            v = site["value"]
            alts = [v * 1.37 + 0.61]
        found: set[str] = set()
        for alt in alts:
            computed: dict[str, Any] = {}

            def sub(msg: Any, p: str = p, alt: Any = alt, computed: dict = computed) -> Any:
                name = msg["name"]
                if name not in ref:
                    return None
                if msg["type"] == "deterministic":
                    computed[name] = msg["value"]
                return alt if name == p else ref[name]

            tr = trace(substitute(seed(model, rng_seed=rng_seed), substitute_fn=sub)).get_trace(
                *model_args, **kwargs
            )
            for n in nodes:
                if n == p or n not in tr:
                    continue
                s = tr[n]
                if s["type"] == "sample":
                    out = _site_logp(s)
                else:
                    out = _np(computed.get(n, s["value"]))
                if _differs(out, ref_out[n]):
                    found.add(n)
        for n in nodes:
            if n in found:
                parents[n].append(p)
    return parents


def _plates(site: Any) -> list[str]:
    return [f.name for f in site["cond_indep_stack"]]


def render_model(
    model: Callable,
    model_args: tuple = (),
    model_kwargs: Mapping[str, Any] | None = None,
    render_distributions: bool = True,
    rng_seed: int = 0,
) -> str:
    """A text rendering: one line per site (distribution, observed, parents, plates), then the
    plates with their sizes.

    >>> import polyro, polyro.distributions as dist
    >>> def model():
    ...     with polyro.plate("N", 2):
    ...         polyro.sample("x", dist.Normal(0.0, 1.0))
    >>> print(render_model(model))
    x ~ Normal [N]
    plate N: size 2
    """
    kwargs = dict(model_kwargs or {})
    deps = get_dependencies(model, model_args, kwargs, rng_seed)
    tr = trace(seed(model, rng_seed=rng_seed)).get_trace(*model_args, **kwargs)
    lines = []
    plates: dict[str, str] = {}
    for name, site in tr.items():
        if site["type"] == "plate":
            kw = site["kwargs"]
            sub = f", subsample {kw['subsample_size']}" if kw["subsample_size"] != kw["size"] else ""
            plates[name] = f"size {kw['size']}{sub}"
            continue
        if name not in deps:
            continue
        if site["type"] == "sample":
            fn = site["fn"]
            from polyro.core.handlers.reparam import _unexpand

            base, _ = _unexpand(fn)
            label = f"{name} ~ {type(base).__name__}" if render_distributions else name
        else:
            label = f"{name} = deterministic"
        if site["type"] == "sample" and site["is_observed"]:
            label += " [observed]"
        if deps[name]:
            label += " <- " + ", ".join(deps[name])
        pl = _plates(site)
        if pl:
            label += " [" + ", ".join(pl) + "]"
        lines.append(label)
    for pname, text in plates.items():
        lines.append(f"plate {pname}: {text}")
    return "\n".join(lines)


def to_graphviz(
    model: Callable,
    model_args: tuple = (),
    model_kwargs: Mapping[str, Any] | None = None,
    rng_seed: int = 0,
) -> Any:
    """A ``graphviz.Digraph`` of the model (needs the optional ``graphviz`` package).

    >>> to_graphviz.__name__
    'to_graphviz'
    """
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(
            "to_graphviz needs the graphviz package (pip install graphviz); "
            "render_model(...) gives the same graph as text"
        ) from e
    kwargs = dict(model_kwargs or {})
    deps = get_dependencies(model, model_args, kwargs, rng_seed)
    tr = trace(seed(model, rng_seed=rng_seed)).get_trace(*model_args, **kwargs)
    g = graphviz.Digraph()
    for name in deps:
        site = tr[name]
        shape = "ellipse" if site["type"] == "sample" else "box"
        style = "filled" if site["type"] == "sample" and site["is_observed"] else ""
        g.node(name, shape=shape, style=style)
    for child, ps in deps.items():
        for p in ps:
            g.edge(p, child)
    return g
