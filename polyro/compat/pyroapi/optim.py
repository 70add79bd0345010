"""The pyro-api ``optim`` slot: Pyro's dict-taking optimizer constructors (shared by every
polyro alias).

``Adam({"lr": 1e-3, "betas": (0.9, 0.999)})`` and friends return :mod:`polyro.optim`
optimizers, which work on every engine. Pyro's ``clip_args`` dict (``clip_norm`` /
``clip_value``) is supported; per-parameter option callables are not (polyro optimizes all
params of an SVI with one optimizer).

>>> Adam({"lr": 0.01})
Adam(lr=0.01)
"""

from __future__ import annotations

from typing import Any

import polyro.optim as popt

__all__ = ["Adagrad", "Adam", "ClippedAdam", "RMSprop", "SGD"]


def _args(name: str, optim_args: Any, allowed: dict[str, str], clip_args: dict | None) -> dict:
    if callable(optim_args):
        raise NotImplementedError(
            f"optim.{name}: per-parameter option callables are not supported by polyro; "
            f"pass one dict, e.g. optim.{name}({{'lr': 1e-3}})")
    if not isinstance(optim_args, dict):
        raise TypeError(f"optim.{name}: expected a dict of options, e.g. "
                        f"optim.{name}({{'lr': 1e-3}}), got {type(optim_args).__name__}")
    unknown = sorted(k for k in optim_args if k not in allowed)
    if unknown:
        raise TypeError(f"optim.{name}: unsupported option(s) {unknown}; polyro supports "
                        f"{sorted(allowed)}")
    kwargs = {allowed[k]: v for k, v in optim_args.items()}
    for k, v in (clip_args or {}).items():
        if k not in ("clip_norm", "clip_value"):
            raise TypeError(f"optim.{name}: clip_args supports 'clip_norm' and 'clip_value', "
                            f"got {k!r}")
        kwargs[k] = v
    return kwargs


def Adam(optim_args: dict, clip_args: dict | None = None) -> Any:
    """Pyro's ``optim.Adam``: options ``lr``, ``betas``, ``eps``, ``weight_decay``.

    >>> Adam({"lr": 0.1, "betas": (0.9, 0.99)}).lr
    0.1
    """
    allowed = {"lr": "lr", "betas": "betas", "eps": "eps", "weight_decay": "weight_decay"}
    return popt.Adam(**_args("Adam", optim_args, allowed, clip_args))


def ClippedAdam(optim_args: dict) -> Any:
    """Pyro's ``optim.ClippedAdam``: ``lr``, ``betas``, ``eps``, ``weight_decay``,
    ``clip_norm`` (elementwise clamp), ``lrd`` (learning-rate decay per step).

    >>> ClippedAdam({"lr": 0.1, "lrd": 0.999}).lrd
    0.999
    """
    allowed = {"lr": "lr", "betas": "betas", "eps": "eps", "weight_decay": "weight_decay",
               "clip_norm": "clip_norm", "lrd": "lrd"}
    return popt.ClippedAdam(**_args("ClippedAdam", optim_args, allowed, None))


def SGD(optim_args: dict, clip_args: dict | None = None) -> Any:
    """Pyro's ``optim.SGD``: ``lr``, ``momentum``, ``nesterov``.

    >>> SGD({"lr": 0.1, "momentum": 0.9}).momentum
    0.9
    """
    allowed = {"lr": "lr", "momentum": "momentum", "nesterov": "nesterov"}
    return popt.SGD(**_args("SGD", optim_args, allowed, clip_args))


def Adagrad(optim_args: dict, clip_args: dict | None = None) -> Any:
    """Pyro's ``optim.Adagrad``: ``lr``, ``eps``.

    >>> Adagrad({"lr": 0.1}).lr
    0.1
    """
    return popt.Adagrad(**_args("Adagrad", optim_args, {"lr": "lr", "eps": "eps"}, clip_args))


def RMSprop(optim_args: dict, clip_args: dict | None = None) -> Any:
    """Pyro's ``optim.RMSprop``: ``lr``, ``alpha``, ``eps``.

    >>> RMSprop({"lr": 0.01}).lr
    0.01
    """
    allowed = {"lr": "lr", "alpha": "alpha", "eps": "eps"}
    return popt.RMSProp(**_args("RMSprop", optim_args, allowed, clip_args))
