"""The MCMC driver: runs a functional kernel for warmup + sampling over one or many chains.

* ``chain_method="sequential"``: chains one after the other.
* ``"vectorized"``: all chains as one batched computation (every state leaf gets a leading chain
  axis; the potential is evaluated with ``vmap``), on torch as well as on JAX. With
  ``num_chains=1`` the method makes no difference (as in NumPyro): the chain runs as one
  unbatched chain, whose ``last_state`` has no chain axis (a batch of one would only cost: on
  torch the batched NUTS path is not recorded and runs about 4x slower).
* ``"parallel"``: one device per chain where the backend offers ``pmap`` and sees a device per
  chain (JAX; on CPU ``XLA_FLAGS=--xla_force_host_platform_device_count=N``); elsewhere it falls back
  to sequential with a warning.

On a backend with ``SUPPORTS_JIT`` the loop over iterations is compiled with ``be.jit`` around
``be.fori_loop`` (draws collected in preallocated buffers, a few chunks per run); elsewhere it is
a plain Python loop. A ``KeyboardInterrupt`` during :meth:`MCMC.run` keeps the draws collected
so far (with a warning) and ``last_state`` to continue from.

>>> import polyro
>>> from polyro.inference.mcmc import MCMC, RandomWalkMetropolis
>>> k = RandomWalkMetropolis(potential_fn=lambda z: 0.5 * (z["x"] ** 2).sum())
>>> m = MCMC(k, num_warmup=50, num_samples=100, progress_bar=False)
>>> m.run(polyro.backends.current().key(0), init_params={"x": polyro.backends.current().asarray([0.0])})
>>> m.get_samples()["x"].shape
(100, 1)
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from polyro import backends

__all__ = ["MCMC"]

_EXTRA = ("diverging", "accept_prob", "num_steps", "potential_energy", "step_size", "energy",
          "mean_accept_prob")
#: NumPyro's names of recorded fields that polyro records under another name
_EXTRA_ALIASES = {"adapt_state.step_size": "step_size"}


def _check_extra_fields(extra_fields: Any) -> tuple[str, ...]:
    """NumPyro's ``run(..., extra_fields=(...))``: every name must be one polyro records."""
    if isinstance(extra_fields, str):
        extra_fields = (extra_fields,)
    names = tuple(extra_fields)
    bad = [n for n in names if n not in _EXTRA and n not in _EXTRA_ALIASES]
    if bad:
        raise ValueError(
            f"MCMC.run: extra_fields {bad} are not recorded. polyro records "
            f"{', '.join(_EXTRA)} on every run (as far as the kernel has them; "
            f"get_extra_fields() returns them all), and takes 'adapt_state.step_size' for "
            f"step_size; drop the others from extra_fields")
    return names


def _extra_of(state: Any) -> dict[str, Any]:
    out = {}
    for name in _EXTRA:
        if name == "step_size":
            a = getattr(state, "adapt_state", None)
            v = getattr(a, "step_size", None) if a is not None else getattr(state, "step_size",
                                                                               None)
        else:
            v = getattr(state, name, None)
        if v is not None:
            out[name] = v
    return out


