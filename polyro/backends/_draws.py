"""Random draws from Threefry bits, written once for every engine.

Each adapter's ``random.py`` supplies two objects and binds the functions below to them:

* ``be`` -- math on the engine's arrays: ``xp`` (array-API namespace), ``sqrt2_erfinv``
  (:func:`sqrt2_erfinv`, the same polynomial on every engine), ``lgamma``,
  ``while_loop(cond, body, init)`` (JAX semantics; ``jax.lax.while_loop`` on JAX, so every
  sampler here also runs under ``jax.jit``) and ``stop_gradient``;
* ``rng`` -- the engine's generator primitives: ``dtype(d)`` (None -> policy float),
  ``asarray(x, dtype)``, ``uniform01(key, shape, dtype)`` (floats in [0, 1) built from the
  key's bits exactly as ``jax.random.uniform`` does), ``std_normal(key, shape, dtype)``
  (:func:`std_normal_from_u01` of ``uniform01(key, shape, dtype)``), ``split(key, n)`` (n keys, shape
  ``(n, 2)``), ``keys_fold_in(keys, t)`` (fold the loop counter ``t`` into each of ``n`` keys),
  ``keys_uniform01(keys, m, dtype)`` (shape ``(m, n)``: ``m`` uniforms from each key),
  ``work_dtype(dt)`` (float64 where the engine has it: the rejection samplers decide in it, so
  that float32 draws make the same accept/reject choices on every engine), ``to_int(x)``,
  ``gamma_reparam(alpha, sample)`` (attach the implicit gradient) and
  ``mul_add(u01, b, c)`` (``u01 * b + c`` rounded twice, ``u01`` from ``uniform01``: XLA would otherwise fuse it into an FMA and
  the uniform draws would differ from numpy's and torch's in the last bit).

Key consumption (the documented order; the same on every engine)
-----------------------------------------------------------------
* ``uniform``, ``normal``, ``exponential``, ``gumbel``, ``cauchy``, ``laplace``, ``logistic``,
  ``bernoulli``: one call ``uniform01(key, shape)``; element ``i`` (row-major) of the output
  uses counter ``i`` of ``key``.
* ``categorical(key, logits, axis, shape)``: Gumbel noise ``gumbel(key, shape + (K,))``
  (categories last), then argmax over the categories.
* Rejection samplers (``gamma``, ``poisson``, ``binomial``): with ``N`` output elements,
  ``keys = split(key, N)``; element ``j`` uses only ``keys[j]``. Iteration ``t = 0, 1, ...``
  of the single vectorised ``while_loop`` draws its uniforms as
  ``uniform01(fold_in(keys[j], t + 1), (m,))``; elements already accepted ignore theirs.
  ``fold_in(keys[j], 0)`` is reserved for the gamma ``alpha < 1`` boost uniform.

  - gamma (Marsaglia-Tsang, 2000): ``m = 2`` per iteration: slot 0 -> a standard normal
    (the transform of :func:`normal`), slot 1 -> the acceptance uniform. The uniforms are
    drawn in the output dtype; the sampler arithmetic runs in ``work_dtype`` (float64 where the
    engine has it). At most ``MAX_ITERS`` iterations; invalid parameters give NaN. For ``alpha < 1``
    the draw for ``alpha + 1`` is multiplied by ``u ** (1 / alpha)``, ``u = 1 - uniform01
    (fold_in(keys[j], 0), (1,))``.
  - poisson: rate < 10 uses Knuth's product of uniforms (slot 0, one per iteration); rate >=
    10 the transformed rejection PTRS of Hoermann (1993) (slots 0 and 1).
  - binomial: ``n * min(p, 1-p) < 10`` counts geometric waiting times (slot 0); otherwise
    BTRS of Hoermann (1993) (slots 0 and 1); ``p > 1/2`` draws ``n - Binomial(n, 1 - p)``.
* ``beta(key, a, b)``: ``ka, kb = split(key, 2)``; ``gamma(ka, a)``, ``gamma(kb, b)``.
* ``dirichlet(key, alpha)``: ``gamma(key, alpha)`` over ``shape + (K,)``, normalised.
* ``multinomial(key, n, probs)``: ``ks = split(key, K)``; category ``i < K-1`` draws
  ``binomial(ks[i], n_left, p_i / p_left)`` (conditional binomials), the last takes the rest.

>>> from polyro.backends import numpy as be
>>> x = be.normal(be.key(0), (3,))
>>> x.shape
(3,)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "bernoulli", "beta", "binomial", "categorical", "cauchy", "dirichlet", "exponential",
    "gamma", "gumbel", "laplace", "logistic", "multinomial", "normal", "poisson",
    "std_normal_from_u01", "uniform",
]

Shape = tuple[int, ...]


def key_type_error(site: str, k: Any, expected: str) -> TypeError:
    """The error for a value that is no PRNG key, with the fix; a shape or an int where the key
    goes (Pyro's ``d.sample(sample_shape)``, which draws from torch's global generator) says
    that the key comes first.

    >>> print(key_type_error("normal", (2,), "a key"))  # doctest: +ELLIPSIS
    normal: expected a key, got tuple (2,). The key comes first: d.sample(key, sample_shape)...
    """
    shape = tuple(getattr(k, "shape", ())) or None
    got = f"{type(k).__name__} with shape {shape}"
    hint = ""
    if isinstance(k, (tuple, list, int)):  # (torch.Size is a tuple)
        got = f"{type(k).__name__} {tuple(k) if not isinstance(k, int) else k}"
        hint = (". The key comes first: d.sample(key, sample_shape) (Pyro's "
                "d.sample(sample_shape) draws from a global generator, which polyro does not "
                "have); make one with polyro.backends.current().key(seed), or run the model "
                "under polyro.handlers.seed")
    return TypeError(f"{site}: expected {expected}, got {got}{hint}")


def _shape(shape: Any) -> Shape:
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"a random draw's shape must be a tuple of ints, got {shape!r}") from None


def _bshape(site: str, shape: Any, *params: Any) -> Shape:
    """The output shape: ``shape`` if given (params must broadcast to it), else the params'."""
    pshape = np.broadcast_shapes(*[tuple(np.shape(p)) if not hasattr(p, "shape")
                                   else tuple(p.shape) for p in params])
    if shape is None:
        return tuple(pshape)
    shape = _shape(shape)
    try:
        ok = np.broadcast_shapes(pshape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{site}: parameter shape {pshape} does not broadcast to the requested shape "
            f"{shape}; pass shape=None to use the parameters' shape, or a shape whose trailing "
            "dimensions match the parameters'"
        )
    return shape


