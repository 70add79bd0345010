"""Random numbers on the numpy backend.

Portable mode (the default, ``polyro.set_rng("portable")``): Threefry-2x32 computed with
``np.uint32`` arithmetic (:mod:`polyro.backends._threefry`), bit-identical to ``jax.random``,
and the draws of :mod:`polyro.backends._draws` (the same arithmetic on every engine). A key is
an ``np.uint32`` array of shape ``(2,)``; ``key(seed)`` equals ``jax.random.PRNGKey(seed)``
(64-bit mode).

Speed: large draws run in chunks of ``_CHUNK`` elements that stay in cache, every ufunc in place
with 0-d-array constants (:func:`polyro.backends._threefry.hash_counters_np`); ``uniform`` fuses
the hash with the float construction, ``normal`` also with the transform
(:func:`polyro.backends._draws.sqrt2_erfinv`, its first region on whole chunks, the ~7% of
elements beyond it batched at the end). Where the optional compiled kernel is built, it hashes
each chunk in one pass (:func:`polyro.backends._threefry.hash_counters_np`): 10**6 float64
normals then cost about 1.0x numpy's own ``standard_normal`` (``benchmarks/rng_ratio.py``),
about 1.7x without it. The torch adapter runs these same kernels on
CPU.

Native mode (``polyro.set_rng("native")``): keys, ``split`` and ``fold_in`` stay Threefry, but
each draw seeds a fresh ``np.random.Generator(np.random.Philox(key=...))`` from its key and
uses numpy's own samplers -- faster (ziggurat normals, numpy's gamma/poisson/binomial), but the
values then differ from the torch and JAX backends. No global generator is touched in either mode.

>>> from polyro.backends.numpy import random as r
>>> k = r.key(0)
>>> k.tolist(), r.split(k).shape
([0, 0], (2, 2))
>>> float(r.uniform(k, ()))  # identical to jax.random.uniform(PRNGKey(0)) in float64
0.41845711171638644
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import array_api_compat.numpy as _xp
import numpy as np
import scipy.special as _sps

from polyro.backends import _draws
from polyro.backends import policy as _policy
from polyro.backends._threefry import (
    SMALL,
    NumpyOps,
    fold_in_py,
    hash2x32,
    hash_counters_np,
    key_schedule_np,
    seed_words,
    split_py,
)

__all__ = [
    "key", "split", "fold_in", "random_bits", "uniform", "normal", "exponential", "gumbel",
    "cauchy", "laplace", "logistic", "gamma", "beta", "dirichlet", "poisson", "binomial",
    "bernoulli", "categorical", "multinomial", "is_key",
]

_U32 = np.uint32
#: Elements per pass of the fused kernels (hash -> floats -> normal transform): large enough that
#: the ~170 ufunc calls per pass cost little next to the work, small enough to stay in cache.
_CHUNK = 1 << 16
_BASE = np.arange(_CHUNK, dtype=_U32)  # counter offsets within a chunk
_BASE.flags.writeable = False
#: Draws of at least this many elements may be split over threads (:func:`_over_chunks`).
_PARALLEL_MIN = 1 << 17
_POOL: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, threads, pool)


# ----------------------------------------------------------------------------- keys and bits


def is_key(x: Any) -> bool:
    """True if ``x`` is a numpy key: an unsigned-32-bit array of shape ``(2,)``.

    >>> is_key(key(1)), is_key(np.zeros(2))
    (True, False)
    """
    return isinstance(x, np.ndarray) and x.shape == (2,) and x.dtype == _U32


def _check_key(site: str, k: Any) -> tuple[int, int]:
    if isinstance(k, np.ndarray) and k.shape == (2,) and k.dtype.kind in "ui":
        return int(k[0]) & 0xFFFFFFFF, int(k[1]) & 0xFFFFFFFF
    raise _draws.key_type_error(site, k, "a PRNG key (np.uint32 array of shape (2,), from "
                                "polyro's key(seed) or split)")


def key(seed: int) -> np.ndarray:
    """The key of integer ``seed`` (``jax.random.PRNGKey(seed)`` with 64-bit ints).

    >>> key(2**32 + 5).tolist()
    [1, 5]
    """
    return np.array(seed_words(seed), dtype=_U32)


def _check_count(n: int) -> None:
    if n >= 2**32:
        raise ValueError(f"random: {n} draws from one key exceed the 2**32 supported on numpy")


def _pool(workers: int) -> ThreadPoolExecutor:
    """The module's thread pool with at least ``workers`` threads (a new one after a ``fork``: a
    child process inherits the pool object but not its threads)."""
    global _POOL
    pid = os.getpid()
    if _POOL is None or _POOL[0] != pid or _POOL[1] < workers:
        _POOL = (pid, workers, ThreadPoolExecutor(workers, thread_name_prefix="polyro-random"))
    return _POOL[2]


def _over_chunks(n: int, make: Callable[[int], Callable[[int, int], None]],
                 workers: int = 1) -> None:
    """Calls ``fn(s, e)`` on the chunks ``[s, e)`` of ``range(n)`` (``_CHUNK`` long), where each
    thread gets its ``fn = make(chunk_length)`` (its own scratch arrays).

    With ``workers > 1`` and at least ``_PARALLEL_MIN`` elements, the chunks are cut into
    ``workers`` contiguous runs, one per thread (the caller's own and pool threads): numpy's
    ufuncs release the GIL, so the runs overlap. The draws are counter-based -- a chunk's values
    depend only on its counters -- so the result is the same, bit for bit, for any ``workers``.

    >>> seen = []
    >>> _over_chunks(5, lambda c: lambda s, e: seen.append((s, e)))
    >>> seen
    [(0, 5)]
    """
    c = min(n, _CHUNK) or 1
    starts = list(range(0, n, c))
    w = min(workers, len(starts)) if n >= _PARALLEL_MIN else 1

    def run(group: list[int]) -> None:
        fn = make(c)
        for s in group:
            fn(s, min(n, s + c))

    if w <= 1:
        run(starts)
        return
    size = -(-len(starts) // w)
    groups = [starts[i:i + size] for i in range(0, len(starts), size)]
    pool = _pool(len(groups) - 1)
    futures = [pool.submit(run, g) for g in groups[1:]]
    try:
        run(groups[0])
    finally:  # no pool thread may still write into the arrays once this returns or raises
        for f in futures:
            f.result()


def _hash_counters(k0: int, k1: int, n: int,
                   workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Threefry of the counters ``0 .. n-1`` (hi word 0 below 2**32) under key ``(k0, k1)``
    (``workers`` threads: :func:`_over_chunks`)."""
    _check_count(n)
    y0 = np.empty(n, _U32)
    y1 = np.empty(n, _U32)
    sched = key_schedule_np(k0, k1)

    def make(c: int) -> Callable[[int, int], None]:
        tmp = np.empty(c, _U32)
        return lambda s, e: hash_counters_np(sched, s, y0[s:e], y1[s:e], tmp[: e - s], _BASE)

    _over_chunks(n, make, workers)
    return y0, y1


def _c(v: Any, dt: Any) -> np.ndarray:
    # a 0-d array operand: numpy ufuncs take it ~1 us faster than a scalar (and, being of dtype
    # ``dt``, it rounds the constant to ``dt`` as a Python float operand would)
    return np.array(v, dtype=dt)


_U01_CONST = {  # dtype -> (mask-or, minus) for u01 and for 2 * u01
    np.dtype(np.float32): ((_c(0x3F800000, _U32), _c(1.0, np.float32)),
                           (_c(0x40000000, _U32), _c(2.0, np.float32))),
    np.dtype(np.float64): ((_c(0x3FF0000000000000, np.uint64), _c(1.0, np.float64)),
                           (_c(0x4000000000000000, np.uint64), _c(2.0, np.float64))),
}
_SHIFTS = (_c(9, _U32), _c(12, _U32), _c(20, np.uint64))


def _u01_into(x0: np.ndarray, x1: np.ndarray, out: np.ndarray, two: bool = False) -> None:
    """[0, 1) floats of ``out``'s dtype from one chunk of Threefry words (JAX's mantissa
    construction: the top 23 bits of ``y0 ^ y1``, or the top 52 of ``(y0 << 32) | y1``), in place
    (``x0``/``x1`` are overwritten). ``two=True`` gives ``2 * u01`` instead (exponent of 2.0, minus
    2.0: the same mantissa, exact)."""
    bits, minus = _U01_CONST[out.dtype][two]
    if out.dtype == np.float32:
        np.bitwise_xor(x0, x1, x0)
        np.right_shift(x0, _SHIFTS[0], x0)
        np.bitwise_or(x0, bits, x0)
        np.subtract(x0.view(np.float32), minus, out)
    else:
        m = out.view(np.uint64)
        np.left_shift(x0, _SHIFTS[2], m)
        np.right_shift(x1, _SHIFTS[1], x1)
        np.bitwise_or(m, x1, m)
        np.bitwise_or(m, bits, m)
        np.subtract(out, minus, out)


_REGIONS_NP: dict[np.dtype, tuple] = {}


def _regions(dt: np.dtype) -> tuple:
    """:func:`_draws.erfinv_regions` of ``dt`` with every constant a 0-d array of dtype ``dt``."""
    r = _REGIONS_NP.get(dt)
    if r is None:
        r = _REGIONS_NP[dt] = tuple(
            (_c(below, dt), on_sqrt, _c(center, dt), _c(-center, dt),
             tuple(_c(v, dt) for v in coefs), _c(-below, dt))
            for below, on_sqrt, center, coefs in _draws.erfinv_regions(dt))
    return r


def _horner_into(coefs: tuple[np.ndarray, ...], t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = (...(c0 * t + c1) * t + ...) + cn``, the order of :func:`_draws.sqrt2_erfinv`."""
    if len(coefs) == 1:
        out[...] = coefs[0]
        return out
    mul, add = np.multiply, np.add
    mul(t, coefs[0], out)
    add(out, coefs[1], out)
    for c in coefs[2:]:
        mul(out, t, out)
        add(out, c, out)
    return out


def _erfinv_main_into(x: np.ndarray, out: np.ndarray, w: np.ndarray,
                      t: np.ndarray) -> np.ndarray:
    """``out = x * g_0(W)``, the first region's polynomial of :func:`_draws.sqrt2_erfinv` on a whole
    chunk (1-D; ``w``, ``t`` scratch of its length and dtype). Returns the indices of the elements
    outside that region (float64: ``W >= 2``, ``|x| > 0.93``, ~7% of normal draws; float32:
    ``W >= 5``, ~0.3%), with ``w = -W``; their
    ``out`` is garbage until :func:`_erfinv_tail` has given their values."""
    regions = _regions(x.dtype)
    one = _U01_CONST[x.dtype][0][1]
    np.subtract(one, x, w)
    np.add(one, x, t)
    np.multiply(w, t, w)
    np.log(w, w)  # w holds log((1 - x)(1 + x)) = -W
    _, _, _, neg_center, coefs, neg_below = regions[0]
    np.subtract(neg_center, w, t)  # W - center, one rounding
    _horner_into(coefs, t, out)
    np.multiply(out, x, out)
    return np.flatnonzero(w <= neg_below)


def _erfinv_tail(big: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x * g(W)`` for elements past the first region (``big`` = their ``W``, ``x`` their
    arguments), region by region: the same operations as :func:`_draws.sqrt2_erfinv`. Called once
    per draw on all such elements together (per-chunk calls on a few thousand elements would
    cost more in ufunc overhead than in arithmetic)."""
    g = np.empty_like(big)
    rest = np.ones(big.shape, bool)
    for below, on_sqrt, center, _, coefs, _ in _regions(big.dtype)[1:]:
        sel = rest & (big < below)
        if sel.any():
            v = big[sel]
            v = np.sqrt(v) if on_sqrt else v
            g[sel] = _horner_into(coefs, v - center, np.empty_like(v))
        rest &= ~sel
    return np.multiply(g, x, g)


class _Tails:
    """Collects, chunk by chunk, the elements :func:`_erfinv_main_into` leaves to
    :func:`_erfinv_tail`, and fills them in at the end. One ``list.append`` per chunk, so chunks
    may report from several threads."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, start: int, idx: np.ndarray, w: np.ndarray, x: np.ndarray) -> None:
        if idx.size:
            self.parts.append((idx + start, w[idx], x[idx]))

    def fill(self, out: np.ndarray) -> np.ndarray:
        if self.parts:
            idx, w, x = (np.concatenate(p) for p in zip(*self.parts, strict=True))
            out[idx] = _erfinv_tail(np.negative(w), x)
        return out


def _sqrt2_erfinv(x: Any) -> np.ndarray:
    """``sqrt(2) erfinv(x)`` for any float array: :func:`_draws.sqrt2_erfinv`, chunked and in
    place (:func:`_erfinv_main_into`, then :func:`_erfinv_tail`).

    >>> round(float(_sqrt2_erfinv(np.array(0.5))), 15)
    0.674489750196082
    """
    x = np.asarray(x)
    flat = np.ascontiguousarray(x).reshape(-1)
    n = flat.shape[0]
    out = np.empty_like(flat)
    c = min(n, _CHUNK) or 1
    w, t = np.empty(c, flat.dtype), np.empty(c, flat.dtype)
    tails = _Tails()
    for s in range(0, n, c):
        e = min(n, s + c)
        xs, ws = flat[s:e], w[: e - s]
        tails.add(s, _erfinv_main_into(xs, out[s:e], ws, t[: e - s]), ws, xs)
    return tails.fill(out).reshape(x.shape)


def _uniform01(k0: int, k1: int, n: int, dt: Any, workers: int = 1) -> np.ndarray:
    """``n`` [0, 1) floats of key ``(k0, k1)``: hash and float construction fused per chunk
    (``workers`` threads: :func:`_over_chunks`)."""
    _check_count(n)
    out = np.empty(n, dt)
    sched = key_schedule_np(k0, k1)

    def make(c: int) -> Callable[[int, int], None]:
        x0, x1, tmp = (np.empty(c, _U32) for _ in range(3))

        def fn(s: int, e: int) -> None:
            m = e - s
            hash_counters_np(sched, s, x0[:m], x1[:m], tmp[:m], _BASE)
            _u01_into(x0[:m], x1[:m], out[s:e])
        return fn

    _over_chunks(n, make, workers)
    return out


def _std_normal(k0: int, k1: int, n: int, dt: Any, workers: int = 1) -> np.ndarray:
    """``n`` standard normals of key ``(k0, k1)`` (:func:`polyro.backends._draws.std_normal_from_u01`
    of the uniforms): hash, floats and transform fused per chunk, so the work stays in cache
    (``workers`` threads: :func:`_over_chunks`)."""
    _check_count(n)
    dt = np.dtype(dt)
    out = np.empty(n, dt)
    # u = u01 * (1 - lo) + lo. With u01 = k * 2**-nmant, u01 * (1 - lo) = 2 u01 - u01 * 2**-(nmant+1)
    # rounds to 2 u01 exactly (the second term is below half an ulp of 2 u01; a tie only at powers
    # of two, which round to even, 2 u01): so u = 2 u01 + lo, one rounding.
    lo = _c(np.nextafter(dt.type(-1.0), dt.type(0.0)), dt)
    sched = key_schedule_np(k0, k1)
    tails = _Tails()  # list appends: safe from several threads

    def make(c: int) -> Callable[[int, int], None]:
        x0, x1, tmp = (np.empty(c, _U32) for _ in range(3))
        x, w, t = (np.empty(c, dt) for _ in range(3))

        def fn(s: int, e: int) -> None:
            m = e - s
            hash_counters_np(sched, s, x0[:m], x1[:m], tmp[:m], _BASE)
            xm, wm = x[:m], w[:m]
            _u01_into(x0[:m], x1[:m], xm, two=True)
            np.add(xm, lo, xm)
            tails.add(s, _erfinv_main_into(xm, out[s:e], wm, t[:m]), wm, xm)
        return fn

    _over_chunks(n, make, workers)
    return tails.fill(out)


def split(key: np.ndarray, num: int = 2) -> np.ndarray:
    """``num`` new keys, shape ``(num, 2)`` (``jax.random.split``).

    >>> split(key(0), 3).shape
    (3, 2)
    """
    k0, k1 = _check_key("split", key)
    shape = (num,) if isinstance(num, (int, np.integer)) else tuple(num)
    n = math.prod(shape)
    if n <= SMALL:  # pure Python: the seed handler's hot path
        return np.array(split_py(k0, k1, n), dtype=_U32).reshape((*shape, 2))
    y0, y1 = _hash_counters(k0, k1, n)
    return np.stack([y0, y1], axis=-1).reshape((*shape, 2))


def fold_in(key: np.ndarray, data: int) -> np.ndarray:
    """A new key from ``key`` and a 32-bit integer ``data`` (``jax.random.fold_in``).

    >>> fold_in(key(0), 3).tolist()
    [2467461003, 3840466878]
    """
    k0, k1 = _check_key("fold_in", key)
    d = int(data)
    if not 0 <= d < 2**32:
        raise ValueError(f"fold_in: data must be a 32-bit unsigned integer, got {d}")
    return np.array(fold_in_py(k0, k1, d), dtype=_U32)


def random_bits(key: np.ndarray, shape: Any = (), dtype: Any = "uint32") -> np.ndarray:
    """Uniform random bits (``jax.random.bits``): ``uint32`` (default) or ``uint64``.

    >>> random_bits(key(0), (2,)).dtype
    dtype('uint32')
    """
    k0, k1 = _check_key("random_bits", key)
    shape = _draws._shape(shape)
    width = np.dtype(dtype).itemsize * 8
    y0, y1 = _hash_counters(k0, k1, math.prod(shape))
    if width == 32:
        out = np.bitwise_xor(y0, y1, out=y0)
    elif width == 64:
        out = (y0.astype(np.uint64) << np.uint64(32)) | y1
    else:
        raise ValueError(f"random_bits: dtype must be uint32 or uint64, got {dtype!r}")
    return out.reshape(shape)


def _float_dtype(dt: Any) -> np.dtype:
    d = np.dtype(dt)
    if d not in (np.float32, np.float64):
        raise ValueError(f"random: float dtype must be float32 or float64, got {dt}")
    return d


def _floats_from_words(y0: np.ndarray, y1: np.ndarray, dt: Any) -> np.ndarray:
    """[0, 1) floats from Threefry words, JAX's mantissa construction."""
    if np.dtype(dt) == np.float32:
        b = np.bitwise_xor(y0, y1, out=y0)
        b >>= _U32(9)
        b |= _U32(0x3F800000)
        f = b.view(np.float32)
        f -= np.float32(1.0)
        return f
    if np.dtype(dt) == np.float64:
        m = y0.astype(np.uint64)
        m <<= np.uint64(20)
        m |= (y1 >> _U32(12)).astype(np.uint64)
        m |= np.uint64(0x3FF0000000000000)
        f = m.view(np.float64)
        f -= 1.0
        return f
    raise ValueError(f"random: float dtype must be float32 or float64, got {dt}")


class _Rng:
    """Generator primitives used by :mod:`polyro.backends._draws` (portable mode)."""

    @staticmethod
    def dtype(d: Any) -> Any:
        if d is None:
            return np.dtype(_policy.get_default_dtype("numpy")).type
        dt = np.dtype(d)
        if dt.kind != "f":
            raise ValueError(f"random: expected a float dtype, got {d!r}")
        return dt.type

    @staticmethod
    def is_float(x: Any) -> bool:
        return isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind == "f"

    @staticmethod
    def asarray(x: Any, dt: Any) -> np.ndarray:
        return np.asarray(x, dtype=dt)

    @staticmethod
    def to_int(x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.int64)

    @staticmethod
    def mul_add(a: Any, b: Any, c: Any) -> Any:
        return a * b + c

    @staticmethod
    def work_dtype(dt: Any) -> Any:
        return np.float64

    @staticmethod
    def loop_counter(v: int) -> int:
        return v

    @staticmethod
    def uniform01(key: np.ndarray, shape: tuple[int, ...], dt: Any) -> np.ndarray:
        k0, k1 = _check_key("uniform", key)
        return _uniform01(k0, k1, math.prod(shape), _float_dtype(dt)).reshape(shape)

    @staticmethod
    def std_normal(key: np.ndarray, shape: tuple[int, ...], dt: Any) -> np.ndarray:
        k0, k1 = _check_key("normal", key)
        return _std_normal(k0, k1, math.prod(shape), _float_dtype(dt)).reshape(shape)

    @staticmethod
    def split(key: np.ndarray, n: int) -> np.ndarray:
        return split(key, n)

    @staticmethod
    def keys_fold_in(keys: np.ndarray, t: int) -> np.ndarray:
        n = keys.shape[0]
        y0, y1 = hash2x32(NumpyOps, keys[:, 0], keys[:, 1], np.zeros(n, _U32),
                          np.full(n, t, _U32))
        return np.stack([y0, y1], axis=-1)

    @staticmethod
    def keys_uniform01(keys: np.ndarray, m: int, dt: Any) -> np.ndarray:
        n = keys.shape[0]
        x1 = np.repeat(np.arange(m, dtype=_U32)[:, None], n, axis=1)
        y0, y1 = hash2x32(NumpyOps, keys[None, :, 0], keys[None, :, 1],
                          np.zeros((m, n), _U32), x1)
        return _floats_from_words(y0, y1, dt)

    @staticmethod
    def gamma_reparam(alpha: Any, sample: Any) -> Any:
        return sample


def _while_loop(cond: Callable, body: Callable, init: Any) -> Any:
    val = init
    while bool(cond(val)):
        val = body(val)
    return val


class _Be:
    """The math :mod:`polyro.backends._draws` needs, on numpy/scipy."""

    xp = _xp
    sqrt2_erfinv = staticmethod(_sqrt2_erfinv)
    lgamma = staticmethod(_sps.gammaln)
    while_loop = staticmethod(_while_loop)

    @staticmethod
    def stop_gradient(x: Any) -> Any:
        return x


_be = _Be
_RNG = _Rng


# ----------------------------------------------------------------------------- native mode


def _native() -> bool:
    return _policy.get_rng() == "native"


def _gen(key: np.ndarray) -> np.random.Generator:
    k0, k1 = _check_key("random", key)
    return np.random.Generator(np.random.Philox(key=(k0 << 32) | k1))


class _NativeRng(_Rng):
    """Native mode: uniforms from numpy's Philox generator seeded by the key."""

    @staticmethod
    def uniform01(key: np.ndarray, shape: tuple[int, ...], dt: Any) -> np.ndarray:
        return _gen(key).random(shape, dtype=_Rng.dtype(dt))

    @staticmethod
    def std_normal(key: np.ndarray, shape: tuple[int, ...], dt: Any) -> np.ndarray:
        return _draws.std_normal_from_u01(_be, _NativeRng, _NativeRng.uniform01(key, shape, dt), dt)


_NATIVE_RNG = _NativeRng


def _native_float(key: np.ndarray, shape: Any, dtype: Any, params: tuple,
                  draw: Callable[[np.random.Generator, tuple, Any], np.ndarray]) -> np.ndarray:
    dt = _Rng.dtype(dtype)
    shape = _draws._bshape("random", shape, *params)
    return np.asarray(draw(_gen(key), shape, dt), dtype=dt)


# ----------------------------------------------------------------------------- public draws


def _bind(name: str, fn: Callable, native: Callable | None = None) -> Callable:
    def draw(key: Any, *args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            if _native():
                if native is not None:
                    return native(key, *args, **kwargs)
                return fn(_be, _NATIVE_RNG, key, *args, **kwargs)
            return fn(_be, _RNG, key, *args, **kwargs)

    draw.__name__ = draw.__qualname__ = name
    draw.__doc__ = fn.__doc__
    draw.__wrapped__ = fn  # type: ignore[attr-defined]
    return draw


def _n_uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    dt = _Rng.dtype(dtype)
    shape = _draws._bshape("uniform", shape, minval, maxval)
    u = _gen(key).random(shape, dtype=dt)
    return np.maximum(np.asarray(minval, dt), u * (np.asarray(maxval, dt) - minval) + minval)


def _n_normal(key, shape=(), dtype=None, loc=0.0, scale=1.0):
    z = _native_float(key, shape, dtype, (loc, scale),
                      lambda g, s, d: g.standard_normal(s, dtype=d))
    return (loc + scale * z).astype(z.dtype, copy=False)


def _n_exponential(key, shape=(), dtype=None, scale=1.0):
    z = _native_float(key, shape, dtype, (scale,),
                      lambda g, s, d: g.standard_exponential(s, dtype=d))
    return (scale * z).astype(z.dtype, copy=False)


def _n_gamma(key, a, shape=None, dtype=None):
    dt = _Rng.dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, a))
    shape = _draws._bshape("gamma", shape, a)
    return np.asarray(_gen(key).standard_gamma(np.broadcast_to(a, shape), size=shape), dt)


def _n_poisson(key, rate, shape=None, dtype=None):
    dt = _Rng.dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, rate))
    shape = _draws._bshape("poisson", shape, rate)
    return np.asarray(_gen(key).poisson(np.broadcast_to(rate, shape), size=shape), dt)