def _stack_host(be: Any, items: list) -> np.ndarray:
    """The draws of one site (or extra field) stacked along a new first axis, as numpy. On an
    engine that runs eagerly they are stacked on the engine first (one operation and one copy
    to the host instead of one per draw); a compiling engine's draws are copied one by one
    (stacking them there would compile a concatenation of every draw).

    >>> from polyro.backends import numpy as be
    >>> _stack_host(be, [np.zeros(2), np.ones(2)]).tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    if not getattr(be, "SUPPORTS_JIT", False) and len(items) > 1 and all(
            be.is_array(v) for v in items):
        return np.asarray(be.to_numpy(be.xp.stack(items)))
    return np.stack([np.asarray(be.to_numpy(v)) for v in items])


class MCMC:
    """Run ``kernel`` for ``num_warmup`` + ``num_samples`` iterations on ``num_chains`` chains.

    >>> MCMC(None, num_warmup=1, num_samples=1).num_chains
    1
    """

    def __init__(self, kernel: Any, *, num_warmup: int, num_samples: int, num_chains: int = 1,
                 chain_method: str = "sequential", thinning: int = 1, progress_bar: bool = True,
                 chunk_size: int | None = None) -> None:
        if chain_method not in ("sequential", "vectorized", "parallel"):
            raise ValueError(f"MCMC: chain_method must be 'sequential', 'vectorized' or "
                             f"'parallel', got {chain_method!r}")
        if num_warmup < 0 or num_samples < 0 or num_chains < 1 or thinning < 1:
            raise ValueError(f"MCMC: need num_warmup >= 0, num_samples >= 0, num_chains >= 1, "
                             f"thinning >= 1; got {num_warmup}, {num_samples}, {num_chains}, "
                             f"{thinning}")
        self.kernel = kernel
        self.num_warmup = int(num_warmup)
        self.num_samples = int(num_samples)
        self.num_chains = int(num_chains)
        self.chain_method = chain_method
        self.thinning = int(thinning)
        self.progress_bar = progress_bar
        self.chunk_size = chunk_size
        self.last_state: Any = None
        self.post_warmup_state: Any = None
        self._samples: dict[str, Any] | None = None  # site -> (chains, draws, ...)
        self._extra: dict[str, Any] = {}
        self._args: tuple = ()
        self._kwargs: dict = {}
        self._compiled: dict = {}
        self._extra_fields: tuple[str, ...] = ()

    # --------------------------------------------------------------- running one state
    def _loop_python(self, be: Any, state: Any, n_iter: int, start_i: int, W: int,
                     label: str) -> tuple[Any, list, list, bool]:
        field = self.kernel.sample_field
        zs, extras = [], []
        interrupted = False
        bar = _progress(self.progress_bar, n_iter, label)
        try:
            for it in range(n_iter):
                state = self.kernel.sample(state, self._args, self._kwargs)
                i = start_i + it  # 0-based index of this iteration
                if i >= W and (i - W) % self.thinning == 0:
                    zs.append(getattr(state, field))
                    extras.append(_extra_of(state))
                if bar is not None:
                    bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if bar is not None:
                bar.close()
        return state, zs, extras, interrupted

    def _chunk_fn(self, be: Any, L: int) -> Callable:
        """``chunk(state, n)``: ``n <= L`` kernel steps in a ``fori_loop``, the draws and extra
        fields written into preallocated buffers of ``L`` rows."""
        xp = be.xp
        field = self.kernel.sample_field
        kernel, args, kwargs = self.kernel, self._args, self._kwargs

        def chunk(st: Any, n: Any) -> Any:
            z0 = getattr(st, field)
            e0 = _extra_of(st)
            bufz = be.tree_map(lambda v: xp.zeros((L,) + tuple(v.shape), dtype=v.dtype), z0)
            bufe = be.tree_map(lambda v: xp.zeros((L,) + tuple(v.shape), dtype=v.dtype), e0)

            def body(j: Any, carry: Any) -> Any:
                s, bz, bx = carry
                s = kernel.sample(s, args, kwargs)
                bz = be.tree_map(lambda b, v: be.index_update(b, j, v), bz, getattr(s, field))
                bx = be.tree_map(lambda b, v: be.index_update(b, j, v), bx, _extra_of(s))
                return s, bz, bx

            return be.fori_loop(0, n, body, (st, bufz, bufe))

        return chunk

    def _loop_jit(self, be: Any, state: Any, n_iter: int, start_i: int, W: int,
                  label: str, chains: int | None = None) -> tuple[Any, list, list, bool]:
        """The compiled loop. With ``chains``, ``state`` holds that many chains stacked on a
        leading axis, run with ``be.pmap`` (one device each), and the draws and extras come back
        as one list per chain."""
        xp = be.xp
        L = self.chunk_size or max(1, min(n_iter, max(200, (n_iter + 9) // 10)))
        key = (id(self.kernel), L, chains)
        run_chunk = self._compiled.get(key)
        if run_chunk is None:
            chunk = self._chunk_fn(be, L)
            run_chunk = be.jit(chunk) if chains is None else be.pmap(chunk, in_axes=(0, None))
            self._compiled[key] = run_chunk
        C = chains or 1
        zs: list[list] = [[] for _ in range(C)]
        extras: list[list] = [[] for _ in range(C)]
        interrupted = False
        bar = _progress(self.progress_bar, n_iter, label)
        done = 0
        try:
            while done < n_iter:
                n = min(L, n_iter - done)
                state, bz, bx = run_chunk(state, xp.asarray(n, dtype=xp.int32))
                bz_np = be.tree_map(be.to_numpy, bz)
                bx_np = {k: be.to_numpy(v) for k, v in bx.items()}
                per_chain = [(bz_np, bx_np)] if chains is None else [
                    (_index_tree(bz_np, c), {k: v[c] for k, v in bx_np.items()})
                    for c in range(C)]
                for c, (cz, cx) in enumerate(per_chain):
                    for j in range(n):
                        i = start_i + done + j
                        if i >= W and (i - W) % self.thinning == 0:
                            zs[c].append(_index_tree(cz, j))
                            extras[c].append({k: v[j] for k, v in cx.items()})
                done += n
                if bar is not None:
                    bar.update(n)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if bar is not None:
                bar.close()
        if chains is None:
            return state, zs[0], extras[0], interrupted
        return state, zs, extras, interrupted

    def _iterations(self, be: Any, state: Any) -> tuple[int, int, int]:
        """(start iteration, iterations left to run, effective warmup) of a chain's state."""
        start_i = int(be.to_numpy(state.i))
        W = self.num_warmup
        total = max(0, W + self.num_samples - start_i) if start_i < W else self.num_samples
        return start_i, total, W if start_i < W else start_i

    def _run_parallel(self, be: Any, states: list) -> tuple[list, list, bool]:
        """All chains at once with ``be.pmap``, one device per chain; returns the last state of
        each chain, one ``(draws, extras)`` per chain and whether it was interrupted."""
        xp = be.xp
        C = len(states)
        start_i, total, W_eff = self._iterations(be, states[0])
        stacked = be.tree_map(lambda *v: xp.stack(v), *states)
        st, zs, ex, interrupted = self._loop_jit(be, stacked, total, start_i, W_eff,
                                                 f"{C} parallel chains", chains=C)
        last = [be.tree_map(lambda v, c=c: v[c], st) for c in range(C)]
        return last, list(zip(zs, ex, strict=True)), interrupted

    def _parallel_unavailable(self, be: Any) -> str | None:
        """Why ``chain_method="parallel"`` cannot run here, or None when it can."""
        if getattr(be, "pmap", None) is None:
            return f"the {be.NAME!r} backend adapter has no pmap"
        if not getattr(self.kernel, "_jittable", True):
            return "the kernel cannot be compiled"
        if getattr(self.kernel, "is_ensemble", False):
            return "ensemble kernels run their walkers together"
        n = be.device_count()
        if n < self.num_chains:
            return (f"{self.num_chains} chains need {self.num_chains} devices and JAX sees {n} "
                    "(on CPU set XLA_FLAGS=--xla_force_host_platform_device_count="
                    f"{self.num_chains} before JAX starts)")
        return None

    def _run_state(self, be: Any, state: Any, label: str) -> tuple[Any, list, list, bool]:
        start_i, total, W_eff = self._iterations(be, state)
        use_jit = getattr(be, "SUPPORTS_JIT", False) and getattr(self.kernel, "_jittable", True)
        loop = self._loop_jit if use_jit else self._loop_python
        return loop(be, state, total, start_i, W_eff, label)

    # --------------------------------------------------------------- public
    def run(self, rng_key: Any, *args: Any, extra_fields: Any = (), init_params: Any = None,
            **kwargs: Any) -> None:
        """Run warmup (unless ``post_warmup_state`` is set) and sampling.

        ``rng_key``: a key (``be.key(seed)``, or a typed ``jax.random.key`` on JAX), an int
        seed, or None (seed 0). With ``post_warmup_state`` (e.g. ``mcmc.post_warmup_state = mcmc.last_state``) the run
        continues from that state, with its own random key, and collects ``num_samples`` new
        draws: a resumed run equals an uninterrupted one. ``extra_fields`` (NumPyro's
        argument): names of per-draw fields to keep; every field polyro records is kept anyway
        (:meth:`get_extra_fields`), so this only checks the names, before the run, and adds
        NumPyro's ``"adapt_state.step_size"`` as a key of :meth:`get_extra_fields`. Every other
        keyword goes to the model.
        """
        self._extra_fields = _check_extra_fields(extra_fields)
        be = backends.current()
        self._args, self._kwargs = args, kwargs
        self._init_params = init_params
        self._compiled = {}
        C = self.num_chains
        rng_key = backends.as_key(rng_key, be)  # None, an int, a typed JAX key
        method = self._effective_method()
        if method == "parallel":
            why = self._parallel_unavailable(be)
            if why is not None:
                warnings.warn(f"chain_method='parallel' cannot run here ({why}); running the "
                              "chains sequentially", stacklevel=2)
                method = "sequential"
        if getattr(self.kernel, "is_ensemble", False):
            method = "ensemble"
        self._method = method
        if self.post_warmup_state is not None:
            start = self.post_warmup_state
            states = start if isinstance(start, list) else [start]
            self._ensure_kernel_ready(be, rng_key, init_params, states[0])
        else:
            states = None
        results, interrupted = [], False
        if method in ("vectorized", "ensemble"):
            if states is None:
                nc = C if method == "vectorized" else None
                st = self.kernel.init(rng_key, self.num_warmup, init_params, args, kwargs,
                                      num_chains=nc)
            else:
                st = states[0]
            st, zs, ex, interrupted = self._run_state(be, st, "vectorized chains")
            last = st
            results.append((zs, ex))
        else:
            keys = be.split(rng_key, C) if C > 1 else [rng_key]
            if states is None:
                states = [self.kernel.init(keys[c], self.num_warmup, self._chain_init(be, c),
                                           args, kwargs) for c in range(C)]
            last = []
            if method == "parallel":
                last, results, interrupted = self._run_parallel(be, states)
            for c in range(C if method != "parallel" else 0):
                st, zs, ex, intr = self._run_state(be, states[c], f"chain {c + 1}/{C}")
                last.append(st)
                results.append((zs, ex))
                if intr:
                    interrupted = True
                    break
            last = last[0] if C == 1 else last
        self.last_state = last
        self._collect(be, results, method)
        missing = [n for n in self._extra_fields if self._samples and
                   _EXTRA_ALIASES.get(n, n) not in self._extra]
        if missing:  # the draws are kept: get_samples() has them
            raise ValueError(f"MCMC.run: {type(self.kernel).__name__} has no {missing} (its "
                             f"fields: {sorted(self._extra)}); the draws of this run are kept")
        if interrupted:
            warnings.warn("MCMC.run interrupted (KeyboardInterrupt): keeping the draws collected "
                          "so far; continue with mcmc.post_warmup_state = mcmc.last_state",
                          stacklevel=2)

    def _effective_method(self) -> str:
        """``chain_method``, except that one chain always runs as one unbatched chain."""
        return "sequential" if self.num_chains == 1 else self.chain_method

    def _chain_init(self, be: Any, c: int) -> Any:
        """Chain ``c``'s slice of ``init_params`` (their leading axis is the chain axis; for
        ``chain_method="vectorized"`` it is there with one chain too, as documented)."""
        ip = self._init_params
        if ip is not None and (self.num_chains > 1 or self.chain_method == "vectorized"):
            ip = be.tree_map(lambda v: v[c], ip)
        return ip

    def _ensure_kernel_ready(self, be: Any, key: Any, init_params: Any, state: Any) -> None:
        # a kernel loaded in a fresh process has no potential yet: re-initialize it (cheap)
        if getattr(self.kernel, "_layout", None) is not None:
            return
        field = self.kernel.sample_field
        z = getattr(state, field)
        nc = self.num_chains if self._effective_method() == "vectorized" else None
        if getattr(self.kernel, "is_ensemble", False):
            nc = None
        self.kernel.init(key, self.num_warmup, z if self.kernel.model is None else z, self._args,
                         self._kwargs, num_chains=nc)

    def _collect(self, be: Any, results: list, method: str) -> None:
        post = self.kernel.postprocess_fn(self._args, self._kwargs)
        chains_z, chains_e = [], []
        for zs, ex in results:
            if not zs:
                chains_z.append(None)
                chains_e.append({})
                continue
            stacked = {k: _stack_host(be, [z[k] for z in zs])
                       for k in _keys(zs[0])} if isinstance(zs[0], dict) else \
                {"_z": _stack_host(be, zs)}
            chains_z.append(stacked)
            chains_e.append({k: _stack_host(be, [e[k] for e in ex]) for k in ex[0]})
        if all(z is None for z in chains_z):
            self._samples, self._extra = {}, {}
            return
        if method in ("vectorized", "ensemble"):
            # draws x chains x ... -> chains x draws x ...
            z = {k: np.swapaxes(v, 0, 1) for k, v in chains_z[0].items()}
            e = {k: np.swapaxes(v, 0, 1) if v.ndim > 1 else v[None] for k, v in
                 chains_e[0].items()}
        else:
            n = min(len(next(iter(cz.values()))) for cz in chains_z if cz is not None)
            good = [cz for cz in chains_z if cz is not None]
            z = {k: np.stack([cz[k][:n] for cz in good]) for k in good[0]}
            ge = [ce for ce in chains_e if ce]
            e = {k: np.stack([ce[k][:n] for ce in ge]) for k in ge[0]}
        if post is not None:
            z = self._postprocess(be, post, z)
        self._samples = z
        self._extra = e

    def _postprocess(self, be: Any, post: Callable, z: dict[str, np.ndarray]) -> dict:
        lead = next(iter(z.values())).shape[:2]
        flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in z.items()}
        n = next(iter(flat.values())).shape[0]
        arrays = {k: be.asarray(v) for k, v in flat.items()}
        out = None
        if getattr(be, "SUPPORTS_VMAP", False):
            try:
                fn = be.vmap(post)
                if getattr(be, "SUPPORTS_JIT", False):
                    fn = be.jit(fn)
                res = fn(arrays)
                out = {k: be.to_numpy(v) for k, v in res.items()}
            except Exception:  # noqa: BLE001 - fall back to one draw at a time
                out = None
        if out is None:
            rows = [post({k: v[j] for k, v in arrays.items()}) for j in range(n)]
            out = {k: np.stack([np.asarray(be.to_numpy(r[k])) for r in rows]) for k in rows[0]}
        return {k: np.asarray(v).reshape(lead + np.asarray(v).shape[1:]) for k, v in out.items()}

    def get_samples(self, group_by_chain: bool = False) -> dict[str, Any]:
        """Draws per site: ``(chains * draws, ...)`` or ``(chains, draws, ...)`` with
        ``group_by_chain=True``, as arrays of the active backend, by site name in sorted order
        (as JAX orders a dict, so that every engine lists them alike)."""
        if self._samples is None:
            raise RuntimeError("MCMC.get_samples: call mcmc.run(...) first")
        be = backends.current()
        out = {}
        for k in sorted(self._samples):
            v = self._samples[k]
            v = v if group_by_chain else v.reshape((-1,) + v.shape[2:])
            out[k] = be.asarray(v)
        return out

    def get_extra_fields(self, group_by_chain: bool = False) -> dict[str, Any]:
        """Per-draw ``diverging``, ``accept_prob``, ``num_steps``, ``potential_energy``,
        ``step_size``, ``energy``, ``mean_accept_prob`` (numpy arrays)."""
        if self._samples is None:
            raise RuntimeError("MCMC.get_extra_fields: call mcmc.run(...) first")
        out = {k: (v if group_by_chain else v.reshape((-1,) + v.shape[2:]))
               for k, v in self._extra.items()}
        for alias in self._extra_fields:  # NumPyro's names asked for in run(extra_fields=)
            if alias in _EXTRA_ALIASES and _EXTRA_ALIASES[alias] in out:
                out[alias] = out[_EXTRA_ALIASES[alias]]
        return out

    def print_summary(self, prob: float = 0.9, exclude_deterministic: bool = False) -> None:
        """Print mean, sd, median, quantiles, n_eff (bulk), r_hat per site and the divergences
        (``exclude_deterministic=True``: the sampled sites only)."""
        from polyro.inference.diagnostics import print_summary

        if self._samples is None:
            raise RuntimeError("MCMC.print_summary: call mcmc.run(...) first")
        samples = {k: self._samples[k] for k in sorted(self._samples)}
        latent = getattr(getattr(self.kernel, "_layout", None), "keys", None)
        if exclude_deterministic and latent is not None:
            samples = {k: v for k, v in samples.items() if k in latent}
        print_summary(samples, prob=prob, group_by_chain=True)
        if "diverging" in self._extra:
            print(f"Number of divergences: {int(np.sum(self._extra['diverging']))}")

    # --------------------------------------------------------------- persistence
    def save_state(self, path: str) -> None:
        """Pickle ``last_state`` (numpy arrays) to ``path``; continue with :meth:`load_state`."""
        be = backends.current()
        st = self.last_state
        sts = st if isinstance(st, list) else [st]
        payload = {"list": isinstance(st, list),
                   "states": [_tree_np(be, s) for s in sts]}
        with open(path, "wb") as f:
            pickle.dump(payload, f)

    def load_state(self, path: str) -> Any:
        """Load a state saved by :meth:`save_state` into ``post_warmup_state`` (and return it)."""
        be = backends.current()
        with open(path, "rb") as f:
            payload = pickle.load(f)
        sts = [_tree_from_np(be, s) for s in payload["states"]]
        self.post_warmup_state = sts if payload["list"] else sts[0]
        return self.post_warmup_state


