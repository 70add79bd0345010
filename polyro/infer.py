"""Alias of :mod:`polyro.inference` for NumPyro and Pyro users (``from polyro.infer import
MCMC, NUTS``, ``from polyro.infer.autoguide import AutoNormal``).

A submodule reached through the alias is the module itself, not a second copy of its file:

>>> from polyro.infer import SVI, Trace_ELBO
>>> SVI is __import__("polyro.inference", fromlist=["SVI"]).SVI
True
>>> import polyro.infer.mcmc, polyro.inference.mcmc
>>> polyro.infer.mcmc is polyro.inference.mcmc
True
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

from polyro import inference as _inference
from polyro.inference import *  # noqa: F403
from polyro.inference import __all__ as __all__  # noqa: PLE0604
from polyro.inference import autoguide as autoguide  # noqa: F401

_REAL, _ALIAS = "polyro.inference", __name__
#: a package with no files of its own: its submodules come from :class:`_AliasFinder`
__path__: list[str] = []


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``polyro.infer.<sub>`` as the module ``polyro.inference.<sub>`` itself.

    Without it, the import system would load the file a second time under the alias name (a
    second class ``NUTS``, failing ``isinstance`` against the first, and a second copy of any
    module state)."""

    def __init__(self) -> None:
        self._specs: dict[str, Any] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if not fullname.startswith(_ALIAS + "."):
            return None
        real = _REAL + fullname[len(_ALIAS):]
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        module = importlib.import_module(_REAL + spec.name[len(_ALIAS):])
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: Any) -> None:
        # the import system has set the alias's spec on the module: give it back its own
        for alias, spec in list(self._specs.items()):
            if spec.name == module.__name__:
                module.__spec__ = spec
                del self._specs[alias]


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())


def __getattr__(name: str) -> Any:
    return getattr(_inference, name)
