"""Random numbers on the torch backend.

Portable mode (the default): Threefry-2x32 (:mod:`polyro.backends._threefry`), bit-identical
to ``jax.random``. On CPU the numpy adapter's kernels compute the bits, uniforms and normals
(:mod:`polyro.backends.numpy.random`: chunked, in place, fused) into arrays the returned tensors
then own (``torch.from_numpy``, no copy), so torch's CPU draws are the numpy backend's, bit for
bit. Large draws (``2**17`` elements or more) spread their chunks over ``torch.get_num_threads()``
threads, as torch's own element-wise kernels do; the values do not depend on the thread count.
On other devices it runs on ``torch.int32`` tensors: two's-complement int32 addition, xor and
left shift give exactly the bits of uint32 arithmetic (the logical right shift is an
arithmetic shift followed by a mask), and the normal transform is the select form of
:func:`polyro.backends._draws.sqrt2_erfinv`. torch has almost no ``uint32`` operations, so keys
and ``random_bits`` are **int64 tensors holding the unsigned 32-bit values**
(``0 <= v < 2**32``): a key is ``tensor([k0, k1])`` of dtype int64, shape ``(2,)``, equal
element-wise to ``jax.random.PRNGKey(seed)``. 64-bit ``random_bits`` are int64 tensors holding the uint64 bit
pattern. Draws come from :mod:`polyro.backends._draws`, the same arithmetic as on numpy and JAX.

Native mode (``polyro.set_rng("native")``): keys/split/fold_in stay Threefry; each draw seeds a
private ``torch.Generator`` from its key and uses torch's own samplers (``torch.rand``,
``torch.randn``, ``torch._standard_gamma``, ``torch.poisson``, ``torch.binomial``): faster, but
values then differ from numpy and JAX. The global torch generator is never touched.

>>> from polyro.backends.torch import random as r
>>> k = r.key(0)
>>> k.tolist(), r.split(k).shape
([0, 0], torch.Size([2, 2]))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import array_api_compat.torch as _xp
import numpy as np
import torch

from polyro.backends import _draws, _threefry
from polyro.backends import policy as _policy
from polyro.backends._threefry import SMALL, IntOps, fold_in_py, hash2x32, seed_words, split_py
from polyro.backends.numpy import random as _np_random

from .record import host_call

__all__ = [
    "key", "split", "fold_in", "random_bits", "uniform", "normal", "exponential", "gumbel",
    "cauchy", "laplace", "logistic", "gamma", "beta", "dirichlet", "poisson", "binomial",
    "bernoulli", "categorical", "multinomial", "is_key", "open_uniforms",
]

_I32 = torch.int32
_I64 = torch.int64
_M32 = 0xFFFFFFFF


def _s32(v: int) -> int:
    """A uint32 value as the int32 with the same bits."""
    v &= _M32
    return v - (1 << 32) if v >= (1 << 31) else v


class TorchOps(IntOps):
    """uint32 arithmetic on int32 tensors (wrap-around add, xor, masked logical shift)."""

    @staticmethod
    def scalar(v: int) -> int:
        return _s32(v)

    @staticmethod
    def copy(a: Any) -> Any:
        return a.clone()

    # ``hash2x32`` only passes first arguments it owns, of the full broadcast shape: in place.
    @staticmethod
    def add(a: Any, b: Any) -> Any:
        return a.add_(b)

    @staticmethod
    def xor(a: Any, b: Any) -> Any:
        return a.bitwise_xor_(b)

    def __init__(self, scratch: torch.Tensor | None = None) -> None:
        self.scratch = scratch

    def rotl(self, x: Any, r: int) -> Any:
        tmp = self.scratch
        if tmp is not None and tmp.shape == x.shape:
            hi = torch.bitwise_right_shift(x, 32 - r, out=tmp)
        else:
            hi = torch.bitwise_right_shift(x, 32 - r)
        hi.bitwise_and_((1 << r) - 1)
        return x.bitwise_left_shift_(r).bitwise_or_(hi)


# ----------------------------------------------------------------------------- keys and bits


def is_key(x: Any) -> bool:
    """True if ``x`` is a torch key: an int64 tensor of shape ``(2,)``.

    >>> is_key(key(3)), is_key(torch.zeros(2))
    (True, False)
    """
    return isinstance(x, torch.Tensor) and tuple(x.shape) == (2,) and x.dtype == _I64


def _check_key(site: str, k: Any) -> tuple[int, int]:
    if isinstance(k, torch.Tensor) and tuple(k.shape) == (2,) and not k.is_floating_point():
        a, b = k.tolist()
        return int(a) & _M32, int(b) & _M32
    if isinstance(k, np.ndarray) and k.shape == (2,) and k.dtype.kind in "ui":
        return int(k[0]) & _M32, int(k[1]) & _M32
    raise _draws.key_type_error(site, k, "a PRNG key (int64 tensor of shape (2,) holding "
                                "uint32 values, from polyro's key(seed) or split)")


def key(seed: int) -> torch.Tensor:
    """The key of integer ``seed`` (``jax.random.PRNGKey(seed)`` with 64-bit ints) as int64.

    >>> key(-1).tolist()
    [4294967295, 4294967295]
    """
    return torch.tensor(seed_words(seed), dtype=_I64)


_NP_DT = {torch.float32: np.float32, torch.float64: np.float64}


def _on_cpu(device: Any) -> bool:
    return device is None or torch.device(device).type == "cpu"


def _host_keys(keys: torch.Tensor) -> np.ndarray | None:
    """A batch of CPU keys as numpy ``uint32`` words, for numpy's hash (per-key draws in
    rejection loops hash a few words at a time, where each torch op costs microseconds); None
    on another device or inside a ``torch.func`` transform, where the torch ops run."""
    from polyro.backends.torch import host_view

    host = host_view(keys)
    return None if host is None else host.astype(np.uint32)


def _hash_counters(k0: int, k1: int, n: int, device: Any = None) -> tuple[torch.Tensor, ...]:
    """Threefry of the counters ``0 .. n-1`` under key ``(k0, k1)``, as int32 words.

    On CPU the numpy kernel computes them (``uint32`` arrays, shared with the returned tensors
    through ``torch.from_numpy``: no copy); elsewhere :func:`_hash_counters_tensor`.
    """
    if _on_cpu(device):
        y0, y1 = _np_random._hash_counters(k0, k1, n, torch.get_num_threads())
        return torch.from_numpy(y0.view(np.int32)), torch.from_numpy(y1.view(np.int32))
    return _hash_counters_tensor(k0, k1, n, device)


def _hash_counters_tensor(k0: int, k1: int, n: int, device: Any) -> tuple[torch.Tensor, ...]:
    """The same words with int32 tensor ops (:class:`TorchOps`) on ``device`` (accelerators)."""
    if n >= 2**31:
        raise ValueError(f"random: {n} draws from one key exceed the 2**31 supported on torch")
    y0 = torch.zeros(n, dtype=_I32, device=device)
    y1 = torch.arange(n, dtype=_I32, device=device)
    hash2x32(TorchOps(torch.empty(n, dtype=_I32, device=device)), k0, k1, y0, y1)  # in place
    return y0, y1


def _u32(x: torch.Tensor) -> torch.Tensor:
    return x.to(_I64).bitwise_and_(_M32)


@host_call
def split(key: torch.Tensor, num: int = 2) -> torch.Tensor:
    """``num`` new keys, shape ``(num, 2)`` (``jax.random.split``).

    >>> split(key(0), 3).shape
    torch.Size([3, 2])
    """
    k0, k1 = _check_key("split", key)
    shape = (num,) if isinstance(num, int) else tuple(num)
    n = math.prod(shape)
    if n <= SMALL:  # pure Python: no tensor dispatch on the seed handler's hot path
        return torch.tensor(split_py(k0, k1, n), dtype=_I64,
                            device=_device(key)).reshape((*shape, 2))
    y0, y1 = _hash_counters(k0, k1, n, _device(key))
    return torch.stack([_u32(y0), _u32(y1)], dim=-1).reshape((*shape, 2))


def _device(k: Any) -> Any:
    return k.device if isinstance(k, torch.Tensor) else None


@host_call
def fold_in(key: torch.Tensor, data: int) -> torch.Tensor:
    """A new key from ``key`` and a 32-bit integer ``data`` (``jax.random.fold_in``).

    >>> fold_in(key(0), 3).tolist()
    [2467461003, 3840466878]
    """
    k0, k1 = _check_key("fold_in", key)
    d = int(data)
    if not 0 <= d < 2**32:
        raise ValueError(f"fold_in: data must be a 32-bit unsigned integer, got {d}")
    return torch.tensor(fold_in_py(k0, k1, d), dtype=_I64, device=_device(key))


@host_call
def random_bits(key: torch.Tensor, shape: Any = (), dtype: Any = "uint32") -> torch.Tensor:
    """Uniform random bits (``jax.random.bits``) as int64: uint32 values, or the uint64 pattern.

    >>> random_bits(key(0), (2,)).dtype
    torch.int64
    """
    k0, k1 = _check_key("random_bits", key)
    shape = _draws._shape(shape)
    name = str(dtype).rsplit(".", 1)[-1]
    y0, y1 = _hash_counters(k0, k1, math.prod(shape), _device(key))
    if name == "uint32":
        out = _u32(y0.bitwise_xor_(y1))
    elif name == "uint64":
        out = _u32(y0).bitwise_left_shift_(32).bitwise_or_(_u32(y1))
    else:
        raise ValueError(f"random_bits: dtype must be 'uint32' or 'uint64', got {dtype!r}")
    return out.reshape(shape)


@host_call
def open_uniforms(key: torch.Tensor, n: int, dtype: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The next key and ``n`` uniforms in ``(0, 1)`` from one hash: the words of
    ``random_bits(key, (n + 2,))``, the first two as the key, the others ``w`` as
    ``clip((w + 0.5) * 2**-32, eps, 1 - eps)`` in ``dtype``. An optional capability (MCMC's
    :func:`~polyro.inference.mcmc.util.draw_uniforms` reaches it with ``getattr``): the same
    numbers as those operations on tensors, computed on CPU by the numpy kernels in one host call
    instead of a dozen small tensor operations per transition.

    >>> k, u = open_uniforms(key(0), 3, torch.float64)
    >>> bool(torch.equal(k, random_bits(key(0), (5,))[:2])), u.shape
    (True, torch.Size([3]))
    """
    dt = _resolve_dtype(dtype)
    k0, k1 = _check_key("open_uniforms", key)
    dev = _device(key)
    eps = torch.finfo(dt).eps
    if not _on_cpu(dev):
        bits = random_bits(key, (n + 2,))
        u = (bits[2:].to(dt) + 0.5) * (2.0 ** -32)
        return bits[:2], u.clamp_(eps, 1.0 - eps)
    kernel = _threefry.KERNEL
    if kernel is not None and n > 0 and dt in (torch.float64, torch.float32):
        # one call, no numpy: its code runs cold between a sampler's recorded graphs
        buf = bytearray(n * (8 if dt == torch.float64 else 4))
        nk = kernel.open_uniforms(k0, k1, buf, dt == torch.float64)
        return torch.tensor(nk, dtype=_I64), torch.frombuffer(buf, dtype=dt)
    y0, y1 = _np_random._hash_counters(k0, k1, n + 2)
    np.bitwise_xor(y0, y1, y0)
    npdt = _NP_DT[dt]
    u = y0[2:].astype(npdt)
    np.add(u, npdt(0.5), u)
    np.multiply(u, npdt(2.0 ** -32), u)
    np.clip(u, npdt(eps), npdt(1.0 - eps), out=u)
    return torch.from_numpy(y0[:2].astype(np.int64)), torch.from_numpy(u)


