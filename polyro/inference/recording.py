"""Recording an inference step as one graph on engines that run eagerly.

A sampler's leaf step or an SVI update runs the same operations at every call; where the backend
has the optional ``record_graph`` capability (torch), :class:`LazyRecording` asks it, once the
calls look like a hot loop, to record the step (gradients included) as one graph that then runs
without Python, autograd or the model. Engines that compile (JAX) have no such capability: they
compile the whole loop. Results are the step's own, bit for bit (the backend verifies).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LazyRecording", "TreeStepRecording", "FAULT_EXCEPTIONS", "graph_recorder"]

#: Exceptions a model's math may raise inside a step (torch's failed Cholesky is a
#: RuntimeError, numpy's LinAlgError a ValueError). A recorded step that raises one runs as
#: written for that call, so the caller's own fault handling applies.
FAULT_EXCEPTIONS: tuple[type[BaseException], ...] = (RuntimeError, ValueError, ArithmeticError)


def graph_recorder(be: Any) -> Callable | None:
    """The backend's ``record_graph`` capability where recording is on: ``None`` on engines that
    compile (they compile the whole loop), on engines without the capability, and while
    :data:`polyro.core.density.RECORD_AFTER` is 0.

    >>> from polyro.backends import numpy as npbe
    >>> graph_recorder(npbe) is None
    True
    """
    from polyro.core import density

    if getattr(be, "SUPPORTS_JIT", False) or density.RECORD_AFTER <= 0:
        return None
    return getattr(be, "record_graph", None)


class LazyRecording:
    """``fn(*arrays) -> tuple of arrays`` that, after enough calls to look like a sampler's hot
    loop, asks the backend to record ``graph_fn`` (the same function written without Python
    branches on values; the two calls before serve as probes of the recording) as one graph
    (:func:`graph_recorder`) and calls the recording from then on. Before that, or where the backend
    refuses, ``fn`` runs. Attempts come after 32, 128 and 512 calls (the potential, which must
    be recorded first, is recorded after :data:`polyro.core.density.RECORD_AFTER` calls);
    ``RECORD_AFTER = 0`` switches this off too.

    >>> import numpy as np
    >>> from polyro.backends import numpy as npbe
    >>> f = LazyRecording(npbe, lambda x: (x + 1,), lambda x: (x + 1,))
    >>> f(np.zeros(2))[0].tolist()      # numpy records nothing: the function runs
    [1.0, 1.0]
    """

    def __init__(self, be: Any, fn: Callable, graph_fn: Callable) -> None:
        self._fn, self._graph_fn = fn, graph_fn
        self._seen: list[tuple] = []  # the last calls' arguments: probes for the recording
        self._record = graph_recorder(be)
        self._calls, self._next = 0, 32
        self._off = self._record is None
        self._rec: Callable | None = None

    @property
    def recorded(self) -> bool:
        """Whether calls now run the recorded graph."""
        return self._rec is not None

    def __call__(self, *args: Any) -> tuple:
        if self._rec is not None:
            try:
                return self._rec(*args)
            except FAULT_EXCEPTIONS:  # the model's math raised: as written, with its handling
                return self._fn(*args)
        if not self._off:
            self._calls += 1
            if self._calls >= self._next:
                self._next *= 4
                self._off = self._next > 512
                self._rec = self._record(self._graph_fn, args, self._seen)
                if self._rec is not None:
                    self._off, self._seen = True, []
                    return self._rec(*args)
            elif self._calls >= self._next - 2:
                self._seen.append(args)
        return self._fn(*args)


class TreeStepRecording:
    """``fn(*trees) -> tree`` recorded per structure: the array leaves of the arguments are the
    recording's inputs, every other leaf (sizes, flags) is part of the structure; one
    :class:`LazyRecording` per structure (at most 8). On engines that cannot record, and for
    arguments whose other leaves are not hashable, ``fn`` runs.

    >>> import numpy as np
    >>> from polyro.backends import numpy as npbe
    >>> step = TreeStepRecording(npbe, lambda s, n: {"x": s["x"] + n})
    >>> step({"x": np.zeros(2)}, 3)["x"].tolist()
    [3.0, 3.0]
    """

    def __init__(self, be: Any, fn: Callable) -> None:
        self._be, self._fn = be, fn
        self._by_structure: dict[Any, tuple] = {}
        self._on = graph_recorder(be) is not None

    def recorded(self) -> int:
        """How many structures run as a recorded graph now."""
        return sum(rec.recorded for rec, _ in self._by_structure.values())

    def __call__(self, *trees: Any) -> Any:
        if not self._on:
            return self._fn(*trees)
        be = self._be
        leaves, treedef = be.tree_flatten(trees)
        where = [i for i, leaf in enumerate(leaves) if be.is_array(leaf)]
        others = tuple((i, leaf) for i, leaf in enumerate(leaves) if not be.is_array(leaf))
        try:
            entry = self._by_structure.get((treedef, others))
        except TypeError:  # an unhashable leaf: as written
            return self._fn(*trees)
        if entry is None:
            if len(self._by_structure) >= 8:
                return self._fn(*trees)
            entry = self._by_structure[(treedef, others)] = self._flat(treedef, leaves, where)
        rec, out_def = entry
        out = rec(*[leaves[i] for i in where])
        return be.tree_unflatten(out_def[0], list(out))

    def _flat(self, treedef: Any, leaves: list, where: list[int]) -> tuple:
        be, fn = self._be, self._fn
        template = list(leaves)
        for i in where:
            template[i] = None
        out_def: list = [None]

        def run(*arrays: Any) -> tuple:
            ls = list(template)
            for i, a in zip(where, arrays, strict=True):
                ls[i] = a
            out_leaves, out_def[0] = be.tree_flatten(fn(*be.tree_unflatten(treedef, ls)))
            return tuple(out_leaves)

        return LazyRecording(be, run, run), out_def