def _finfo(dt: Any) -> np.finfo:
    return np.finfo(str(dt).rsplit(".", 1)[-1].replace("'>", ""))


def _const(be: Any, rng: Any, v: Any, dt: Any) -> Any:
    return rng.asarray(v, dt)


# ----------------------------------------------------------------------------- normal transform

#: ``sqrt(2) erfinv(x) = x * g(t)``, a polynomial ``g`` per region of ``w = -log((1 - x)(1 + x))``
#: (Giles' variable, "Approximating the erfinv function", 2010): ``(w_below, on_sqrt, center,
#: coefficients)``, coefficients highest degree first, ``t = w - center`` (or ``sqrt(w) - center``
#: when ``on_sqrt``), the first region whose ``w < w_below`` applies. Chebyshev interpolants of
#: ``sqrt(2) erfinv(x) / x``, computed with mpmath at 160 bits and rounded to float64: relative
#: error below 0.09 * 2**-53 before rounding the coefficients, on ``w <= 36.6`` (``|x| <= 1 - 2**-53``:
#: all the transform meets, ``lo <= u < 1``). Compared with XLA's ``erf_inv`` (Giles' float64
#: coefficients, about 2.5 * 2**-53 off, and ``log1p(-x*x)``, which loses up to ~7e5 ulp near +-1),
#: it gives normals within 3 ulp of ``sqrt(2) erfinv(u)`` (float64; 2.5 ulp in float32) at the same
#: cost, and every engine evaluates the same operations in the same order, so the engines agree
#: to 2 ulp (they differ only through ``log`` and XLA's fused multiply-adds).
ERFINV_REGIONS: tuple[tuple[float, bool, float, tuple[float, ...]], ...] = (
    (2.0, False, 1.0, (
        -1.8069342194886905e-12, -4.513467844305081e-12, 9.540651679783546e-11,
        2.2339715881948222e-11, -4.276698398081284e-09, 8.542882113258502e-09,
        1.7298251572884154e-07, -7.993495254875478e-07, -6.046591293589536e-06,
        5.402560625100437e-05, 0.00014159357383359652, -0.003360694620402206,
        0.0060114106637358675, 0.3504886063606117, 1.594348157427451,
    )),
    (6.25, False, 4.125, (
        3.401498760147127e-17, -3.4916796437540787e-16, 2.135536884820758e-16,
        2.035760449437342e-14, -1.8047903004679908e-13, 3.117157210244081e-13,
        8.194196615720515e-12, -8.971667180824537e-11, 2.7993949448783333e-10,
        3.046854309030449e-09, -4.4085306133970515e-08, 2.0493434727831495e-07,
        8.871640262477849e-07, -2.1348507382234984e-05, 0.0001545826095380255,
        -0.00020780015705377454, -0.01030495817296754, 0.3203770280187513,
        2.668918329469481,
    )),
    (16.0, True, 3.25, (
        1.086144367925511e-08, -2.1645101378422093e-08, -2.9577616711065917e-08,
        1.8609160643477796e-07, -3.4718686931759373e-07, -3.905656539146738e-08,
        2.095295684926237e-06, -5.636639403966729e-06, 4.147292224329104e-06,
        1.7628211970051742e-05, -6.69215483778014e-05, 9.657256755186482e-05,
        3.398569141909899e-05, -0.0005020992914103871, 0.001348154715727325,
        -0.0023875821592544704, 0.0035234312047980106, -0.005305009947620765,
        0.0075956202039845645, 1.4216508658102658, 4.36127285516533,
    )),
    (float("inf"), True, 5.0, (
        -2.5046160444772912e-11, 6.118896411956098e-11, 8.14534717021822e-11,
        -6.210944775848262e-10, 1.8925617068378836e-09, -4.905416690453252e-09,
        1.1029692192729952e-08, -2.1577214677076743e-08, 4.105689010824727e-08,
        -9.553726416508676e-08, 3.2392335825137636e-07, -1.404356082579048e-06,
        6.400806056342188e-06, -2.7834226985617617e-05, 0.00010747355284773322,
        -0.00030409851178421124, -0.00019617874141224334, 1.4287806194832828,
        6.858803409112112,
    )),
)


