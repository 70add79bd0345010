"""``vectorized_markov``: a Markov chain written once and run as two vectorized steps.

``for t in markov(range(T))`` runs the loop body T times, so a model's trace has T sites per
variable: every potential evaluation traces them all (Python time on torch and numpy, graph
size and compile time on JAX). ``vectorized_markov`` (Pyro's name) runs the same body twice:

* ``t = 0``: the first step, as written;
* ``t = slice(1, size)``: every later step at once, inside a plate ``name`` of ``size - 1``
  at ``dim``. The loop variable is a slice, so ``data[t]`` selects steps ``1 .. size-1``.

The body carries the state in a variable (``x_prev = x``) as in a ``markov`` loop. In the
vectorized step ``x_prev`` still holds the *first* step's enumerated value; the contraction
reads every factor of that step as a factor of step ``t`` between ``x_{t-1}`` (the first
step's site) and ``x_t`` (the vectorized site), and multiplies the steps as a chain
(:mod:`polyro.inference.enum.vectorized`). So, as in Pyro:

* the enumerated sites of the vectorized step pair with those of the first step, in order
  (the ``k``-th enumerated site of one with the ``k``-th of the other): each pair is one
  chain, of one support size;
* a step may depend on the step before only through the carried enumerated state
  (``history=1``); continuous values cannot be carried;
* the chain's latest state cannot be used after the loop;
* the vectorized form is for enumeration only: run forward (``seed``/``trace``, ``Predictive``
  without ``infer_discrete``), the vectorized step draws every later state from the *first*
  step's state, which is not the chain. Draw the states with ``infer_discrete``, or simulate
  with a ``markov`` loop.

Enumeration (``TraceEnum_ELBO``, NUTS/HMC with enumerated sites, ``log_marginal``,
``infer_discrete``) contracts it; everything else sees the two steps' sites, ``x_0`` and
``x_slice(1, T, None)`` (``infer_discrete`` gives the latter all ``T - 1`` later states).

>>> import numpy as np, polyro, polyro.distributions as dist
>>> from polyro.inference.enum import log_marginal
>>> trans = np.array([[0.9, 0.1], [0.3, 0.7]])
>>> y = np.array([0.1, 1.2, 0.9, -0.3])
>>> def hmm():
...     x = 0
...     for t in vectorized_markov(name="time", size=len(y), dim=-1):
...         x = polyro.sample(f"x_{t}", dist.Categorical(probs=trans[x]),
...                           infer={"enumerate": "parallel"})
...         polyro.sample(f"y_{t}", dist.Normal(1.0 * x, 1.0), obs=y[t])
>>> from polyro.handlers import markov
>>> def hmm_loop():
...     x = 0
...     for t in markov(range(len(y))):
...         x = polyro.sample(f"x_{t}", dist.Categorical(probs=trans[x]),
...                           infer={"enumerate": "parallel"})
...         polyro.sample(f"y_{t}", dist.Normal(1.0 * x, 1.0), obs=y[t])
>>> bool(np.isclose(log_marginal(hmm), log_marginal(hmm_loop)))
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from polyro.core.runtime import Message, Messenger
from polyro.errors import ModelError

__all__ = ["vectorized_markov", "VMARKOV_KEY"]

#: ``msg["infer"][VMARKOV_KEY] = (chain name, step)``: step 0 (the first step) or 1 (the
#: vectorized steps ``1 .. size-1``) of a :class:`vectorized_markov` chain
VMARKOV_KEY = "_vectorized_markov"


class _Step(Messenger):
    """Marks every sample site of one step of a vectorized chain."""

    def __init__(self, name: str, step: int) -> None:
        super().__init__(None)
        self.name = name
        self.step = step

    def _pyro_sample(self, msg: Message) -> None:
        mark = msg["infer"].get(VMARKOV_KEY)
        if mark is not None and mark[0] != self.name:
            raise ModelError(
                f"sample site {msg['name']!r} is inside vectorized_markov chains {mark[0]!r} "
                f"and {self.name!r}; nested vectorized chains are not supported. Use markov "
                "for the inner loop."
            )
        msg["infer"][VMARKOV_KEY] = (self.name, self.step)


class vectorized_markov:
    """Iterate a Markov chain of ``size`` steps as two vectorized steps (``0``, then
    ``slice(1, size)`` in a plate ``name`` of ``size - 1`` at ``dim``).

    Args:
        name: the plate's name (also the chain's name); unique in the model.
        size: the number of steps, ``>= 1``.
        dim: the plate's dim (a negative int); ``None`` allocates it like any plate.
        history: how many steps a step depends on; only ``1`` is supported.

    Use it as a ``for`` loop whose body uses ``t`` in site names (``f"x_{t}"``) and to index
    data (``y[t]``). See the module docstring for the rules a body follows.

    >>> [t for t in vectorized_markov(name="time", size=5, dim=-1)]
    [0, slice(1, 5, None)]
    """

    def __init__(self, name: str, size: int, dim: int | None = None, history: int = 1) -> None:
        if not isinstance(name, str) or not name:
            raise ModelError(f"vectorized_markov: name must be a non-empty str, got {name!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ModelError(f"vectorized_markov {name!r}: size must be a positive int, got "
                             f"{size!r}")
        if history != 1:
            raise NotImplementedError(
                f"vectorized_markov {name!r}: history={history!r}; only history=1 is "
                "supported. Use markov(range(T), history=k) for longer dependencies."
            )
        self.name = name
        self.size = size
        self.dim = dim
        self.history = history

    def __iter__(self) -> Iterator[Any]:
        from polyro.core.primitives import plate

        with _Step(self.name, 0):
            yield 0
        if self.size > 1:
            with plate(self.name, self.size - 1, dim=self.dim), _Step(self.name, 1):
                yield slice(1, self.size)

    def __len__(self) -> int:
        return 2 if self.size > 1 else 1
