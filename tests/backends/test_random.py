"""Portable randomness: Threefry bits, keys and draws, identical across numpy, torch and JAX.

Oracles: Random123's published known-answer vectors for Threefry-2x32-20; ``jax.random``
(``PRNGKey``/``split``/``fold_in``/``bits``, x64 on) for the key and bit layout; floats built
from those bits in numpy by the test itself; scipy/mpmath for the transforms. Cross-engine
checks compare each backend with the numpy backend (a different engine).

Measured bounds (stated in the assertions):
* bits, keys, split, fold_in, uniform (any minval/maxval), bernoulli, categorical, poisson,
  binomial, multinomial: exactly equal on all engines;
* normal: each engine within 3 ulp of sqrt(2)*erfinv(u) (float32: scipy in float64; float64:
  mpmath; measured max 3.0 on every engine in float64 over 20000 draws and the tail points,
  2.27 on every engine in float32 over 66000), and engines within 2 ulp of each other (float32
  and float64, also the max over 4 x 10^6 draws; numpy and torch on CPU bit-identical): every
  engine evaluates the same polynomial with the same operations, and differs only through
  ``log`` (JAX: :mod:`polyro.backends.jax.fastlog`, within 1 ulp) and XLA's fused multiply-adds;
* exponential, gumbel, laplace, logistic, cauchy: engines within 2 ulp of each other, ulps taken
  at max(|x|, 1) (the transforms cancel to ~0 at interior points, where the error is absolute);
* gamma, beta, dirichlet (rejection + transforms): relative 2e-13 (float64), 5e-5 (float32)
  (absolute: the smallest normal float, as XLA flushes subnormal results to zero).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import polyro
from polyro.backends import get

jax = pytest.importorskip("jax")
jnp = jax.numpy

# Random123 kat_vectors, threefry2x32 20 rounds: (ctr0, ctr1, key0, key1) -> (out0, out1)
KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]
SEEDS = [0, 1, 42, 2**31 - 1, 2**32 + 5, 2**63 - 1, -1, -(2**63), 987654321]
SHAPES = [(), (1,), (2,), (7,), (3, 4), (2, 3, 5), (1001,)]


def N(x):
    """Any engine's array as numpy (test-side conversion)."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


@pytest.fixture(autouse=True)
def _x64():
    jax.config.update("jax_enable_x64", True)
    yield


def jkey(seed):
    return jax.random.PRNGKey(seed)


def as_backend_key(be, k):
    return be.asarray(np.asarray(k).astype(np.int64 if be.NAME == "torch" else np.uint32))


def u01_oracle(bits, dtype):
    """[0,1) floats from uint bits, JAX's mantissa construction, done here in numpy."""
    if dtype == "float32":
        m = (bits.astype(np.uint32) >> np.uint32(9)) | np.uint32(0x3F800000)
        return m.view(np.float32) - np.float32(1)
    m = (bits.astype(np.uint64) >> np.uint64(12)) | np.uint64(0x3FF0000000000000)
    return m.view(np.float64) - 1.0


def ulps(a, ref, dtype, floor=0.0):
    a = np.asarray(a, np.float64)
    ref = np.asarray(ref, np.float64)
    scale = np.maximum(np.abs(ref), floor).astype(dtype)
    err = np.abs(a - ref) / np.spacing(scale).astype(np.float64)
    err[a == ref] = 0.0
    return float(err.max()) if err.size else 0.0


# ------------------------------------------------------------------------- bits and keys


def test_threefry_known_answers():
    from polyro.backends._threefry import NumpyOps, hash2x32

    for (c0, c1, k0, k1), (o0, o1) in KAT:
        y0, y1 = hash2x32(NumpyOps, k0, k1, np.array([c0], np.uint32), np.array([c1], np.uint32))
        assert (int(y0[0]), int(y1[0])) == (o0, o1)


def _kernel():
    from polyro.backends import _threefry

    if _threefry.KERNEL is None:
        if os.environ.get("POLYRO_EXPECT_KERNEL") == "1":  # make test builds it: must be there
            pytest.fail("polyro/backends/_threefry_kernel.c is not built (setup.py, optional "
                        "extension); `make install` builds it where a C compiler is present")
        pytest.skip("the optional compiled Threefry kernel is not built here")
    return _threefry.KERNEL


