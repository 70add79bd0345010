"""Threefry-2x32 (20 rounds), written once against a tiny integer-op interface.

This is the counter-based generator JAX uses (Salmon et al., "Parallel random numbers: as easy
as 1, 2, 3", SC 2011). The numpy and torch adapters run it on their own integer arrays; the
JAX adapter calls ``jax.random`` itself, which computes the same function, so every engine
gives the same bits from the same key.

Conventions, identical to ``jax.random`` with its default ``jax_threefry_partitionable=True``:

* a key is two 32-bit words ``(k0, k1)``;
* ``hash(key, (c_hi, c_lo)) -> (y0, y1)`` is the 20-round Threefry-2x32 block function;
* element ``i`` (row-major) of an output of shape ``S`` uses the 64-bit counter ``i``, split
  as ``c_hi = i >> 32`` and ``c_lo = i & 0xFFFFFFFF``;
* ``split(key, n)[i] = hash(key, (hi(i), lo(i)))`` (both output words form the new key);
* ``fold_in(key, d) = hash(key, (0, d))`` for a 32-bit ``d``;
* 32 random bits at element ``i``: ``y0 ^ y1``; 64 random bits: ``(y0 << 32) | y1``.

So ``fold_in(key, d) == split(key, n)[d]`` for ``d < n`` (as in JAX): derive keys either by
splitting or by folding in, not both from the same parent.

The interface object ``ops`` (see :class:`IntOps`) supplies wrap-around 32-bit ``add``, ``xor``
and rotate-left on the engine's arrays. Key words are plain Python ints when known (the fast
path: the key schedule is then computed in Python) or arrays broadcastable against the
counters (one key per element, used by the rejection samplers).

>>> import numpy as np
>>> from polyro.backends._threefry import hash2x32, NumpyOps
>>> y0, y1 = hash2x32(NumpyOps, 0, 0, np.zeros(1, np.uint32), np.zeros(1, np.uint32))
>>> hex(int(y0[0])), hex(int(y1[0]))
('0x6b200159', '0x99ba4efe')
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # the compiled kernel (setup.py; optional): one pass over the words, rounds in registers
    from polyro.backends import _threefry_kernel as KERNEL
except ImportError:  # not built (no C compiler at install): the numpy ufuncs below, same bits
    KERNEL = None

__all__ = ["IntOps", "NumpyOps", "ROTATIONS", "SKEIN_PARITY", "hash2x32", "hash_counters_np",
           "hash_py", "key_schedule_np", "seed_words", "split_py", "fold_in_py"]

#: Rotation constants of Threefry-2x32, used alternately in groups of four rounds.
ROTATIONS: tuple[tuple[int, ...], tuple[int, ...]] = ((13, 15, 26, 6), (17, 29, 16, 24))
#: The Skein key-schedule parity constant.
SKEIN_PARITY = 0x1BD11BDA
MASK32 = 0xFFFFFFFF


class IntOps:
    """The integer operations Threefry needs; engines subclass and override them.

    ``copy(a)``, ``add(a, b)`` (sum modulo 2**32), ``xor(a, b)``, ``rotl(x, r)`` (rotate a 32-bit word left
    by ``r``), ``scalar(v)`` (a Python int in ``[0, 2**32)`` as a value the engine can combine
    with its arrays). Methods may reuse (overwrite) their first argument: callers never read
    an argument after passing it.

    >>> IntOps.scalar(5)
    5
    """

    @staticmethod
    def scalar(v: int) -> Any:
        return v

    @staticmethod
    def copy(a: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def add(a: Any, b: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def xor(a: Any, b: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def rotl(x: Any, r: int) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class NumpyOps(IntOps):
    """``np.uint32`` arithmetic (wraps natively), in place on the first argument.

    Every first argument ``hash2x32`` passes is an array it owns, of the full broadcast shape,
    so the operations write into it. An instance made with a scratch buffer of that shape
    (``NumpyOps(np.empty(shape, np.uint32))``) also avoids allocating in ``rotl``.

    >>> import numpy as np
    >>> NumpyOps().rotl(np.array([0x80000001], np.uint32), 1)
    array([3], dtype=uint32)
    """

    def __init__(self, scratch: np.ndarray | None = None) -> None:
        self.scratch = scratch

    @staticmethod
    def scalar(v: int) -> Any:
        return np.uint32(v)

    @staticmethod
    def copy(a: Any) -> Any:
        return np.array(a, dtype=np.uint32, copy=True)

    @staticmethod
    def add(a: Any, b: Any) -> Any:
        return np.add(a, b, out=a)

    @staticmethod
    def xor(a: Any, b: Any) -> Any:
        return np.bitwise_xor(a, b, out=a)

    def rotl(self, x: Any, r: int) -> Any:
        tmp = self.scratch
        if tmp is not None and tmp.shape == x.shape:
            hi = np.right_shift(x, np.uint32(32 - r), out=tmp)
        else:
            hi = np.right_shift(x, np.uint32(32 - r))
        x = np.left_shift(x, np.uint32(r), out=x)
        return np.bitwise_or(x, hi, out=x)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer))


def hash2x32(ops: type[IntOps] | IntOps, k0: Any, k1: Any, x0: Any, x1: Any) -> tuple[Any, Any]:
    """The Threefry-2x32 block function with 20 rounds: ``(k0, k1), (x0, x1) -> (y0, y1)``.

    ``x0`` and ``x1`` are arrays of 32-bit words (they may be overwritten); ``k0``, ``k1`` are
    Python ints or arrays broadcastable against them.

    >>> import numpy as np
    >>> y = hash2x32(NumpyOps, 0, 42, np.array([0], np.uint32), np.array([1], np.uint32))
    >>> [int(v[0]) for v in y]
    [64467757, 2916123636]
    """
    if isinstance(ops, type):
        ops = ops()
    if _is_int(k0) and _is_int(k1):
        k0, k1 = int(k0) & MASK32, int(k1) & MASK32
        ks = (k0, k1, k0 ^ k1 ^ SKEIN_PARITY)
        sched = [ops.scalar(v) for v in ks]
        inj = [
            (ops.scalar(ks[(i + 1) % 3]), ops.scalar((ks[(i + 2) % 3] + i + 1) & MASK32))
            for i in range(5)
        ]
    else:
        k2 = ops.xor(ops.xor(ops.copy(k0), k1), ops.scalar(SKEIN_PARITY))
        ks = (k0, k1, k2)
        sched = list(ks)
        inj = [
            (ks[(i + 1) % 3], ops.add(ops.copy(ks[(i + 2) % 3]), ops.scalar(i + 1)))
            for i in range(5)
        ]
    x0 = ops.add(x0, sched[0])
    x1 = ops.add(x1, sched[1])
    for i in range(5):
        for r in ROTATIONS[i % 2]:
            x0 = ops.add(x0, x1)
            x1 = ops.rotl(x1, r)
            x1 = ops.xor(x1, x0)
        a, b = inj[i]
        x0 = ops.add(x0, a)
        x1 = ops.add(x1, b)
    return x0, x1


_U32 = np.uint32


def _c32(v: int) -> np.ndarray:
    # numpy ufuncs take a 0-d array operand ~1 us faster than a numpy or Python scalar
    return np.array(v & MASK32, dtype=_U32)


#: Per round: (rotation, right shift) as 0-d ``uint32`` arrays.
_ROT_NP = tuple(tuple((_c32(r), _c32(32 - r)) for r in rot) for rot in ROTATIONS)


def key_schedule_np(k0: int, k1: int) -> tuple[int, np.ndarray, tuple[tuple[np.ndarray, ...], ...]]:
    """The constants :func:`hash_counters_np` needs for key ``(k0, k1)``: ``(k1, k0 as a 0-d
    array, the five (x0, x1) key injections)``.

    >>> key_schedule_np(0, 0)[0]
    0
    """
    k0, k1 = int(k0) & MASK32, int(k1) & MASK32
    ks = (k0, k1, k0 ^ k1 ^ SKEIN_PARITY)
    inj = tuple((_c32(ks[(i + 1) % 3]), _c32(ks[(i + 2) % 3] + i + 1)) for i in range(5))
    return k1, _c32(k0), inj


def hash_counters_np(sched: tuple, start: int, x0: np.ndarray, x1: np.ndarray, tmp: np.ndarray,
                     base: np.ndarray) -> None:
    """Threefry-2x32 of the counters ``start, ..., start + L - 1`` under the key of ``sched``
    (:func:`key_schedule_np`), numpy.

    The fast path of :func:`hash2x32` for a run of counters whose high words are 0 (``start + L
    <= 2**32``): the same function, bit for bit, written into ``x0`` and ``x1`` (``np.uint32``, length
    ``L``) with every ufunc in place and every constant a 0-d array; ``tmp`` is scratch of length
    ``L`` and ``base`` is ``np.arange(m, dtype=np.uint32)`` for some ``m >= L``. The key injection
    is folded into the first round (``x0 = k0 + 0`` and ``x1 = i + k1``, so the first ``x0 += x1``
    is ``x1 + k0``): 110 ufunc calls per run, each at memory speed when the run stays in cache.
    Where the optional compiled kernel is built (``KERNEL``, ``polyro/backends/_threefry_kernel.c``)
    it computes the same words in one pass instead, about 8x faster; setting ``KERNEL = None``
    selects the ufuncs.

    >>> import numpy as np
    >>> x0, x1 = np.empty(2, np.uint32), np.empty(2, np.uint32)
    >>> t, base = np.empty(2, np.uint32), np.arange(2, dtype=np.uint32)
    >>> hash_counters_np(key_schedule_np(0, 0), 0, x0, x1, t, base)
    >>> hex(int(x0[0])), hex(int(x1[0]))
    ('0x6b200159', '0x99ba4efe')
    """
    k1, k0, inj = sched
    if KERNEL is not None:
        KERNEL.counters(int(k0), k1, start, x0, x1)
        return
    add, xor, shl, shr, bor = np.add, np.bitwise_xor, np.left_shift, np.right_shift, np.bitwise_or
    add(base[: x0.shape[0]], _c32(start + k1), x1)
    add(x1, k0, x0)  # round 1's x0 += x1, with x0 = 0 + k0
    first = True
    for i in range(5):
        for r, r_right in _ROT_NP[i % 2]:
            if first:
                first = False
            else:
                add(x0, x1, x0)
            shr(x1, r_right, tmp)
            shl(x1, r, x1)
            bor(x1, tmp, x1)
            xor(x1, x0, x1)
        a, b = inj[i]
        add(x0, a, x0)
        add(x1, b, x1)


#: Below this many counters, keys are derived in pure Python: no array dispatch at all. This is
#: the hot path of the ``seed`` handler, which splits a key at every site (tens of microseconds
#: instead of a few hundred per split on torch and numpy).
SMALL = 16


def hash_py(k0: int, k1: int, c_hi: int, c_lo: int) -> tuple[int, int]:
    """Threefry-2x32 on Python ints: the same function as :func:`hash2x32`, one counter.

    >>> [hex(v) for v in hash_py(0, 0, 0, 0)]
    ['0x6b200159', '0x99ba4efe']
    """
    k2 = k0 ^ k1 ^ SKEIN_PARITY
    ks = (k0, k1, k2)
    x0 = (c_hi + k0) & MASK32
    x1 = (c_lo + k1) & MASK32
    for i in range(5):
        for r in ROTATIONS[i % 2]:
            x0 = (x0 + x1) & MASK32
            x1 = ((x1 << r) | (x1 >> (32 - r))) & MASK32
            x1 ^= x0
        x0 = (x0 + ks[(i + 1) % 3]) & MASK32
        x1 = (x1 + ks[(i + 2) % 3] + i + 1) & MASK32
    return x0, x1


def split_py(k0: int, k1: int, n: int) -> list[tuple[int, int]]:
    """``split`` of key ``(k0, k1)`` into ``n`` keys, on Python ints (``n`` small).

    >>> split_py(0, 0, 2)[1] == fold_in_py(0, 0, 1)
    True
    """
    return [hash_py(k0, k1, i >> 32, i & MASK32) for i in range(n)]


def fold_in_py(k0: int, k1: int, data: int) -> tuple[int, int]:
    """``fold_in`` of a 32-bit ``data`` into key ``(k0, k1)``, on Python ints.

    >>> fold_in_py(0, 0, 3) == hash_py(0, 0, 0, 3)
    True
    """
    return hash_py(k0, k1, 0, data & MASK32)


def seed_words(seed: int) -> tuple[int, int]:
    """The two key words of integer ``seed``: its 64-bit two's complement, high word first.

    This is ``jax.random.PRNGKey(seed)`` with 64-bit integers enabled (and, for
    ``0 <= seed < 2**31``, in either mode). Seeds must lie in ``[-2**63, 2**64)``.

    >>> seed_words(0), seed_words(2**32 + 5), seed_words(-1)
    ((0, 0), (1, 5), (4294967295, 4294967295))
    """
    import operator

    try:
        s = operator.index(seed)
    except TypeError:
        raise TypeError(
            f"a random seed must be an integer, got {seed!r} of type {type(seed).__name__}; "
            "pass e.g. rng_seed=0"
        ) from None
    if not -(2**63) <= s < 2**64:
        raise ValueError(f"random seed {s} is outside [-2**63, 2**64); pick a 64-bit seed")
    s &= (1 << 64) - 1
    return (s >> 32) & MASK32, s & MASK32
