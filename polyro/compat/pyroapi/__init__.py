"""polyro as `pyro-api <https://github.com/pyro-ppl/pyro-api>`_ backends: one alias per engine.

>>> from polyro.compat.pyroapi import register
>>> register()  # doctest: +SKIP
>>> from pyroapi import pyro, distributions as dist, pyro_backend  # doctest: +SKIP
>>> with pyro_backend("polyro-torch"):  # doctest: +SKIP
...     x = pyro.sample("x", dist.Normal(0.0, 1.0))   # a torch tensor

Design. pyro-api swaps *module names* per slot (``pyro``, ``distributions``, ``handlers``,
``infer``, ``optim``, ``ops``) and then enters ``handlers.seed(rng_seed=1)``; it has no notion of
polyro's active engine. Each alias therefore maps its engine-dependent slots to a thin per-engine
module (``polyro.compat.pyroapi.torch_.pyro``, ``...torch_.handlers``, ``...torch_.infer``,
``...torch_.ops``, likewise ``numpy_`` and ``jax_``) built from one implementation per slot
(``_pyro``, ``_handlers``, ``_infer``, ``_ops``) with the engine fixed:

* functions (``pyro.sample``, ``ops.tensor``, ``SVI.step``, ``MCMC.run``...) run inside
  ``polyro.backend(engine)``;
* handlers (``handlers.seed``, ``trace``..., ``pyro.plate``) are subclasses of polyro's whose
  ``with`` block runs inside ``polyro.backend(engine)``. Since ``pyro_backend(alias)`` enters
  ``handlers.seed``, the engine is active for the whole ``with pyro_backend(alias):`` block, so
  plain user code there (``dist.Normal(0., 1.)``) builds that engine's arrays.

The engine-neutral slots are shared: ``distributions`` (:mod:`polyro.compat.pyroapi.distributions`,
polyro's families, constraints and transforms) and ``optim``
(:mod:`polyro.compat.pyroapi.optim`, Pyro's dict-taking constructors).

pyro-api is an optional dependency (``pip install pyro-api``); it is imported only by
:func:`register`.

>>> modules_for("torch")["pyro"]
'polyro.compat.pyroapi.torch_.pyro'
"""

from __future__ import annotations

__all__ = ["ALIASES", "SLOTS", "modules_for", "register"]

#: pyro-api alias -> polyro engine
ALIASES: dict[str, str] = {"polyro-numpy": "numpy", "polyro-torch": "torch", "polyro-jax": "jax"}

#: pyro-api module slots
SLOTS = ("pyro", "distributions", "handlers", "infer", "optim", "ops")

_ENGINE_SLOTS = ("pyro", "handlers", "infer", "ops")


def modules_for(engine: str) -> dict[str, str]:
    """The module name behind each pyro-api slot for ``engine`` ('numpy', 'torch', 'jax').

    >>> sorted(modules_for("jax").items())[0]
    ('distributions', 'polyro.compat.pyroapi.distributions')
    """
    if engine not in ALIASES.values():
        raise ValueError(f"unknown engine {engine!r}; expected one of {sorted(ALIASES.values())}")
    return {slot: (f"{__name__}.{engine}_.{slot}" if slot in _ENGINE_SLOTS
                   else f"{__name__}.{slot}") for slot in SLOTS}


def register() -> list[str]:
    """Register the aliases ``polyro-numpy``, ``polyro-torch``, ``polyro-jax`` with pyro-api.

    Returns the alias names. Entering an alias whose engine is not installed raises
    ``BackendNotAvailableError`` naming the pip extra. Raises ``ImportError`` (naming
    ``pip install pyro-api``) when pyro-api is missing.

    >>> import importlib.util
    >>> importlib.util.find_spec("pyroapi") is None or register() == sorted(ALIASES)
    True
    """
    try:
        import pyroapi
    except ImportError as e:
        raise ImportError(
            "polyro.compat.pyroapi.register() needs the optional pyro-api package: "
            "pip install pyro-api") from e
    for alias, engine in ALIASES.items():
        pyroapi.register_backend(alias, modules_for(engine))
    return sorted(ALIASES)
