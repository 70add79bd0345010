"""The optimizer protocol and the helpers every optimizer shares.

An optimizer is a pair of pure functions over pytrees of arrays, written once in array-API math:

* ``state = opt.init(params)``
* ``state = opt.update(grads, state)``
* ``params = opt.get_params(state)``

The state is an :class:`OptimState` named tuple (a pytree on every engine), so it can be carried
through ``be.jit``/``be.fori_loop`` on JAX and saved to a file on every backend.

>>> import numpy as np
>>> from polyro.inference.optim import SGD
>>> opt = SGD(0.5)
>>> st = opt.init({"x": np.array([1.0, 2.0])})
>>> st = opt.update({"x": np.array([1.0, 1.0])}, st)
>>> opt.get_params(st)["x"].tolist()
[0.5, 1.5]
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import polyro.backends as backends

__all__ = [
    "OptimState",
    "Optimizer",
    "clip_by_global_norm",
    "clip_by_value",
    "global_norm",
]

Schedule = Callable[[Any], Any]


class OptimState(NamedTuple):
    """State of a polyro optimizer.

    ``step`` counts the updates done (an integer array), ``params`` is the pytree of parameters
    being optimized (unconstrained values), ``aux`` the optimizer's own slots (a pytree, e.g.
    Adam's first and second moments per leaf).

    >>> OptimState(0, {"x": 1.0}, ()).params
    {'x': 1.0}
    """

    step: Any
    params: Any
    aux: Any


def _be() -> Any:
    return backends.current()


def _leaves(tree: Any) -> list:
    return _be().tree_leaves(tree)


def _xp_of(tree: Any) -> Any:
    leaves = _leaves(tree)
    return backends.namespace(*leaves[:1]) if leaves else _be().xp


def global_norm(tree: Any) -> Any:
    """The Euclidean norm of all leaves of ``tree`` taken together.

    >>> import numpy as np
    >>> float(global_norm({"a": np.array([3.0]), "b": np.array([4.0])}))
    5.0
    """
    leaves = _leaves(tree)
    xp = _xp_of(tree)
    total = sum(xp.sum(leaf * leaf) for leaf in leaves)
    return xp.sqrt(total)


def clip_by_global_norm(tree: Any, max_norm: float) -> Any:
    """Scale ``tree`` so that its global norm is at most ``max_norm`` (no change when below).

    >>> import numpy as np
    >>> np.round(clip_by_global_norm({"a": np.array([3.0, 4.0])}, 1.0)["a"], 12).tolist()
    [0.6, 0.8]
    """
    if max_norm is None:
        return tree
    if not max_norm > 0:
        raise ValueError(f"clip_norm must be positive, got {max_norm!r}")
    xp = _xp_of(tree)
    norm = global_norm(tree)
    factor = max_norm / xp.maximum(norm, xp.asarray(max_norm, dtype=norm.dtype))
    return _be().tree_map(lambda g: g * factor, tree)


def clip_by_value(tree: Any, clip_value: float) -> Any:
    """Clamp every element of ``tree`` to ``[-clip_value, clip_value]``.

    >>> import numpy as np
    >>> clip_by_value({"a": np.array([-3.0, 0.5, 9.0])}, 1.0)["a"].tolist()
    [-1.0, 0.5, 1.0]
    """
    if clip_value is None:
        return tree
    if not clip_value > 0:
        raise ValueError(f"clip_value must be positive, got {clip_value!r}")
    xp = _xp_of(tree)
    return _be().tree_map(lambda g: xp.clip(g, -clip_value, clip_value), tree)


def _check_lr(lr: Any) -> Any:
    if callable(lr):
        return lr
    try:
        val = float(lr)
    except (TypeError, ValueError):
        raise TypeError(
            f"learning rate must be a positive number or a schedule (a function of the step), "
            f"got {lr!r}"
        ) from None
    if not val > 0:
        raise ValueError(f"learning rate must be positive, got {lr!r}")
    return val


def _accept_pyro_options(cls: type, init: Callable) -> Callable:
    """``init`` that also takes Pyro's form, one dict of options (``Adam({"lr": 0.01,
    "betas": (0.9, 0.99)})``), given to it as keyword arguments; an option this optimizer does
    not have is a TypeError that lists those it has."""
    params = inspect.signature(init).parameters.values()
    names = [p.name for p in params
             if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind == p.VAR_KEYWORD for p in params):  # ``**clip``, passed to Optimizer
        names += [n for n in ("clip_norm", "clip_value") if n not in names]

    @functools.wraps(init)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) == 1 and isinstance(args[0], Mapping) and not kwargs:
            opts = dict(args[0])
            unknown = sorted(set(opts) - set(names))
            if unknown:
                raise TypeError(
                    f"{cls.__name__}: option(s) {unknown} are not supported (Pyro's per-optimizer "
                    f"dict); {cls.__name__} takes {names}"
                )
            return init(self, **opts)
        return init(self, *args, **kwargs)

    return wrapped


class Optimizer:
    """Base class: subclasses define ``_init_leaf(p)`` and ``_update_leaf(p, g, slots, lr, t)``.

    Every optimizer also takes Pyro's form, one dict of options: ``Adam({"lr": 0.01})``.

    Args:
        lr: learning rate (``step_size``), a positive number or a schedule ``lr(step)``
            (see :mod:`polyro.inference.optim.schedules`).
        clip_norm: if set, gradients are rescaled so their global norm is at most this.
        clip_value: if set, every gradient element is clamped to ``[-clip_value, clip_value]``.

    >>> import numpy as np
    >>> from polyro.inference.optim import Adam
    >>> opt = Adam(0.1)
    >>> st = opt.init({"w": np.zeros(2)})
    >>> st = opt.update({"w": np.array([1.0, -1.0])}, st)
    >>> np.round(opt.get_params(st)["w"], 6).tolist()
    [-0.1, 0.1]
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _accept_pyro_options(cls, cls.__dict__["__init__"])

    def __init__(self, lr: float | Schedule = 1e-3, *, clip_norm: float | None = None,
                 clip_value: float | None = None) -> None:
        self.lr = _check_lr(lr)
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"clip_norm must be positive, got {clip_norm!r}")
        if clip_value is not None and not clip_value > 0:
            raise ValueError(f"clip_value must be positive, got {clip_value!r}")
        self.clip_norm = clip_norm
        self.clip_value = clip_value

    # ---- per-leaf hooks -----------------------------------------------------------------
    def _init_leaf(self, p: Any) -> tuple:
        return ()

    def _update_leaf(self, p: Any, g: Any, slots: tuple, lr: Any, t: Any) -> tuple[Any, tuple]:
        raise NotImplementedError

    # ---- protocol -----------------------------------------------------------------------
    def init(self, params: Any) -> OptimState:
        """Initial state for ``params`` (a pytree of arrays)."""
        be = _be()
        leaves, treedef = be.tree_flatten(params)
        xp = _xp_of(params)
        aux = tuple(self._init_leaf(p) for p in leaves)
        step = xp.asarray(0, dtype=xp.int32)
        return OptimState(step, params, aux)

    def _lr_at(self, step: Any) -> Any:
        return self.lr(step) if callable(self.lr) else self.lr

    def update(self, grads: Any, state: OptimState) -> OptimState:
        """One optimizer step given ``grads`` (same structure as the params)."""
        be = _be()
        grads = self.process_grads(grads)
        p_leaves, treedef = be.tree_flatten(state.params)
        g_leaves = be.tree_leaves(grads)
        if len(g_leaves) != len(p_leaves):
            raise ValueError(
                f"gradient tree has {len(g_leaves)} leaves but the parameters have "
                f"{len(p_leaves)}; pass grads with the structure of the params"
            )
        step = state.step + 1
        lr = self._lr_at(state.step)
        new_p, new_aux = [], []
        for p, g, slots in zip(p_leaves, g_leaves, state.aux, strict=False):
            p2, s2 = self._update_leaf(p, g, slots, lr, step)
            new_p.append(p2)
            new_aux.append(s2)
        return OptimState(step, be.tree_unflatten(treedef, new_p), tuple(new_aux))

    def process_grads(self, grads: Any) -> Any:
        """Apply this optimizer's gradient clipping to ``grads``."""
        if self.clip_value is not None:
            grads = clip_by_value(grads, self.clip_value)
        if self.clip_norm is not None:
            grads = clip_by_global_norm(grads, self.clip_norm)
        return grads

    def get_params(self, state: OptimState) -> Any:
        """The parameters held by ``state``."""
        return state.params

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr!r})"
