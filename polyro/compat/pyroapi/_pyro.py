"""The pyro-api ``pyro`` slot (Pyro's top-level primitives), built once per engine.

:func:`namespace` returns the names a per-engine module (``polyro.compat.pyroapi.torch_.pyro``,
...) exports: ``sample``, ``param``, ``plate``, ``plate_stack``, ``factor``, ``deterministic``,
``module``, ``subsample``, ``prng_key``, ``markov``, ``get_param_store``,
``clear_param_store``, ``set_rng_seed``, ``enable_validation``. Each runs inside
``polyro.backend(engine)``; ``plate`` and ``markov`` are polyro's handlers whose blocks run there.

>>> ns = namespace("numpy")
>>> float(ns["sample"]("x", __import__("polyro").distributions.Normal(0.0, 1.0), obs=0.25))
0.25
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

import polyro.core.primitives as prim
from polyro import backends
from polyro.compat.pyroapi._engine import engine_handler, in_engine
from polyro.core.handlers import markov as _markov
from polyro.core.param_store import clear_param_store, get_param_store

__all__ = ["namespace", "set_rng_seed", "enable_validation"]


def set_rng_seed(rng_seed: int) -> None:
    """Pyro's ``pyro.set_rng_seed``: reseed the test-convenience generator behind ``ops.randn``.

    polyro has no global random state for models (draws come from ``handlers.seed`` keys), so
    this only affects ``ops.randn``/``ops.rand`` of the compat ``ops`` modules.

    >>> set_rng_seed(0)
    """
    from polyro.compat.pyroapi import _ops

    _ops.manual_seed(rng_seed)


def enable_validation(is_validate: bool = True) -> None:
    """Pyro's ``pyro.enable_validation``: switch distribution argument checks on or off.

    >>> enable_validation(True)
    """
    from polyro.core.distributions import enable_validation as _enable

    _enable(bool(is_validate))


def _sample(engine: str) -> Callable[..., Any]:
    def sample(name: str, fn: Any, *args: Any, obs: Any = None, obs_mask: Any = None,
               sample_shape: Any = (), infer: dict | None = None, **kwargs: Any) -> Any:
        """Pyro's ``pyro.sample`` on this engine (``sample_shape`` as in NumPyro).

        >>> import polyro.distributions as dist
        >>> float(namespace("numpy")["sample"]("y", dist.Normal(0.0, 1.0), obs=1.0))
        1.0
        """
        if args:
            raise TypeError(f"sample site {name!r}: pass obs=/infer= as keywords (got extra "
                            f"positional arguments {args!r})")
        if kwargs.pop("rng_key", None) is not None:
            raise TypeError(f"sample site {name!r}: rng_key= is not supported by the polyro "
                            "pyro-api backend; wrap the model in handlers.seed(...) instead")
        if kwargs:
            raise TypeError(f"sample site {name!r}: unknown keyword(s) {sorted(kwargs)}")
        with backends.backend(engine):
            return prim.sample(name, fn, obs=obs, obs_mask=obs_mask, sample_shape=sample_shape,
                               infer=infer)

    return sample


def _project(value: Any, constraint: Any) -> Any:
    """Pyro's param-store rule: a concrete init value outside ``constraint`` is mapped into it
    (through the constraint's bijection; a simplex by normalizing, as Pyro's softmax
    transform does). Values inside the constraint and traced values are returned unchanged; a
    value with no preimage (Pyro would silently store NaN) is left for polyro's ``ModelError``."""
    from polyro.core.distributions import biject_to, constraints

    be = backends.backend_of(value)
    if not be.is_array(value):
        value = be.asarray(value, dtype=be.float_dtype())
    try:
        ok = bool(np.all(be.to_numpy(constraint.check(value))))
    except Exception:  # traced: cannot be checked here
        return value
    if ok:
        return value
    if constraint is constraints.simplex:
        return value / be.xp.sum(value, axis=-1, keepdims=True)
    t = biject_to(constraint)
    projected = t(t.inv(value))
    if not np.all(np.isfinite(be.to_numpy(projected))):
        return value  # no preimage (e.g. a negative value for positive): polyro's clear error
    return projected


