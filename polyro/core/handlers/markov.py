"""``markov``: declare a Markov chain so that enumerated sites of old steps free their dims.

Under :class:`~polyro.core.handlers.enum.enum`, every enumerated site gets its own batch dim to
the left of the plate dims. In a chain ``x_0 -> x_1 -> ... -> x_T`` written with
``for t in markov(range(T))`` a site of step ``t`` only depends on sites of steps
``t - history .. t``, so the dims of older sites can be reused: the model's tensors have
``history + 1`` enumeration dims, not ``T``, and the contraction costs ``O(T)``.

``markov`` is an iterator (``for t in markov(range(T), history=1)``) or a context manager for
recursive models (each nested ``with markov():`` is the next step of the same chain).

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> import numpy as np
>>> def hmm():
...     x = 0
...     for t in handlers.markov(range(4)):
...         x = polyro.sample(f"x_{t}", dist.Categorical(probs=np.array([[.9, .1], [.2, .8]])[x]),
...                           infer={"enumerate": "parallel"})
...     return x
>>> tr = handlers.trace(handlers.enum(hmm, first_available_dim=-1)).get_trace()
>>> [tr[f"x_{t}"]["infer"]["_enumerate_dim"] for t in range(4)]
[-1, -2, -1, -2]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from polyro.core.runtime import _STACK, Messenger, get_stack

__all__ = ["markov", "markov_path"]


class _Chain:
    """One Markov chain: its history and the latest step entered (mutated per step)."""

    __slots__ = ("history", "last_step")

    def __init__(self, history: int) -> None:
        self.history = history
        self.last_step = 0


def markov_path() -> tuple[tuple[_Chain, int], ...]:
    """``((chain, step), ...)`` of the markov steps in effect, outermost first.

    >>> markov_path()
    ()
    """
    return tuple((f._chain, f._step) for f in get_stack()
                 if isinstance(f, markov) and getattr(f, "_chain", None) is not None)


class markov(Messenger):
    """Markov chain of steps whose enumerated sites only depend on the last ``history`` steps.

    Args:
        fn: an iterable (``for t in markov(range(T))``), a function to wrap, or ``None`` (context
            manager).
        history: how many earlier steps a step may depend on (``>= 0``).
        keep: accepted for Pyro compatibility; dims are always reused (``keep=True`` is not
            supported and raises).

    >>> list(markov(range(3)))
    [0, 1, 2]
    """

    def __init__(self, fn: Callable | Iterable | None = None, history: int = 1,
                 keep: bool = False) -> None:
        if not isinstance(history, int) or history < 0:
            raise ValueError(f"markov: history must be a non-negative int, got {history!r}")
        if keep:
            raise NotImplementedError("markov(keep=True) is not supported; use keep=False")
        iterable = fn if (fn is not None and not callable(fn)) else None
        super().__init__(None if iterable is not None else fn)
        self._iterable = iterable
        self.history = history
        self._chain: _Chain | None = None
        self._step = 0

    # -- context manager: recursive chains ------------------------------------------------
    def enter_frame(self) -> markov:
        frame = super().enter_frame()
        outer = [f for f in get_stack() if isinstance(f, markov) and f._chain is not None]
        if outer and getattr(outer[-1], "_recursive", False):
            frame._chain = outer[-1]._chain
            frame._step = outer[-1]._step + 1
        else:
            frame._chain = _Chain(self.history)
            frame._step = 0
        frame._recursive = True
        frame._chain.last_step = max(frame._chain.last_step, frame._step)
        return frame

    # -- iterator: one step per element ---------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        if self._iterable is None:
            raise TypeError("markov: iterate over markov(iterable), e.g. markov(range(T))")
        chain = _Chain(self.history)
        for step, value in enumerate(self._iterable):
            frame = Messenger.enter_frame(self)
            frame._chain = chain
            frame._step = step
            frame._recursive = False
            chain.last_step = step
            _STACK.set(_STACK.get() + (frame,))
            try:
                yield value
            finally:
                stack = _STACK.get()
                for i in range(len(stack) - 1, -1, -1):
                    if stack[i] is frame:
                        _STACK.set(stack[:i] + stack[i + 1:])
                        break

    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]
