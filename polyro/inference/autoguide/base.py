"""``AutoGuide``: the base of every automatic guide (prototype trace, plates, init, helpers).

On its first call an autoguide runs the model once (hidden from the handlers around it, with its
own key and the init strategy) to learn each latent site's shape, support and plates. Its
variational parameters are ``polyro.param`` sites named ``{prefix}_{site}_{what}``, so they live
in the SVI state like any other param.

>>> from polyro.inference.autoguide import AutoNormal
>>> AutoNormal(lambda: None).prefix
'auto'
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import polyro.backends as backends
from polyro.inference.elbo import util as eu

__all__ = ["AutoGuide"]


def _h():
    from polyro import handlers

    return handlers


def _default_init():
    from polyro.core.init_strategies import init_to_median

    return init_to_median


def _is_identity(t: Any) -> bool:
    from polyro.core.distributions.transforms import IdentityTransform

    if isinstance(t, IdentityTransform):
        return True
    base = getattr(t, "base_transform", None)
    return base is not None and isinstance(base, IdentityTransform)


class _Site:
    """What an autoguide remembers about one latent site of the model."""

    __slots__ = ("name", "fn", "value", "frames", "support", "event_dim", "transform",
                 "uvalue", "uevent_dim", "is_discrete", "has_plates", "identity")

    def __init__(self, name: str, site: dict) -> None:
        from polyro.core.distributions import biject_to

        self.name = name
        self.fn = site["fn"]
        self.value = site["value"]
        self.frames = tuple(site.get("cond_indep_stack", ()))
        self.has_plates = any(f.dim is not None for f in self.frames)
        self.identity = False
        self.support = self.fn.support
        self.event_dim = len(getattr(self.fn, "event_shape", ()))
        self.is_discrete = bool(getattr(self.fn, "is_discrete", False))
        if self.is_discrete:
            self.transform = None
            self.uvalue, self.uevent_dim = self.value, self.event_dim
            return
        self.transform = biject_to(self.support)
        self.identity = _is_identity(self.transform)
        self.uvalue = self.transform.inv(self.value)
        nd_c = len(getattr(self.value, "shape", ()))
        nd_u = len(getattr(self.uvalue, "shape", ()))
        self.uevent_dim = self.event_dim + nd_u - nd_c


def quantile_args(quantiles: Any, params: Any) -> tuple[Any, Any]:
    """``(quantiles, params)`` of an autoguide's ``quantiles`` call in either order: polyro's
    and Pyro's ``(quantiles, params)`` or NumPyro's ``(params, quantiles)``.

    >>> quantile_args({"loc": 0.0}, [0.5])
    ([0.5], {'loc': 0.0})
    """
    if isinstance(quantiles, dict) and not isinstance(params, dict):
        quantiles, params = params, quantiles
    if quantiles is None or isinstance(quantiles, dict):
        raise TypeError("quantiles: pass the probabilities and the params, e.g. "
                        "guide.quantiles([0.05, 0.5, 0.95], svi.get_params(state))")
    return quantiles, params


class AutoGuide:
    """Base class of automatic guides.

    Args:
        model: the model the guide approximates the posterior of.
        prefix: name prefix of the guide's param sites.
        init_loc_fn: an init strategy from :mod:`polyro.core.init_strategies` (default
            ``init_to_median``) giving the initial location of each latent site.
        create_plates: optional ``fn(*args, **kwargs) -> plate or list of plates`` giving the
            plates (e.g. with subsampling) the guide should use instead of recreating the model's.

    Subclasses implement ``__call__``, ``median``, ``quantiles``; ``sample_posterior`` is shared.

    >>> AutoGuide(lambda: None, prefix="g").prefix
    'g'
    """

    def __init__(self, model: Callable, *, prefix: str = "auto",
                 init_loc_fn: Callable | None = None, create_plates: Callable | None = None
                 ) -> None:
        self.model = model
        self.prefix = prefix
        self.init_loc_fn = init_loc_fn
        self.create_plates = create_plates
        self.prototype_trace: dict | None = None
        self._sites: dict[str, _Site] = {}
        self._plates: dict[str, Any] = {}

    # ------------------------------------------------------------------ prototype
    def _setup_prototype(self, *args: Any, **kwargs: Any) -> None:
        h = _h()
        import polyro

        try:
            key = polyro.prng_key()
        except Exception:  # noqa: BLE001 - outside seed: a fixed key
            key = backends.current().key(0)
        init_fn = self.init_loc_fn if self.init_loc_fn is not None else _default_init()
        model = h.substitute(h.seed(self.model, rng_seed=key), substitute_fn=init_fn)
        with h.block():
            tr = eu.trace_nodes(h.trace(model).get_trace(*args, **kwargs))
        self.prototype_trace = tr
        self._sites = {}
        self._plates = {}
        for name, site in tr.items():
            if site.get("type") == "plate":
                self._plates[name] = site
            if not eu.is_latent(site):
                continue
            if site.get("infer", {}).get("enumerate"):
                continue  # handled by enumeration, not by the guide
            self._sites[name] = _Site(name, site)
        self._check_sites()

    def _check_sites(self) -> None:
        """Hook for subclasses (e.g. refuse discrete latent sites)."""
        for s in self._sites.values():
            if s.is_discrete:
                raise ValueError(
                    f"{type(self).__name__} cannot guide the discrete latent site {s.name!r} "
                    f"({type(s.fn).__name__}); mark it for enumeration with "
                    "infer={'enumerate': 'parallel'} and use TraceEnum_ELBO, or write a guide "
                    "for it and combine with AutoGuideList"
                )

    def _ensure_setup(self, args: tuple, kwargs: dict) -> None:
        if self.prototype_trace is None:
            self._setup_prototype(*args, **kwargs)

    # ------------------------------------------------------------------ plates
    def _param_name(self, site: str, what: str) -> str:
        return f"{self.prefix}_{site}_{what}"

    def _make_plates(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        """Plates (by name) that the guide enters, mirroring the model's vectorized plates."""
        import polyro

        plates: dict[str, Any] = {}
        if self.create_plates is not None:
            made = self.create_plates(*args, **kwargs)
            made = made if isinstance(made, (list, tuple)) else [made]
            plates = {p.name: p for p in made}
        for s in self._sites.values():
            for f in s.frames:
                if f.dim is None or f.name in plates:
                    continue
                plates[f.name] = polyro.plate(f.name, f.size, subsample_size=f.subsample_size,
                                              dim=f.dim)
        return plates

    @contextlib.contextmanager
    def _enter_plates(self, site: _Site, plates: dict, entered: dict):
        """Enter the site's vectorized plates; yields ``{plate name: subsample indices}``.

        A plate entered again in the same guide call reuses the indices drawn the first time
        (``entered`` carries them), so every site of a subsampled plate sees the same indices.
        """
        import polyro

        with contextlib.ExitStack() as stack:
            idx = {}
            for f in site.frames:
                if f.dim is None:
                    continue
                if f.name in entered:
                    p = polyro.plate(f.name, f.size, subsample=entered[f.name], dim=f.dim)
                else:
                    p = plates[f.name]
                idx[f.name] = stack.enter_context(p)
                entered.setdefault(f.name, idx[f.name])
            yield idx

    @staticmethod
    def _subsample(value: Any, site: _Site, idx: dict, event_dim: int) -> Any:
        """Index a full-size param along the site's subsampled plate dims."""
        xp = backends.namespace(value)
        for f in site.frames:
            if f.dim is None or f.subsample_size == f.size:
                continue
            axis = value.ndim + f.dim - event_dim
            if axis >= 0 and value.shape[axis] == f.size:
                value = xp.take(value, idx[f.name], axis=axis)
        return value

    @staticmethod
    def _full_size(value: Any, site: _Site, event_dim: int) -> Any:
        """Tile an init value from subsample size to the full plate size along plate dims."""
        xp = backends.namespace(value)
        for f in site.frames:
            if f.dim is None or f.subsample_size == f.size:
                continue
            axis = value.ndim + f.dim - event_dim
            if axis < 0:
                continue
            n = value.shape[axis]
            reps = -(-f.size // n)
            value = xp.concat([value] * reps, axis=axis)
            value = xp.take(value, xp.arange(f.size), axis=axis)
        return value

    # ------------------------------------------------------------------ shared API
    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        raise NotImplementedError

    def _get_params(self, params: dict | None) -> dict:
        if params is not None:
            return params
        from polyro.core.param_store import get_param_store

        store = get_param_store()
        return {k: store[k] for k in store.keys() if k.startswith(self.prefix + "_")}

    def sample_posterior(self, rng_key: Any, params: dict | None = None, *args: Any,
                         sample_shape: tuple = (), **kwargs: Any) -> dict:
        """Draws of the model's latent sites from the guide at ``params`` (constrained values,
        e.g. ``svi.get_params(state)``; default: the param store), with a leading
        ``sample_shape``."""
        from polyro.inference.predictive import Predictive

        params = self._get_params(params)
        names = list(self._sites) if self._sites else None
        n = 1
        for s in sample_shape:
            n *= int(s)
        if not sample_shape:
            h = _h()
            tr = eu.trace_nodes(h.trace(h.seed(h.substitute(self, data=params),
                                               rng_seed=rng_key)).get_trace(*args, **kwargs))
            return {k: tr[k]["value"] for k in (names or tr) if k in tr and
                    tr[k]["type"] == "sample"}
        pred = Predictive(self, num_samples=n, params=params, return_sites=names)
        out = pred(rng_key, *args, **kwargs)
        xp = backends.current().xp
        return {k: xp.reshape(v, tuple(sample_shape) + tuple(v.shape[1:]))
                for k, v in out.items()}

    def median(self, params: dict | None = None) -> dict:
        """Posterior median of each latent site (constrained)."""
        raise NotImplementedError

    def quantiles(self, quantiles: Any, params: dict | None = None) -> dict:
        """Posterior quantiles of each latent site: ``{site: array (len(quantiles), ...)}``.
        NumPyro's argument order, ``quantiles(params, quantiles)``, works too."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"