def test_compiled_kernel_known_answers_and_boundaries():
    """The compiled kernel against Random123's vectors (counter high word 0: the one it takes)
    and against the numpy ufuncs over random keys, starts (up to the last counter below 2**32)
    and lengths, odd ones included (the vector loop's remainder)."""
    from polyro.backends._threefry import NumpyOps, hash2x32

    K = _kernel()
    y0, y1 = np.empty(1, np.uint32), np.empty(1, np.uint32)
    K.counters(0, 0, 0, y0, y1)
    assert (int(y0[0]), int(y1[0])) == KAT[0][1]
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 15, 16, 17, 63, 1000, 4099):
        k0, k1 = (int(v) for v in rng.integers(0, 2**32, 2))
        for start in (0, int(rng.integers(0, 2**32 - n)), 2**32 - n):
            y0, y1 = np.empty(n, np.uint32), np.empty(n, np.uint32)
            K.counters(k0, k1, start, y0, y1)
            c = np.arange(start, start + n, dtype=np.uint64).astype(np.uint32)
            w0, w1 = hash2x32(NumpyOps, k0, k1, np.zeros(n, np.uint32), c)
            np.testing.assert_array_equal(y0, w0)
            np.testing.assert_array_equal(y1, w1)
    y = np.empty(4, np.uint32)
    with pytest.raises(ValueError, match="one length"):
        K.counters(0, 0, 0, y, np.empty(3, np.uint32))
    with pytest.raises(ValueError, match="one length"):
        K.counters(0, 0, 0, y, np.empty(4, np.float64))
    with pytest.raises(ValueError, match="32-bit"):
        K.counters(0, 0, 2**32 - 2, y, np.empty(4, np.uint32))
    with pytest.raises(ValueError, match="32-bit"):
        K.counters(2**32, 0, 0, y, np.empty(4, np.uint32))
    with pytest.raises(ValueError, match="whole float64 values"):
        K.open_uniforms(0, 0, bytearray(12), True)
    with pytest.raises(ValueError, match="32-bit"):
        K.open_uniforms(2**32, 0, bytearray(8), True)
    with pytest.raises(BufferError if sys.version_info >= (3, 12) else (TypeError, BufferError)):
        K.counters(0, 0, 0, np.empty(8, np.uint32)[::2], np.empty(4, np.uint32))