def _n_binomial(key, n, p, shape=None, dtype=None):
    dt = _Rng.dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, p, n))
    shape = _draws._bshape("binomial", shape, n, p)
    nn = np.broadcast_to(np.asarray(n).astype(np.int64), shape)
    return np.asarray(_gen(key).binomial(nn, np.broadcast_to(p, shape), size=shape), dt)


uniform = _bind("uniform", _draws.uniform, _n_uniform)
normal = _bind("normal", _draws.normal, _n_normal)
exponential = _bind("exponential", _draws.exponential, _n_exponential)
gumbel = _bind("gumbel", _draws.gumbel)
cauchy = _bind("cauchy", _draws.cauchy)
laplace = _bind("laplace", _draws.laplace)
logistic = _bind("logistic", _draws.logistic)
gamma = _bind("gamma", _draws.gamma, _n_gamma)
beta = _bind("beta", _draws.beta)
dirichlet = _bind("dirichlet", _draws.dirichlet)
poisson = _bind("poisson", _draws.poisson, _n_poisson)
binomial = _bind("binomial", _draws.binomial, _n_binomial)
bernoulli = _bind("bernoulli", _draws.bernoulli)
categorical = _bind("categorical", _draws.categorical)
multinomial = _bind("multinomial", _draws.multinomial)
