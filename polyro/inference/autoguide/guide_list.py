"""``AutoGuideList``: combine several guides, each responsible for part of the model's sites.

>>> from polyro.inference.autoguide import AutoGuideList
>>> len(AutoGuideList(lambda: None))
0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.inference.autoguide.base import AutoGuide, quantile_args

__all__ = ["AutoGuideList"]


class AutoGuideList(AutoGuide):
    """A list of guides run one after the other. Add autoguides built on
    ``handlers.block(model, hide=[...])`` (or ``expose=[...]``) so each sees only its sites, or
    plain guide functions.

    >>> import polyro, polyro.distributions as dist
    >>> from polyro import handlers
    >>> from polyro.inference.autoguide import AutoNormal, AutoDelta
    >>> def model():
    ...     polyro.sample("a", dist.Normal(0.0, 1.0))
    ...     polyro.sample("b", dist.Normal(0.0, 1.0))
    >>> g = AutoGuideList(model)
    >>> g.append(AutoNormal(handlers.block(model, expose=["a"])))
    >>> g.append(AutoDelta(handlers.block(model, expose=["b"]), prefix="map"))
    >>> tr = handlers.trace(handlers.seed(g, rng_seed=0)).get_trace()
    >>> [k for k in tr if tr[k]["type"] == "sample"]
    ['a', 'b']
    """

    def __init__(self, model: Callable, *, prefix: str = "auto") -> None:
        super().__init__(model, prefix=prefix)
        self.parts: list[Any] = []

    def append(self, part: Any) -> None:
        """Add a guide (an autoguide or any guide function)."""
        if not callable(part):
            raise TypeError(f"AutoGuideList.append expects a guide (callable), got {part!r}")
        self.parts.append(part)

    def add(self, part: Any) -> None:
        """Alias of :meth:`append`."""
        self.append(part)

    def __len__(self) -> int:
        return len(self.parts)

    def __getitem__(self, i: int) -> Any:
        return self.parts[i]

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        out: dict = {}
        for part in self.parts:
            res = part(*args, **kwargs)
            if isinstance(res, dict):
                out.update(res)
        self._sites = {}
        for part in self.parts:
            self._sites.update(getattr(part, "_sites", {}))
        self.prototype_trace = {}
        return out

    def median(self, params: dict | None = None) -> dict:
        """Medians from every part that has them.

        >>> AutoGuideList(lambda: None).median({})
        {}
        """
        out: dict = {}
        for part in self.parts:
            if hasattr(part, "median"):
                out.update(part.median(params))
        return out

    def quantiles(self, quantiles: Any, params: dict | None = None) -> dict:
        """Quantiles from every part that has them.

        >>> AutoGuideList(lambda: None).quantiles([0.5], {})
        {}
        """
        quantiles, params = quantile_args(quantiles, params)
        out: dict = {}
        for part in self.parts:
            if hasattr(part, "quantiles"):
                out.update(part.quantiles(quantiles, params))
        return out

    def _get_params(self, params: dict | None) -> dict:
        if params is not None:
            return params
        from polyro.core.param_store import get_param_store

        store = get_param_store()
        return {k: store[k] for k in store.keys()}