def test_draws_same_with_and_without_the_compiled_kernel(backend, monkeypatch):
    """Every draw built on counter hashing (bits, split, uniform, normal, chunked, threaded)
    is the same, bit for bit, whether the compiled kernel or the numpy ufuncs hash; both equal
    jax.random's bits."""
    from polyro.backends import _threefry

    kernel = _kernel()
    from polyro.backends.numpy import random as nr

    monkeypatch.setattr(nr, "_CHUNK", 1000)  # several chunks, the last one short
    monkeypatch.setattr(nr, "_BASE", np.arange(1000, dtype=np.uint32))
    k, jk = backend.key(11), jkey(11)
    ref = np.asarray(jax.random.bits(jk, (2501,), jnp.uint32))
    got = {}
    for name, kern in (("kernel", kernel), ("ufuncs", None)):
        monkeypatch.setattr(_threefry, "KERNEL", kern)
        got[name] = [N(backend.random_bits(k, (2501,))), N(backend.split(k, 300)),
                     N(backend.uniform(k, (2501,), "float32")), N(backend.normal(k, (2501,))),
                     N(backend.normal(k, (3, 1001), "float32"))]
        opener = getattr(backend, "open_uniforms", None)  # MCMC's uniforms (torch)
        for dt in ("float64", "float32") if opener is not None else ():
            key_next, u = opener(k, 1054, backend.dtype(dt))
            got[name] += [N(key_next), N(u)]
            # the oracle: the words of random_bits, as (w + 0.5) * 2**-32 clipped, in numpy
            words = np.asarray(jax.random.bits(jk, (1056,), jnp.uint32))
            np.testing.assert_array_equal(N(key_next).astype(np.uint64), words[:2])
            eps = np.finfo(dt).eps
            want = np.clip((words[2:].astype(dt) + np.array(0.5, dt)) * np.array(2.0**-32, dt),
                           np.array(eps, dt), np.array(1 - eps, dt))
            np.testing.assert_array_equal(N(u), want)
        np.testing.assert_array_equal(got[name][0].astype(np.uint64), ref)
    for a, b in zip(got["kernel"], got["ufuncs"], strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_known_answers_every_backend(backend):
    # split(key, n)[i] = hash(key, (0, i)) and fold_in(key, d) = hash(key, (0, d)): check the
    # first KAT vector (counter 0) through split, on each engine.
    k = as_backend_key(backend, [0, 0])
    assert N(backend.split(k, 1))[0].tolist() == [0x6B200159, 0x99BA4EFE]
    assert N(backend.fold_in(k, 0)).tolist() == [0x6B200159, 0x99BA4EFE]


@pytest.mark.parametrize("seed", SEEDS)
def test_key_matches_jax(backend, seed):
    k = backend.key(seed)
    assert backend.is_key(k)
    assert N(k).astype(np.uint64).tolist() == np.asarray(jkey(seed)).tolist()


def test_key_rejects_bad_seeds(backend):
    with pytest.raises(TypeError, match="seed must be an integer"):
        backend.key(1.5)
    with pytest.raises(ValueError, match="outside"):
        backend.key(2**64)


@pytest.mark.parametrize("seed", [0, 7, 2**32 + 5, -3])
def test_split_fold_in_match_jax(backend, seed):
    k, jk = backend.key(seed), jkey(seed)
    for num in (1, 2, 3, 10, 257):
        got = N(backend.split(k, num)).astype(np.uint64)
        assert got.shape == (num, 2)
        np.testing.assert_array_equal(got, np.asarray(jax.random.split(jk, num)))
    for d in (0, 1, 5, 2**31, 2**32 - 1):
        np.testing.assert_array_equal(N(backend.fold_in(k, d)).astype(np.uint64),
                                      np.asarray(jax.random.fold_in(jk, d)))
    # chains of splits and folds stay in step
    k2 = backend.fold_in(backend.split(backend.split(k, 4)[3], 2)[1], 9)
    jk2 = jax.random.fold_in(jax.random.split(jax.random.split(jk, 4)[3], 2)[1], 9)
    np.testing.assert_array_equal(N(k2).astype(np.uint64), np.asarray(jk2))


@pytest.mark.parametrize("shape", SHAPES)
def test_random_bits_match_jax(backend, shape):
    for seed in (0, 3, 2**40 + 17):
        k, jk = backend.key(seed), jkey(seed)
        b32 = N(backend.random_bits(k, shape))
        assert b32.shape == shape
        np.testing.assert_array_equal(b32.astype(np.uint64),
                                      np.asarray(jax.random.bits(jk, shape, jnp.uint32)))
        b64 = N(backend.random_bits(k, shape, "uint64")).view(np.uint64) \
            if backend.NAME == "torch" else N(backend.random_bits(k, shape, "uint64"))
        np.testing.assert_array_equal(b64, np.asarray(jax.random.bits(jk, shape, jnp.uint64)))


def test_bad_key_and_bits_dtype(backend):
    with pytest.raises(TypeError, match="PRNG key"):
        backend.split(backend.asarray([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="uint32 or uint64|'uint32' or 'uint64'"):
        backend.random_bits(backend.key(0), (2,), "uint16")
    with pytest.raises(ValueError, match="32-bit"):
        backend.fold_in(backend.key(0), -1)
    # Pyro's d.sample(sample_shape): the shape where the key goes is named, with the fix
    import polyro.distributions as dist

    d = dist.Normal(backend.asarray(0.0), 1.0)
    for shape in ((2,), [3, 1]):
        with pytest.raises(TypeError, match=r"got (tuple|list) \((2,|3, 1)\)\. The key comes first: "
                           r"d\.sample\(key, sample_shape\)"):
            d.sample(shape)
    with pytest.raises(TypeError, match="got list"):
        backend.normal([2, 3])


# ------------------------------------------------------------------------- uniform: exact


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (4099,)])
def test_uniform_bits_exact(backend, dtype, shape):
    k, jk = backend.key(5), jkey(5)
    width = jnp.uint32 if dtype == "float32" else jnp.uint64
    u = u01_oracle(np.asarray(jax.random.bits(jk, shape, width)), dtype)
    got = N(backend.uniform(k, shape, dtype))
    assert got.dtype == np.dtype(dtype) and got.shape == shape
    np.testing.assert_array_equal(got, u)
    lo, hi = np.array(-2.0, dtype), np.array(3.5, dtype)
    want = np.maximum(lo, u * (hi - lo) + lo)  # two roundings, numpy
    np.testing.assert_array_equal(N(backend.uniform(k, shape, dtype, -2.0, 3.5)), want)
    assert (want >= lo).all() and (want < hi).all()


def test_uniform_broadcast_params_and_default_dtype(backend):
    lo = backend.asarray(np.array([0.0, 10.0, -5.0]))
    x = N(backend.uniform(backend.key(1), (4, 3), minval=lo, maxval=lo + 1))
    assert x.shape == (4, 3) and x.dtype == np.float64  # the fixture's policy dtype
    assert ((x >= N(lo)) & (x < N(lo) + 1)).all()
    with pytest.raises(ValueError, match="does not broadcast"):
        backend.uniform(backend.key(1), (4, 2), minval=lo)
    with polyro.backends.policy.default_dtype("float32"):
        assert N(backend.normal(backend.key(0), (2,))).dtype == np.float32


# ------------------------------------------------------------------------- transforms


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_within_4ulp_of_erfinv(backend, dtype):
    import scipy.special as sc

    n = 4000 if dtype == "float32" else 400
    k, jk = backend.key(11), jkey(11)
    dt = np.dtype(dtype).type
    width = jnp.uint32 if dtype == "float32" else jnp.uint64
    u01 = u01_oracle(np.asarray(jax.random.bits(jk, (n,), width)), dtype)
    lo = np.nextafter(dt(-1), dt(0))
    u = np.maximum(lo, u01 * (dt(1) - lo) + lo)
    if dtype == "float32":
        ref = np.sqrt(2.0) * sc.erfinv(u.astype(np.float64))
    else:
        mpmath = pytest.importorskip("mpmath")
        mpmath.mp.prec = 100
        ref = np.array([float(mpmath.sqrt(2) * mpmath.erfinv(mpmath.mpf(float(x)))) for x in u])
    z = N(backend.normal(k, (n,), dtype))
    assert z.dtype == np.dtype(dtype)
    assert ulps(z, ref, dt) <= 3.0


# arguments in every region of the polynomial (w = -log(1 - x^2) from 0 to 36): tails included,
# which uniform draws reach only about once per thousand (|x| > 0.999) or million
TAIL_X = [0.0, 1e-300, 3e-9, 0.3, 0.6, 0.85, 0.93, 0.99, 0.999, 0.9999, 1 - 1e-6, 1 - 1e-8,
          1 - 1e-10, 1 - 1e-12, 1 - 1e-14, 1 - 2.0**-52]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sqrt2_erfinv_all_regions(backend, dtype):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.prec = 100
    dt = np.dtype(dtype).type
    x = np.array(TAIL_X + [-v for v in TAIL_X] + [float(np.nextafter(dt(-1), dt(0)))], dt)
    x = x[np.abs(x) < 1]  # float32 rounds 1 - 1e-10 and beyond to 1
    ref = np.array([float(mpmath.sqrt(2) * mpmath.erfinv(mpmath.mpf(float(v)))) for v in x])
    z = N(backend.random._be.sqrt2_erfinv(backend.asarray(x, dtype=dtype)))
    assert z.dtype == np.dtype(dtype)
    assert ulps(z, ref, dt) <= 3.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_jax_fast_log_within_one_ulp(dtype):
    """JAX's normals take ``w = -log(y)`` from :func:`polyro.backends.jax.fastlog.fast_log` (XLA's
    float64 ``log`` is a scalar call per element on CPU); oracle mpmath. Within 1 ulp (measured
    0.76 float64, 0.78 float32) on positive normal floats: random magnitudes over the whole
    exponent range, ``y`` near 1 (``log`` near 0, the normal transform's centre), the ``y >= 2**-53``
    the transform meets, and the edges of the reduction (``sqrt(2)`` and powers of two)."""
    mpmath = pytest.importorskip("mpmath")
    from polyro.backends.jax.fastlog import fast_log

    mpmath.mp.prec = 120
    dt = np.dtype(dtype).type
    info = np.finfo(dt)
    rng = np.random.default_rng(0)
    lg = float(np.log(info.max)) * 0.999
    edges = [np.sqrt(dt(2)), dt(1), dt(2), dt(0.5), info.tiny, info.max, dt(2.0**-53)]
    edges += [np.nextafter(e, dt(0)) for e in edges[:4]] + [np.nextafter(e, dt(4)) for e in edges[:4]]
    y = np.concatenate([
        np.exp(rng.uniform(-lg, lg, 3000)), np.exp(rng.uniform(-37, 0, 3000)),
        1 - rng.uniform(0, 1e-3, 1000), 1 + rng.uniform(0, 1e-3, 500),
        rng.uniform(0, 1, 2000), np.array(edges, np.float64)]).astype(dt)
    y = y[(y >= info.tiny) & np.isfinite(y)]
    got = np.asarray(jax.jit(fast_log)(jnp.asarray(y)))
    assert got.dtype == np.dtype(dtype)
    ref = np.array([float(mpmath.log(mpmath.mpf(float(v)))) for v in y])
    exact = got.astype(np.float64) == ref
    err = np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(dt)).astype(np.float64)
    err[exact] = 0.0
    assert float(err.max()) <= 1.0
    assert got[y == 1].tolist() == [0.0] * int((y == 1).sum())


