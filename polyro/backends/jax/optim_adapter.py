"""Adapter: an optax ``GradientTransformation`` as a polyro optimizer (pure, jittable).

Duck-typed, so optax itself need not be installed for polyro: anything with
``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)`` works.

>>> import jax.numpy as jnp
>>> from typing import NamedTuple
>>> class Sgd(NamedTuple):
...     init: object
...     update: object
>>> tx = Sgd(lambda p: (), lambda g, s, p=None: ({k: -0.5 * v for k, v in g.items()}, s))
>>> opt = wrap(tx)
>>> st = opt.update({"x": jnp.ones(2)}, opt.init({"x": jnp.zeros(2)}))
>>> opt.get_params(st)["x"].tolist()
[-0.5, -0.5]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from polyro.inference.optim.base import OptimState


class OptaxOptimizer:
    """polyro optimizer protocol over an optax transformation.

    >>> OptaxOptimizer.__name__
    'OptaxOptimizer'
    """

    def __init__(self, tx: Any) -> None:
        if not (callable(getattr(tx, "init", None)) and callable(getattr(tx, "update", None))):
            raise TypeError(
                f"on the jax backend polyro.optim.from_native expects an optax "
                f"GradientTransformation (with init and update), got {tx!r}"
            )
        self.tx = tx

    def init(self, params: Any) -> OptimState:
        return OptimState(jnp.asarray(0, dtype=jnp.int32), params, self.tx.init(params))

    def update(self, grads: Any, state: OptimState) -> OptimState:
        updates, aux = self.tx.update(grads, state.aux, state.params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, state.params, updates)
        return OptimState(state.step + 1, params, aux)

    def get_params(self, state: OptimState) -> Any:
        return state.params

    def __repr__(self) -> str:
        return f"OptaxOptimizer({self.tx!r})"


def wrap(optimizer: Any, *args: Any, **kwargs: Any) -> OptaxOptimizer:
    """Wrap an optax transformation (extra arguments are not accepted)."""
    if args or kwargs:
        raise TypeError(
            "on the jax backend pass a ready optax transformation, e.g. "
            "from_native(optax.adam(1e-3)), without extra arguments"
        )
    return OptaxOptimizer(optimizer)
