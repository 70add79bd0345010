"""The No-U-Turn Sampler (Hoffman & Gelman 2014; multinomial variant as in Stan).

Same warmup, state and interface as :class:`~polyro.inference.mcmc.hmc.HMC`; the trajectory is
built by :func:`~polyro.inference.mcmc.nuts_tree.nuts_transition` without recursion.

>>> NUTS(potential_fn=lambda z: 0.5 * (z["x"] ** 2).sum()).max_tree_depth
10
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from polyro.inference.recording import graph_recorder

from .hmc import HMC, AdaptState
from .nuts_tree import LeafRunner, nuts_transition, random_size

__all__ = ["NUTS"]


class NUTS(HMC):
    """No-U-Turn Sampler. ``max_tree_depth`` bounds a trajectory to ``2^max_tree_depth - 1`` steps.

    >>> k = NUTS(potential_fn=lambda z: 0.5 * (z["x"] ** 2).sum(), max_tree_depth=8)
    >>> k.max_tree_depth, k.target_accept_prob
    (8, 0.8)
    """

    _name = "NUTS"
    _multinomial = True

    def __init__(self, model: Callable | None = None, potential_fn: Callable | None = None, *,
                 max_tree_depth: int | tuple[int, int] = 10, **kwargs: Any) -> None:
        super().__init__(model, potential_fn, **kwargs)
        depths = max_tree_depth if isinstance(max_tree_depth, (tuple, list)) else (
            max_tree_depth, max_tree_depth)
        if len(depths) != 2 or not all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) and 1 <= d <= 20
                for d in depths):
            raise ValueError(f"NUTS: max_tree_depth must be an int in [1, 20] or a pair (warmup, "
                             f"sampling) of them, got {max_tree_depth!r}")
        #: as given: an int, or NumPyro's pair (depth during warmup, depth after)
        self.max_tree_depth = int(max_tree_depth) if isinstance(
            max_tree_depth, numbers.Integral) else tuple(int(d) for d in depths)
        self._depths = (int(depths[0]), int(depths[1]))
        self._leaf: tuple = (None, None)  # (the potential-and-gradient it serves, LeafRunner)

    @property
    def _table_depth(self) -> int:
        """The depth the checkpoint and uniform tables are sized for: the deeper of the two."""
        return max(self._depths)

    def _random_size(self, dim: int) -> int:
        return random_size(dim, self._table_depth)

    def _leaf_runner(self, be: Any) -> LeafRunner | None:
        """One chain on an engine that can record a graph (torch): the leaf steps are recorded
        once they are hot (:class:`~polyro.inference.mcmc.nuts_tree.LeafRunner`)."""
        if self._batched or graph_recorder(be) is None:
            return None
        if self._leaf[0] is not self._vg:  # a new init: a new potential
            self._leaf = (self._vg, LeafRunner(be, self._vg, self._spec, self._table_depth,
                                               self.max_delta_energy))
        return self._leaf[1]

    def _transition(self, be: Any, x: Any, pe: Any, g: Any, a: AdaptState, u: Any,
                    i: Any = None) -> tuple:
        dw, ds = self._depths
        limit = None
        if dw != ds and i is not None:  # NumPyro's (warmup, sampling) pair
            xp = be.xp
            limit = xp.where(i < self._num_warmup, xp.asarray(dw), xp.asarray(ds))
        res = nuts_transition(be, self._vg, self._spec, a.inverse_mass_matrix, a.mass_factor,
                              x, pe, g, a.step_size, u, self._table_depth,
                              self.max_delta_energy, self._batched, self._leaf_runner(be),
                              depth_limit=limit)
        return res.x, res.pe, res.grad, res.energy, res.accept_prob, res.num_steps, res.diverging