def test_numpy_fused_normal_is_the_select_form(monkeypatch):
    """The numpy kernel (hash, floats and transform fused per chunk; tails batched at the end)
    computes exactly :func:`_draws.sqrt2_erfinv` of the uniforms, across chunk boundaries."""
    from polyro.backends import _draws
    from polyro.backends.numpy import random as nr

    monkeypatch.setattr(nr, "_CHUNK", 1000)
    monkeypatch.setattr(nr, "_BASE", np.arange(1000, dtype=np.uint32))
    for dtype in ("float32", "float64"):
        dt = np.dtype(dtype).type
        k, jk = nr.key(7), jkey(7)
        n = 4567
        width = jnp.uint32 if dtype == "float32" else jnp.uint64
        u01 = u01_oracle(np.asarray(jax.random.bits(jk, (n,), width)), dtype)
        np.testing.assert_array_equal(nr.uniform(k, (n,), dtype), u01)
        np.testing.assert_array_equal(N(nr.random_bits(k, (n,))),
                                      np.asarray(jax.random.bits(jk, (n,), jnp.uint32)))
        lo = np.nextafter(dt(-1), dt(0))
        u = u01 * (dt(1) - lo) + lo
        np.testing.assert_array_equal(nr.normal(k, (n,), dtype), _draws.sqrt2_erfinv(np, u))
        np.testing.assert_array_equal(nr._sqrt2_erfinv(u), _draws.sqrt2_erfinv(np, u))
        u2 = u[:10].reshape(2, 5)  # any shape
        np.testing.assert_array_equal(nr._sqrt2_erfinv(u2), _draws.sqrt2_erfinv(np, u2))