def _keys(d: dict) -> list:
    return list(d.keys())


def _index_tree(tree: Any, j: int) -> Any:
    if isinstance(tree, dict):
        return {k: _index_tree(v, j) for k, v in tree.items()}
    return tree[j]


def _tree_np(be: Any, s: Any) -> Any:
    if isinstance(s, tuple) and hasattr(s, "_fields"):
        return (type(s), [_tree_np(be, v) for v in s])
    if isinstance(s, dict):
        return {k: _tree_np(be, v) for k, v in s.items()}
    if isinstance(s, (tuple, list)):
        return type(s)(_tree_np(be, v) for v in s)
    if s is None:
        return None
    return np.asarray(be.to_numpy(s))


def _tree_from_np(be: Any, s: Any) -> Any:
    if isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], type) and \
            hasattr(s[0], "_fields"):
        return s[0](*[_tree_from_np(be, v) for v in s[1]])
    if isinstance(s, dict):
        return {k: _tree_from_np(be, v) for k, v in s.items()}
    if isinstance(s, (tuple, list)):
        return type(s)(_tree_from_np(be, v) for v in s)
    if s is None:
        return None
    arr = be.asarray(s)
    if tuple(arr.shape) != tuple(np.shape(s)):  # keep 0-d values 0-d on every engine
        arr = be.xp.reshape(arr, tuple(np.shape(s)))
    return arr


def _progress(enabled: bool, total: int, label: str) -> Any:
    if not enabled or total <= 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, desc=label, leave=False)