# ----------------------------------------------------------------------------- continuous


def uniform(be: Any, rng: Any, key: Any, shape: Any = (), dtype: Any = None,
            minval: Any = 0.0, maxval: Any = 1.0) -> Any:
    """Uniform on ``[minval, maxval)``: ``max(minval, u * (maxval - minval) + minval)``.

    >>> from polyro.backends import numpy as be
    >>> float(be.uniform(be.key(0), (), minval=2.0, maxval=3.0)) >= 2.0
    True
    """
    dt = rng.dtype(dtype)
    shape = _bshape("uniform", shape, minval, maxval)
    u = rng.uniform01(key, shape, dt)
    lo = rng.asarray(minval, dt)
    hi = rng.asarray(maxval, dt)
    out = be.xp.maximum(lo, rng.mul_add(u, hi - lo, lo))
    return be.xp.broadcast_to(out, shape)


#: The float32 table: two regions, ``w < 5`` (``|x| < 0.9966``) in ``w`` itself (center 0: ``t = w``
#: exactly, and no cancellation in the Horner sum) and the rest in ``sqrt(w)`` (``w <= 15.95`` in
#: float32), degree 10 each: relative error below 0.16 * 2**-24 with the coefficients rounded to
#: float32 (0.07 and 0.05 * 2**-24 before rounding; the second center, 3.19 in float32, chosen on
#: a grid so that rounding costs least). Same construction as the float64 table, at a quarter of
#: its work (11 coefficients and one select per Horner step); simulated over 220000 points, the
#: normals are within 2.13 ulp of ``sqrt(2) erfinv`` without fused multiply-adds and 1.94 with
#: them (the old four-region table: 2.36 and 2.21).
ERFINV_REGIONS_F32: tuple[tuple[float, bool, float, tuple[float, ...]], ...] = (
    (5.0, False, 0.0, (
        6.607110316774243e-10, -2.88766032496016e-08, 4.865038179764453e-07,
        -3.8134741986667752e-06, 9.236838017937395e-06, 5.512836024993916e-05,
        -0.00016974197470495732, -0.0033092980268929996, 0.016335440473711466,
        0.3281166003218868, 1.2533141429590822,
    )),
    (float("inf"), True, 3.190000057220459, (
        -4.718031324563132e-05, 0.0001459164864496641, -6.041192469945492e-05,
        -0.0005021721836687764, 0.0015744923742566283, -0.0029132491378474393,
        0.004313545151716243, -0.006242165790261783, 0.008632248459289716,
        1.4206788678504367, 4.276002420165842,
    )),
)


def erfinv_regions(dtype: Any) -> tuple[tuple[float, bool, float, tuple[float, ...]], ...]:
    """:data:`ERFINV_REGIONS_F32` for float32 (and narrower) ``dtype``, else :data:`ERFINV_REGIONS`.

    >>> len(erfinv_regions("float32")[0][3]), len(erfinv_regions("float64")[0][3])
    (11, 15)
    """
    return ERFINV_REGIONS_F32 if _finfo(dtype).bits <= 32 else ERFINV_REGIONS


def sqrt2_erfinv(xp: Any, x: Any, const: Any = None, log: Any = None) -> Any:
    """``sqrt(2) erfinv(x)`` from :func:`erfinv_regions`, in ``x``'s dtype, with selects (no
    indexing): the form for JAX (traceable, one fused loop under ``jit``) and accelerators.

    ``const(v)`` makes a constant of ``x``'s dtype (and device); default ``xp.asarray(v, dtype)``.
    ``log`` is the natural logarithm to use for ``w`` (default ``xp.log``; the JAX adapter passes
    a vectorizable float64 one, :func:`polyro.backends.jax.fastlog.fast_log`).
    Per element: ``w = -log((1 - x)(1 + x))``, ``t`` of its region, then one Horner loop over the
    longest coefficient list whose coefficients are selected per element (shorter lists are padded
    with leading zeros: ``0 * t + 0`` stays 0, so the padding changes no bit). The numpy adapter
    evaluates the same operations in the same order, region by region.

    >>> import numpy as np
    >>> round(float(sqrt2_erfinv(np, np.array(0.5))), 15)
    0.674489750196082
    """
    dt = x.dtype
    if const is None:
        def const(v: float) -> Any:
            return xp.asarray(v, dtype=dt)

    one = const(1.0)
    w = -(xp.log if log is None else log)((one - x) * (one + x))
    s = xp.sqrt(w)
    regions = erfinv_regions(dt)
    masks = [w < const(r[0]) for r in regions[:-1]]

    def pick(vals: list[Any]) -> Any:
        out = vals[-1]
        for m, v in zip(reversed(masks), reversed(vals[:-1]), strict=True):
            out = xp.where(m, v, out)
        return out

    t = pick([(s if on_sqrt else w) - const(c) for _, on_sqrt, c, _ in regions])
    deg = max(len(r[3]) for r in regions)
    padded = [(0.0,) * (deg - len(r[3])) + tuple(r[3]) for r in regions]
    p = None
    for i in range(deg):
        c = pick([const(cs[i]) for cs in padded])
        p = c if p is None else p * t + c
    return p * x