def test_torch_cpu_normals_are_numpys_and_tensor_path_agrees():
    """torch on CPU runs numpy's kernels on memory the tensor owns (identical bits); the int32
    tensor path (used on accelerators) gives the same Threefry words and, with the select form of
    the transform, normals within 2 ulp (torch's float32 ``log`` differs from numpy's)."""
    torch = pytest.importorskip("torch")
    from polyro.backends import _draws
    from polyro.backends.numpy import random as nr
    from polyro.backends.torch import random as tr

    for dtype in ("float32", "float64"):
        tdt = getattr(torch, dtype)
        z = tr.normal(tr.key(5), (300, 7), tdt)
        assert z.dtype == tdt and tuple(z.shape) == (300, 7)
        np.testing.assert_array_equal(z.numpy(), nr.normal(nr.key(5), (300, 7), dtype))
        y0, y1 = tr._hash_counters_tensor(0, 5, 2100, "cpu")
        a0, a1 = nr._hash_counters(0, 5, 2100)
        np.testing.assert_array_equal(y0.numpy().view(np.uint32), a0)
        np.testing.assert_array_equal(y1.numpy().view(np.uint32), a1)
        u = tr._floats_from_words(y0, y1, tdt)
        np.testing.assert_array_equal(u.numpy(), nr.uniform(nr.key(5), (2100,), dtype))
        dt = np.dtype(dtype).type
        lo = np.nextafter(dt(-1), dt(0))
        x = torch.from_numpy(u.numpy() * (dt(1) - lo) + lo)
        zs = _draws.sqrt2_erfinv(tr._xp, x, const=lambda v, x=x: torch.tensor(v, dtype=x.dtype))
        assert ulps(zs.numpy(), nr._sqrt2_erfinv(x.numpy()), dt) <= 2.0


def test_threaded_kernels_give_the_same_bits(monkeypatch):
    """Large CPU draws spread their chunks over threads (torch: ``torch.get_num_threads()``);
    the values are those of one thread, bit for bit, for uneven splits too, with the tails of
    the normal transform coming from several threads; the JAX words are the oracle for the bits.
    After ``fork`` a child makes its own pool (the parent's threads do not exist there)."""
    from polyro.backends.numpy import random as nr

    monkeypatch.setattr(nr, "_CHUNK", 1000)
    monkeypatch.setattr(nr, "_BASE", np.arange(1000, dtype=np.uint32))
    monkeypatch.setattr(nr, "_PARALLEL_MIN", 2000)
    n = 10_567  # 11 chunks, the last one short
    calls = []
    real = nr._pool
    monkeypatch.setattr(nr, "_pool", lambda w: calls.append(w) or real(w))
    ref = np.asarray(jax.random.bits(jkey(3), (n,), jnp.uint32))
    for workers in (1, 2, 3, 4):
        y0, y1 = nr._hash_counters(0, 3, n, workers)
        np.testing.assert_array_equal(y0 ^ y1, ref)
        for dtype in ("float32", "float64"):
            one = nr._std_normal(0, 3, n, dtype)
            np.testing.assert_array_equal(nr._std_normal(0, 3, n, dtype, workers), one)
            np.testing.assert_array_equal(nr._uniform01(0, 3, n, dtype, workers),
                                          nr._uniform01(0, 3, n, dtype))
            assert (np.abs(one) > 1.5).sum() > 300  # tails (|u| > 0.93) in every chunk
    assert calls and set(calls) == {1, 2, 3}  # pool threads besides the caller's own
    np.testing.assert_array_equal(nr._std_normal(0, 3, 1999, "float64", 4),  # below the minimum
                                  nr._std_normal(0, 3, 1999, "float64"))
    assert sorted(calls) == [1] * 5 + [2] * 5 + [3] * 5  # one pool per threaded draw

    torch = pytest.importorskip("torch")
    from polyro.backends.torch import random as tr

    before = torch.get_num_threads()
    try:
        draws = []
        for threads in (1, 3):
            torch.set_num_threads(threads)
            draws.append(tr.normal(tr.key(3), (n,), torch.float32).numpy())
        np.testing.assert_array_equal(draws[0], draws[1])
        np.testing.assert_array_equal(draws[0], nr._std_normal(0, 3, n, "float32"))
    finally:
        torch.set_num_threads(before)

    # fork in a fresh interpreter that has no JAX threads (JAX warns that fork may deadlock them)
    code = (
        "import os, sys, numpy as np\n"
        "from polyro.backends.numpy import random as nr\n"
        "nr._CHUNK, nr._BASE, nr._PARALLEL_MIN = 1000, np.arange(1000, dtype=np.uint32), 2000\n"
        "one = nr._std_normal(0, 3, 10567, 'float64', 3)  # the parent's pool starts\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if np.array_equal(nr._std_normal(0, 3, 10567, 'float64', 3), one) else 1)\n"
        "sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n"
    )
    try:  # a hang is the child waiting on the parent's pool, whose threads it does not have
        done = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("a forked child hung drawing with threads: the pool was not renewed")
    assert done.returncode == 0, done.stderr.decode()


