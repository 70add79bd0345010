"""The pyro-api ``ops`` slot: engine-neutral tensor math, built once per engine.

Pyro's ``ops`` is the ``torch`` module itself and NumPyro's is ``jax.numpy``; the polyro
aliases use :mod:`polyro.ops` (the array API plus special functions) run on the alias's engine,
plus the few torch-style conveniences pyro-api's models and tests use:

* ``tensor(data, dtype=None)``: an array of the engine (floats in the dtype policy);
* ``zeros(*shape)``, ``ones(*shape)``, ``empty(*shape)``: shape as varargs or one tuple;
* ``randn(*shape)``, ``rand(*shape)``: standard normal / uniform draws from a module-level
  ``numpy.random.Generator`` (seeded 0; reseed with :func:`manual_seed` or
  ``pyro.set_rng_seed``). This is a *test convenience* for making data, not model randomness:
  random draws inside models come from ``handlers.seed`` keys, identical on every engine;
* ``allclose(a, b, rtol=1e-5, atol=1e-8)``: a Python bool;
* reductions accept torch's ``dim=`` as well as ``axis=``.

Any other name is looked up in :mod:`polyro.ops` and run on the engine.

>>> ns = namespace("numpy")
>>> ns["tensor"]([1.0, 2.0]).tolist(), ns["ones"](2, 1).shape
([1.0, 2.0], (2, 1))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

import polyro.ops as pops
from polyro import backends

__all__ = ["fallback", "manual_seed", "namespace"]

_RNG: list[np.random.Generator] = [np.random.default_rng(0)]


def manual_seed(seed: int) -> None:
    """Reseed the generator behind ``ops.randn``/``ops.rand`` (test convenience only).

    >>> manual_seed(3); a = namespace("numpy")["randn"](2)
    >>> manual_seed(3); bool((a == namespace("numpy")["randn"](2)).all())
    True
    """
    _RNG[0] = np.random.default_rng(int(seed))


def _shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _with_dim(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if "dim" in kwargs and "axis" not in kwargs:
            kwargs["axis"] = kwargs.pop("dim")
        return fn(*args, **kwargs)

    return wrapped


def _bind(engine: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with backends.backend(engine):
            return fn(*args, **kwargs)

    return wrapped


def namespace(engine: str) -> dict[str, Any]:
    """The ``ops`` slot's explicit names, bound to ``engine``.

    >>> sorted(namespace("numpy"))[:4]
    ['allclose', 'empty', 'manual_seed', 'ones']
    """

    def tensor(data: Any, dtype: Any = None) -> Any:
        """An array of the engine (Python floats in the dtype policy's float).

        >>> namespace("numpy")["tensor"](2.0).shape
        ()
        """
        be = backends.current()
        if be.is_array(data):
            return data if dtype is None else be.xp.astype(data, dtype)
        return be.asarray(data, dtype=dtype)

    def _creator(name: str) -> Callable[..., Any]:
        base = getattr(pops, name)

        def create(*shape: Any, dtype: Any = None) -> Any:
            return base(_shape(shape), dtype=dtype)

        create.__name__ = create.__qualname__ = name
        create.__doc__ = f"``{name}`` with the shape as varargs or one tuple (torch style)."
        return create

    def randn(*shape: Any, dtype: Any = None) -> Any:
        """Standard normal draws (test convenience generator, see :func:`manual_seed`).

        >>> namespace("numpy")["randn"](2, 3).shape
        (2, 3)
        """
        be = backends.current()
        draws = _RNG[0].standard_normal(_shape(shape))
        return be.asarray(draws, dtype=dtype or be.float_dtype())

    def rand(*shape: Any, dtype: Any = None) -> Any:
        """Uniform(0, 1) draws (test convenience generator, see :func:`manual_seed`).

        >>> float(namespace("numpy")["rand"]().max()) < 1.0
        True
        """
        be = backends.current()
        draws = _RNG[0].random(_shape(shape))
        return be.asarray(draws, dtype=dtype or be.float_dtype())

    def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
                 equal_nan: bool = False) -> bool:
        """Whether ``a`` and ``b`` agree elementwise (a Python bool).

        >>> namespace("numpy")["allclose"](1.0, 1.0 + 1e-9)
        True
        """
        def as_np(x: Any) -> Any:
            return np.asarray(backends.backend_of(x).to_numpy(x)) if hasattr(x, "shape") else x

        return bool(np.allclose(as_np(a), as_np(b), rtol=rtol, atol=atol, equal_nan=equal_nan))

    names: dict[str, Callable[..., Any]] = {
        "tensor": tensor,
        "randn": randn,
        "rand": rand,
        "allclose": allclose,
        "zeros": _creator("zeros"),
        "ones": _creator("ones"),
        "empty": _creator("empty"),
    }
    out: dict[str, Any] = {k: _bind(engine, v) for k, v in names.items()}
    out["manual_seed"] = manual_seed
    return out


def fallback(engine: str) -> Callable[[str], Any]:
    """A module ``__getattr__``: other names come from :mod:`polyro.ops`, run on ``engine``.

    >>> fallback("numpy")("exp")(0.0).item()
    1.0
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        with backends.backend(engine):
            value = getattr(pops, name)  # constants and dtypes are the engine's
        if callable(value) and not isinstance(value, type) and hasattr(value, "__name__") \
                and getattr(value, "__module__", "") == pops.__name__:
            return _bind(engine, _with_dim(value))
        return value

    return __getattr__
