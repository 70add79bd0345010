"""Log densities of models, the unconstrained view of their latent sites, and model checks.

These are the functions MCMC and autoguides build on:

* :func:`log_density` -- ``(log_joint, trace)`` of a model at given values;
* :func:`potential_energy` -- minus the log joint of *unconstrained* latent values (with the
  log-Jacobians of the ``biject_to`` transforms);
* :func:`transform_fn`, :func:`constrain_fn`, :func:`unconstrain_fn`;
* :func:`initialize_model` -- valid initial unconstrained values, ``potential_fn`` and
  ``postprocess_fn``;
* :func:`validate_model` / :func:`check_observations` -- data outside the support or NaN,
  checked once before inference, naming the site and the first bad index.

>>> import polyro, polyro.distributions as dist
>>> def model():
...     polyro.sample("x", dist.Normal(0.0, 1.0))
>>> lj, tr = log_density(model, (), {}, {"x": 0.0})
>>> round(float(lj), 6)
-0.918939
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from polyro.backends import backend_of, current
from polyro.core.distributions.util import concrete_check
from polyro.core.distributions.validation import trusted_values
from polyro.core.handlers import enum, seed, substitute, trace
from polyro.core.handlers.enum import first_support_value, is_enumerated
from polyro.core.handlers.trace import Trace, scale_and_mask, site_log_density
from polyro.core.init_strategies import init_to_uniform
from polyro.core.runtime import Messenger, MissingKeyError
from polyro.errors import InitializationError, ModelError

__all__ = [
    "ModelInfo",
    "check_observations",
    "constrain_fn",
    "initialize_model",
    "latent_sites",
    "log_density",
    "potential_energy",
    "transform_fn",
    "unconstrain_fn",
    "validate_model",
]


def _biject_to(c: Any) -> Any:
    from polyro.core.distributions import biject_to

    return biject_to(c)


def log_density(
    model: Callable,
    model_args: tuple = (),
    model_kwargs: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[Any, Trace]:
    """``(log_joint, trace)``: the summed (scaled, masked) log density of every sample site of
    ``model`` with the sites in ``params`` substituted (constrained values).

    >>> import polyro, polyro.distributions as dist
    >>> lj, _ = log_density(lambda: polyro.sample("x", dist.Normal(0.0, 1.0)), params={"x": 1.0})
    >>> round(float(lj), 6)
    -1.418939
    """
    model_kwargs = dict(model_kwargs or {})
    fn = substitute(model, data=dict(params)) if params else model
    with _EnumProbe() as found:
        tr = trace(fn).get_trace(*model_args, **model_kwargs)
    if found:  # enumerated discrete sites: sum them out exactly
        from polyro.inference.enum.api import enum_log_joint, guess_max_plate_nesting

        return enum_log_joint(fn, model_args, model_kwargs, guess_max_plate_nesting(tr))
    total = tr.log_prob_sum()
    if isinstance(total, float):
        total = current().asarray(total, dtype=current().float_dtype())
    return total, tr


class _EnumProbe(Messenger):
    """Give enumerated sites without a value a placeholder (their first support point) and
    record their names, so a first plain run can tell whether a model needs enumeration."""

    def enter_frame(self) -> _EnumProbe:
        frame = super().enter_frame()
        frame._found = []
        return frame

    def frame_value(self) -> list:
        return self._found

    def _pyro_sample(self, msg: Any) -> None:
        if msg["value"] is None and is_enumerated(msg):
            if not getattr(msg["fn"], "has_enumerate_support", False):
                raise ModelError(
                    f"sample site {msg['name']!r} is marked infer={{'enumerate': 'parallel'}} "
                    f"but its distribution {type(msg['fn']).__name__} has no finite support to "
                    "enumerate (has_enumerate_support is False); remove the mark or use a "
                    "finite discrete distribution."
                )
            msg["value"] = first_support_value(msg)
            self._found.append(msg["name"])


def _enum_nesting(tr: Trace) -> int:
    """max_plate_nesting for a model with enumerated latent sites, or -1 when it has none."""
    if not any(is_enumerated(s) for s in tr.values()):
        return -1
    from polyro.inference.enum.api import guess_max_plate_nesting

    return guess_max_plate_nesting(tr)


def transform_fn(
    transforms: Mapping[str, Any], params: Mapping[str, Any], invert: bool = False
) -> dict[str, Any]:
    """Apply ``transforms[name]`` (or its inverse) to ``params[name]``; other entries unchanged.

    >>> import numpy as np
    >>> from polyro.core.distributions import biject_to, constraints
    >>> out = transform_fn({"s": biject_to(constraints.positive)}, {"s": np.array(0.0)})
    >>> float(out["s"])
    1.0
    """
    out = {}
    for k, v in params.items():
        if k in transforms:
            t = transforms[k]
            out[k] = t.inv(v) if invert else t(v)
        else:
            out[k] = v
    return out


def _site_transform(site: Any) -> Any:
    if site["type"] == "param":
        return _biject_to(site["kwargs"]["constraint"])
    return _biject_to(site["fn"].support)


def constrain_fn(
    model: Callable,
    model_args: tuple = (),
    model_kwargs: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    return_deterministic: bool = False,
) -> dict[str, Any]:
    """Map unconstrained values of latent sample (and param) sites to constrained values by
    running the model; with ``return_deterministic`` also return deterministic sites.

    >>> import polyro, polyro.distributions as dist
    >>> model = lambda: polyro.sample("s", dist.LogNormal(0.0, 1.0))
    >>> float(constrain_fn(model, params={"s": 0.0})["s"])
    1.0
    """
    params = dict(params or {})

    def sub(site: Any) -> Any:
        if site["name"] in params and site["type"] in ("sample", "param"):
            return _site_transform(site)(params[site["name"]])
        return None

    tr = trace(substitute(model, substitute_fn=sub)).get_trace(
        *model_args, **dict(model_kwargs or {})
    )
    return {
        k: s["value"]
        for k, s in tr.items()
        if k in params or (return_deterministic and s["type"] == "deterministic")
    }


def unconstrain_fn(
    model: Callable,
    model_args: tuple = (),
    model_kwargs: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Map constrained values of latent sample (and param) sites to unconstrained space.

    >>> import numpy as np, polyro, polyro.distributions as dist
    >>> model = lambda: polyro.sample("s", dist.LogNormal(0.0, 1.0))
    >>> float(unconstrain_fn(model, params={"s": np.e})["s"])
    1.0
    """
    params = dict(params or {})
    tr = trace(substitute(model, data=params)).get_trace(*model_args, **dict(model_kwargs or {}))
    return {k: _site_transform(tr[k]).inv(v) if k in tr else v for k, v in params.items()}


