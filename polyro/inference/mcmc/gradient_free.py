"""Gradient-free kernels that run on every backend, numpy included.

* :class:`RandomWalkMetropolis`: Gaussian random-walk proposals whose per-coordinate scale is
  adapted during warmup (Robbins-Monro on the global log scale towards acceptance 0.234, or 0.44
  in one dimension, and a regularized Welford estimate of the posterior standard deviations from
  the middle of warmup on).
* :class:`AIES`: the affine-invariant ensemble sampler of Goodman & Weare (2010) with the stretch
  move (``a = 2``); the walkers play the role of chains in ``MCMC`` (``get_samples(
  group_by_chain=True)`` has one row per walker).

Both use only the potential (no gradient), are written with ``where`` selects and compile
under ``jit`` on JAX.

>>> import polyro
>>> from polyro.inference.mcmc import MCMC
>>> be = polyro.backends.current()
>>> k = AIES(potential_fn=lambda z: 0.5 * (z["x"] ** 2).sum(), num_walkers=8)
>>> m = MCMC(k, num_warmup=20, num_samples=30, progress_bar=False)
>>> m.run(be.key(1), init_params={"x": be.normal(be.key(2), (8, 2))})
>>> m.get_samples(group_by_chain=True)["x"].shape
(8, 30, 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from polyro import backends

from .hmc import initialize_chains, merge_init_params
from .util import FAULT_EXCEPTIONS, FlatLayout, int_dtype, select

__all__ = ["RandomWalkMetropolis", "AIES", "RWMState", "AIESState"]


class RWMState(NamedTuple):
    """State of a random-walk Metropolis chain (leading chain axis when vectorized)."""

    i: Any
    z: Any
    potential_energy: Any
    accept_prob: Any
    mean_accept_prob: Any
    diverging: Any
    num_steps: Any
    step_size: Any
    scale: Any
    wf_n: Any
    wf_mean: Any
    wf_m2: Any
    rng_key: Any


class AIESState(NamedTuple):
    """State of an AIES ensemble: ``z`` has a leading walker axis."""

    i: Any
    z: Any
    potential_energy: Any
    accept_prob: Any
    mean_accept_prob: Any
    diverging: Any
    num_steps: Any
    rng_key: Any


def _potential_flat(be: Any, potential_fn: Callable, layout: FlatLayout) -> Callable:
    """Fault-tolerant potential over ``(*batch, D)`` (NaN / exceptions -> +inf)."""
    xp = be.xp

    def one(x: Any) -> Any:
        try:
            v = potential_fn(layout.unravel(x))
        except FAULT_EXCEPTIONS:
            return xp.asarray(math.inf, dtype=x.dtype)
        return v

    def pot(X: Any) -> Any:
        if X.ndim == 1:
            v = one(X)
        else:
            try:
                v = be.vmap(lambda x: potential_fn(layout.unravel(x)))(X)
            except FAULT_EXCEPTIONS:
                v = xp.stack([one(X[c]) for c in range(X.shape[0])])
        v = xp.asarray(v)
        return xp.where(xp.isnan(v), xp.full_like(v, math.inf), v)

    return pot


class _GFBase:
    _name = "gradient-free kernel"
    is_ensemble = False

    def __init__(self, model: Callable | None, potential_fn: Callable | None,
                 init_strategy: Any) -> None:
        if (model is None) == (potential_fn is None):
            raise ValueError(f"{self._name}: give exactly one of model= or potential_fn=")
        self.model = model
        self.potential_fn = potential_fn
        self.init_strategy = init_strategy
        self._postprocess: Callable | None = None
        self._layout: FlatLayout | None = None

    @property
    def sample_field(self) -> str:
        """Name of the state field holding the draws (``"z"``)."""
        return "z"

    def postprocess_fn(self, model_args: tuple = (), model_kwargs: dict | None = None
                       ) -> Callable | None:
        """Unconstrained -> constrained map (``None`` for a user ``potential_fn``)."""
        return self._postprocess

    def _setup(self, be: Any, key: Any, init_params: Any, model_args: tuple,
               model_kwargs: dict | None, num_chains: int | None) -> Any:
        model_kwargs = {} if model_kwargs is None else model_kwargs
        if self.model is not None:
            params, pot, post = initialize_chains(be, self.model, key, num_chains, model_args,
                                                  model_kwargs, self.init_strategy)
            params = merge_init_params(be, type(self).__name__, params, init_params)
            self._postprocess = post
        else:
            if init_params is None:
                raise ValueError(f"{self._name}(potential_fn=...) needs init_params (a dict of "
                                 "unconstrained values; a leading chain/walker axis when "
                                 "vectorized)")
            params, pot = init_params, self.potential_fn
            self._postprocess = None
        params = be.tree_map(lambda v: be.asarray(v, dtype=be.float_dtype()), params)
        self._batched = num_chains is not None
        self._bshape = (int(num_chains),) if self._batched else ()
        self._layout = FlatLayout(params, batch_ndim=1 if self._batched else 0)
        self._pot = _potential_flat(be, pot, self._layout)
        return self._layout.ravel(params)


class RandomWalkMetropolis(_GFBase):
    """Random-walk Metropolis with adaptive Gaussian proposal scale.

    >>> RandomWalkMetropolis(potential_fn=lambda z: (z["x"] ** 2).sum()).target_accept_prob
    0.234
    """

    _name = "RandomWalkMetropolis"

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None, *,
                 scale: float = 1.0, adapt: bool = True, target_accept_prob: float | None = None,
                 init_strategy: Any = None) -> None:
        super().__init__(model, potential_fn, init_strategy)
        if scale <= 0:
            raise ValueError(f"RandomWalkMetropolis: scale must be positive, got {scale}")
        self.scale = float(scale)
        self.adapt = adapt
        self._target = target_accept_prob

    @property
    def target_accept_prob(self) -> float:
        """Acceptance rate the scale adapts towards (0.234; 0.44 in one dimension)."""
        if self._target is not None:
            return self._target
        if self._layout is not None and self._layout.size == 1:
            return 0.44
        return 0.234

    def init(self, rng_key: Any, num_warmup: int, init_params: Any = None,
             model_args: tuple = (), model_kwargs: dict | None = None, *,
             num_chains: int | None = None) -> RWMState:
        """Initial state (``num_chains``: vectorized chains with a leading axis)."""
        be = backends.current()
        xp = be.xp
        if rng_key is None:
            rng_key = be.key(0)
        k_init, rng_key = be.split(rng_key)
        x = self._setup(be, k_init, init_params, model_args, model_kwargs, num_chains)
        self._num_warmup = int(num_warmup)
        pe = self._pot(x)
        if not bool(xp.all(xp.isfinite(pe))):
            raise ValueError(f"{self._name}: the initial point has a non-finite potential "
                             f"({pe!r}); choose init_params inside the support")
        D = self._layout.size
        dt = x.dtype
        bs = self._bshape
        zf = xp.zeros(bs, dtype=dt)
        scale0 = xp.full(bs, self.scale * 2.38 / math.sqrt(D), dtype=dt)
        return RWMState(xp.asarray(0, dtype=int_dtype(xp)), self._layout.unravel(x), pe, zf, zf,
                        xp.zeros(bs, dtype=xp.bool), xp.ones(bs, dtype=int_dtype(xp)), scale0,
                        xp.ones(bs + (D,), dtype=dt), xp.asarray(0.0, dtype=dt),
                        xp.zeros(bs + (D,), dtype=dt), xp.zeros(bs + (D,), dtype=dt), rng_key)

    def sample(self, state: RWMState, model_args: tuple = (), model_kwargs: dict | None = None
               ) -> RWMState:
        """One Metropolis step (with scale adaptation during warmup)."""
        be = backends.current()
        xp = be.xp
        lay = self._layout
        x = lay.ravel(state.z)
        key, k_prop, k_acc = be.split(state.rng_key, 3)
        step = state.step_size[..., None] * state.scale
        prop = x + step * be.normal(k_prop, tuple(x.shape), dtype=x.dtype)
        pe_new = self._pot(prop)
        delta = pe_new - state.potential_energy
        delta = xp.where(xp.isnan(delta), xp.full_like(delta, math.inf), delta)
        acc = xp.exp(xp.minimum(-delta, xp.zeros_like(delta)))
        u = be.uniform(k_acc, tuple(acc.shape), dtype=x.dtype)
        accept = (u < acc) & xp.isfinite(pe_new)
        x = select(accept, prop, x, xp)
        pe = select(accept, pe_new, state.potential_energy, xp)
        i = state.i
        W = self._num_warmup
        step_size, sc, n, mean, m2 = (state.step_size, state.scale, state.wf_n, state.wf_mean,
                                      state.wf_m2)
        if self.adapt and W > 0:
            warm = i < W
            t = xp.astype(i, x.dtype) + 1.0
            new_step = step_size * xp.exp((acc - self.target_accept_prob) * t ** (-0.6))
            step_size = xp.where(warm, new_step, step_size)
            collect = warm & (i >= W // 4)
            n1 = n + 1.0
            d = x - mean
            mean1 = mean + d / n1
            m21 = m2 + d * (x - mean1)
            n = xp.where(collect, n1, n)
            mean = select(collect, mean1, mean, xp)
            m2 = select(collect, m21, m2, xp)
            refresh = (i + 1 == W // 2) | (i + 1 == W)
            var = m2 / xp.maximum(n - 1.0, xp.ones_like(n))
            var = (n / (n + 5.0)) * var + 1e-3 * 5.0 / (n + 5.0)
            sc = select(refresh & (n > 2.0), xp.sqrt(var), sc, xp)
        W_ = W
        n_mean = xp.astype(xp.where(i < W_, i + 1, i - W_ + 1), acc.dtype)
        mean_acc = state.mean_accept_prob + (acc - state.mean_accept_prob) / n_mean
        mean_acc = xp.where(i == W_, acc, mean_acc)
        return RWMState(i + 1, lay.unravel(x), pe, acc, mean_acc, ~xp.isfinite(pe_new),
                        state.num_steps, step_size, sc, n, mean, m2, key)


class AIES(_GFBase):
    """Affine-invariant ensemble sampler (stretch move) over ``num_walkers`` walkers.

    >>> AIES(potential_fn=lambda z: (z["x"] ** 2).sum(), num_walkers=10).num_walkers
    10
    """

    _name = "AIES"
    is_ensemble = True

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None, *,
                 num_walkers: int | None = None, a: float = 2.0,
                 init_strategy: Any = None) -> None:
        super().__init__(model, potential_fn, init_strategy)
        if num_walkers is not None and (num_walkers < 4 or num_walkers % 2):
            raise ValueError(f"AIES: num_walkers must be an even number >= 4, got {num_walkers}")
        if a <= 1.0:
            raise ValueError(f"AIES: the stretch parameter a must be > 1, got {a}")
        self.num_walkers = num_walkers
        self.a = float(a)

    def init(self, rng_key: Any, num_warmup: int, init_params: Any = None,
             model_args: tuple = (), model_kwargs: dict | None = None, *,
             num_chains: int | None = None) -> AIESState:
        """Initial ensemble: ``init_params`` with a leading walker axis, or (for a model) one
        initialization per walker."""
        be = backends.current()
        xp = be.xp
        if rng_key is None:
            rng_key = be.key(0)
        k_init, rng_key = be.split(rng_key)
        nw = self.num_walkers
        if init_params is not None:
            leaf = be.tree_leaves(init_params)[0]
            nw = int(leaf.shape[0])
            if nw < 4 or nw % 2:
                raise ValueError(f"AIES: init_params need a leading walker axis of even length "
                                 f">= 4; got {nw}")
        elif nw is None:
            nw = 16
        x = self._setup(be, k_init, init_params, model_args, model_kwargs, nw)
        self.num_walkers = nw
        self._num_warmup = int(num_warmup)
        pe = self._pot(x)
        dt = x.dtype
        zf = xp.zeros((nw,), dtype=dt)
        return AIESState(xp.asarray(0, dtype=int_dtype(xp)), self._layout.unravel(x), pe, zf, zf,
                         xp.zeros((nw,), dtype=xp.bool), xp.ones((nw,), dtype=int_dtype(xp)), rng_key)

    def _half_move(self, be: Any, xa: Any, pa: Any, xb: Any, key: Any) -> tuple:
        xp = be.xp
        h, D = xa.shape
        k_j, k_z, k_u = be.split(key, 3)
        j = xp.astype(xp.floor(be.uniform(k_j, (h,), dtype=xa.dtype) * h), int_dtype(xp))
        j = xp.clip(j, 0, h - 1)
        partner = xp.take(xb, j, axis=0)
        u = be.uniform(k_z, (h,), dtype=xa.dtype)
        zz = ((self.a - 1.0) * u + 1.0) ** 2 / self.a
        prop = partner + zz[:, None] * (xa - partner)
        pp = self._pot(prop)
        log_acc = (D - 1.0) * xp.log(zz) + pa - pp
        log_acc = xp.where(xp.isnan(log_acc), xp.full_like(log_acc, -math.inf), log_acc)
        acc = xp.exp(xp.minimum(log_acc, xp.zeros_like(log_acc)))
        accept = xp.log(be.uniform(k_u, (h,), dtype=xa.dtype)) < log_acc
        return select(accept, prop, xa, xp), select(accept, pp, pa, xp), acc

    def sample(self, state: AIESState, model_args: tuple = (), model_kwargs: dict | None = None
               ) -> AIESState:
        """Update both halves of the ensemble with stretch moves."""
        be = backends.current()
        xp = be.xp
        lay = self._layout
        x = lay.ravel(state.z)
        pe = state.potential_energy
        h = x.shape[0] // 2
        key, k1, k2 = be.split(state.rng_key, 3)
        x1, p1, a1 = self._half_move(be, x[:h], pe[:h], x[h:], k1)
        x2, p2, a2 = self._half_move(be, x[h:], pe[h:], x1, k2)
        x = xp.concat([x1, x2], axis=0)
        pe = xp.concat([p1, p2], axis=0)
        acc = xp.concat([a1, a2], axis=0)
        i = state.i
        W = self._num_warmup
        n_mean = xp.astype(xp.where(i < W, i + 1, i - W + 1), acc.dtype)
        mean_acc = state.mean_accept_prob + (acc - state.mean_accept_prob) / n_mean
        mean_acc = xp.where(i == W, acc, mean_acc)
        return AIESState(i + 1, lay.unravel(x), pe, acc, mean_acc, ~xp.isfinite(pe),
                         state.num_steps, key)