def std_normal_from_u01(be: Any, rng: Any, u01: Any, dt: Any) -> Any:
    """Standard normals from [0,1) uniforms as JAX maps them: ``sqrt(2) erfinv(u)`` with
    ``u = u01 * (1 - lo) + lo`` on ``[lo, 1)``, ``lo = nextafter(-1, 0)``, computed in ``dt``.

    ``jax.random.normal`` also takes ``max(lo, u)``; that is a no-op here (``u01 * (1 - lo) >= 0``
    and rounding is monotone), so it is left out. ``sqrt(2) erfinv`` is ``be.sqrt2_erfinv``, the
    polynomial of :func:`erfinv_regions` on every engine (:func:`sqrt2_erfinv` or the numpy
    adapter's in-place version of it).

    >>> import numpy as np
    >>> from polyro.backends import numpy as be
    >>> from polyro.backends.numpy.random import _be, _RNG
    >>> round(float(std_normal_from_u01(_be, _RNG, np.array(0.5), np.float64)), 12)
    0.0
    """
    npdt = np.dtype(_finfo(dt).dtype)
    lo_np = np.nextafter(np.array(-1.0, npdt), np.array(0.0, npdt))
    lo = rng.asarray(float(lo_np), dt)
    scale = rng.asarray(float(np.array(1.0, npdt) - lo_np), dt)
    return be.sqrt2_erfinv(u01 * scale + lo)


