"""Distributions, constraints, transforms and KL divergences (written once for every engine).

Family modules are discovered automatically: every module of this package whose name starts
with ``cont_``, ``disc_`` or ``mv_`` is imported and its ``__all__`` re-exported here, so adding
a family never needs an edit of this file. ``polyro.distributions`` re-exports this package.

>>> from polyro.core import distributions as dist
>>> dist.constraints.positive
positive
>>> dist.is_validation_enabled()
True
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

from polyro.core.distributions import constraints, transforms
from polyro.core.distributions.combinators import (
    Delta,
    ExpandedDistribution,
    ImproperUniform,
    Independent,
    MaskedDistribution,
    TransformedDistribution,
    Unit,
)
from polyro.core.distributions.constraints import Constraint
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.kl import kl_divergence, register_kl
from polyro.core.distributions.mixtures import Mixture, MixtureGeneral, MixtureSameFamily
from polyro.core.distributions.transforms import Transform, biject_to
from polyro.core.distributions.truncated import FoldedDistribution, TruncatedDistribution
from polyro.core.distributions.validation import (
    enable_validation,
    is_validation_enabled,
    validation_enabled,
)

__all__ = [
    "Constraint",
    "Delta",
    "Distribution",
    "ExpandedDistribution",
    "FoldedDistribution",
    "ImproperUniform",
    "Independent",
    "MaskedDistribution",
    "Mixture",
    "MixtureGeneral",
    "MixtureSameFamily",
    "Transform",
    "TransformedDistribution",
    "TruncatedDistribution",
    "Unit",
    "biject_to",
    "constraints",
    "enable_validation",
    "is_validation_enabled",
    "kl_divergence",
    "register_kl",
    "transforms",
    "validation_enabled",
]

_FAMILY_PREFIXES = ("cont_", "disc_", "mv_")
#: family modules that failed to import: name -> error text (tests assert this is empty)
FAILED_FAMILY_MODULES: dict[str, str] = {}
#: family module name -> the public names it contributed
FAMILY_MODULES: dict[str, list[str]] = {}


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        name = info.name
        if not name.startswith(_FAMILY_PREFIXES):
            continue
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except Exception as e:  # keep the package importable; the failure is recorded
            FAILED_FAMILY_MODULES[name] = f"{type(e).__name__}: {e}"
            warnings.warn(f"polyro.distributions: family module {name!r} failed to import: "
                          f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=2)
            continue
        exported = list(getattr(mod, "__all__", []))
        FAMILY_MODULES[name] = exported
        for attr in exported:
            if attr in globals() and globals()[attr] is not getattr(mod, attr):
                warnings.warn(f"polyro.distributions: {name}.{attr} shadows an existing name",
                              RuntimeWarning, stacklevel=2)
            globals()[attr] = getattr(mod, attr)
            if attr not in __all__:
                __all__.append(attr)


_discover()