CROSS = {  # name -> (kwargs, ulp bound, ulp floor)
    "normal": ({}, 2, 0.0),
    "exponential": ({}, 2, 1.0),
    "gumbel": ({}, 2, 1.0),
    # tan near its poles: XLA's float32 tan gave 3 ulp on an AMD EPYC host, 2 on Intel hosts
    "cauchy": ({}, 3, 1.0),
    "laplace": ({}, 2, 1.0),
    "logistic": ({}, 2, 1.0),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CROSS))
def test_transformed_draws_agree_across_engines(backend, name, dtype):
    kwargs, bound, floor = CROSS[name]
    ref_be = get("numpy")
    ref = N(getattr(ref_be, name)(ref_be.key(3), (20000,), dtype, **kwargs))
    got = N(getattr(backend, name)(backend.key(3), (20000,), dtype, **kwargs))
    assert got.dtype == np.dtype(dtype)
    assert ulps(got, ref, np.dtype(dtype).type, floor) <= bound


def test_loc_scale_are_plain_arithmetic(backend):
    k = backend.key(4)
    z = N(backend.normal(k, (6,)))
    x = N(backend.normal(k, (6,), loc=2.0, scale=backend.asarray(np.full(6, 3.0))))
    np.testing.assert_allclose(x, 2.0 + 3.0 * z, rtol=1e-15)


# ------------------------------------------------------------------------- discrete + rejection

P_POIS = np.array([0.0, 0.3, 2.0, 9.9, 10.0, 37.5, 1e3])
N_BIN = np.array([0.0, 5.0, 20.0, 100.0, 1000.0, 7.0])
P_BIN = np.array([0.3, 0.9, 0.6, 0.02, 0.5, 1.0])


def _draw(be, name, dtype):
    a = lambda v: be.asarray(np.asarray(v, dtype), dtype=dtype)  # noqa: E731
    k = be.key(21)
    return {
        "bernoulli": lambda: be.bernoulli(k, a([0.1, 0.5, 0.9]), (300, 3)),
        "categorical": lambda: be.categorical(k, a(np.log([0.2, 0.5, 0.3])), shape=(500,)),
        "poisson": lambda: be.poisson(k, a(P_POIS), (200, 7)),
        "binomial": lambda: be.binomial(k, a(N_BIN), a(P_BIN), (200, 6)),
        "multinomial": lambda: be.multinomial(k, 12.0, a([0.2, 0.3, 0.5]), (100,)),
        "gamma": lambda: be.gamma(k, a([0.05, 0.4, 1.0, 2.5, 60.0]), (300, 5)),
        "beta": lambda: be.beta(k, a([0.3, 2.0]), a([1.5, 0.6]), (300, 2)),
        "dirichlet": lambda: be.dirichlet(k, a([0.5, 1.0, 4.0]), (300,)),
    }[name]()


_REF: dict = {}


def _ref(name, dtype):
    if (name, dtype) not in _REF:
        _REF[name, dtype] = N(_draw(get("numpy"), name, dtype))
    return _REF[name, dtype]


DISCRETE_CASES = [(n, d) for n in ("bernoulli", "categorical", "poisson", "binomial")
                  for d in ("float32", "float64")] + [("multinomial", "float64")]


@pytest.mark.parametrize(("name", "dtype"), DISCRETE_CASES)
def test_discrete_draws_identical_across_engines(backend, name, dtype):
    got = N(_draw(backend, name, dtype))
    np.testing.assert_array_equal(got, _ref(name, dtype))


@pytest.mark.parametrize(("name", "dtype"), [("gamma", "float32"), ("gamma", "float64"),
                                             ("beta", "float64"), ("dirichlet", "float64")])