def normal(be: Any, rng: Any, key: Any, shape: Any = (), dtype: Any = None,
           loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Normal draws ``loc + scale * z``, ``z = rng.std_normal(key, shape, dtype)``: the
    transform :func:`std_normal_from_u01` of ``uniform01(key, shape)`` (the numpy adapter fuses
    the two, chunk by chunk, so the work stays in cache).

    >>> from polyro.backends import numpy as be
    >>> be.normal(be.key(1), (2, 3)).shape
    (2, 3)
    """
    dt = rng.dtype(dtype)
    shape = _bshape("normal", shape, loc, scale)
    z = rng.std_normal(key, shape, dt)
    if _is_default(loc, 0.0) and _is_default(scale, 1.0):
        return z
    return be.xp.broadcast_to(rng.asarray(loc, dt) + rng.asarray(scale, dt) * z, shape)


def log1m(be: Any, rng: Any, x: Any) -> Any:
    """``log(1 - x)`` for ``0 <= x < 1``: ``log1p(-x)`` below 1/4, ``log(1 - x)`` above.

    Above 1/4 the subtraction is (nearly) exact and ``log`` is accurate on every engine, whereas
    XLA's float64 ``log1p`` loses up to ~130 ulp near ``-0.41``; this keeps the engines within
    an ulp of each other.

    >>> import numpy as np
    >>> from polyro.backends.numpy.random import _be, _RNG
    >>> float(log1m(_be, _RNG, np.array(0.5)))
    -0.6931471805599453
    """
    xp = be.xp
    big = x >= rng.asarray(0.25, x.dtype)
    small = xp.where(big, xp.zeros_like(x), x)
    return xp.where(big, xp.log(rng.asarray(1.0, x.dtype) - x), xp.log1p(-small))


def _is_default(v: Any, d: float) -> bool:
    return isinstance(v, (int, float)) and float(v) == d


def _locscale(be: Any, rng: Any, z: Any, loc: Any, scale: Any, dt: Any, shape: Shape) -> Any:
    if _is_default(loc, 0.0) and _is_default(scale, 1.0):
        return z
    return be.xp.broadcast_to(rng.asarray(loc, dt) + rng.asarray(scale, dt) * z, shape)


def exponential(be: Any, rng: Any, key: Any, shape: Any = (), dtype: Any = None,
                scale: Any = 1.0) -> Any:
    """Exponential(1) draws ``-log1p(-u)`` times ``scale`` (see :func:`log1m`).

    >>> from polyro.backends import numpy as be
    >>> bool(be.exponential(be.key(0), (5,)).min() >= 0)
    True
    """
    dt = rng.dtype(dtype)
    shape = _bshape("exponential", shape, scale)
    z = -log1m(be, rng, rng.uniform01(key, shape, dt))
    return _locscale(be, rng, z, 0.0, scale, dt, shape)


def gumbel(be: Any, rng: Any, key: Any, shape: Any = (), dtype: Any = None,
           loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Gumbel draws ``-log(-log(u))``, ``u`` uniform on ``[tiny, 1)`` (as JAX).

    >>> from polyro.backends import numpy as be
    >>> be.gumbel(be.key(0), (4,)).shape
    (4,)
    """
    dt = rng.dtype(dtype)
    shape = _bshape("gumbel", shape, loc, scale)
    u = uniform(be, rng, key, shape, dt, float(_finfo(dt).tiny), 1.0)
    return _locscale(be, rng, -be.xp.log(-be.xp.log(u)), loc, scale, dt, shape)


def cauchy(be: Any, rng: Any, key: Any, shape: Any = (), dtype: Any = None,
           loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Cauchy draws ``tan(pi (u - 1/2))``, ``u`` uniform on ``[eps, 1)`` (as JAX).

    >>> from polyro.backends import numpy as be
    >>> be.cauchy(be.key(0), (4,)).shape
    (4,)
    """
    dt = rng.dtype(dtype)
    shape = _bshape("cauchy", shape, loc, scale)
    u = uniform(be, rng, key, shape, dt, float(_finfo(dt).eps), 1.0)
    z = be.xp.tan(rng.asarray(math.pi, dt) * (u - rng.asarray(0.5, dt)))
    return _locscale(be, rng, z, loc, scale, dt, shape)


def laplace(be: Any, rng: Any, key: Any, shape: Any = (), dtype: Any = None,
            loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Laplace draws ``sign(u) log1p(-|u|)``, ``u`` uniform on ``[-1 + epsneg, 1)`` (as JAX).

    >>> from polyro.backends import numpy as be
    >>> be.laplace(be.key(0), (4,)).shape
    (4,)
    """
    dt = rng.dtype(dtype)
    shape = _bshape("laplace", shape, loc, scale)
    u = uniform(be, rng, key, shape, dt, -1.0 + float(_finfo(dt).epsneg), 1.0)
    z = be.xp.sign(u) * log1m(be, rng, be.xp.abs(u))
    return _locscale(be, rng, z, loc, scale, dt, shape)


def logistic(be: Any, rng: Any, key: Any, shape: Any = (), dtype: Any = None,
             loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Logistic draws ``log(u) - log1p(-u)``, ``u`` uniform on ``[tiny, 1)`` (as JAX).

    >>> from polyro.backends import numpy as be
    >>> be.logistic(be.key(0), (4,)).shape
    (4,)
    """
    dt = rng.dtype(dtype)
    shape = _bshape("logistic", shape, loc, scale)
    u = uniform(be, rng, key, shape, dt, float(_finfo(dt).tiny), 1.0)
    z = be.xp.log(u) - log1m(be, rng, u)
    return _locscale(be, rng, z, loc, scale, dt, shape)


# ----------------------------------------------------------------------------- discrete


def bernoulli(be: Any, rng: Any, key: Any, p: Any = 0.5, shape: Any = None) -> Any:
    """Bernoulli draws ``uniform01 < p`` (bool), with ``p``'s float dtype.

    >>> from polyro.backends import numpy as be
    >>> be.bernoulli(be.key(0), 0.5, (3,)).dtype
    dtype('bool')
    """
    dt = rng.dtype(getattr(p, "dtype", None) if rng.is_float(p) else None)
    shape = _bshape("bernoulli", shape, p)
    p = be.stop_gradient(rng.asarray(p, dt))
    return rng.uniform01(key, shape, dt) < p


def categorical(be: Any, rng: Any, key: Any, logits: Any, axis: int = -1,
                shape: Any = None) -> Any:
    """Category indices (int64) by Gumbel-max: ``argmax(logits + gumbel(key, shape+(K,)))``.

    >>> from polyro.backends import numpy as be
    >>> be.categorical(be.key(0), be.asarray([0.0, -1e9, -1e9]), shape=(3,)).tolist()
    [0, 0, 0]
    """
    dt = rng.dtype(getattr(logits, "dtype", None) if rng.is_float(logits) else None)
    logits = be.stop_gradient(rng.asarray(logits, dt))
    ndim = len(logits.shape)
    if ndim == 0:
        raise ValueError("categorical: logits must have at least one dimension (the categories)")
    axis = axis % ndim
    logits = be.xp.moveaxis(logits, axis, -1) if axis != ndim - 1 else logits
    k = int(logits.shape[-1])
    bshape = _bshape("categorical", shape, be.xp.zeros(tuple(logits.shape[:-1])))
    g = gumbel(be, rng, key, (*bshape, k), dt)
    return rng.to_int(be.xp.argmax(g + logits, axis=-1))


#: Safety cap on rejection-loop iterations; an element still not accepted (impossible for valid
#: parameters: acceptance rates are >= ~0.5 per iteration, Knuth/geometric loops end after
#: about rate + 1 steps) comes out NaN instead of looping forever.
MAX_ITERS = 2000


def _running(xp: Any, t: Any, done: Any) -> Any:
    return xp.logical_not(xp.all(done)) & (t < MAX_ITERS)


def _flat_keys(rng: Any, key: Any, n: int) -> Any:
    return rng.split(key, max(n, 1))


def gamma(be: Any, rng: Any, key: Any, a: Any, shape: Any = None, dtype: Any = None) -> Any:
    """Gamma(a, 1) draws by Marsaglia-Tsang, reparameterized (implicit gradient wrt ``a``).

    >>> from polyro.backends import numpy as be
    >>> bool((be.gamma(be.key(0), 2.0, (5,)) > 0).all())
    True
    """
    dt = rng.dtype(dtype if dtype is not None else
                   (getattr(a, "dtype", None) if rng.is_float(a) else None))
    a_in = rng.asarray(a, dt)
    shape = _bshape("gamma", shape, a_in)
    a_full = be.xp.broadcast_to(a_in, shape)
    alpha = be.stop_gradient(a_full)
    sample = _gamma_raw(be, rng, key, alpha, shape, dt)
    return rng.gamma_reparam(a_full, sample)


def _gamma_raw(be: Any, rng: Any, key: Any, alpha: Any, shape: Shape, dt: Any) -> Any:
    xp = be.xp
    draw_dt, dt = dt, rng.work_dtype(dt)
    n = math.prod(shape)
    keys = _flat_keys(rng, key, n)
    al = rng.asarray(xp.reshape(alpha, (n,)), dt)
    one = rng.asarray(1.0, dt)
    boost = al < one
    ab = xp.where(boost, al + one, al)
    d = ab - rng.asarray(1.0 / 3.0, dt)
    c = rng.asarray(1.0 / 3.0, dt) / xp.sqrt(d)

    def cond(state):
        return _running(xp, state[0], state[1])

    def body(state):
        t, done, v_out = state
        u = rng.asarray(rng.keys_uniform01(rng.keys_fold_in(keys, t + 1), 2, draw_dt), dt)
        x = std_normal_from_u01(be, rng, u[0], dt)
        uu = u[1]
        v = one + c * x
        v = v * v * v
        x2 = x * x
        safe_v = xp.where(v > 0, v, one)
        ok = (v > 0) & ((uu < one - rng.asarray(0.0331, dt) * x2 * x2) |
                        (xp.log(uu) < rng.asarray(0.5, dt) * x2 +
                         d * (one - safe_v + xp.log(safe_v))))
        accept = ok & xp.logical_not(done)
        v_out = xp.where(accept, v, v_out)
        return t + 1, done | accept, v_out

    invalid = xp.logical_not(al >= rng.asarray(0.0, dt))  # NaN or negative
    _, done, v = be.while_loop(cond, body, (rng.loop_counter(0), invalid, xp.ones_like(al)))
    invalid = invalid | xp.logical_not(done)
    out = d * v
    ub = one - rng.asarray(rng.keys_uniform01(rng.keys_fold_in(keys, 0), 1, draw_dt)[0], dt)
    safe_al = xp.where(boost, al, one)
    out = xp.where(boost, out * xp.pow(ub, one / safe_al), out)
    out = xp.where(invalid, xp.full_like(al, float("nan")), out)
    return rng.asarray(xp.reshape(out, shape), draw_dt)


def beta(be: Any, rng: Any, key: Any, a: Any, b: Any, shape: Any = None,
         dtype: Any = None) -> Any:
    """Beta(a, b) draws as ``Ga / (Ga + Gb)`` from two gamma draws (keys ``split(key, 2)``).

    >>> from polyro.backends import numpy as be
    >>> x = be.beta(be.key(0), 2.0, 3.0, (4,))
    >>> bool(((x > 0) & (x < 1)).all())
    True
    """
    dt = rng.dtype(dtype if dtype is not None else _param_dtype(rng, a, b))
    a = rng.asarray(a, dt)
    b = rng.asarray(b, dt)
    shape = _bshape("beta", shape, a, b)
    ks = rng.split(key, 2)
    ga = gamma(be, rng, ks[0], be.xp.broadcast_to(a, shape), dtype=dt)
    gb = gamma(be, rng, ks[1], be.xp.broadcast_to(b, shape), dtype=dt)
    return _normalise(be, rng, ga, ga + gb, dt)


def _normalise(be: Any, rng: Any, num: Any, den: Any, dt: Any) -> Any:
    """``num / den`` with 0/0 (both gammas underflowed) sent to 0 (keeps a finite value)."""
    xp = be.xp
    tiny = rng.asarray(float(_finfo(dt).tiny), dt)
    return num / xp.maximum(den, tiny)


def _param_dtype(rng: Any, *ps: Any) -> Any:
    for p in ps:
        if rng.is_float(p):
            return p.dtype
    return None


def dirichlet(be: Any, rng: Any, key: Any, alpha: Any, shape: Any = None,
              dtype: Any = None) -> Any:
    """Dirichlet draws: gammas over ``shape + (K,)`` divided by their sum.

    >>> from polyro.backends import numpy as be
    >>> x = be.dirichlet(be.key(0), be.asarray([1.0, 2.0, 3.0]), (2,))
    >>> x.shape, bool(abs(x.sum(-1) - 1).max() < 1e-12)
    ((2, 3), True)
    """
    dt = rng.dtype(dtype if dtype is not None else _param_dtype(rng, alpha))
    alpha = rng.asarray(alpha, dt)
    if len(alpha.shape) < 1:
        raise ValueError("dirichlet: alpha must have at least one dimension (the categories)")
    k = int(alpha.shape[-1])
    bshape = _bshape("dirichlet", shape, be.xp.zeros(tuple(alpha.shape[:-1])))
    g = gamma(be, rng, key, be.xp.broadcast_to(alpha, (*bshape, k)), dtype=dt)
    return _normalise(be, rng, g, be.xp.sum(g, axis=-1, keepdims=True), dt)


def poisson(be: Any, rng: Any, key: Any, rate: Any, shape: Any = None,
            dtype: Any = None) -> Any:
    """Poisson draws (float, the rate's dtype): Knuth below rate 10, PTRS above.

    >>> from polyro.backends import numpy as be
    >>> be.poisson(be.key(0), be.asarray([0.0, 3.0, 50.0])).shape
    (3,)
    """
    xp = be.xp
    dt = rng.dtype(dtype if dtype is not None else _param_dtype(rng, rate))
    draw_dt, dt = dt, rng.work_dtype(dt)
    lam = be.stop_gradient(rng.asarray(rate, dt))
    shape = _bshape("poisson", shape, lam)
    n = math.prod(shape)
    keys = _flat_keys(rng, key, n)
    lam = xp.reshape(xp.broadcast_to(lam, shape), (n,))
    zero, one, half = (rng.asarray(v, dt) for v in (0.0, 1.0, 0.5))
    small = (lam < rng.asarray(10.0, dt)) | xp.logical_not(lam < rng.asarray(float("inf"), dt))
    lam_s = xp.where(small, lam, zero)
    lam_b = xp.where(small, rng.asarray(1e5, dt), lam)
    # PTRS constants (Hoermann 1993)
    log_lam = xp.log(lam_b)
    b = rng.asarray(0.931, dt) + rng.asarray(2.53, dt) * xp.sqrt(lam_b)
    a = rng.asarray(-0.059, dt) + rng.asarray(0.02483, dt) * b
    inv_alpha = rng.asarray(1.1239, dt) + rng.asarray(1.1328, dt) / (b - rng.asarray(3.4, dt))
    v_r = rng.asarray(0.9277, dt) - rng.asarray(3.6224, dt) / (b - rng.asarray(2.0, dt))

    def cond(state):
        return _running(xp, state[0], state[1])

    def body(state):
        t, done, k_out, logp = state
        u = rng.asarray(rng.keys_uniform01(rng.keys_fold_in(keys, t + 1), 2, draw_dt), dt)
        # Knuth: multiply uniforms (log scale) until the product drops below exp(-lam)
        logp_new = logp + log1m(be, rng, u[0])
        knuth_done = logp_new < -lam_s
        kk = rng.asarray(t, dt)
        # PTRS
        us = u[0] - half
        v = u[1]
        u_sh = half - xp.abs(us)
        k = xp.floor((rng.asarray(2.0, dt) * a / u_sh + b) * us + lam_b + rng.asarray(0.43, dt))
        s = xp.log(v * inv_alpha / (a / (u_sh * u_sh) + b))
        tt = -lam_b + k * log_lam - be.lgamma(k + one)
        acc1 = (u_sh >= rng.asarray(0.07, dt)) & (v <= v_r)
        rej = (k < zero) | ((u_sh < rng.asarray(0.013, dt)) & (v > u_sh))
        acc = acc1 | (xp.logical_not(rej) & (s <= tt))
        accept = xp.where(small, knuth_done, acc) & xp.logical_not(done)
        k_out = xp.where(accept, xp.where(small, kk, k), k_out)
        return t + 1, done | accept, k_out, logp_new

    invalid = xp.logical_not((lam >= zero) & (lam < rng.asarray(float("inf"), dt)))
    k0 = xp.where(invalid, xp.full_like(lam, float("nan")), xp.zeros_like(lam))
    state = (rng.loop_counter(0), invalid | (lam == zero), k0, xp.zeros_like(lam))
    _, done, out, _ = be.while_loop(cond, body, state)
    out = xp.where(done, out, xp.full_like(out, float("nan")))
    return rng.asarray(xp.reshape(out, shape), draw_dt)


def binomial(be: Any, rng: Any, key: Any, n: Any, p: Any, shape: Any = None,
             dtype: Any = None) -> Any:
    """Binomial(n, p) draws (float): geometric waiting times when ``n min(p, 1-p) < 10``,
    else BTRS.

    >>> from polyro.backends import numpy as be
    >>> be.binomial(be.key(0), 10.0, be.asarray([0.0, 0.3, 1.0])).tolist()[0::2]
    [0.0, 10.0]
    """
    xp = be.xp
    dt = rng.dtype(dtype if dtype is not None else _param_dtype(rng, p, n))
    draw_dt, dt = dt, rng.work_dtype(dt)
    nn = be.stop_gradient(rng.asarray(n, dt))
    pp = be.stop_gradient(rng.asarray(p, dt))
    shape = _bshape("binomial", shape, nn, pp)
    size = math.prod(shape)
    keys = _flat_keys(rng, key, size)
    nn = xp.reshape(xp.broadcast_to(nn, shape), (size,))
    pp = xp.reshape(xp.broadcast_to(pp, shape), (size,))
    zero, one, half = (rng.asarray(v, dt) for v in (0.0, 1.0, 0.5))
    flip = pp > half
    q = xp.where(flip, one - pp, pp)  # q <= 1/2: draw Binomial(n, q)
    bad = xp.logical_not((q >= zero) & (nn >= zero) & (nn < rng.asarray(float("inf"), dt)))
    trivial = (q <= zero) | (nn <= zero) | bad
    small = (nn * q < rng.asarray(10.0, dt)) | trivial
    # geometric waiting times
    q_s = xp.where(trivial, half, q)
    log1mq = log1m(be, rng, q_s)
    # BTRS constants (Hoermann 1993), computed on safe values
    n_b = xp.where(small, rng.asarray(100.0, dt), nn)
    q_b = xp.where(small, rng.asarray(0.5, dt), q)
    spq = xp.sqrt(n_b * q_b * (one - q_b))
    b = rng.asarray(1.15, dt) + rng.asarray(2.53, dt) * spq
    a = rng.asarray(-0.0873, dt) + rng.asarray(0.0248, dt) * b + rng.asarray(0.01, dt) * q_b
    c = n_b * q_b + half
    v_r = rng.asarray(0.92, dt) - rng.asarray(4.2, dt) / b
    alpha = (rng.asarray(2.83, dt) + rng.asarray(5.1, dt) / b) * spq
    lpq = xp.log(q_b / (one - q_b))
    m = xp.floor((n_b + one) * q_b)
    h = be.lgamma(m + one) + be.lgamma(n_b - m + one)

    def cond(state):
        return _running(xp, state[0], state[1])

    def body(state):
        t, done, k_out, total, count = state
        u = rng.asarray(rng.keys_uniform01(rng.keys_fold_in(keys, t + 1), 2, draw_dt), dt)
        # geometric gap to the next success: floor(log(1-u) / log(1-q)) + 1
        gap = xp.floor(log1m(be, rng, u[0]) / log1mq) + one
        total_new = total + gap
        geo_done = total_new > nn
        count_new = xp.where(geo_done, count, count + one)
        # BTRS
        us = u[0] - half
        v = u[1]
        u_sh = half - xp.abs(us)
        k = xp.floor((rng.asarray(2.0, dt) * a / u_sh + b) * us + c)
        out_range = (k < zero) | (k > n_b)
        acc1 = (u_sh >= rng.asarray(0.07, dt)) & (v <= v_r)
        kc = xp.clip(k, zero, n_b)
        lv = xp.log(v * alpha / (a / (u_sh * u_sh) + b))
        bound = h - be.lgamma(kc + one) - be.lgamma(n_b - kc + one) + (kc - m) * lpq
        acc = xp.logical_not(out_range) & (acc1 | (lv <= bound))
        accept = xp.where(small, geo_done, acc) & xp.logical_not(done)
        k_out = xp.where(accept, xp.where(small, count, k), k_out)
        return t + 1, done | accept, k_out, total_new, count_new

    k_init = xp.where(bad, xp.full_like(nn, float("nan")), xp.zeros_like(nn))
    state = (rng.loop_counter(0), trivial, k_init, xp.zeros_like(nn), xp.zeros_like(nn))
    _, done, k, _, _ = be.while_loop(cond, body, state)
    k = xp.where(done, k, xp.full_like(k, float("nan")))
    k = xp.where(flip & xp.logical_not(bad), nn - k, k)
    return rng.asarray(xp.reshape(k, shape), draw_dt)


def multinomial(be: Any, rng: Any, key: Any, n: Any, probs: Any, shape: Any = None,
                dtype: Any = None) -> Any:
    """Multinomial counts (float) by conditional binomials over the last axis of ``probs``.

    >>> from polyro.backends import numpy as be
    >>> x = be.multinomial(be.key(0), 20.0, be.asarray([0.2, 0.3, 0.5]))
    >>> float(x.sum())
    20.0
    """
    xp = be.xp
    dt = rng.dtype(dtype if dtype is not None else _param_dtype(rng, probs, n))
    probs = be.stop_gradient(rng.asarray(probs, dt))
    nn = be.stop_gradient(rng.asarray(n, dt))
    if len(probs.shape) < 1:
        raise ValueError("multinomial: probs must have at least one dimension (the categories)")
    k = int(probs.shape[-1])
    bshape = _bshape("multinomial", shape, xp.zeros(tuple(probs.shape[:-1])), nn)
    probs = xp.broadcast_to(probs, (*bshape, k))
    probs = probs / xp.sum(probs, axis=-1, keepdims=True)
    left = xp.broadcast_to(nn, bshape)
    p_left = xp.ones(bshape, dtype=dt) if bshape else rng.asarray(1.0, dt)
    ks = rng.split(key, k)
    zero, one = rng.asarray(0.0, dt), rng.asarray(1.0, dt)
    outs = []
    for i in range(k - 1):
        pi = probs[..., i]
        ratio = xp.clip(xp.where(p_left > zero, pi / xp.where(p_left > zero, p_left, one), zero),
                        zero, one)
        xi = binomial(be, rng, ks[i], left, ratio, bshape, dt)
        outs.append(xi)
        left = left - xi
        p_left = p_left - pi
    outs.append(left)
    return xp.stack(outs, axis=-1)