def _floats_from_words(y0: torch.Tensor, y1: torch.Tensor, dt: Any) -> torch.Tensor:
    if dt == torch.float32:
        b = y0.bitwise_xor_(y1)
        b = torch.bitwise_right_shift(b, 9).bitwise_and_(0x7FFFFF).bitwise_or_(0x3F800000)
        return b.view(torch.float32).sub_(1.0)
    if dt == torch.float64:
        m = _u32(y0).bitwise_left_shift_(20)
        m.bitwise_or_(_u32(y1).bitwise_right_shift_(12)).bitwise_or_(0x3FF0000000000000)
        return m.view(torch.float64).sub_(1.0)
    raise ValueError(f"random: float dtype must be float32 or float64, got {dt}")


_DT = {"float32": torch.float32, "float64": torch.float64}


def _resolve_dtype(d: Any) -> torch.dtype:
    if d is None:
        return _DT[_policy.get_default_dtype("torch")]
    if isinstance(d, torch.dtype):
        if not d.is_floating_point:
            raise ValueError(f"random: expected a float dtype, got {d}")
        return d
    name = getattr(d, "__name__", None) or str(d)
    name = name.rsplit(".", 1)[-1]
    if name in ("float", "float_"):
        name = "float64" if name == "float_" else _policy.get_default_dtype("torch")
    if name not in _DT:
        raise ValueError(f"random: expected a float dtype (float32 or float64), got {d!r}")
    return _DT[name]