def test_gamma_family_agrees_across_engines(backend, name, dtype):
    got = N(_draw(backend, name, dtype))
    assert got.dtype == np.dtype(dtype)
    rtol = 5e-5 if dtype == "float32" else 2e-13
    # atol: XLA flushes subnormal results to zero, numpy and torch keep them
    np.testing.assert_allclose(got, _ref(name, dtype), rtol=rtol, atol=np.finfo(dtype).tiny)


def test_discrete_values_are_sane(backend):
    x = N(_draw(backend, "poisson", "float64"))
    assert (x[:, 0] == 0).all() and (x >= 0).all() and (x == np.floor(x)).all()
    b = N(_draw(backend, "binomial", "float64"))
    assert (b[:, 0] == 0).all() and (b[:, 5] == 7).all() and (b <= N_BIN).all()
    m = N(_draw(backend, "multinomial", "float64"))
    assert m.shape == (100, 3) and (m.sum(-1) == 12).all()
    c = N(_draw(backend, "categorical", "float64"))
    assert c.shape == (500,) and set(np.unique(c)) <= {0, 1, 2}
    assert np.isnan(N(backend.poisson(backend.key(0), backend.asarray(np.array([np.nan]))))).all()


def test_shapes_and_param_shape_errors(backend):
    k = backend.key(0)
    a = backend.asarray(np.array([1.0, 2.0, 3.0]))
    assert tuple(backend.gamma(k, a, (2, 3)).shape) == (2, 3)
    assert tuple(backend.categorical(k, a, shape=(5,)).shape) == (5,)
    assert tuple(backend.categorical(k, backend.xp.stack([a, a]), axis=0).shape) == (3,)
    assert tuple(backend.bernoulli(k, 0.3, (2, 2)).shape) == (2, 2)
    assert tuple(backend.uniform(k, (0, 3)).shape) == (0, 3)
    with pytest.raises(ValueError, match="gamma: parameter shape"):
        backend.gamma(k, a, (2, 2))


# ------------------------------------------------------------------------- reproducibility


def test_same_key_same_draws_and_different_keys_differ(backend):
    k1, k2 = backend.split(backend.key(8))
    for name in ("normal", "uniform", "gumbel"):
        f = getattr(backend, name)
        np.testing.assert_array_equal(N(f(k1, (50,))), N(f(k1, (50,))))
        assert not np.array_equal(N(f(k1, (50,))), N(f(k2, (50,))))
    np.testing.assert_array_equal(N(_draw(backend, "gamma", "float64")),
                                  N(_draw(backend, "gamma", "float64")))


def test_no_global_rng_touched(backend):
    import torch

    np_state = np.random.get_state()[1].copy()
    t_state = torch.random.get_rng_state().clone()
    backend.normal(backend.key(0), (10,))
    _draw(backend, "gamma", "float64")
    polyro.set_rng("native")
    try:
        backend.normal(backend.key(0), (10,))
        backend.uniform(backend.key(0), (10,))
    finally:
        polyro.set_rng("portable")
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.random.get_rng_state(), t_state)


def test_native_mode_reproducible_and_engine_specific(backend):
    polyro.set_rng("native")
    try:
        a = N(backend.normal(backend.key(2), (1000,)))
        b = N(backend.normal(backend.key(2), (1000,)))
        g = N(backend.gamma(backend.key(2), backend.asarray(np.full(1000, 3.0))))
    finally:
        polyro.set_rng("portable")
    np.testing.assert_array_equal(a, b)
    # 1000 draws: 5-sigma bounds on mean and standard deviation
    assert abs(a.mean()) < 0.16 and abs(a.std() - 1) < 0.12
    assert abs(g.mean() - 3) < 0.3
    assert not np.array_equal(a, N(backend.normal(backend.key(2), (1000,))))


def test_jit_equals_eager_on_jax():
    be = get("jax")
    k = be.key(13)
    alpha = jnp.asarray([0.3, 1.0, 4.0])

    def draws(k, alpha):
        ks = be.split(k, 4)
        return (be.uniform(ks[0], (7,), "float64", -1.0, 2.0), be.normal(ks[1], (7,), "float64"),
                be.gamma(ks[2], alpha, (5, 3), "float64"),
                be.categorical(ks[3], jnp.log(alpha), shape=(9,)))

    eager = draws(k, alpha)
    jitted = jax.jit(draws)(k, alpha)
    for e, j in zip(eager, jitted, strict=True):
        np.testing.assert_array_equal(np.asarray(e), np.asarray(j))
    # vmap over keys: each row equals the single-key draw
    keys = be.split(k, 3)
    v = jax.vmap(lambda kk: be.normal(kk, (4,), "float64"))(keys)
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(v[i]), np.asarray(be.normal(keys[i], (4,),
                                                                             "float64")))


