"""``trace``: record every site of a run in a :class:`Trace`.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> def model():
...     polyro.sample("x", dist.Normal(0.0, 1.0), obs=0.0)
>>> tr = handlers.trace(model).get_trace()
>>> round(float(tr.log_prob_sum()), 6)
-0.918939
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.backends import backend_of
from polyro.core.runtime import Message, Messenger, site_shape
from polyro.errors import ModelError

__all__ = ["Trace", "is_observed_data", "scale_and_mask", "site_log_density", "trace"]

_RECORDED = ("sample", "param", "deterministic", "plate")


def scale_and_mask(log_prob: Any, scale: Any = None, mask: Any = None) -> Any:
    """``log_prob`` with masked entries set to 0, times ``scale``.

    >>> import numpy as np
    >>> scale_and_mask(np.array([1.0, 2.0]), 3.0, np.array([True, False]))
    array([3., 0.])
    """
    be = backend_of(log_prob, mask) if mask is not None else backend_of(log_prob)
    xp = be.xp
    if not be.is_array(log_prob):
        log_prob = be.asarray(log_prob, dtype=be.float_dtype())
    if mask is not None:
        if isinstance(mask, bool):
            if not mask:
                log_prob = xp.zeros_like(log_prob)
        else:
            m = mask if be.is_array(mask) else be.asarray(mask)
            log_prob = xp.where(m, log_prob, xp.zeros_like(log_prob))
    if scale is not None:
        log_prob = log_prob * scale
    return log_prob


def is_observed_data(site: Any) -> bool:
    """An observed sample site that holds data: not a ``factor`` (an observed auxiliary site,
    whose value is an empty array). The sites a likelihood is made of.

    >>> is_observed_data({"type": "sample", "is_observed": True, "infer": {}})
    True
    >>> is_observed_data({"type": "sample", "is_observed": True, "infer": {"is_auxiliary": True}})
    False
    """
    return (site.get("type") == "sample" and bool(site.get("is_observed"))
            and not (site.get("infer") or {}).get("is_auxiliary", False))


def site_log_density(site: Any) -> Any:
    """``site["fn"].log_prob(site["value"])``, unscaled and unmasked (for a site the ``enum``
    handler enumerated, ``fn.enumerated_log_prob(dim)``: the same values, computed as a table
    where the family has one; an observed site's entries that its mask leaves out are replaced
    by a point of the support first); a ``ValueError`` the
    distribution raises (a value outside its support, with validation on) becomes a
    :class:`~polyro.errors.ModelError` that names the site.

    >>> import polyro.distributions as dist
    >>> site = {"name": "k", "fn": dist.Poisson(3.0), "value": 2.5}
    >>> site_log_density(site)
    Traceback (most recent call last):
    ...
    polyro.errors.ModelError: sample site 'k': Poisson.log_prob: value outside the support ...
    """
    try:
        value, m, infer = site["value"], site.get("mask"), site.get("infer")
        if infer and value is not None and value is infer.get("_enum_value"):
            # the enum handler's value: every support value along the enumeration dim
            table = getattr(site["fn"], "enumerated_log_prob", None)
            if table is not None:
                return table(infer["_enumerate_dim"])
        if site.get("is_observed") and m is not None and not isinstance(m, bool):
            # masked-out data (a NaN, say) cannot raise or poison the gradient
            from polyro.core.distributions.combinators import fill_masked

            fn = site["fn"]
            value = fill_masked(getattr(fn, "support", None), value, m,
                                len(getattr(fn, "event_shape", ())))
        return site["fn"].log_prob(value)
    except ModelError:
        raise
    except ValueError as e:
        raise ModelError(f"sample site {site.get('name')!r}: {e}") from e


class Trace(dict):
    """Ordered mapping ``name -> site`` (a copy of the site's message), Pyro's and NumPyro's API.

    ``tr["x"]["value"]`` and ``tr.nodes["x"]["value"]`` both work.

    >>> Trace().stochastic_nodes
    []
    """

    @property
    def nodes(self) -> Trace:
        """The trace itself (Pyro's ``trace.nodes``)."""
        return self

    @property
    def stochastic_nodes(self) -> list[str]:
        """Names of latent (unobserved) sample sites, in order."""
        return [k for k, s in self.items() if s["type"] == "sample" and not s["is_observed"]]

    @property
    def observation_nodes(self) -> list[str]:
        """Names of observed sample sites."""
        return [k for k, s in self.items() if s["type"] == "sample" and s["is_observed"]]

    @property
    def param_nodes(self) -> list[str]:
        """Names of param sites."""
        return [k for k, s in self.items() if s["type"] == "param"]

    @property
    def deterministic_nodes(self) -> list[str]:
        """Names of deterministic sites."""
        return [k for k, s in self.items() if s["type"] == "deterministic"]

    def compute_log_prob(
        self, site_filter: Callable[[str, dict], bool] = lambda name, site: True
    ) -> None:
        """Fill ``site["unscaled_log_prob"]`` and ``site["log_prob"]`` (scaled and masked).

        >>> Trace().compute_log_prob()
        """
        for name, site in self.items():
            if site["type"] != "sample" or not site_filter(name, site):
                continue
            if "log_prob" in site:
                continue
            lp = site_log_density(site)
            site["unscaled_log_prob"] = lp
            site["log_prob"] = scale_and_mask(lp, site["scale"], site["mask"])

    def log_prob_sum(
        self, site_filter: Callable[[str, dict], bool] = lambda name, site: True
    ) -> Any:
        """Sum of the (scaled, masked) log densities of the sample sites passing ``site_filter``.

        >>> float(Trace().log_prob_sum())
        0.0
        """
        self.compute_log_prob(site_filter)
        total: Any = 0.0
        for name, site in self.items():
            if site["type"] == "sample" and site_filter(name, site):
                lp = site["log_prob"]
                xp = backend_of(lp).xp
                total = total + xp.sum(lp)
        return total

    def format_shapes(self, compute_log_prob: bool = True) -> str:
        """A table of the shapes at every site, like Pyro's ``Trace.format_shapes``.

        >>> print(Trace().format_shapes())
        Trace Shapes:
        """
        if compute_log_prob:
            self.compute_log_prob()
        rows: list[tuple[str, str, str, str]] = []
        for name, site in self.items():
            t = site["type"]
            if t == "param":
                rows.append((name, "param", " ".join(map(str, site_shape(site["value"]))), ""))
            elif t == "plate":
                rows.append((name, "plate", f"size={site['kwargs']['size']}",
                             f"subsample={site['kwargs']['subsample_size']}"))
            elif t == "deterministic":
                rows.append((name, "value", " ".join(map(str, site_shape(site["value"]))), ""))
            elif t == "sample":
                fn = site["fn"]
                batch = tuple(getattr(fn, "batch_shape", ()))
                event = tuple(getattr(fn, "event_shape", ()))
                vshape = site_shape(site["value"])
                ne = len(event)
                vb, ve = (vshape[: len(vshape) - ne], vshape[len(vshape) - ne:])
                rows.append((name, "dist", " ".join(map(str, batch)), " ".join(map(str, event))))
                rows.append(("", "value", " ".join(map(str, vb)), " ".join(map(str, ve))))
                if "log_prob" in site:
                    rows.append(("", "log_prob", " ".join(map(str, site_shape(site["log_prob"]))),
                                 ""))
        lines = ["Trace Shapes:"]
        if rows:
            w0 = max(len(r[0]) for r in rows)
            w1 = max(len(r[1]) for r in rows)
            w2 = max(len(r[2]) for r in rows)
            for a, b, c, d in rows:
                lines.append(f"{a:>{w0}} {b:<{w1}} {c:>{w2}} | {d}".rstrip())
        return "\n".join(lines)

    def copy(self) -> Trace:
        """Shallow copy (sites copied one level deep)."""
        return Trace((k, dict(v)) for k, v in self.items())


class trace(Messenger):
    """Record the sites of ``fn``. ``with trace() as tr:`` binds a fresh :class:`Trace` per entry;
    ``trace(fn).get_trace(*args)`` runs ``fn`` and returns its trace.

    Sample and deterministic names must be unique (a duplicate raises ``ModelError``). Pyro's
    ``param_only=True`` records only param sites; ``graph_type`` (``"flat"`` or ``"dense"``) is
    accepted and changes nothing.

    >>> import polyro
    >>> with trace() as tr:
    ...     polyro.deterministic("d", 1.0)
    1.0
    >>> list(tr)
    ['d']
    """

    def __init__(self, fn: Callable | None = None, graph_type: str | None = None,
                 param_only: bool | None = None) -> None:
        if graph_type not in (None, "flat", "dense"):
            raise ValueError(f"trace: graph_type must be 'flat' or 'dense' (Pyro's), got "
                             f"{graph_type!r}")
        super().__init__(fn)  # graph_type: Pyro's; polyro's traces are flat records either way
        self.param_only = bool(param_only)

    def enter_frame(self) -> trace:
        frame = super().enter_frame()
        frame._trace = Trace()
        return frame

    def frame_value(self) -> Trace:
        return self._trace

    def postprocess_message(self, msg: Message) -> None:
        name = msg["name"]
        if name is None or msg["type"] not in _RECORDED:
            return
        if self.param_only and msg["type"] != "param":
            return
        tr = self._trace
        if name in tr and msg["type"] != "plate":
            old = tr[name]["type"]
            if not (old == "param" and msg["type"] == "param"):
                raise ModelError(
                    f"site name {name!r} is used twice in one run (as a {old} site and a "
                    f"{msg['type']} site); give every sample/param/deterministic site a unique "
                    "name (e.g. f'{name}_{i}' in a loop, or use polyro.handlers.scope)"
                )
        site = dict(msg)
        site["infer"] = dict(msg["infer"])
        site["kwargs"] = dict(msg["kwargs"])
        tr[name] = site

    def get_trace(self, *args: Any, **kwargs: Any) -> Trace:
        """Run the wrapped function and return its trace.

        >>> import polyro
        >>> list(trace(lambda: polyro.deterministic("d", 1.0)).get_trace())
        ['d']
        """
        if self.fn is None:
            raise TypeError("trace.get_trace needs a function: trace(fn).get_trace(*args)")
        with self as tr:
            self.fn(*args, **kwargs)
        return tr
