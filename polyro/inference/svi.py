"""Stochastic variational inference, written functionally once and run on torch and JAX.

``svi.init(key, *args) -> SVIState``; ``svi.update(state, *args) -> (state, loss)``;
``svi.evaluate(state, *args)``; ``svi.get_params(state)`` (constrained values);
``svi.run(key, num_steps, *args)`` -> :class:`SVIRunResult`. On a backend with
``SUPPORTS_JIT`` the update is compiled whole (``be.jit``) and ``run`` executes chunks of steps
inside one compiled ``be.scan``. ``svi.step(*args)`` is the familiar stateful Pyro form, and
``svi.save(path, state)`` / ``svi.load(path)`` store a state to a file so a run continues exactly.

Parameters live in the state (unconstrained) and reach the model and guide through
``handlers.substitute``.

>>> import polyro
>>> from polyro.inference import SVI, Trace_ELBO
>>> from polyro.optim import Adam
>>> def model():
...     polyro.sample("x", polyro.distributions.Normal(0.0, 1.0))
>>> def guide():
...     polyro.sample("x", polyro.distributions.Normal(polyro.param("m", 0.0), 1.0))
>>> svi = SVI(model, guide, Adam(0.1), Trace_ELBO())
>>> try:                      # the numpy backend has no gradients
...     svi.init(0)
... except polyro.errors.AutodiffUnavailableError as e:
...     print("torch" in str(e) and "jax" in str(e))
True
"""

from __future__ import annotations

import contextlib
import math
import pickle
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import polyro.backends as backends
from polyro.core.density import check_observations
from polyro.core.distributions.validation import is_validation_enabled, trusted_values
from polyro.core.primitives import write_back_networks
from polyro.errors import AutodiffUnavailableError, PolyroError
from polyro.inference.elbo import util as eu
from polyro.inference.recording import TreeStepRecording

__all__ = ["SVI", "SVIState", "SVIRunResult", "NonFiniteLossError"]


class SVIState(NamedTuple):
    """Inference state: optimizer state (unconstrained params inside), the PRNG key, and the
    loss's own mutable state (e.g. TraceGraph_ELBO baselines; ``{}`` for most losses).

    >>> SVIState(None, None, {}).loss_state
    {}
    """

    optim_state: Any
    rng_key: Any
    loss_state: Any


class SVIRunResult(NamedTuple):
    """What :meth:`SVI.run` returns: constrained ``params``, the final ``state`` and ``losses``
    (one per step, an array of the backend).

    >>> SVIRunResult({}, None, []).params
    {}
    """

    params: dict
    state: SVIState
    losses: Any


class NonFiniteLossError(PolyroError, FloatingPointError):
    """SVI met a NaN/inf loss. ``step`` is the failing step (0-based), ``sites`` the sites whose
    log density was non-finite, ``last_state`` the last state with a finite loss, and
    ``losses`` the finite losses collected before it.

    >>> e = NonFiniteLossError("boom", step=3, sites=["x"], last_state=None, losses=[])
    >>> e.step, e.sites
    (3, ['x'])
    """

    def __init__(self, msg: str, *, step: int, sites: list, last_state: Any, losses: Any) -> None:
        super().__init__(msg)
        self.step, self.sites, self.last_state, self.losses = step, sites, last_state, losses


class _CheckedInputs:
    """The model inputs (``args``, ``kwargs``) that a validated run has already checked, held by
    identity (the few most recent ones; arrays by weak reference, so none is kept alive)."""

    def __init__(self, keep: int = 8) -> None:
        self._keep = keep
        self._items: list[tuple[tuple, tuple]] = []

    @staticmethod
    def _ref(x: Any) -> Any:
        try:
            return weakref.ref(x)
        except TypeError:  # Python numbers, tuples, ...: held as they are
            return lambda: x

    def contains(self, args: tuple, kwargs: dict) -> bool:
        values = (*args, *kwargs.values())
        names = tuple(kwargs)
        for refs, keys in self._items:
            if keys == (len(args), names) and len(refs) == len(values) and all(
                    r() is v for r, v in zip(refs, values, strict=True)):
                return True
        return False

    def add(self, args: tuple, kwargs: dict) -> None:
        if not self.contains(args, kwargs):
            refs = tuple(self._ref(v) for v in (*args, *kwargs.values()))
            self._items.append((refs, (len(args), tuple(kwargs))))
            del self._items[:-self._keep]


