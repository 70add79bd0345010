"""The pyro-api ``infer`` slot: SVI, ELBOs, MCMC, NUTS, HMC, Predictive, config_enumerate.

Pyro's signatures on top of polyro's functional inference, one set of classes per engine
(:func:`namespace`):

* ``SVI(model, guide, optim, loss)`` with the stateful ``step(*args)`` (the state lives in the
  object; learned params are published to the param store after every step, so
  ``pyro.param(name)`` reads them). The first step draws its PRNG key from the enclosing
  ``handlers.seed`` (``pyro_backend`` enters one), else uses seed 0. On numpy ``step`` raises
  :class:`~polyro.errors.AutodiffUnavailableError`.
* ``Trace_ELBO``, ``TraceGraph_ELBO``, ``TraceMeanField_ELBO``, ``TraceEnum_ELBO``, ``RenyiELBO``
  and the ``Jit*`` variants accept Pyro's engine-specific keywords (``ignore_jit_warnings``,
  ``jit_options``, ``retain_graph``, ``strict_enumeration_warning``, ``max_iarange_nesting``)
  and ignore them. A ``Jit*`` loss is the same loss flagged ``jit = True``: polyro's SVI
  compiles every update on an engine with ``SUPPORTS_JIT`` (JAX) -- a plain loss too, since
  compiling is much faster there than JAX's op-by-op dispatch -- and runs eagerly elsewhere.
* ``MCMC(kernel, num_samples, warmup_steps=None, initial_params=None, num_chains=1, ...)`` with
  ``run(*args, **kwargs)``, ``get_samples(num_samples=None, group_by_chain=False)`` and
  ``summary()``; ``NUTS``/``HMC`` take Pyro's keywords (``full_mass`` -> ``dense_mass``;
  ``jit_compile``, ``ignore_jit_warnings``, ``jit_options``, ``max_plate_nesting`` ignored).
* ``Predictive(model, posterior_samples=None, guide=None, num_samples=None, return_sites=(),
  parallel=False)`` called as ``predictive(*args, **kwargs)``.

>>> ns = namespace("numpy")
>>> ns["Trace_ELBO"](ignore_jit_warnings=True).num_particles
1
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import polyro.inference as pinf
from polyro import backends
from polyro.core.enum_config import config_enumerate as _config_enumerate
from polyro.core.primitives import prng_key
from polyro.core.runtime import _STACK, MissingKeyError, get_stack

__all__ = ["namespace", "config_enumerate", "isolated"]

#: Pyro keywords that only steer torch's tracer/JIT or old warnings; accepted and ignored
_IGNORED_ELBO_KWARGS = frozenset({"ignore_jit_warnings", "jit_options", "retain_graph",
                                  "strict_enumeration_warning", "max_iarange_nesting",
                                  "tail_adaptive_beta"})
_IGNORED_KERNEL_KWARGS = frozenset({"jit_compile", "ignore_jit_warnings", "jit_options",
                                    "max_plate_nesting", "use_multinomial_sampling"})


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Run inference on an empty handler stack (the caller's handlers do not see its internal
    model runs).

    ``pyro_backend(alias)`` leaves a ``seed`` handler active around all user code; polyro's
    ``seed`` hands keys to every latent site that reaches it, so inside a compiled MCMC
    potential or SVI update it would store traced keys in its frame. Pyro's ``seed`` only sets
    a global RNG at entry; hiding the caller's stack from the inference internals is the
    faithful equivalent. (The inference's own key is drawn from the caller's ``seed`` first.)

    >>> from polyro.core.runtime import get_stack
    >>> with isolated():
    ...     get_stack()
    ()
    """
    token = _STACK.set(())
    try:
        yield
    finally:
        _STACK.reset(token)


def _key_from_context(be: Any, rng_key: Any) -> Any:
    """``rng_key`` if given, else a key from an enclosing ``seed`` handler, else seed 0."""
    if rng_key is not None:
        return be.key(int(rng_key)) if isinstance(rng_key, (int, np.integer)) else rng_key
    if get_stack():
        try:
            return prng_key()
        except MissingKeyError:
            pass
    return be.key(0)