def potential_energy(
    model: Callable,
    model_args: tuple = (),
    model_kwargs: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Minus the log joint at *unconstrained* latent values ``params``, including the
    log-Jacobian of ``biject_to(support)`` at every transformed site (scaled like the site).

    >>> import polyro, polyro.distributions as dist
    >>> model = lambda: polyro.sample("s", dist.LogNormal(0.0, 1.0))
    >>> round(float(potential_energy(model, (), {}, {"s": 0.0})), 6)  # -(log N(0;0,1))
    0.918939
    """
    return _potential(model, model_args, model_kwargs, params, None)


def _same_constraint(a: Any, b: Any) -> bool:
    """Whether constraints ``a`` and ``b`` are the same set, judged cheaply and conservatively:
    the same object, or the same type with equal plain attributes (ints, floats, bools, strings,
    nested constraints). Constraints holding arrays (e.g. an ``interval`` with array bounds) are
    only equal when identical."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    da, db = getattr(a, "__dict__", None), getattr(b, "__dict__", None)
    if da is None or db is None or da.keys() != db.keys():
        return False
    for k, va in da.items():
        vb = db[k]
        if va is vb:
            continue
        if type(va) is not type(vb):
            return False
        if isinstance(va, (bool, int, float, str)):
            if va != vb:
                return False
        elif not (hasattr(va, "check") and _same_constraint(va, vb)):
            return False
    return True


def _is_identity(t: Any) -> bool:
    from polyro.core.distributions.transforms import IdentityTransform, IndependentTransform

    while isinstance(t, IndependentTransform):
        t = t.base_transform
    return isinstance(t, IdentityTransform)


class _SiteTransforms:
    """``biject_to(support)`` per site name, computed once and reused while the site's support
    stays the same (the hot loop of a sampler sees the same supports at every call)."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Any, Any, bool]] = {}

    def get(self, name: str, support: Any) -> tuple[Any, bool]:
        entry = self._cache.get(name)
        if entry is None or not _same_constraint(entry[0], support):
            t = _biject_to(support)
            entry = (support, t, _is_identity(t))
            self._cache[name] = entry
        return entry[1], entry[2]


class _LogJoint(Messenger):
    """The potential's lean handler: substitute ``biject_to(support)(u)`` at the latent sample
    sites named in ``params`` and add up, as the sites complete, their scaled and masked log
    densities and the log-Jacobians -- what ``trace(substitute(model)).log_prob_sum()`` plus the
    Jacobian terms compute, without building a trace. For models without enumerated sites,
    whose site names were checked by a traced run before."""

    def __init__(self, params: Mapping[str, Any], transforms: _SiteTransforms) -> None:
        super().__init__(None)
        self.params = params
        self.transforms = transforms

    def enter_frame(self) -> _LogJoint:
        frame = super().enter_frame()
        frame._lps = []
        frame._jacs = []
        return frame

    def frame_value(self) -> tuple[list, list]:
        return self._lps, self._jacs

    def process_message(self, msg: Any) -> None:
        if msg["type"] != "sample" or msg["is_observed"]:
            return
        u = self.params.get(msg["name"])
        if u is None:
            return
        t, identity = self.transforms.get(msg["name"], msg["fn"].support)
        if identity:  # log-Jacobian 0
            msg["value"] = u
            return
        x = t(u)
        ladj = t.log_abs_det_jacobian(u, x)
        if msg["scale"] is not None:
            ladj = ladj * msg["scale"]
        self._jacs.append(ladj)
        msg["value"] = x

    def postprocess_message(self, msg: Any) -> None:
        if msg["type"] == "sample":
            lp = site_log_density(msg)
            self._lps.append(scale_and_mask(lp, msg["scale"], msg["mask"]))


def _lean_potential(model: Callable, model_args: tuple, model_kwargs: Mapping[str, Any],
                    params: Mapping[str, Any], transforms: _SiteTransforms) -> Any:
    """:func:`_potential` for a model without enumerated sites, through :class:`_LogJoint`
    (the same sums in the same order)."""
    with _LogJoint(params, transforms) as (lps, jacs):
        model(*model_args, **model_kwargs)
    total: Any = 0.0
    for lp in lps:
        total = total + backend_of(lp).xp.sum(lp)
    for j in jacs:
        total = total + backend_of(j).xp.sum(j)
    if isinstance(total, float):
        total = current().asarray(total, dtype=current().float_dtype())
    return -total


#: A potential is handed to the backend's ``record_fn`` (where it has one) after this many calls
#: with the same latent names (and, if refused, again after 4x and 16x as many: early warmup may
#: sit where the potential is not finite); 0 switches recording off.
RECORD_AFTER = 16
_RECORD_TRIES = 3


class _RecordedPotential:
    """``u (dict) -> potential`` that, once its calls look like a sampler's hot loop, asks the
    backend to record it (``be.record_fn``, an optional capability: torch traces the tensor
    operations of one call). The backend verifies the recording against the function and returns
    ``None`` when it is unsafe (shapes that vary, branches on values, ...); then, and for any
    call it does not cover, the potential runs as written."""

    def __init__(self, eager: Callable[[dict], Any], be: Any) -> None:
        self._eager = eager
        self._record = getattr(be, "record_fn", None)
        self._names: tuple | None = None
        self._calls = 0
        self._next = RECORD_AFTER
        self._tries = 0
        self._fn: Callable | None = None
        self._off = self._record is None or RECORD_AFTER <= 0

    def _flat(self, *arrays: Any) -> Any:
        return self._eager(dict(zip(self._names, arrays, strict=True)))

    def __call__(self, u: Mapping[str, Any]) -> Any:
        if self._off:
            return self._eager(u)
        names = tuple(u)
        if self._fn is not None:
            if names == self._names:
                return self._fn(*[u[n] for n in names])
            return self._eager(u)
        if names != self._names:
            self._names, self._calls = names, 0
        self._calls += 1
        if self._calls >= self._next and names:
            self._tries += 1
            self._next *= 4
            self._off = self._tries >= _RECORD_TRIES
            fn = self._record(self._flat, [u[n] for n in names])
            if fn is not None:
                self._fn, self._off = fn, False
                return fn(*[u[n] for n in names])
        return self._eager(u)


def _potential(model: Callable, model_args: tuple, model_kwargs: Mapping[str, Any] | None,
               params: Mapping[str, Any] | None, max_plate_nesting: int | None) -> Any:
    """:func:`potential_energy`; ``max_plate_nesting`` -1: no enumeration, ``None``: find out
    with a probe run, ``n >= 0``: sum the enumerated sites out with ``n`` plate dims."""
    params = dict(params or {})
    jacobians: list[Any] = []

    def sub(site: Any) -> Any:
        name = site["name"]
        if name not in params or site["type"] != "sample":
            return None
        t = _biject_to(site["fn"].support)
        u = params[name]
        x = t(u)
        ladj = t.log_abs_det_jacobian(u, x)
        if site["scale"] is not None:
            ladj = ladj * site["scale"]
        jacobians.append(ladj)
        return x

    fn = substitute(model, substitute_fn=sub)
    model_kwargs = dict(model_kwargs or {})
    if max_plate_nesting is None:
        with _EnumProbe() as found:
            tr = trace(fn).get_trace(*model_args, **model_kwargs)
        if found:
            from polyro.inference.enum.api import guess_max_plate_nesting

            max_plate_nesting = guess_max_plate_nesting(tr)
            jacobians.clear()
        else:
            max_plate_nesting = -1
            total = tr.log_prob_sum()
    elif max_plate_nesting < 0:
        total = trace(fn).get_trace(*model_args, **model_kwargs).log_prob_sum()
    if max_plate_nesting >= 0:
        from polyro.inference.enum.api import enum_log_joint

        total = enum_log_joint(fn, model_args, model_kwargs, max_plate_nesting)[0]
    for j in jacobians:
        total = total + backend_of(j).xp.sum(j)
    if isinstance(total, float):
        total = current().asarray(total, dtype=current().float_dtype())
    return -total


# ------------------------------------------------------------------------------------------
# model checks
# ------------------------------------------------------------------------------------------


def _concrete(x: Any) -> np.ndarray | None:
    try:
        return np.asarray(backend_of(x).to_numpy(x))
    except Exception:  # traced values (inside jit) cannot be inspected
        return None


def check_observations(tr: Mapping[str, Any]) -> None:
    """Raise :class:`ModelError` for an observed value that is NaN or outside its support,
    naming the site, the support and the first bad index (masked-out entries are ignored).

    >>> import numpy as np, polyro, polyro.distributions as dist
    >>> tr = trace(lambda: polyro.sample("y", dist.LogNormal(0.0, 1.0), obs=np.array([1.0, -2.0]))
    ...           ).get_trace()
    >>> try:
    ...     check_observations(tr)
    ... except ModelError as e:
    ...     print("index (1,)" in str(e))
    True
    """
    for name, site in tr.items():
        if site["type"] != "sample" or not site["is_observed"]:
            continue
        if site["infer"].get("is_auxiliary"):
            continue
        value = _concrete(site["value"])
        if value is None:
            continue
        fn = site["fn"]
        ne = len(getattr(fn, "event_shape", ()))
        support = fn.support
        try:
            be = backend_of(site["value"])
            ok = concrete_check(support, site["value"] if be.is_array(site["value"])
                                else be.asarray(site["value"]))[0]
        except NotImplementedError:
            ok = None
        nan = np.isnan(value) if value.dtype.kind in "fc" else np.zeros(value.shape, bool)
        if ne:
            nan = nan.reshape(nan.shape[: nan.ndim - ne] + (-1,)).any(-1)
        bad = nan if ok is None else (~np.broadcast_to(ok, np.broadcast_shapes(ok.shape,
                                                                               nan.shape)) | nan)
        m = site["mask"]
        if m is not None:
            mm = _concrete(m) if not isinstance(m, bool) else np.asarray(m)
            if mm is not None:
                bad = bad & np.broadcast_to(mm, np.broadcast_shapes(mm.shape, bad.shape))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            full = value[idx] if value.ndim >= len(idx) and idx else value
            what = "NaN" if np.isnan(np.asarray(full, dtype=float)).any() else "outside"
            raise ModelError(
                f"observed site {name!r}: value {np.asarray(full).tolist()} at index {idx} is "
                f"{'NaN' if what == 'NaN' else 'outside the support ' + repr(support)} "
                f"({int(bad.sum())} bad entries in data of shape {value.shape}); fix the data "
                "or mask the entries (obs_mask= or polyro.handlers.mask)"
            )


def validate_model(model: Callable, *args: Any, rng_seed: int = 0, **kwargs: Any) -> Trace:
    """Run ``model`` once (seeded) and check its observations; returns the trace.

    >>> import polyro, polyro.distributions as dist
    >>> tr = validate_model(lambda: polyro.sample("y", dist.Normal(0.0, 1.0), obs=0.5))
    >>> tr.observation_nodes
    ['y']
    """
    tr = trace(seed(model, rng_seed=rng_seed)).get_trace(*args, **kwargs)
    check_observations(tr)
    return tr


def latent_sites(tr: Mapping[str, Any]) -> list[str]:
    """Names of the continuous latent sample sites of a trace (those MCMC/autoguides transform);
    discrete latents marked for enumeration are skipped; other discrete latents raise.

    >>> latent_sites(Trace())
    []
    """
    out = []
    for name, site in tr.items():
        if site["type"] != "sample" or site["is_observed"]:
            continue
        fn = site["fn"]
        if getattr(fn, "is_discrete", False):
            if site["infer"].get("enumerate"):
                continue
            raise ModelError(
                f"latent site {name!r} is discrete ({type(fn).__name__}); gradient-based "
                "inference needs continuous latents: mark it infer={'enumerate': 'parallel'} "
                "or marginalize it out"
            )
        out.append(name)
    return out


class ModelInfo(NamedTuple):
    """What :func:`initialize_model` returns.

    * ``init_params``: dict of unconstrained initial values of the latent sites;
    * ``potential_fn``: unconstrained dict -> potential energy (minus log joint + Jacobians);
    * ``postprocess_fn``: unconstrained dict -> constrained dict (latent and deterministic sites);
    * ``model_trace``: the trace of the model at the initial point (constrained values).
    """

    init_params: dict
    potential_fn: Callable[[dict], Any]
    postprocess_fn: Callable[[dict], dict]
    model_trace: Trace


def _finite(x: Any) -> bool:
    a = _concrete(x)
    return a is not None and bool(np.all(np.isfinite(a)))


def initialize_model(
    key: Any,
    model: Callable,
    model_args: tuple = (),
    model_kwargs: Mapping[str, Any] | None = None,
    init_strategy: Callable = init_to_uniform,
    max_tries: int = 100,
    validate: bool = True,
) -> ModelInfo:
    """Find a valid unconstrained starting point of ``model`` (potential and, where the backend
    has autodiff, its gradient finite), trying ``init_strategy`` up to ``max_tries`` times.

    ``key`` is a PRNG key or an int seed. Observations are checked once first (NaN / outside
    the support raise :class:`ModelError` naming the site and index). Failure raises
    :class:`InitializationError` listing the sites with non-finite terms.

    >>> import polyro, polyro.distributions as dist
    >>> def model():
    ...     s = polyro.sample("s", dist.LogNormal(0.0, 1.0))
    ...     polyro.sample("y", dist.Normal(0.0, s), obs=1.0)
    >>> info = initialize_model(0, model)
    >>> sorted(info.init_params), sorted(info.postprocess_fn(info.init_params))
    (['s'], ['s'])
    """
    model_kwargs = dict(model_kwargs or {})
    be = current()
    if isinstance(key, int):
        key = be.key(key)
    kbe = backend_of(key)
    def init_fn(site: Any) -> Any:
        # enumerated discrete sites keep their seeded draw; they are summed out, not moved
        return None if is_enumerated(site) else init_strategy(site)

    # the prototype run goes through the init strategy too: improper priors (ImproperUniform)
    # have no sampler
    proto = trace(substitute(seed(model, rng_seed=kbe.fold_in(key, 0x5EED)),
                             substitute_fn=init_fn)).get_trace(*model_args, **model_kwargs)
    if validate:
        check_observations(proto)
    names = latent_sites(proto)
    mpn = _enum_nesting(proto)

    site_transforms = _SiteTransforms()

    def eager_potential(u: Mapping[str, Any]) -> Any:
        # model and data were validated once above; in a sampler's hot loop the checks would
        # only cost time (on engines without jit they would run at every leapfrog step)
        with trusted_values():
            if mpn < 0:  # no enumerated sites: the lean handler, no trace
                return _lean_potential(model, model_args, model_kwargs, u, site_transforms)
            return _potential(model, model_args, model_kwargs, u, mpn)

    if mpn < 0 and not be.SUPPORTS_JIT:  # engines that compile do it themselves
        recorded = _RecordedPotential(eager_potential, be)

        def potential_fn(u: dict) -> Any:
            return recorded(u)
    else:
        potential_fn = eager_potential

    post_model = model if mpn < 0 else enum(model, first_available_dim=-mpn - 1)

    def postprocess_fn(u: dict) -> dict:
        return constrain_fn(post_model, model_args, model_kwargs, u, return_deterministic=True)

    last_problem = ""
    for attempt in range(max_tries):
        k = kbe.fold_in(key, attempt)
        tr = trace(substitute(seed(model, rng_seed=k), substitute_fn=init_fn)).get_trace(
            *model_args, **model_kwargs
        )
        init = {n: _site_transform(tr[n]).inv(tr[n]["value"]) for n in names}
        bad = [n for n, v in init.items() if not _finite(v)]
        if not bad:
            try:
                if be.SUPPORTS_AUTODIFF and init:
                    pe, grads = _checked_value_and_grad(be, potential_fn, init)
                    bad = [n for n in names if not _finite(grads[n])]
                    if not _finite(pe):
                        bad = bad or ["(potential)"]
                else:
                    pe = potential_fn(init)
                    if not _finite(pe):
                        bad = ["(potential)"]
            except MissingKeyError as err:  # e.g. a plate that draws a random subsample
                raise ValueError(
                    f"{err} MCMC evaluates the model's potential with no random key: it must "
                    "be a deterministic function of the latents (a random subsample would "
                    "change at every evaluation). For MCMC remove subsample_size (keep it for "
                    "SVI), or fix the subsample with subsample= indices.") from err
        if not bad:
            return ModelInfo(init, potential_fn, postprocess_fn, tr)
        # the sites to name: those whose own log density is not finite, computed only now (on
        # an engine that compiles, each operation run eagerly here compiles separately)
        bad = _nonfinite_sites(tr, init) or bad
        last_problem = ", ".join(bad)
    raise InitializationError(
        f"no valid initial point in {max_tries} attempts: the log density or its gradient is "
        f"not finite at site(s) {last_problem}. Try init_strategy=init_to_median() or "
        "init_to_value(values=...), check the priors' supports, or rescale the data."
    )


def _checked_value_and_grad(be: Any, potential_fn: Callable, init: dict) -> tuple[Any, Any]:
    """The potential and its gradient at ``init``, compiled as one program where the backend
    compiles (run eagerly, JAX would compile each of the model's operations separately: seconds
    for a small model). A model that cannot be compiled (Python control flow on values) is
    evaluated eagerly; its own errors surface from that eager call."""
    vg = be.value_and_grad(potential_fn)
    if be.SUPPORTS_JIT:
        try:
            return be.jit(vg)(init)
        except Exception:  # noqa: BLE001 - not compilable: the eager call below decides
            pass
    return vg(init)


def _nonfinite_sites(tr: Trace, init: Mapping[str, Any]) -> list[str]:
    bad = [n for n, v in init.items() if not _finite(v)]
    tr.compute_log_prob()
    for name, site in tr.items():
        if site["type"] == "sample" and not _finite(backend_of(site["log_prob"]).xp.sum(
                site["log_prob"])):
            bad.append(name)
    return bad