def test_jax_small_splits_run_on_the_host(monkeypatch):
    """On JAX, a concrete CPU key splits into up to 16 keys (and folds in a Python int) on the
    host, without a compiled ``jax.random`` call; traced keys (``jit``, ``vmap``) and larger
    splits use ``jax.random``. All give ``jax.random``'s keys, bit for bit."""
    be = get("jax")
    k = be.key(21)
    want = {n: np.asarray(jax.random.split(k, n)) for n in (1, 2, 16, 17)}
    want_fold = np.asarray(jax.random.fold_in(k, 2**32 - 2))
    traced = jax.jit(lambda kk: (be.split(kk, 2), be.fold_in(kk, 2**32 - 2)))(k)
    vmapped = jax.vmap(lambda kk: be.split(kk, 3))(be.split(k, 4))
    calls = []
    monkeypatch.setattr(jax.random, "split", lambda *a, **kw: calls.append("split"))
    monkeypatch.setattr(jax.random, "fold_in", lambda *a, **kw: calls.append("fold_in"))
    for n in (1, 2, 16):
        got = be.split(k, n)
        assert isinstance(got, jax.Array) and got.dtype == jnp.uint32 and got.shape == (n, 2)
        np.testing.assert_array_equal(np.asarray(got), want[n])
    assert be.split(k, (2, 3)).shape == (2, 3, 2)
    np.testing.assert_array_equal(np.asarray(be.fold_in(k, 2**32 - 2)), want_fold)
    assert calls == []
    be.split(k, 17)  # more than 16 keys: jax.random
    assert calls == ["split"]
    monkeypatch.undo()
    np.testing.assert_array_equal(np.asarray(traced[0]), want[2])
    np.testing.assert_array_equal(np.asarray(traced[1]), want_fold)
    for i, kk in enumerate(be.split(k, 4)):
        np.testing.assert_array_equal(np.asarray(vmapped[i]), np.asarray(jax.random.split(kk, 3)))
    with jax.threefry_partitionable(False):  # not the layout the host code computes: jax's
        for n in (2, 5):
            np.testing.assert_array_equal(np.asarray(be.split(k, n)),
                                          np.asarray(jax.random.split(k, n)))


def test_as_key_takes_none_ints_keys_and_typed_jax_keys(backend):
    """What users pass as a key: None (seed 0), an int (also a numpy int), a key of the
    backend; on JAX also a typed ``jax.random.key`` (its raw words), while a typed key of
    another implementation gets an error naming Threefry and the fix."""
    from polyro.backends import as_key

    be = backend
    want5 = N(be.key(5))
    np.testing.assert_array_equal(N(as_key(None, be)), N(be.key(0)))
    np.testing.assert_array_equal(N(as_key(5, be)), want5)
    np.testing.assert_array_equal(N(as_key(np.int64(5), be)), want5)
    k = be.key(5)
    assert as_key(k, be) is k
    if getattr(be, "key_data", None) is None:
        return
    np.testing.assert_array_equal(N(as_key(jax.random.key(5), be)), want5)
    np.testing.assert_array_equal(N(be.split(jax.random.key(5), 3)), N(be.split(k, 3)))
    traced = jax.jit(lambda kk: as_key(kk, be))(jax.random.key(5))
    np.testing.assert_array_equal(N(traced), want5)
    with pytest.raises(TypeError, match="Threefry.*jax.random.key"):
        as_key(jax.random.key(5, impl="rbg"), be)


def test_invalid_parameters_give_nan_not_a_hang(backend):
    k = backend.key(0)
    a = backend.asarray(np.array([-1.0, np.nan, 0.5]))
    g = N(backend.gamma(k, a))
    assert np.isnan(g[:2]).all() and g[2] > 0
    lam = backend.asarray(np.array([-1.0, np.inf, np.nan]))
    assert np.isnan(N(backend.poisson(k, lam))).all()
    n = backend.asarray(np.array([10.0, 10.0, np.inf]))
    p = backend.asarray(np.array([1.5, -0.1, 0.5]))
    assert np.isnan(N(backend.binomial(k, n, p))).all()


@pytest.mark.parametrize("name", ["poisson", "binomial"])
def test_torch_key_batch_hash_without_numpy(monkeypatch, name):
    """Torch hashes CPU key batches (rejection loops) with numpy's kernel; on other devices and
    inside ``torch.func`` transforms it runs its own int32 ops. Those give the same bits."""
    pytest.importorskip("torch")
    from polyro.backends.torch import random as trandom

    torch_be = get("torch")
    with polyro.backend("torch"):
        monkeypatch.setattr(trandom, "_host_keys", lambda keys: None)
        got = N(_draw(torch_be, name, "float64"))
    np.testing.assert_array_equal(got, _ref(name, "float64"))