def _elbo_kwargs(cls_name: str, kwargs: dict, allowed: tuple[str, ...]) -> dict:
    unknown = sorted(k for k in kwargs if k not in allowed and k not in _IGNORED_ELBO_KWARGS)
    if unknown:
        raise TypeError(f"{cls_name}: unknown keyword(s) {unknown}; polyro accepts "
                        f"{sorted(allowed)} (and ignores Pyro's {sorted(_IGNORED_ELBO_KWARGS)})")
    return {k: v for k, v in kwargs.items() if k in allowed}


def _elbo_class(base: type, name: str, jit: bool, allowed: tuple[str, ...]) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if "max_plate_nesting" in kwargs and "max_plate_nesting" not in allowed:
            kwargs.pop("max_plate_nesting")  # used by Pyro for vectorized particles only
        base.__init__(self, *args, **_elbo_kwargs(name, kwargs, allowed))

    doc = (f"Pyro's ``{name}``: :class:`{base.__module__}.{base.__name__}` accepting Pyro's "
           f"keywords{' (flagged jit=True)' if jit else ''}.")
    return type(name, (base,), {"__init__": __init__, "jit": jit, "__doc__": doc,
                                "__module__": __name__})


_BASIC = ("num_particles", "vectorize_particles")
Trace_ELBO = _elbo_class(pinf.Trace_ELBO, "Trace_ELBO", False, _BASIC)
JitTrace_ELBO = _elbo_class(pinf.Trace_ELBO, "JitTrace_ELBO", True, _BASIC)
TraceGraph_ELBO = _elbo_class(pinf.TraceGraph_ELBO, "TraceGraph_ELBO", False, _BASIC)
JitTraceGraph_ELBO = _elbo_class(pinf.TraceGraph_ELBO, "JitTraceGraph_ELBO", True, _BASIC)
TraceMeanField_ELBO = _elbo_class(pinf.TraceMeanField_ELBO, "TraceMeanField_ELBO", False, _BASIC)
JitTraceMeanField_ELBO = _elbo_class(pinf.TraceMeanField_ELBO, "JitTraceMeanField_ELBO", True,
                                     _BASIC)
_ENUM = _BASIC + ("max_plate_nesting",)
TraceEnum_ELBO = _elbo_class(pinf.TraceEnum_ELBO, "TraceEnum_ELBO", False, _ENUM)
JitTraceEnum_ELBO = _elbo_class(pinf.TraceEnum_ELBO, "JitTraceEnum_ELBO", True, _ENUM)
RenyiELBO = _elbo_class(pinf.RenyiELBO, "RenyiELBO", False, ("alpha",) + _BASIC)


def config_enumerate(guide: Callable | None = None, default: str = "parallel",
                     expand: bool = False, num_samples: int | None = None) -> Callable:
    """Pyro's ``config_enumerate`` (``expand`` is accepted: polyro enumerates unexpanded).

    >>> f = config_enumerate(lambda: None)
    >>> callable(f)
    True
    """
    if num_samples is not None:
        raise NotImplementedError("config_enumerate(num_samples=...): polyro enumerates "
                                  "exhaustively only; leave num_samples=None")
    return _config_enumerate(guide, default=default)


def _kernel_kwargs(name: str, kwargs: dict) -> dict:
    if "full_mass" in kwargs:
        kwargs["dense_mass"] = kwargs.pop("full_mass")
    if kwargs.get("transforms") is not None:
        raise NotImplementedError(f"{name}(transforms=...): polyro derives the transforms from "
                                  "the model's supports; leave transforms=None")
    kwargs.pop("transforms", None)
    if kwargs.get("use_multinomial_sampling", True) is False:
        raise NotImplementedError(f"{name}(use_multinomial_sampling=False): polyro's NUTS is "
                                  "multinomial only")
    return {k: v for k, v in kwargs.items() if k not in _IGNORED_KERNEL_KWARGS}