class _Rng:
    """Generator primitives used by :mod:`polyro.backends._draws` (portable mode)."""

    dtype = staticmethod(_resolve_dtype)

    @staticmethod
    def is_float(x: Any) -> bool:
        return isinstance(x, torch.Tensor) and x.is_floating_point()

    @staticmethod
    def asarray(x: Any, dt: Any) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x if x.dtype == dt else x.to(dt)
        return torch.as_tensor(np.asarray(x), dtype=dt)

    @staticmethod
    def to_int(x: Any) -> torch.Tensor:
        return x.to(_I64)

    @staticmethod
    def mul_add(a: Any, b: Any, c: Any) -> Any:
        return a * b + c

    @staticmethod
    def work_dtype(dt: Any) -> Any:
        return torch.float64

    @staticmethod
    def loop_counter(v: int) -> int:
        return v

    @staticmethod
    @host_call
    def uniform01(key: torch.Tensor, shape: tuple[int, ...], dt: Any) -> torch.Tensor:
        k0, k1 = _check_key("uniform", key)
        n, device = math.prod(shape), _device(key)
        if _on_cpu(device):  # the numpy kernel, on memory the tensor then owns
            u = _np_random._uniform01(k0, k1, n, _NP_DT[dt], torch.get_num_threads())
            return torch.from_numpy(u).reshape(shape)
        y0, y1 = _hash_counters(k0, k1, n, device)
        return _floats_from_words(y0, y1, dt).reshape(shape)

    @staticmethod
    @host_call
    def std_normal(key: torch.Tensor, shape: tuple[int, ...], dt: Any) -> torch.Tensor:
        k0, k1 = _check_key("normal", key)
        if _on_cpu(_device(key)):  # numpy's fused kernel: the same operations, the same bits
            z = _np_random._std_normal(k0, k1, math.prod(shape), _NP_DT[dt],
                                       torch.get_num_threads())
            return torch.from_numpy(z).reshape(shape)
        return _draws.std_normal_from_u01(_be, _Rng, _Rng.uniform01(key, shape, dt), dt)

    @staticmethod
    def split(key: torch.Tensor, n: int) -> torch.Tensor:
        return split(key, n)

    @staticmethod
    @host_call
    def keys_fold_in(keys: torch.Tensor, t: int) -> torch.Tensor:
        host = _host_keys(keys)
        if host is not None:  # numpy's kernel: the same bits without ~100 small torch ops
            return torch.from_numpy(_np_random._Rng.keys_fold_in(host, t).astype(np.int64))
        n = keys.shape[0]
        k32 = keys.to(_I32)
        y0, y1 = hash2x32(TorchOps, k32[:, 0], k32[:, 1],
                          torch.zeros(n, dtype=_I32, device=keys.device),
                          torch.full((n,), _s32(int(t)), dtype=_I32, device=keys.device))
        return torch.stack([_u32(y0), _u32(y1)], dim=-1)

    @staticmethod
    @host_call
    def keys_uniform01(keys: torch.Tensor, m: int, dt: Any) -> torch.Tensor:
        host = _host_keys(keys)
        if host is not None:
            return torch.from_numpy(_np_random._Rng.keys_uniform01(host, m, _NP_DT[dt]))
        n = keys.shape[0]
        k32 = keys.to(_I32)
        x1 = torch.arange(m, dtype=_I32, device=keys.device)[:, None].expand(m, n).clone()
        y0, y1 = hash2x32(TorchOps, k32[None, :, 0], k32[None, :, 1],
                          torch.zeros((m, n), dtype=_I32, device=keys.device), x1)
        return _floats_from_words(y0, y1, dt)

    @staticmethod
    def gamma_reparam(alpha: Any, sample: Any) -> Any:
        if isinstance(alpha, torch.Tensor) and alpha.requires_grad:
            return _GammaReparam.apply(alpha, sample.detach())
        return sample


