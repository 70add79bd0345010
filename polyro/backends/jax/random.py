"""Random numbers on the JAX backend.

Portable mode (the default): keys are raw ``uint32`` arrays of shape ``(2,)`` (usable with the
legacy ``jax.random`` functions); ``split``, ``fold_in`` and the raw bits *are* ``jax.random``'s
(Threefry-2x32, partitionable layout), which numpy and torch reproduce bit for bit. The draws
come from :mod:`polyro.backends._draws`, the same arithmetic as on numpy and torch, compiled
with ``jax.jit`` (one compilation per static shape/dtype) and usable inside ``jax.jit``,
``vmap`` and ``grad``. The rejection samplers run as one ``lax.while_loop``.

Two deliberate differences from ``jax.random``'s own samplers keep the engines in step:
``uniform(minval, maxval)`` computes ``u * (maxval - minval) + minval`` with two roundings
(XLA would contract it into an FMA, off by one bit from numpy/torch), and ``normal`` maps the
same uniforms with the polynomial ``sqrt(2) erfinv`` of :func:`polyro.backends._draws.sqrt2_erfinv`
instead of XLA's ``erf_inv`` (which loses up to ~60 ulp in float32 and ~7e5 ulp in float64 near
+-1): the same operations as on numpy and torch, so the normals agree with theirs to 2 ulp; its
``log`` is :func:`polyro.backends.jax.fastlog.fast_log` (vectorized where XLA's float64 ``log`` is
a call per element), which makes it cheaper than ``jax.random.normal`` (0.73x in float64,
0.92x in float32 on one CPU core; one jitted function per shape and dtype).

Native mode (``polyro.set_rng("native")``): the ``jax.random`` samplers themselves (different
values from the other engines; for normal no faster, see above).

>>> from polyro.backends.jax import random as r
>>> k = r.key(0)
>>> k.tolist(), r.split(k).shape
([0, 0], (2, 2))
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from polyro.backends import _draws
from polyro.backends import policy as _policy
from polyro.backends._threefry import SMALL, fold_in_py, seed_words, split_py
from polyro.backends.jax.fastlog import fast_log

__all__ = [
    "key", "split", "fold_in", "random_bits", "uniform", "normal", "exponential", "gumbel",
    "cauchy", "laplace", "logistic", "gamma", "beta", "dirichlet", "poisson", "binomial",
    "bernoulli", "categorical", "multinomial", "is_key", "key_data",
]


# ----------------------------------------------------------------------------- keys and bits


def is_key(x: Any) -> bool:
    """True if ``x`` is a raw JAX key: a ``uint32`` array of shape ``(2,)``.

    >>> is_key(key(0)), is_key(jnp.zeros(2))
    (True, False)
    """
    return isinstance(x, (jax.Array, np.ndarray)) and tuple(x.shape) == (2,) and \
        x.dtype == jnp.uint32


def key_data(k: Any) -> jax.Array | None:
    """The raw key (``uint32``, shape ``(2,)``) of a typed JAX key of the default Threefry
    implementation (``jax.random.key(seed)``), ``None`` for anything else. An optional adapter
    capability: :func:`polyro.backends.as_key` uses it, so typed keys work wherever polyro
    takes a key; a typed key of another implementation (``rbg``, ...) gets a clear error.

    >>> import jax
    >>> key_data(jax.random.key(5)).tolist() == key(5).tolist()
    True
    """
    dt = getattr(k, "dtype", None)
    if dt is None or not jnp.issubdtype(dt, jax.dtypes.prng_key):
        return None
    impl = str(jax.random.key_impl(k))
    if "threefry" not in impl or tuple(k.shape) != ():
        raise TypeError(
            f"expected one PRNG key of JAX's default Threefry-2x32 implementation (polyro's "
            f"random streams are Threefry on every engine), got a typed key of implementation "
            f"{impl!r} and shape {tuple(k.shape)}; use jax.random.key(seed), or a key from "
            "polyro.backends.current().key(seed)"
        )
    return jax.random.key_data(k)


def _check_key(site: str, k: Any) -> Any:
    raw = key_data(k)
    if raw is not None:
        return raw
    if isinstance(k, (jax.Array, np.ndarray)) and tuple(k.shape) == (2,) and \
            jnp.issubdtype(k.dtype, jnp.integer):
        return k if k.dtype == jnp.uint32 else jnp.asarray(k, jnp.uint32)
    raise _draws.key_type_error(site, k, "a PRNG key (uint32 array of shape (2,), from "
                                "polyro's key(seed) or split)")


def key(seed: int) -> jax.Array:
    """The key of integer ``seed`` (``jax.random.PRNGKey(seed)`` with 64-bit ints).

    >>> key(2**32 + 5).tolist()
    [1, 5]
    """
    return jnp.asarray(np.array(seed_words(seed), dtype=np.uint32))


def _host_words(k: Any) -> tuple[int, int] | None:
    """The two words of a concrete key held on the CPU, as Python ints; ``None`` for a traced
    key (inside ``jit``, ``vmap``, ``grad``), a key on another device, or when JAX's Threefry
    is not in its default partitionable layout (the one :mod:`polyro.backends._threefry`
    computes)."""
    from polyro.backends.jax import host_view

    a = host_view(k) if jax.config.jax_threefry_partitionable else None
    return None if a is None else (int(a[0]), int(a[1]))


def _host_keys(words: list[tuple[int, int]], shape: tuple[int, ...]) -> jax.Array:
    return jnp.asarray(np.array(words, dtype=np.uint32).reshape(shape + (2,)))


def split(key: Any, num: int = 2) -> jax.Array:
    """``num`` new keys, shape ``(num, 2)``: ``jax.random.split``.

    A concrete key on the CPU splits into up to 16 keys on the host (the same Threefry
    function in Python, bit for bit), sparing eager code a compiled ``jax.random.split`` per
    ``num`` (tens of milliseconds the first time, tens of microseconds after).

    >>> split(key(0), 3).shape
    (3, 2)
    >>> bool((split(key(7), 5) == jax.random.split(key(7), 5)).all())
    True
    """
    key = _check_key("split", key)
    shape = (num,) if isinstance(num, (int, np.integer)) else tuple(num)
    n = int(np.prod(shape, dtype=np.int64))
    if n <= SMALL:
        words = _host_words(key)
        if words is not None:
            return _host_keys(split_py(*words, n), shape)
    return jax.random.split(key, num)


def fold_in(key: Any, data: Any) -> jax.Array:
    """``jax.random.fold_in``: a new key from ``key`` and a 32-bit integer ``data``.

    >>> fold_in(key(0), 3).tolist()
    [2467461003, 3840466878]
    """
    if isinstance(data, (int, np.integer)) and not 0 <= int(data) < 2**32:
        raise ValueError(f"fold_in: data must be a 32-bit unsigned integer, got {int(data)}")
    key = _check_key("fold_in", key)
    if isinstance(data, (int, np.integer)):
        words = _host_words(key)
        if words is not None:
            return _host_keys([fold_in_py(*words, int(data))], ())
    return jax.random.fold_in(key, data)


def random_bits(key: Any, shape: Any = (), dtype: Any = "uint32") -> jax.Array:
    """``jax.random.bits``: uniform ``uint32`` (default) or ``uint64`` bits.

    >>> random_bits(key(0), (2,)).dtype
    dtype('uint32')
    """
    name = str(np.dtype(dtype))
    if name not in ("uint32", "uint64"):
        raise ValueError(f"random_bits: dtype must be uint32 or uint64, got {dtype!r}")
    return jax.random.bits(_check_key("random_bits", key), _draws._shape(shape), name)


# ----------------------------------------------------------------------------- primitives


_DT = {"float32": jnp.float32, "float64": jnp.float64}


def _resolve_dtype(d: Any) -> Any:
    if d is None:
        return _DT[_policy.get_default_dtype("jax")]
    name = str(np.dtype(d))
    if name not in _DT:
        raise ValueError(f"random: expected a float dtype (float32 or float64), got {d!r}")
    return _DT[name]


def _no_contract(p: Any, u01: Any) -> Any:
    """``p`` unchanged, in a form XLA/LLVM cannot fuse with a following add into an FMA.

    The bits of ``p`` are xor-ed with ``u01 == 1 - 2**-(nmant+1)``: a value the mantissa
    construction never produces (uniforms are multiples of ``2**-nmant``), so the xor is always 0,
    but the compiler cannot prove it and must round the product before the add.
    """
    ut = jnp.uint32 if p.dtype == jnp.float32 else jnp.uint64
    never = 1.0 - 2.0 ** -(np.finfo(np.dtype(p.dtype)).nmant + 1)
    bits = jax.lax.bitcast_convert_type(p, ut)
    bits = bits ^ (u01 == jnp.asarray(never, u01.dtype)).astype(ut)
    return jax.lax.bitcast_convert_type(bits, p.dtype)


class _Rng:
    """Generator primitives used by :mod:`polyro.backends._draws` (portable mode)."""

    dtype = staticmethod(_resolve_dtype)

    @staticmethod
    def is_float(x: Any) -> bool:
        return isinstance(x, (jax.Array, np.ndarray)) and jnp.issubdtype(x.dtype, jnp.floating)

    @staticmethod
    def asarray(x: Any, dt: Any) -> jax.Array:
        return jnp.asarray(x, dtype=dt)

    @staticmethod
    def to_int(x: Any) -> jax.Array:
        return jnp.asarray(x, dtype=int)

    @staticmethod
    def mul_add(u01: Any, b: Any, c: Any) -> Any:
        return _no_contract(u01 * b, u01) + c

    @staticmethod
    def work_dtype(dt: Any) -> Any:
        return jnp.float64 if jax.config.jax_enable_x64 else dt

    @staticmethod
    def loop_counter(v: int) -> Any:
        return jnp.asarray(v, jnp.int32)

    @staticmethod
    def uniform01(key: Any, shape: tuple[int, ...], dt: Any) -> jax.Array:
        return jax.random.uniform(_check_key("uniform", key), shape, dt)

    @staticmethod
    def std_normal(key: Any, shape: tuple[int, ...], dt: Any) -> jax.Array:
        # jax.random.uniform's bits and floats, then the transform; traced into the adapter's
        # one jitted function per shape and dtype, like jax.random.normal
        return _draws.std_normal_from_u01(_be, _Rng, _Rng.uniform01(key, shape, dt), dt)

    @staticmethod
    def split(key: Any, n: int) -> jax.Array:
        return jax.random.split(_check_key("split", key), n)

    @staticmethod
    def keys_fold_in(keys: Any, t: Any) -> jax.Array:
        return jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, t)

    @staticmethod
    def keys_uniform01(keys: Any, m: int, dt: Any) -> jax.Array:
        return jax.vmap(lambda k: jax.random.uniform(k, (m,), dt))(keys).T

    @staticmethod
    def gamma_reparam(alpha: Any, sample: Any) -> Any:
        return _gamma_reparam(alpha, jax.lax.stop_gradient(sample))


@jax.custom_jvp
def _gamma_reparam(alpha: Any, sample: Any) -> Any:
    return sample


@_gamma_reparam.defjvp
def _gamma_reparam_jvp(primals: Any, tangents: Any) -> Any:
    """Implicit reparameterization: ``dx/dalpha = -(dF/dalpha)/(dF/dx)`` (XLA's
    ``random_gamma_grad``, the same rule ``jax.random.gamma`` differentiates with)."""
    alpha, sample = primals
    d_alpha, _ = tangents
    return sample, jax.lax.random_gamma_grad(alpha, sample) * d_alpha


#: dtypes whose normals use :func:`fast_log` (XLA's own ``log`` is the slower one there).
_FAST_LOG = (jnp.dtype(jnp.float64), jnp.dtype(jnp.float32))


def _sqrt2_erfinv(x: Any) -> Any:
    """``sqrt(2) erfinv(x)``: the polynomial of :func:`polyro.backends._draws.sqrt2_erfinv`
    (select form: one fused loop under ``jit``), in ``x``'s dtype; in float64 with
    :func:`~polyro.backends.jax.fastlog.fast_log` (XLA's float64 ``log`` is a scalar call per
    element on CPU, over half the cost of the draw)."""
    return _draws.sqrt2_erfinv(jnp, x, log=fast_log if x.dtype in _FAST_LOG else None)


class _Be:
    """The math :mod:`polyro.backends._draws` needs, on JAX."""

    xp = jnp
    sqrt2_erfinv = staticmethod(_sqrt2_erfinv)
    lgamma = staticmethod(jax.lax.lgamma)
    while_loop = staticmethod(jax.lax.while_loop)
    stop_gradient = staticmethod(jax.lax.stop_gradient)


_be = _Be
_RNG = _Rng


# ----------------------------------------------------------------------------- binding


def _native() -> bool:
    return _policy.get_rng() == "native"


def _is_dynamic(v: Any) -> bool:
    return isinstance(v, (jax.Array, np.ndarray, np.generic)) or (
        isinstance(v, (list, tuple)) and not all(isinstance(e, int) for e in v))


def _bind(name: str, fn: Callable, native: Callable | None = None) -> Callable:
    sig = inspect.signature(fn)
    cache: dict[Any, Callable] = {}

    def draw(*args: Any, **kwargs: Any) -> Any:
        if _native() and native is not None:
            return native(*args, **kwargs)
        try:
            ba = sig.bind(None, None, *args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{name}: {e}") from None
        ba.apply_defaults()
        names, vals, static = [], [], []
        for i, (k, v) in enumerate(ba.arguments.items()):
            if i < 2:
                continue
            if k == "shape" and isinstance(v, (list, tuple)):
                v = tuple(int(s) for s in v)
            if k == "key":
                v = _check_key(name, v)  # before jit: a shape passed as the key says so
            if k == "key" or _is_dynamic(v):
                names.append(k)
                vals.append(jnp.asarray(v) if isinstance(v, (list, tuple)) else v)
            else:
                static.append((k, v))
        ck = (tuple(names), tuple(static), _policy.get_default_dtype("jax"), _native())
        f = cache.get(ck)
        if f is None:
            rng = _NativeRng if _native() else _RNG
            st = dict(static)

            def run(*dyn: Any) -> Any:
                return fn(_be, rng, **dict(zip(names, dyn, strict=True)), **st)

            f = cache[ck] = jax.jit(run)
        return f(*vals)

    draw.__name__ = draw.__qualname__ = name
    draw.__doc__ = fn.__doc__
    draw.__wrapped__ = fn  # type: ignore[attr-defined]
    return draw


class _NativeRng(_Rng):
    """Native mode: jax.random's own normal for the Gaussian draws."""


def _n_normal(key, shape=(), dtype=None, loc=0.0, scale=1.0):
    dt = _resolve_dtype(dtype)
    shape = _draws._bshape("normal", shape, loc, scale)
    z = jax.random.normal(_check_key("normal", key), shape, dt)
    return _draws._locscale(_be, _RNG, z, loc, scale, dt, shape)


def _n_gamma(key, a, shape=None, dtype=None):
    dt = _resolve_dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, a))
    return jax.random.gamma(_check_key("gamma", key), jnp.asarray(a, dt), shape, dt)


def _n_poisson(key, rate, shape=None, dtype=None):
    dt = _resolve_dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, rate))
    lam = jnp.asarray(rate, dt)
    return jax.random.poisson(_check_key("poisson", key), lam, shape).astype(dt)


def _n_binomial(key, n, p, shape=None, dtype=None):
    dt = _resolve_dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, p, n))
    return jax.random.binomial(_check_key("binomial", key), jnp.asarray(n, dt),
                               jnp.asarray(p, dt), shape, dt)


uniform = _bind("uniform", _draws.uniform)
normal = _bind("normal", _draws.normal, _n_normal)
exponential = _bind("exponential", _draws.exponential)
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
