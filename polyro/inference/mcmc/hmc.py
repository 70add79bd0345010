"""Hamiltonian Monte Carlo with Stan-style warmup; the base class of :class:`NUTS`.

Functional kernel: ``state = kernel.init(key, num_warmup, init_params, model_args,
model_kwargs)`` then ``state = kernel.sample(state, model_args, model_kwargs)``. The state is an
immutable :class:`HMCState` (a pytree on every engine), so on JAX the whole warmup and sampling
loop compiles under ``jit``; on torch it runs as plain Python with one potential-and-gradient
call per leapfrog step. The unconstrained latent values are flattened to one vector internally.

>>> import polyro
>>> from polyro.errors import AutodiffUnavailableError
>>> with polyro.backend("numpy"):
...     try:
...         HMC(potential_fn=lambda z: (z["x"] ** 2).sum()).init(None, 10, {"x": 0.0})
...     except AutodiffUnavailableError as e:
...         print("RandomWalkMetropolis" in str(e))
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from polyro import backends
from polyro.errors import AutodiffUnavailableError, InitializationError, unexpected_options

from . import adaptation as ad
from .integrator import (
    MassSpec,
    identity_mass,
    kinetic_energy,
    leapfrog,
    momentum_factor,
    sample_momentum,
)
from .util import (
    FlatLayout,
    draw_uniforms,
    int_dtype,
    make_value_and_grad,
    masked_while,
    select,
)

__all__ = ["HMC", "HMCState", "AdaptState", "initialize_chains"]


class AdaptState(NamedTuple):
    """Warmup adaptation state: step size, inverse mass and momentum factors per block,
    dual-averaging and Welford states."""

    step_size: Any
    inverse_mass_matrix: tuple
    mass_factor: tuple
    da: ad.DAState
    welford: ad.WelfordState


class HMCState(NamedTuple):
    """State of an HMC/NUTS chain (or of a batch of vectorized chains, with a leading axis).

    ``z`` and ``z_grad`` are dicts of unconstrained values (the structure of ``init_params``).
    """

    i: Any
    z: Any
    potential_energy: Any
    z_grad: Any
    energy: Any
    num_steps: Any
    accept_prob: Any
    mean_accept_prob: Any
    diverging: Any
    adapt_state: AdaptState
    rng_key: Any


def _no_autodiff(be: Any, kernel: str) -> AutodiffUnavailableError:
    return AutodiffUnavailableError(
        f"{kernel} needs gradients, and the {be.NAME!r} backend has no autodiff. Run it on a "
        "backend that can differentiate (polyro.set_backend('jax') or polyro.set_backend('torch')),"
        " or use a gradient-free kernel on this backend: "
        "polyro.inference.mcmc.RandomWalkMetropolis or polyro.inference.mcmc.AIES."
    )


def initialize_chains(be: Any, model: Callable, key: Any, num_chains: int | None,
                      model_args: tuple, model_kwargs: dict, init_strategy: Any,
                      max_tries: int = 100) -> tuple[Any, Callable, Callable]:
    """A valid starting point per chain for ``model``: one
    :func:`~polyro.core.density.initialize_model` per chain, whose point has a finite potential,
    and a finite gradient where the engine has autodiff (checked by one compiled call where
    the engine compiles).

    Returns ``(init_params, potential_fn, postprocess_fn)``; ``init_params`` has a leading chain
    axis when ``num_chains`` is given. Raises :class:`InitializationError` naming the sites whose
    log density is not finite after ``max_tries`` attempts.
    """
    from polyro.core.density import initialize_model

    xp = be.xp
    n = 1 if num_chains is None else num_chains
    chain_keys = be.split(key, n)
    kwargs = {} if init_strategy is None else {"init_strategy": init_strategy}
    inits, pot, post = [], None, None
    for c in range(n):
        _, k_try = be.split(chain_keys[c])
        params, pot, post, _ = initialize_model(k_try, model, model_args, model_kwargs,
                                                max_tries=max_tries, **kwargs)
        inits.append(params)
    if num_chains is None:
        return inits[0], pot, post
    stacked = be.tree_map(lambda *xs: xp.stack(xs), *inits)
    return stacked, pot, post


def merge_init_params(be: Any, kernel: str, found: dict, given: Any) -> dict:
    """The model's starting point ``found`` with the user's ``init_params`` (unconstrained
    values by latent site; some or all of them) over it. A name that is no latent site, or a
    value of another shape, is an error naming them (a wrong shape would otherwise run a
    different model, silently).

    >>> import numpy as np
    >>> from polyro.backends import numpy as npbe
    >>> sorted(merge_init_params(npbe, "NUTS", {"a": np.zeros(2), "b": np.zeros(())},
    ...                          {"a": np.ones(2)}))
    ['a', 'b']
    """
    if given is None:
        return found
    if not isinstance(given, dict):
        raise TypeError(f"{kernel}: init_params must be a dict of unconstrained values by site "
                        f"name, got {type(given).__name__}")
    unknown = sorted(set(given) - set(found))
    if unknown:
        raise ValueError(f"{kernel}: init_params names {unknown}, which are not latent sites of "
                         f"the model (its latent sites: {sorted(found)})")
    given = {k: v if be.is_array(v) else be.asarray(v) for k, v in given.items()}
    bad = [f"{k!r} has shape {tuple(v.shape)}, the model's {tuple(found[k].shape)}"
           for k, v in given.items() if tuple(v.shape) != tuple(found[k].shape)]
    if bad:
        raise ValueError(f"{kernel}: init_params of the wrong shape: {'; '.join(bad)}. Give "
                         "unconstrained values of each site's shape (vectorized chains: with "
                         "a leading chain axis).")
    return {**found, **given}


def _check_potential_init(xp: Any, pe: Any, g: Any, layout: FlatLayout) -> None:
    ok_pe = xp.all(xp.isfinite(pe))
    ok_g = xp.all(xp.isfinite(g))
    if not (bool(ok_pe) and bool(ok_g)):
        bad = []
        for k in layout.keys:
            a, b = layout.slices[k]
            if not bool(xp.all(xp.isfinite(g[..., a:b]))):
                bad.append(k)
        raise InitializationError(
            "init_params give a non-finite potential energy or gradient "
            f"(potential={pe!r}); sites with non-finite gradient: {bad or 'none'}. "
            "Choose init_params inside the support (unconstrained values) where the density "
            "is finite."
        )


def _host_iteration(be: Any, i: Any) -> int | None:
    """The iteration counter as a Python int on an engine that runs eagerly (read once per
    transition, so adaptation and bookkeeping branch in Python); None on one that compiles.

    >>> import numpy as np
    >>> from polyro.backends import numpy as be
    >>> _host_iteration(be, np.asarray(3))
    3
    """
    return None if getattr(be, "SUPPORTS_JIT", False) else int(be.to_numpy(i))


def _same_leaves(d: Any, other: Any, values: tuple) -> bool:
    """``other`` is the dict ``d`` still holding the objects ``values`` (not edited since)."""
    return other is d and len(d) == len(values) and all(
        a is b for a, b in zip(d.values(), values, strict=True))


class HMC:
    """Hamiltonian Monte Carlo (Neal 2011) with a fixed trajectory length.

    Give a ``model`` (run as written: constrained sites are sampled in unconstrained space with
    the Jacobian in the potential) or a ``potential_fn`` over a dict of unconstrained values (then
    pass ``init_params`` to :meth:`init` or ``MCMC.run``).

    ``dense_mass``: ``False`` (diagonal), ``True`` (one dense matrix) or a list of site-name
    tuples, each a dense block (the remaining sites get a diagonal block).

    Pyro's and NumPyro's other names are taken too: ``full_mass`` (Pyro's ``dense_mass``);
    ``jit_compile``, ``jit_options`` and ``ignore_jit_warnings`` (Pyro) and
    ``forward_mode_differentiation`` (NumPyro) change nothing -- the steps are compiled on JAX
    and recorded on torch whatever they say, and gradients are the same either way;
    ``max_plate_nesting`` (Pyro) is found from the model.

    >>> HMC(potential_fn=lambda z: 0.5 * (z["x"] ** 2).sum(), num_steps=5).num_steps
    5
    """

    _name = "HMC"
    #: whether Pyro's ``use_multinomial_sampling`` applies (NUTS)
    _multinomial = False

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None, *,
                 step_size: float = 1.0, trajectory_length: float = 2 * math.pi,
                 num_steps: int | None = None, adapt_step_size: bool = True,
                 adapt_mass_matrix: bool = True, dense_mass: bool | list = False,
                 target_accept_prob: float = 0.8, max_delta_energy: float = 1000.0,
                 init_strategy: Any = None, regularize_mass_matrix: bool = True,
                 find_heuristic_step_size: bool = True, **peer_options: Any) -> None:
        dense_mass = self._peer_options(peer_options, dense_mass)
        if (model is None) == (potential_fn is None):
            raise ValueError(f"{self._name}: give exactly one of model= or potential_fn=")
        if not 0.0 < target_accept_prob < 1.0:
            raise ValueError(f"{self._name}: target_accept_prob must be in (0, 1), "
                             f"got {target_accept_prob}")
        if step_size <= 0:
            raise ValueError(f"{self._name}: step_size must be positive, got {step_size}")
        self.model = model
        self.potential_fn = potential_fn
        self.step_size = float(step_size)
        self.trajectory_length = float(trajectory_length)
        self.num_steps = None if num_steps is None else int(num_steps)
        self.adapt_step_size = adapt_step_size
        self.adapt_mass_matrix = adapt_mass_matrix
        self.dense_mass = dense_mass
        self.target_accept_prob = float(target_accept_prob)
        self.max_delta_energy = float(max_delta_energy)
        self.init_strategy = init_strategy
        self.regularize_mass_matrix = regularize_mass_matrix
        self.find_heuristic_step_size = find_heuristic_step_size
        self._postprocess: Callable | None = None
        self._potential: Callable | None = None
        # the last state's z and z_grad (dicts and their values) with the flat vectors they
        # came from: the next transition starts from those without concatenating again
        self._flat_memo: tuple | None = None

    #: Pyro's and NumPyro's kernel options with no effect here (see the class docstring)
    _NO_EFFECT = frozenset({"jit_compile", "jit_options", "ignore_jit_warnings",
                            "forward_mode_differentiation", "max_plate_nesting"})

    def _peer_options(self, options: dict, dense_mass: Any) -> Any:
        """Check Pyro's/NumPyro's options; returns ``dense_mass`` (or Pyro's ``full_mass``)."""
        options = dict(options)
        full = options.pop("full_mass", None)
        if full is not None:
            if dense_mass is not False and dense_mass != full:
                raise ValueError(f"{self._name}: full_mass (Pyro's name) and dense_mass disagree "
                                 f"({full!r} and {dense_mass!r}); give one of them")
            dense_mass = full
        if self._multinomial and options.pop("use_multinomial_sampling", True) is not True:
            raise ValueError(f"{self._name}: only multinomial sampling of the trajectory is "
                             "implemented (use_multinomial_sampling=False, Pyro's slice "
                             "sampling, is not)")
        unknown = sorted(k for k in options if k not in self._NO_EFFECT)
        if unknown:
            raise unexpected_options(self._name, type(self), unknown,
                                     " (and Pyro's full_mass, jit_compile, ...)")
        return dense_mass

    # ----------------------------------------------------------------- public helpers
    @property
    def sample_field(self) -> str:
        """Name of the state field holding the draws (``"z"``)."""
        return "z"

    def postprocess_fn(self, model_args: tuple = (), model_kwargs: dict | None = None
                       ) -> Callable | None:
        """Map from unconstrained draws to constrained values and deterministic sites
        (``None`` for a user ``potential_fn``)."""
        return self._postprocess

    # ----------------------------------------------------------------- setup
    def _mass_spec(self, layout: FlatLayout) -> MassSpec:
        dm = self.dense_mass
        if dm is True or dm is False:
            return MassSpec([(0, layout.size, bool(dm))])
        blocks, used = [], 0
        for group in dm:
            group = (group,) if isinstance(group, str) else tuple(group)
            size = sum(layout.sizes[layout.keys.index(k)] for k in group)
            blocks.append((used, used + size, True))
            used += size
        if used < layout.size:
            blocks.append((used, layout.size, False))
        return MassSpec(blocks)

    def _block_order(self, keys: list[str]) -> list[str]:
        dm = self.dense_mass
        if dm is True or dm is False:
            return []
        order: list[str] = []
        for group in dm:
            group = (group,) if isinstance(group, str) else tuple(group)
            for k in group:
                if k in order:
                    raise ValueError(f"dense_mass: site {k!r} appears in two blocks: {dm}")
                order.append(k)
        return order

    def init(self, rng_key: Any, num_warmup: int, init_params: Any = None,
             model_args: tuple = (), model_kwargs: dict | None = None, *,
             num_chains: int | None = None) -> HMCState:
        """Initial state. ``num_chains`` (vectorized chains): every leaf gets a leading axis.

        >>> import polyro
        >>> with polyro.backend("torch") as be:
        ...     k = HMC(potential_fn=lambda z: 0.5 * (z["x"] ** 2).sum(), num_steps=3)
        ...     s = k.init(be.key(0), 10, {"x": be.asarray([0.5, 1.0])})
        ...     s = k.sample(s)
        >>> int(s.i)
        1
        """
        be = backends.current()
        xp = be.xp
        if not be.SUPPORTS_AUTODIFF:
            raise _no_autodiff(be, self._name)
        model_kwargs = {} if model_kwargs is None else model_kwargs
        if rng_key is None:
            rng_key = be.key(0)
        key_init, key_step, rng_key = be.split(rng_key, 3)
        if self.model is not None:
            params, pot, post = initialize_chains(
                be, self.model, key_init, num_chains, model_args, model_kwargs,
                self.init_strategy)
            params = merge_init_params(be, self._name, params, init_params)
            self._potential, self._postprocess = pot, post
        else:
            if init_params is None:
                raise ValueError(f"{self._name}(potential_fn=...) needs init_params (a dict of "
                                 "unconstrained values; with num_chains, a leading chain axis)")
            params = init_params
            self._potential, self._postprocess = self.potential_fn, None
        params = be.tree_map(lambda v: be.asarray(v, dtype=be.float_dtype()), params)
        self._batched = num_chains is not None
        self._bshape = (int(num_chains),) if self._batched else ()
        keys = sorted(params) if isinstance(params, dict) else []
        self._flat_memo = None
        self._layout = FlatLayout(params, order=self._block_order(keys),
                                  batch_ndim=1 if self._batched else 0)
        self._spec = self._mass_spec(self._layout)
        self._vg = make_value_and_grad(be, self._potential, self._layout, self._batched)
        self._num_warmup = int(num_warmup)
        w0, ends, w1 = ad.warmup_schedule(self._num_warmup)
        if not self.adapt_mass_matrix:
            w0, ends, w1 = self._num_warmup, [], self._num_warmup
        self._sched = (w0, ends, w1)

        x = self._layout.ravel(params)
        pe, g = self._vg(x)
        _check_potential_init(xp, pe, g, self._layout)
        dt = x.dtype
        inv, fac = identity_mass(self._spec, self._bshape, dt, xp)
        step = xp.full(self._bshape, self.step_size, dtype=dt)
        if self.adapt_step_size and self.find_heuristic_step_size:
            heur = lambda *a: self._heuristic_step(be, *a)  # noqa: E731
            if getattr(be, "SUPPORTS_JIT", False):
                heur = be.jit(heur)
            step = heur(x, pe, g, inv, fac, step, key_step)
        adapt = AdaptState(step, inv, fac, ad.da_init(step, xp),
                           ad.welford_init(self._spec, self._bshape, dt, xp))
        zf = xp.zeros(self._bshape, dtype=dt)
        return HMCState(
            i=xp.asarray(0, dtype=int_dtype(xp)), z=self._layout.unravel(x), potential_energy=pe,
            z_grad=self._layout.unravel(g), energy=pe, num_steps=xp.zeros(self._bshape,
                                                                          dtype=int_dtype(xp)),
            accept_prob=zf, mean_accept_prob=zf, diverging=xp.zeros(self._bshape, dtype=xp.bool),
            adapt_state=adapt, rng_key=rng_key,
        )

    # ----------------------------------------------------------------- pieces
    def _heuristic_step(self, be: Any, x: Any, pe: Any, g: Any, inv: tuple, fac: tuple,
                        step: Any, key: Any) -> Any:
        xp = be.xp
        spec, vg = self._spec, self._vg
        _, u = draw_uniforms(be, key, tuple(x.shape[:-1]), x.shape[-1], x.dtype)
        r = sample_momentum(spec, fac, be.ndtri(u), xp)
        e0 = pe + kinetic_energy(spec, inv, r, xp)

        def delta_fn(s: Any) -> Any:
            _, r1, pe1, _ = leapfrog(vg, spec, inv, x, r, g, s[..., None], xp)
            d = e0 - (pe1 + kinetic_energy(spec, inv, r1, xp))
            return xp.where(xp.isfinite(d), d, xp.full_like(d, -float("inf")))

        return ad.find_reasonable_step_size(be, delta_fn, step, self._batched)

    def _random_size(self, dim: int) -> int:
        return dim + 1

    def _transition(self, be: Any, x: Any, pe: Any, g: Any, a: AdaptState, uu: Any,
                    i: Any = None) -> tuple:
        """Fixed-length HMC trajectory + Metropolis correction.

        Returns ``(x, pe, g, energy, accept_prob, num_steps, diverging)``.
        """
        xp = be.xp
        spec, vg, inv = self._spec, self._vg, a.inverse_mass_matrix
        D = x.shape[-1]
        eps_n = be.ndtri(uu[..., :D])
        r0 = sample_momentum(spec, a.mass_factor, eps_n, xp)
        e0 = pe + kinetic_energy(spec, inv, r0, xp)
        step = a.step_size
        if self.num_steps is not None:
            n_steps = xp.full(self._bshape, self.num_steps, dtype=int_dtype(xp))
        else:
            n = xp.ceil(self.trajectory_length / step)
            n_steps = xp.astype(xp.clip(n, 1.0, 1000.0), int_dtype(xp))
        step_e = step[..., None]
        false = xp.zeros(self._bshape, dtype=xp.bool)

        def cond(s: Any) -> Any:
            return (s[0] < n_steps) & (~s[5])

        def body(s: Any) -> Any:
            k, x1, r1, pe1, g1, _ = s
            x1, r1, pe1, g1 = leapfrog(vg, spec, inv, x1, r1, g1, step_e, xp)
            e1 = pe1 + kinetic_energy(spec, inv, r1, xp)
            d = e1 - e0
            div = ~(d <= self.max_delta_energy)
            return k + 1, x1, r1, pe1, g1, div

        init = (xp.zeros(self._bshape, dtype=int_dtype(xp)), x, r0, pe, g, false)
        k, x1, r1, pe1, g1, div = masked_while(be, cond, body, init, self._batched)
        e1 = pe1 + kinetic_energy(spec, inv, r1, xp)
        delta = e1 - e0
        delta = xp.where(xp.isfinite(delta), delta, xp.full_like(delta, float("inf")))
        div = div | (delta > self.max_delta_energy)
        acc_prob = xp.exp(xp.minimum(-delta, xp.zeros_like(delta)))
        u = uu[..., D]
        accept = (u < acc_prob) & (~div)
        x_n, pe_n, g_n = select(accept, (x1, pe1, g1), (x, pe, g), xp)
        energy = xp.where(accept, e1, e0)
        return x_n, pe_n, g_n, energy, acc_prob, k, div

    def _adapt(self, be: Any, a: AdaptState, x: Any, pe: Any, g: Any, acc: Any, i: Any,
               key: Any, ip: int | None = None) -> AdaptState:
        """Adaptation after warmup iteration ``i``; ``ip``: ``i`` as a Python int where the
        engine runs eagerly (:func:`_host_iteration`), which then branches in Python (the same
        numbers, fewer small operations), else None (a compiling engine selects)."""
        xp = be.xp
        w0, ends, w1 = self._sched
        W = self._num_warmup
        da = a.da
        step = a.step_size
        if self.adapt_step_size:
            da = ad.da_update(da, acc, self.target_accept_prob, xp)
            if ip is None:
                step = xp.exp(da.log_step)
                step = xp.where(i + 1 == W, xp.exp(da.log_step_avg), step)
            else:
                step = xp.exp(da.log_step_avg if ip + 1 == W else da.log_step)
        a = a._replace(step_size=step, da=da)
        if not ends:
            return a
        if ip is None:
            in_slow = (i >= w0) & (i < w1)
            wf = ad.welford_update(a.welford, self._spec, x, xp)
            wf = select(in_slow, wf, a.welford, xp)
            ends_arr = xp.asarray(ends, dtype=int_dtype(xp))
            at_end = xp.any(ends_arr == i + 1)
        else:
            wf = ad.welford_update(a.welford, self._spec, x, xp) if w0 <= ip < w1 else a.welford
            at_end = ip + 1 in ends
        a = a._replace(welford=wf)

        def end_window(op: Any) -> AdaptState:
            s, x_, pe_, g_, k_ = op
            inv = ad.welford_covariance(s.welford, self._spec, xp, self.regularize_mass_matrix)
            fac = momentum_factor(self._spec, inv, be)
            stp = s.step_size
            if self.adapt_step_size and self.find_heuristic_step_size:
                stp = self._heuristic_step(be, x_, pe_, g_, inv, fac, stp, be.fold_in(k_, 7))
            dt = x_.dtype
            return AdaptState(stp, inv, fac,
                              ad.da_init(stp, xp) if self.adapt_step_size else s.da,
                              ad.welford_init(self._spec, self._bshape, dt, xp))

        def keep(op: Any) -> AdaptState:
            return op[0]

        return be.cond(at_end, end_window, keep, (a, x, pe, g, key))

    # ----------------------------------------------------------------- sample
    def sample(self, state: HMCState, model_args: tuple = (), model_kwargs: dict | None = None
               ) -> HMCState:
        """One transition (with adaptation while ``state.i < num_warmup``).

        The model arguments were bound at :meth:`init`; the ones given here are not re-read.
        """
        be = backends.current()
        xp = be.xp
        lay = self._layout
        ip = _host_iteration(be, state.i)
        x = g = None
        memo = self._flat_memo  # the flat vectors behind the last state (engines that run eagerly)
        if memo is not None and _same_leaves(memo[0], state.z, memo[1]) and _same_leaves(
                memo[2], state.z_grad, memo[3]):
            x, g = memo[4], memo[5]
        if x is None:
            x, g = lay.ravel(state.z), lay.ravel(state.z_grad)
        key_next, u = draw_uniforms(be, state.rng_key, self._bshape,
                                    self._random_size(x.shape[-1]), x.dtype)
        a = state.adapt_state
        i = state.i
        x, pe, g, energy, acc, n_steps, div = self._transition(
            be, x, state.potential_energy, g, a, u, i)
        if self._num_warmup > 0:
            a = be.cond(i < self._num_warmup if ip is None else ip < self._num_warmup,
                        lambda op: self._adapt(be, *op, ip), lambda op: op[0],
                        (a, x, pe, g, acc, i, key_next))
        W = self._num_warmup
        if ip is None:
            n_mean = xp.astype(xp.where(i < W, i + 1, i - W + 1), acc.dtype)
            mean_acc = state.mean_accept_prob + (acc - state.mean_accept_prob) / n_mean
            mean_acc = xp.where(i == W, acc, mean_acc)
        else:  # Python branches: the same numbers
            mean_acc = acc if ip == W else state.mean_accept_prob + (
                acc - state.mean_accept_prob) / float(ip + 1 if ip < W else ip - W + 1)
        z, z_grad = lay.unravel(x), lay.unravel(g)
        if ip is not None and isinstance(z, dict):  # (not under jit: values are tracers there)
            self._flat_memo = (z, tuple(z.values()), z_grad, tuple(z_grad.values()), x, g)
        return HMCState(i + 1, z, pe, z_grad, energy,
                        xp.astype(n_steps, int_dtype(xp)), acc, mean_acc, div, a, key_next)