class _GammaReparam(torch.autograd.Function):
    """Identity on the sample, with the implicit reparameterization gradient
    ``dx/dalpha = -(dF/dalpha) / (dF/dx)`` (``torch._standard_gamma_grad``)."""

    @staticmethod
    def forward(ctx: Any, alpha: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(alpha, sample)
        return sample.clone()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        alpha, sample = ctx.saved_tensors
        return g * torch._standard_gamma_grad(alpha, sample), None


def _while_loop(cond: Callable, body: Callable, init: Any) -> Any:
    val = init
    while bool(cond(val)):
        val = body(val)
    return val


def _sqrt2_erfinv(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(2) erfinv(x)`` of :func:`polyro.backends._draws.sqrt2_erfinv`: numpy's in-place
    kernel on CPU (the same bits as the numpy backend), the select form elsewhere.

    >>> round(float(_sqrt2_erfinv(torch.tensor(0.5, dtype=torch.float64))), 15)
    0.674489750196082
    """
    if x.device.type == "cpu":
        return torch.from_numpy(_np_random._sqrt2_erfinv(x.detach().numpy()))
    return _draws.sqrt2_erfinv(
        _xp, x, const=lambda v: torch.tensor(v, dtype=x.dtype, device=x.device))


class _Be:
    """The math :mod:`polyro.backends._draws` needs, on torch."""

    xp = _xp
    sqrt2_erfinv = staticmethod(_sqrt2_erfinv)
    lgamma = staticmethod(torch.lgamma)
    while_loop = staticmethod(_while_loop)

    @staticmethod
    def stop_gradient(x: Any) -> Any:
        return x.detach() if isinstance(x, torch.Tensor) else x


_be = _Be
_RNG = _Rng


# ----------------------------------------------------------------------------- native mode


def _native() -> bool:
    return _policy.get_rng() == "native"


def _gen(key: Any) -> torch.Generator:
    k0, k1 = _check_key("random", key)
    g = torch.Generator(device=_device(key) or "cpu")
    g.manual_seed(((k0 << 32) | k1) & ((1 << 63) - 1))
    return g


class _NativeRng(_Rng):
    """Native mode: uniforms from a torch.Generator seeded by the key."""

    @staticmethod
    @host_call
    def uniform01(key: Any, shape: tuple[int, ...], dt: Any) -> torch.Tensor:
        return torch.rand(shape, generator=_gen(key), dtype=dt, device=_device(key))

    @staticmethod
    @host_call
    def std_normal(key: Any, shape: tuple[int, ...], dt: Any) -> torch.Tensor:
        return _draws.std_normal_from_u01(_be, _NativeRng, _NativeRng.uniform01(key, shape, dt),
                                          dt)


def _bind(name: str, fn: Callable, native: Callable | None = None) -> Callable:
    def draw(key: Any, *args: Any, **kwargs: Any) -> Any:
        if _native():
            if native is not None:
                return native(key, *args, **kwargs)
            return fn(_be, _NativeRng, key, *args, **kwargs)
        return fn(_be, _RNG, key, *args, **kwargs)

    draw.__name__ = draw.__qualname__ = name
    draw.__doc__ = fn.__doc__
    draw.__wrapped__ = fn  # type: ignore[attr-defined]
    return draw


def _n_normal(key, shape=(), dtype=None, loc=0.0, scale=1.0):
    dt = _resolve_dtype(dtype)
    shape = _draws._bshape("normal", shape, loc, scale)
    z = torch.randn(shape, generator=_gen(key), dtype=dt, device=_device(key))
    return _draws._locscale(_be, _RNG, z, loc, scale, dt, shape)


def _n_gamma(key, a, shape=None, dtype=None):
    dt = _resolve_dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, a))
    a_t = _RNG.asarray(a, dt)
    shape = _draws._bshape("gamma", shape, a_t)
    a_full = a_t.expand(shape)
    # torch._standard_gamma is itself reparameterized (implicit gradient)
    return torch._standard_gamma(a_full.contiguous(), generator=_gen(key))


def _n_poisson(key, rate, shape=None, dtype=None):
    dt = _resolve_dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, rate))
    r = _RNG.asarray(rate, dt).detach()
    shape = _draws._bshape("poisson", shape, r)
    return torch.poisson(r.expand(shape).contiguous(), generator=_gen(key))


def _n_binomial(key, n, p, shape=None, dtype=None):
    dt = _resolve_dtype(dtype if dtype is not None else _draws._param_dtype(_RNG, p, n))
    nn = _RNG.asarray(n, dt).detach()
    pp = _RNG.asarray(p, dt).detach()
    shape = _draws._bshape("binomial", shape, nn, pp)
    return torch.binomial(nn.expand(shape).contiguous(), pp.expand(shape).contiguous(),
                          generator=_gen(key))


# draws that loop on values (rejection samplers) are one host call each while recording
uniform = _bind("uniform", _draws.uniform)
normal = _bind("normal", _draws.normal, _n_normal)
exponential = _bind("exponential", _draws.exponential)
gumbel = _bind("gumbel", _draws.gumbel)
cauchy = _bind("cauchy", _draws.cauchy)
laplace = _bind("laplace", _draws.laplace)
logistic = _bind("logistic", _draws.logistic)
gamma = host_call(_bind("gamma", _draws.gamma, _n_gamma))
beta = host_call(_bind("beta", _draws.beta))
dirichlet = host_call(_bind("dirichlet", _draws.dirichlet))
poisson = host_call(_bind("poisson", _draws.poisson, _n_poisson))
binomial = host_call(_bind("binomial", _draws.binomial, _n_binomial))
bernoulli = _bind("bernoulli", _draws.bernoulli)
categorical = _bind("categorical", _draws.categorical)
multinomial = host_call(_bind("multinomial", _draws.multinomial))