class NUTS(pinf.NUTS):
    """Pyro's ``NUTS`` keywords on :class:`polyro.inference.mcmc.NUTS`.

    >>> NUTS(potential_fn=lambda z: (z["x"] ** 2).sum(), jit_compile=True, full_mass=False).dense_mass
    False
    """

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None,
                 **kwargs: Any) -> None:
        super().__init__(model, potential_fn, **_kernel_kwargs("NUTS", kwargs))


class HMC(pinf.HMC):
    """Pyro's ``HMC`` keywords on :class:`polyro.inference.mcmc.HMC`.

    >>> HMC(potential_fn=lambda z: (z["x"] ** 2).sum(), num_steps=4, jit_compile=True).num_steps
    4
    """

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None,
                 **kwargs: Any) -> None:
        super().__init__(model, potential_fn, **_kernel_kwargs("HMC", kwargs))


def namespace(engine: str) -> dict[str, Any]:
    """The ``infer`` slot's names, bound to ``engine``.

    >>> sorted(namespace("numpy"))[:3]
    ['HMC', 'JitTraceEnum_ELBO', 'JitTraceGraph_ELBO']
    """

    class SVI(pinf.SVI):
        """Pyro's ``SVI`` (stateful ``step``) on this engine (numpy: ``step`` raises
        ``AutodiffUnavailableError``).

        >>> from polyro.compat.pyroapi import optim
        >>> SVI(lambda: None, lambda: None, optim.Adam({"lr": 0.1}), Trace_ELBO()).optim
        Adam(lr=0.1)
        """

        def __init__(self, model: Callable, guide: Callable, optim: Any, loss: Any,
                     loss_and_grads: Any = None, num_samples: int = 0, num_steps: int = 0,
                     **kwargs: Any) -> None:
            if loss_and_grads is not None:
                raise NotImplementedError("SVI(loss_and_grads=...): polyro differentiates the "
                                          "loss itself; pass loss= only")
            if not hasattr(optim, "init") or not hasattr(optim, "update"):
                raise TypeError(f"SVI: optim must be a polyro optimizer (e.g. "
                                f"optim.Adam({{'lr': 1e-3}})), got {type(optim).__name__}")
            super().__init__(model, guide, optim, loss, **kwargs)

        def step(self, *args: Any, **kwargs: Any) -> float:
            """One update; returns the loss as a float (params go to the param store)."""
            with backends.backend(engine) as be:
                if self.state is None and be.SUPPORTS_AUTODIFF:
                    key = _key_from_context(be, None)
                    with isolated():
                        self.state = self.init(key, *args, **kwargs)
                with isolated():  # numpy: raises AutodiffUnavailableError
                    return super().step(*args, **kwargs)

        def evaluate_loss(self, *args: Any, **kwargs: Any) -> float:
            """The loss at the current state, without stepping."""
            with backends.backend(engine), isolated():
                return super().evaluate_loss(*args, **kwargs)

    SVI.__module__ = f"polyro.compat.pyroapi.{engine}_.infer"

    class MCMC:
        """Pyro's ``MCMC`` driver on this engine (wraps :class:`polyro.inference.mcmc.MCMC`).

        >>> k = NUTS(potential_fn=lambda z: 0.5 * (z["x"] ** 2).sum())
        >>> MCMC(k, num_samples=5, warmup_steps=5).num_samples
        5
        """

        def __init__(self, kernel: Any, num_samples: int, warmup_steps: int | None = None,
                     initial_params: dict | None = None, num_chains: int = 1,
                     hook_fn: Any = None, mp_context: Any = None, disable_progbar: bool = False,
                     disable_validation: bool = True, transforms: Any = None,
                     num_warmup: int | None = None, chain_method: str = "sequential") -> None:
            if hook_fn is not None:
                raise NotImplementedError("MCMC(hook_fn=...) is not supported by polyro")
            if transforms is not None:
                raise NotImplementedError("MCMC(transforms=...): polyro derives transforms "
                                          "from the model; leave transforms=None")
            warm = warmup_steps if warmup_steps is not None else num_warmup
            self.num_samples = int(num_samples)
            self.warmup_steps = self.num_samples if warm is None else int(warm)
            self.initial_params = initial_params
            self._mcmc = pinf.MCMC(kernel, num_warmup=self.warmup_steps,
                                   num_samples=self.num_samples, num_chains=num_chains,
                                   chain_method=chain_method, progress_bar=not disable_progbar)

        def run(self, *args: Any, rng_key: Any = None, **kwargs: Any) -> None:
            """Run warmup and sampling; the key comes from an enclosing ``seed`` (else 0)."""
            with backends.backend(engine) as be:
                key = _key_from_context(be, rng_key)
                with isolated():
                    self._mcmc.run(key, *args, init_params=self.initial_params, **kwargs)

        def get_samples(self, num_samples: int | None = None,
                        group_by_chain: bool = False) -> dict[str, Any]:
            """Draws by site; ``num_samples`` picks that many draws at random (seed 0)."""
            with backends.backend(engine) as be:
                out = self._mcmc.get_samples(group_by_chain=group_by_chain)
                if num_samples is None:
                    return out
                n = next(iter(out.values())).shape[1 if group_by_chain else 0] if out else 0
                idx = be.asarray(np.sort(np.random.default_rng(0).choice(
                    n, size=int(num_samples), replace=False)))
                axis = 1 if group_by_chain else 0
                return {k: be.xp.take(v, idx, axis=axis) for k, v in out.items()}

        def summary(self, prob: float = 0.9) -> None:
            """Print the diagnostics table (mean, sd, quantiles, n_eff, r_hat)."""
            with backends.backend(engine):
                self._mcmc.print_summary(prob=prob)

        def diagnostics(self) -> dict[str, Any]:
            """Per-draw extra fields (divergences, accept probabilities, ...)."""
            return self._mcmc.get_extra_fields()

    MCMC.__module__ = f"polyro.compat.pyroapi.{engine}_.infer"

    class Predictive:
        """Pyro's ``Predictive`` on this engine (wraps :class:`polyro.inference.Predictive`).

        >>> Predictive(lambda: None, num_samples=4)._pred.num_samples
        4
        """

        def __init__(self, model: Callable, posterior_samples: dict | None = None,
                     guide: Callable | None = None, num_samples: int | None = None,
                     return_sites: Any = (), parallel: bool = False) -> None:
            self._pred = pinf.Predictive(model, guide=guide, posterior_samples=posterior_samples,
                                         num_samples=num_samples,
                                         return_sites=list(return_sites) or None,
                                         parallel=parallel)

        def __call__(self, *args: Any, rng_key: Any = None, **kwargs: Any) -> dict:
            with backends.backend(engine) as be:
                key = _key_from_context(be, rng_key)
                with isolated():
                    return self._pred(key, *args, **kwargs)

        get_samples = __call__

    Predictive.__module__ = f"polyro.compat.pyroapi.{engine}_.infer"

    from polyro.inference import autoguide

    return {
        "SVI": SVI,
        "MCMC": MCMC,
        "Predictive": Predictive,
        "NUTS": NUTS,
        "HMC": HMC,
        "Trace_ELBO": Trace_ELBO,
        "JitTrace_ELBO": JitTrace_ELBO,
        "TraceGraph_ELBO": TraceGraph_ELBO,
        "JitTraceGraph_ELBO": JitTraceGraph_ELBO,
        "TraceMeanField_ELBO": TraceMeanField_ELBO,
        "JitTraceMeanField_ELBO": JitTraceMeanField_ELBO,
        "TraceEnum_ELBO": TraceEnum_ELBO,
        "JitTraceEnum_ELBO": JitTraceEnum_ELBO,
        "RenyiELBO": RenyiELBO,
        "config_enumerate": config_enumerate,
        "autoguide": autoguide,
    }