def _require_autodiff(be: Any) -> None:
    if not be.SUPPORTS_AUTODIFF:
        raise AutodiffUnavailableError(
            f"SVI needs gradients, which the {be.NAME!r} backend cannot compute; select a "
            "backend with autodiff: polyro.set_backend('torch') or polyro.set_backend('jax')"
        )


#: argument values kept out of tracing: a Python int, bool or str is a size, a flag or a
#: name (``plate("data", n)``), which a traced value cannot be
_STATIC_TYPES = (bool, int, str, type(None))


def _split_static(args: tuple, kwargs: dict) -> tuple[tuple, dict, tuple]:
    """``(args, kwargs)`` with each top-level Python int/bool/str/None replaced by ``None``,
    and the hashable record of those values (``(("a", 1, 20), ("k", "flag", True))``)."""
    static = tuple(("a", i, v) for i, v in enumerate(args) if type(v) in _STATIC_TYPES)
    static += tuple(("k", k, v) for k, v in sorted(kwargs.items())
                    if type(v) in _STATIC_TYPES)
    if not static:
        return args, kwargs, ()
    pos = {i for kind, i, _ in static if kind == "a"}
    dyn_args = tuple(None if i in pos else v for i, v in enumerate(args))
    dyn_kwargs = {k: v for k, v in kwargs.items() if type(v) not in _STATIC_TYPES}
    return dyn_args, dyn_kwargs, static


def _merge_static(args: tuple, kwargs: dict, static: tuple) -> tuple[tuple, dict]:
    """Undo :func:`_split_static`.

    >>> _merge_static(*_split_static((1.5, 20), {"flag": True}))
    ((1.5, 20), {'flag': True})
    """
    if not static:
        return args, kwargs
    args, kwargs = list(args), dict(kwargs)
    for kind, k, v in static:
        if kind == "a":
            args[k] = v
        else:
            kwargs[k] = v
    return tuple(args), kwargs


def _jit_with_static_scalars(be: Any, fn: Callable, extra_static: int = 0) -> Callable:
    """``be.jit`` of ``fn(state, args, kwargs, *extra)`` where the model's Python int, bool
    and str arguments (sizes, flags) are compile-time constants, as they are on an eager engine,
    instead of traced values (a new value compiles a new program); the ``extra`` trailing
    arguments are static too. Arrays and floats stay traced."""
    def inner(state: Any, args: tuple, kwargs: dict, static: tuple, *extra: Any) -> Any:
        args, kwargs = _merge_static(args, kwargs, static)
        return fn(state, args, kwargs, *extra)

    jitted = be.jit(inner, static_argnums=tuple(range(3, 4 + extra_static)))
    seen: set = set()

    def call(state: Any, args: tuple, kwargs: dict, *extra: Any) -> Any:
        dyn_args, dyn_kwargs, static = _split_static(args, kwargs)
        if static and static not in seen:
            seen.add(static)
            if len(seen) == _MANY_STATIC:
                _warn_many_static(seen)
        return jitted(state, dyn_args, dyn_kwargs, static, *extra)

    return call


#: distinct values of the static arguments after which :func:`_warn_many_static` warns
_MANY_STATIC = 16


def _warn_many_static(seen: set) -> None:
    """Warn that the static Python arguments keep changing (each new value compiles anew),
    naming the arguments that took several values."""
    import warnings

    values: dict = {}
    for static in seen:
        for kind, k, v in static:
            values.setdefault(("argument" if kind == "a" else "keyword") + f" {k!r}", set()).add(
                repr(v))
    changing = sorted(k for k, vs in values.items() if len(vs) > 1)
    warnings.warn(
        f"SVI: the model's Python int/bool/str {', '.join(changing)} took {len(seen)} different "
        "values; each new value compiles the step again (they are compile-time constants, as a "
        "size must be). Pass a value that changes every step as an array "
        "(polyro.backends.current().asarray(v)) to trace it instead.",
        stacklevel=4,
    )


