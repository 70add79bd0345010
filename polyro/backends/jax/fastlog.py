"""A natural logarithm that XLA's CPU backend vectorizes, for the portable normal draws.

XLA lowers a float64 ``log`` on CPU to a call per element, about 6 ns each: over half the time
of ``jax.random.normal`` in float64. :func:`fast_log` is written in elementwise ``jax.numpy`` ops
only (a bit cast, integer shifts and masks, one division and a short polynomial), so it fuses
into the surrounding loop and runs on vector lanes: 10^6 float64 logs in 1.1 ms against 3.8 ms
for ``jnp.log`` (one core), float32 0.42 against 0.60 ms. The portable normals use it for
``w = -log(y)`` (:func:`polyro.backends._draws.sqrt2_erfinv`); it is not the backend's ``log``.

The method is the classic reduction (as in fdlibm, written here from the mathematics):
``y = 2**k * m`` with ``m`` in ``[sqrt(1/2), sqrt(2))``, ``f = m - 1`` (exact), ``s = f / (2 + f)``
so that ``log(m) = 2 atanh(s) = 2s + s R(s**2)`` and ``2s = f - f**2/2 (1 - s)``; the result is
assembled as ``k ln2_hi - ((f**2/2 - (s (f**2/2 + R) + k ln2_lo)) - f)`` with ``ln2`` split so that
``k ln2_hi`` is exact. ``R(z) = z P(z)``; ``P`` interpolates ``2 (atanh(sqrt z)/sqrt z - 1)/z`` at
the Chebyshev points of ``[0, (3 - 2 sqrt 2)**2]`` (mpmath, 50 digits): degree 6 in float64
(relative error 4.7e-16 on ``P``, which enters the result scaled by ``z/2 <= 0.0148``: 7e-18),
degree 2 in float32 (2.8e-7 on ``P``: 4e-9). Measured against mpmath: within 0.76 ulp (float64)
and 0.78 ulp (float32; XLA's own: 1.1) on positive normal floats
(``tests/backends/test_random.py::test_jax_fast_log_within_one_ulp``).

Domain: positive normal floats (float64 ``2**-1022 <= y < inf``), all the normal transform meets
(``y >= 2**-53``); zeros, subnormals, infinities and NaN are not handled.

>>> import jax
>>> jax.config.update("jax_enable_x64", True)
>>> import jax.numpy as jnp
>>> round(float(fast_log(jnp.asarray(10.0, jnp.float64))), 15)
2.302585092994046
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class _Spec(NamedTuple):
    """The constants of :func:`fast_log` for one float dtype."""

    int_dtype: Any
    mant_bits: int
    bias: int
    sqrt2_mant: int   # the mantissa bits of sqrt(2), rounded down: 1.b > sqrt(2) iff b exceeds it
    ln2_hi: float     # ln 2 rounded down so that k * ln2_hi is exact for every exponent k
    ln2_lo: float     # ln 2 - ln2_hi
    p: tuple[float, ...]  # P(z), lowest degree first (see the module docstring)


_SPECS = {
    jnp.dtype(jnp.float64): _Spec(
        jnp.int64, 52, 1023, 0x6A09E667F3BCC, 0.6931471803691238, 1.9082149292705877e-10,
        (0.666666666666667, 0.39999999999899505, 0.28571428625975487, 0.2222221113479508,
         0.18182889125261723, 0.15331721600556042, 0.14616449685043406)),
    jnp.dtype(jnp.float32): _Spec(
        jnp.int32, 23, 127, 0x3504F3, 0.693145751953125, 1.4286068203094173e-06,
        (0.6666668503957586, 0.3998878056602198, 0.2957994939197279)),
}


def fast_log(y: Any) -> jax.Array:
    """Natural logarithm of positive normal float32 or float64 ``y``, within 1 ulp, in
    vectorizable ops.

    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp
    >>> float(fast_log(jnp.asarray([1.0, 0.5], jnp.float64))[1])
    -0.6931471805599453
    """
    sp = _SPECS[jnp.dtype(y.dtype)]
    ft, it = y.dtype, sp.int_dtype

    def c(v: float) -> jax.Array:
        return jnp.asarray(v, ft)

    bits = jax.lax.bitcast_convert_type(y, it)
    mant = bits & jnp.asarray((1 << sp.mant_bits) - 1, it)
    big = mant > jnp.asarray(sp.sqrt2_mant, it)
    # m = 1.mant in [1, 2), halved (biased exponent bias - 1) above sqrt(2): m in [sqrt(1/2), sqrt(2))
    expo = jnp.where(big, jnp.asarray((sp.bias - 1) << sp.mant_bits, it),
                     jnp.asarray(sp.bias << sp.mant_bits, it))
    m = jax.lax.bitcast_convert_type(mant | expo, ft)
    k = ((bits >> sp.mant_bits) - jnp.asarray(sp.bias, it) + big.astype(it)).astype(ft)
    f = m - c(1.0)
    s = f / (c(2.0) + f)
    z = s * s
    p = c(sp.p[-1])
    for coef in reversed(sp.p[:-1]):
        p = p * z + c(coef)
    r = z * p
    hfsq = c(0.5) * f * f
    lo = s * (hfsq + r) + k * c(sp.ln2_lo)
    return k * c(sp.ln2_hi) - ((hfsq - lo) - f)