def _param(engine: str) -> Callable[..., Any]:
    def param(name: str, init_value: Any = None, constraint: Any = None,
              event_dim: int | None = None) -> Any:
        """Pyro's ``pyro.param`` on this engine; an init value outside ``constraint`` is mapped
        into it, as Pyro's param store does.

        >>> from polyro.distributions import constraints
        >>> p = namespace("numpy")["param"]
        >>> p("q", [1.0, 3.0], constraint=constraints.simplex).tolist()
        [0.25, 0.75]
        """
        with backends.backend(engine):
            if (init_value is not None and constraint is not None
                    and not (callable(init_value) and not hasattr(init_value, "shape"))):
                init_value = _project(init_value, constraint)
            return prim.param(name, init_value, constraint=constraint, event_dim=event_dim)

    return param


def _factor(engine: str) -> Callable[..., Any]:
    def factor(name: str, log_factor: Any, *, has_rsample: bool | None = None) -> None:
        """Pyro's ``pyro.factor`` (``has_rsample`` accepted and ignored).

        >>> namespace("numpy")["factor"]("f", 0.0)
        """
        with backends.backend(engine):
            prim.factor(name, log_factor)

    return factor


def _module(engine: str) -> Callable[..., Any]:
    def module(name: str, nn_module: Any, update_module_params: bool = False) -> Any:
        """Pyro's ``pyro.module``: register a network's parameters (see ``polyro.module``).

        >>> import numpy as np
        >>> net = namespace("numpy")["module"]("m", (lambda p, x: p["w"] * x, {"w": np.array(2.0)}))
        >>> float(net(3.0))
        6.0
        """
        with backends.backend(engine):
            return prim.module(name, nn_module)

    return module


def _plate_class(engine: str) -> type:
    base = engine_handler(prim.plate, engine)

    class plate(base):  # type: ignore[valid-type,misc]
        """Pyro's ``pyro.plate`` on this engine (``use_cuda``/``device`` accepted, ignored).

        >>> len(plate("n", 3)), plate("n", 3, subsample_size=2).subsample_size
        (3, 2)
        """

        def __init__(self, name: str, size: int | None = None, subsample_size: int | None = None,
                     subsample: Any = None, dim: int | None = None, use_cuda: Any = None,
                     device: Any = None) -> None:
            if size is None:
                if subsample is None:
                    raise ValueError(f"plate {name!r}: give size= (or subsample= indices)")
                size = len(subsample)
            with backends.backend(engine):
                super().__init__(name, size, subsample_size=subsample_size,
                                 subsample=subsample, dim=dim)

        def __iter__(self) -> Iterator[int]:
            with backends.backend(engine):
                yield from super().__iter__()

    plate.__module__ = f"polyro.compat.pyroapi.{engine}_.pyro"
    return plate


def _plate_stack(plate_cls: type) -> Callable[..., Any]:
    @contextlib.contextmanager
    def plate_stack(prefix: str, sizes: Sequence[int], rightmost_dim: int = -1) -> Iterator[None]:
        """Nested plates ``{prefix}_0, {prefix}_1, ...`` on this engine (see
        ``polyro.plate_stack``).

        >>> with namespace("numpy")["plate_stack"]("p", (2, 3)):
        ...     pass
        """
        with contextlib.ExitStack() as stack:
            n = len(sizes)
            for i, size in enumerate(sizes):
                stack.enter_context(plate_cls(f"{prefix}_{i}", size,
                                              dim=rightmost_dim - n + 1 + i))
            yield

    return plate_stack


def namespace(engine: str) -> dict[str, Any]:
    """The ``pyro`` slot's names, bound to ``engine`` ('numpy', 'torch' or 'jax').

    >>> sorted(namespace("numpy"))[:3]
    ['clear_param_store', 'deterministic', 'enable_validation']
    """
    plate_cls = _plate_class(engine)
    return {
        "sample": _sample(engine),
        "param": _param(engine),
        "deterministic": in_engine(engine, prim.deterministic),
        "factor": _factor(engine),
        "module": _module(engine),
        "subsample": in_engine(engine, prim.subsample),
        "prng_key": in_engine(engine, prim.prng_key),
        "plate": plate_cls,
        "plate_stack": _plate_stack(plate_cls),
        "markov": engine_handler(_markov, engine),
        "get_param_store": get_param_store,
        "clear_param_store": clear_param_store,
        "set_rng_seed": set_rng_seed,
        "enable_validation": enable_validation,
    }