class SVI:
    """Stochastic variational inference.

    Args:
        model: the model (a Python callable using ``polyro.sample``/``param``/``plate``).
        guide: the variational family (a callable, e.g. an autoguide).
        optim: a polyro optimizer (``polyro.optim.Adam(1e-3)``) or ``from_native(...)``.
        loss: an ELBO (``Trace_ELBO()``, ...).
        **static_kwargs: keyword arguments given to model and guide at every call, fixed (not
            traced under ``jit``): sizes, flags.

    >>> svi = SVI(lambda: None, lambda: None, None, None)
    >>> svi.rng_seed
    0
    """

    def __init__(self, model: Callable, guide: Callable, optim: Any, loss: Any,
                 **static_kwargs: Any) -> None:
        self.model, self.guide, self.optim, self.loss = model, guide, optim, loss
        self.static_kwargs = static_kwargs
        self.constrain_fn: Callable[[dict], dict] | None = None
        self._transforms: dict[str, Any] = {}
        self._constraints: dict[str, Any] = {}
        self._compiled: dict[tuple, Any] = {}
        self.rng_seed = 0
        self.state: SVIState | None = None
        # steps on inputs that a validated run has checked run under trusted_values (see init)
        self._trust = False
        self._checked = _CheckedInputs()

    # ------------------------------------------------------------------ functional core
    def init(self, rng_key: Any, *args: Any, init_params: dict | None = None,
             **kwargs: Any) -> SVIState:
        """Run guide and model once, collect their params, and build the initial state.

        ``init_params`` (constrained values by site name) overrides initial parameter values.
        """
        be = backends.current()
        _require_autodiff(be)
        kw = {**self.static_kwargs, **kwargs}
        key = backends.as_key(rng_key, be)
        keys = be.split(key, 3)
        rng_key, k_init = keys[0], keys[1]
        params, transforms, self._constraints, traces = eu.collect_params(
            k_init, self.model, self.guide, args, kw, init_params,
            enumerated=getattr(self.loss, "enumerates", False))
        eu.validate_model_guide(*traces)
        if is_validation_enabled():  # data outside a support (a NaN): a ModelError now, as
            check_observations(traces[0])  # MCMC gives, not a NaN loss at some later step
        # Eager engines re-run every check at every step. The data of these inputs were just
        # checked, the guide's params are constrained by biject_to and its draws lie in the
        # model's supports (checked here): steps on the same input objects then run under
        # trusted_values, as a sampler's potential does. New inputs are validated at their first
        # step. (Compiling engines skip the checks inside compiled code anyway.)
        self._trust = (not be.SUPPORTS_JIT and is_validation_enabled()
                       and not eu.support_mismatches(*traces))
        self._checked = _CheckedInputs()
        if self._trust:
            self._checked.add(args, kw)
        self._transforms = transforms
        self.constrain_fn = lambda up: eu.constrain_params(up, self._transforms)
        # one compiled call on an engine that compiles (not one small compile per operation
        # of every inverse transform); the identity elsewhere
        mapped = {k: v for k, v in params.items() if transforms.get(k) is not None}
        uparams = {**params, **be.jit(lambda p: eu.unconstrain_params(p, transforms))(mapped)}
        optim_state = self.optim.init(uparams)
        loss_state = {}
        if hasattr(self.loss, "init_state"):
            loss_state = self.loss.init_state(keys[2], params, self.model, self.guide, *args, **kw)
        return SVIState(optim_state, rng_key, loss_state)

    def get_params(self, state: SVIState) -> dict:
        """Constrained parameter values held by ``state`` (a dict by site name, in sorted
        order on every engine, as JAX orders a dict)."""
        if self.constrain_fn is None:
            raise RuntimeError("call svi.init(...) (or run/step) before get_params")
        params = self.constrain_fn(self.optim.get_params(state.optim_state))
        return {k: params[k] for k in sorted(params)}

    @staticmethod
    def _checks(trusted: bool) -> Any:
        """The block a loss runs in: ``trusted_values()`` on inputs already checked."""
        return trusted_values() if trusted else contextlib.nullcontext()

    def _update_impl(self, state: SVIState, args: tuple, kwargs: dict,
                     trusted: bool | None = None) -> tuple[SVIState, Any]:
        be = backends.current()
        keys = be.split(state.rng_key)
        rng_key, sub = keys[0], keys[1]
        kw = {**self.static_kwargs, **kwargs}
        if trusted is None:
            trusted = self._trust and self._checked.contains(args, kw)

        def loss_fn(uparams: dict) -> tuple[Any, Any]:
            params = self.constrain_fn(uparams)
            with self._checks(trusted):
                return eu.call_loss(self.loss, sub, params, self.model, self.guide, args, kw,
                                    state.loss_state)

        uparams = self.optim.get_params(state.optim_state)
        (loss, loss_state), grads = be.value_and_grad(loss_fn, has_aux=True)(uparams)
        optim_state = self.optim.update(grads, state.optim_state)
        if self._trust and not trusted:  # this step validated these inputs
            self._checked.add(args, kw)
        return SVIState(optim_state, rng_key, loss_state), loss

    def _stable_update_impl(self, state: SVIState, args: tuple, kwargs: dict,
                            trusted: bool | None = None):
        be = backends.current()
        new_state, loss = self._update_impl(state, args, kwargs, trusted)
        ok = eu.all_finite([loss, self.optim.get_params(new_state.optim_state)])
        xp = be.xp
        merged_optim = be.tree_map(lambda a, b: xp.where(ok, a, b) if be.is_array(a) else a,
                                   new_state.optim_state, state.optim_state)
        merged_loss_state = be.tree_map(lambda a, b: xp.where(ok, a, b),
                                        new_state.loss_state, state.loss_state)
        return SVIState(merged_optim, new_state.rng_key, merged_loss_state), loss

    def _compiled_fn(self, kind: str) -> Callable:
        be = backends.current()
        cache_key = (be.NAME, kind)
        fn = self._compiled.get(cache_key)
        if fn is None:
            if kind == "update":
                fn = self._update_impl
            elif kind == "stable":
                fn = self._stable_update_impl
            else:  # "evaluate"
                fn = self._evaluate_impl
            if be.SUPPORTS_JIT:
                fn = _jit_with_static_scalars(be, fn)
            elif kind != "evaluate":
                fn = self._recorded_steps(fn)
            self._compiled[cache_key] = fn
        return fn

    def _recorded_steps(self, impl: Callable) -> Callable:
        """On an engine that runs eagerly, steps on inputs already checked (or with validation
        off) are recorded as one graph where the backend can
        (:class:`~polyro.inference.recording.TreeStepRecording`); steps on new inputs run as
        written (they validate them)."""
        be = backends.current()
        rec = TreeStepRecording(be, lambda st, a, kw: impl(st, a, kw, True))

        def step(state: SVIState, args: tuple, kwargs: dict) -> tuple[SVIState, Any]:
            if not is_validation_enabled() or (self._trust and self._checked.contains(
                    args, {**self.static_kwargs, **kwargs})):
                return rec(state, args, kwargs)
            return impl(state, args, kwargs)

        step.recorded_structures = rec.recorded  # type: ignore[attr-defined]
        return step

    def update(self, state: SVIState, *args: Any, **kwargs: Any) -> tuple[SVIState, Any]:
        """One optimization step: ``(new_state, loss)`` (loss before the step)."""
        return self._compiled_fn("update")(state, args, kwargs)

    def stable_update(self, state: SVIState, *args: Any, **kwargs: Any) -> tuple[SVIState, Any]:
        """Like :meth:`update` but keeps ``state`` unchanged when the loss or new params are not
        finite."""
        return self._compiled_fn("stable")(state, args, kwargs)

    def _evaluate_impl(self, state: SVIState, args: tuple, kwargs: dict) -> Any:
        be = backends.current()
        sub = be.split(state.rng_key)[1]
        kw = {**self.static_kwargs, **kwargs}
        params = self.get_params(state)
        with self._checks(self._trust and self._checked.contains(args, kw)):
            loss, _ = eu.call_loss(self.loss, sub, params, self.model, self.guide, args, kw,
                                   state.loss_state)
        return be.stop_gradient(loss)

    def evaluate(self, state: SVIState, *args: Any, **kwargs: Any) -> Any:
        """The loss at ``state`` (with the key the next update would use), without stepping."""
        return self._compiled_fn("evaluate")(state, args, kwargs)

    # ------------------------------------------------------------------ run
    def _chunk_fn(self, stable: bool) -> Callable:
        """A compiled function doing ``n`` steps with ``be.scan`` (JIT backends only)."""
        be = backends.current()
        cache_key = (be.NAME, "chunk", stable)
        fn = self._compiled.get(cache_key)
        if fn is None:
            step = self._stable_update_impl if stable else self._update_impl

            def chunk(state, args, kwargs, length):
                def body(carry, _):
                    return step(carry, args, kwargs)
                return be.scan(body, state, None, length=length)

            fn = _jit_with_static_scalars(be, chunk, extra_static=1)
            self._compiled[cache_key] = fn
        return fn

    def run(self, rng_key: Any, num_steps: int, *args: Any, progress_bar: bool = True,
            stable_update: bool = False, init_state: SVIState | None = None,
            init_params: dict | None = None, chunk_size: int | None = None,
            forward_mode_differentiation: bool = False, **kwargs: Any) -> SVIRunResult:
        """Run ``num_steps`` updates from ``init_state`` (or a fresh :meth:`init`).

        ``forward_mode_differentiation`` is NumPyro's option: only ``False`` (reverse mode, on
        every engine) is supported; ``True`` is a NotImplementedError that says so (it is not
        passed on to the model).

        On JIT backends the steps run in compiled chunks of ``chunk_size`` (default 100) steps;
        the progress bar and the non-finite check advance per chunk.

        A non-finite loss stops the run with :class:`NonFiniteLossError` naming the step and the
        sites whose log density was not finite; ``err.last_state`` keeps the last finite state.
        With ``stable_update=True`` non-finite steps are skipped instead.

        A ``torch.nn.Module`` registered with ``polyro.module`` ends the run holding the trained
        weights, as after Pyro's training loop (``svi.step`` updates it at every step).
        """
        be = backends.current()
        _require_autodiff(be)
        if num_steps < 1:
            raise ValueError(f"num_steps must be at least 1, got {num_steps!r}")
        if forward_mode_differentiation:
            raise NotImplementedError(
                "SVI.run(forward_mode_differentiation=True): polyro differentiates the ELBO in "
                "reverse mode on every engine; a model whose loops JAX cannot differentiate in "
                "reverse mode (lax.while_loop) needs a bounded loop (lax.scan / lax.fori_loop "
                "with static bounds) instead")
        if init_state is None:
            state = self.init(rng_key, *args, init_params=init_params, **kwargs)
        else:
            state = init_state
            if self.constrain_fn is None:  # a state loaded in a fresh SVI object
                self.init(rng_key, *args, init_params=init_params, **kwargs)
        pbar = _progress(num_steps, progress_bar)
        losses: list = []
        if be.SUPPORTS_JIT:
            chunk = max(1, min(num_steps, chunk_size or 100))
            fn = self._chunk_fn(stable_update)
            done = 0
            prev: tuple | None = None  # (start state, length) of the previous chunk
            while done < num_steps:
                n = min(chunk, num_steps - done)
                new_state, chunk_losses = fn(state, args, kwargs, n)
                chunk_np = np.asarray(be.to_numpy(chunk_losses))
                if not stable_update and not np.all(np.isfinite(chunk_np)):
                    bad = int(np.argmin(np.isfinite(chunk_np)))
                    losses.extend(chunk_np[:bad].tolist())
                    # replay step by step (identical keys, identical states) to the state of
                    # the failing step and to the one before it (the last with a finite loss)
                    upd = self._compiled_fn("update")
                    if bad == 0:
                        keep = state
                        if prev is not None:
                            keep = prev[0]
                            for _ in range(prev[1] - 1):
                                keep, _ = upd(keep, args, kwargs)
                        diag = state
                    else:
                        keep = state
                        for _ in range(bad - 1):
                            keep, _ = upd(keep, args, kwargs)
                        diag, _ = upd(keep, args, kwargs)
                    self._raise_nonfinite(diag, keep, done + bad, losses, args, kwargs, pbar)
                losses.extend(chunk_np.tolist())
                prev = (state, n)
                state, done = new_state, done + n
                _advance(pbar, n, chunk_np[-1])
        else:
            upd = self._compiled_fn("stable" if stable_update else "update")
            prev_state = state
            for i in range(num_steps):
                new_state, loss = upd(state, args, kwargs)
                val = float(be.to_numpy(loss))
                if not stable_update and not math.isfinite(val):
                    self._raise_nonfinite(state, prev_state, i, losses, args, kwargs, pbar)
                losses.append(val)
                prev_state, state = state, new_state
                _advance(pbar, 1, val)
        if pbar is not None:
            pbar.close()
        self.state = state
        losses_arr = be.asarray(np.asarray(losses, dtype=np.float64))
        params = self.get_params(state)
        write_back_networks(params)  # a torch.nn.Module given to polyro.module ends trained
        return SVIRunResult(params, state, losses_arr)

    def _raise_nonfinite(self, state, keep, step, losses, args, kwargs, pbar) -> None:
        """Raise for a non-finite loss at ``step``: diagnose the sites at ``state`` (whose loss is
        not finite) and keep ``keep`` (the state before it, the last with a finite loss)."""
        if pbar is not None:
            pbar.close()
        be = backends.current()
        kw = {**self.static_kwargs, **kwargs}
        sub = be.split(state.rng_key)[1]
        sites = eu.find_nonfinite_sites(sub, self.get_params(state), self.model, self.guide,
                                        args, kw)
        self.state = keep
        where = (f"the log density of site(s) {sites} is not finite" if sites else
                 "no single site's log density is non-finite (the parameters or gradients "
                 "overflowed: try a smaller learning rate or gradient clipping)")
        raise NonFiniteLossError(
            f"SVI loss became non-finite at step {step}: {where}. The last finite state is kept "
            "in err.last_state (and svi.state); resume with svi.run(..., init_state="
            "err.last_state) after fixing the model, or pass stable_update=True to skip such "
            "steps.",
            step=step, sites=sites, last_state=keep, losses=be.asarray(np.asarray(losses)),
        )

    # ------------------------------------------------------------------ stateful (Pyro style)
    def step(self, *args: Any, **kwargs: Any) -> float:
        """One update on the state kept inside this object (initialized on first call with
        ``self.rng_seed``); returns the loss as a Python float.

        The constrained parameters are also published to the param store, so Pyro-style code can
        read them with ``polyro.param(name)`` afterwards.
        """
        if self.state is None:
            be = backends.current()
            _require_autodiff(be)
            self.state = self.init(self.rng_seed, *args, **kwargs)
        self.state, loss = self.update(self.state, *args, **kwargs)
        be = backends.backend_of(loss)
        val = float(be.to_numpy(loss))
        eu.publish_params(self.get_params(self.state), self._constraints)
        return val

    def evaluate_loss(self, *args: Any, **kwargs: Any) -> float:
        """Pyro's ``svi.evaluate_loss``: the loss at the object's state, without stepping."""
        if self.state is None:
            self.state = self.init(self.rng_seed, *args, **kwargs)
        loss = self.evaluate(self.state, *args, **kwargs)
        return float(backends.backend_of(loss).to_numpy(loss))

    # ------------------------------------------------------------------ save / load
    def save(self, path: str, state: SVIState | None = None) -> None:
        """Write ``state`` (default: the object's) to ``path`` (a pickle of numpy leaves)."""
        state = self.state if state is None else state
        if state is None:
            raise ValueError("nothing to save: pass a state or call svi.step/run first")
        be = backends.current()
        leaves, treedef = be.tree_flatten(state)
        np_leaves = [np.asarray(be.to_numpy(x)) if be.is_array(x) else x for x in leaves]
        payload = {"format": "polyro-svi-state-1",
                   "tree": be.tree_unflatten(treedef, np_leaves)}
        with open(path, "wb") as f:
            pickle.dump(payload, f)

    def load(self, path: str) -> SVIState:
        """Read a state written by :meth:`save` into the active backend (also kept in
        ``self.state``). Continuing from it gives the same numbers as never having stopped."""
        with open(path, "rb") as f:
            payload = pickle.load(f)
        if not isinstance(payload, dict) or payload.get("format") != "polyro-svi-state-1":
            raise ValueError(f"{path!r} is not a polyro SVI state file (written by SVI.save)")
        be = backends.current()
        def restore(x):
            if not isinstance(x, np.ndarray):
                return x
            return be.xp.reshape(be.asarray(x, dtype=be.dtype(x.dtype.name)), x.shape)

        state = be.tree_map(restore, payload["tree"])
        self.state = state
        return state


def _progress(num_steps: int, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=num_steps, desc="SVI", leave=False)


def _advance(pbar, n: int, loss: float) -> None:
    if pbar is not None:
        pbar.update(n)
        pbar.set_postfix_str(f"loss={float(loss):.4g}", refresh=False)
