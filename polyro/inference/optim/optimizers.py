"""Optimizers written once over pytrees: SGD (with momentum), Adam, ClippedAdam, Adagrad, RMSProp.

Each works on numpy, torch and JAX arrays alike (array-API math only) and is a pure function of
its state, so it can run inside ``be.jit`` on JAX.

>>> import numpy as np
>>> from polyro.inference.optim import RMSProp
>>> opt = RMSProp(0.01)
>>> st = opt.init({"x": np.array(1.0)})
>>> st = opt.update({"x": np.array(2.0)}, st)
>>> bool(opt.get_params(st)["x"] < 1.0)
True
"""

from __future__ import annotations

from typing import Any

import polyro.backends as backends
from polyro.inference.optim.base import Optimizer, Schedule

__all__ = ["SGD", "Momentum", "Adam", "ClippedAdam", "Adagrad", "RMSProp"]


def _zeros_like(p: Any) -> Any:
    return backends.namespace(p).zeros_like(p)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    ``v = momentum * v + g``; ``p = p - lr * v`` (or ``p - lr * (g + momentum * v)`` when
    ``nesterov``).

    >>> import numpy as np
    >>> opt = SGD(0.1, momentum=0.9)
    >>> st = opt.init({"x": np.array(0.0)})
    >>> st = opt.update({"x": np.array(1.0)}, st)
    >>> st = opt.update({"x": np.array(1.0)}, st)
    >>> round(float(opt.get_params(st)["x"]), 6)
    -0.29
    """

    def __init__(self, lr: float | Schedule = 1e-3, momentum: float = 0.0, nesterov: bool = False,
                 **clip: Any) -> None:
        super().__init__(lr, **clip)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _init_leaf(self, p: Any) -> tuple:
        return (_zeros_like(p),) if self.momentum else ()

    def _update_leaf(self, p, g, slots, lr, t):
        if not self.momentum:
            return p - lr * g, ()
        (v,) = slots
        v = self.momentum * v + g
        d = g + self.momentum * v if self.nesterov else v
        return p - lr * d, (v,)


class Momentum(SGD):
    """SGD with momentum (NumPyro's name): ``Momentum(lr, mass)``.

    >>> Momentum(0.1, 0.5).momentum
    0.5
    """

    def __init__(self, lr: float | Schedule = 1e-3, mass: float = 0.9, **clip: Any) -> None:
        super().__init__(lr, momentum=mass, **clip)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction.

    >>> import numpy as np
    >>> opt = Adam(0.01, betas=(0.9, 0.999))
    >>> st = opt.init({"x": np.array(3.0)})
    >>> for _ in range(3):
    ...     st = opt.update({"x": np.array(1.0)}, st)
    >>> round(float(opt.get_params(st)["x"]), 6)
    2.97
    """

    def __init__(self, lr: float | Schedule = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, **clip: Any) -> None:
        super().__init__(lr, **clip)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must lie in [0, 1), got {betas!r}")
        self.b1, self.b2, self.eps = float(b1), float(b2), float(eps)
        self.weight_decay = float(weight_decay)

    def _init_leaf(self, p: Any) -> tuple:
        return (_zeros_like(p), _zeros_like(p))

    def _adam(self, p, g, slots, lr, t):
        m, v = slots
        if self.weight_decay:
            g = g + self.weight_decay * p
        xp = backends.namespace(p)
        m = self.b1 * m + (1.0 - self.b1) * g
        v = self.b2 * v + (1.0 - self.b2) * (g * g)
        tf = xp.astype(t, p.dtype)
        mhat = m / (1.0 - self.b1 ** tf)
        vhat = v / (1.0 - self.b2 ** tf)
        return p - lr * mhat / (xp.sqrt(vhat) + self.eps), (m, v)

    def _update_leaf(self, p, g, slots, lr, t):
        return self._adam(p, g, slots, lr, t)


class ClippedAdam(Adam):
    """Pyro's ClippedAdam: element-wise gradient clamp to ``[-clip_norm, clip_norm]`` and a learning
    rate decayed by ``lrd`` per step (``lr_t = lr * lrd ** t``).

    >>> import numpy as np
    >>> opt = ClippedAdam(0.1, clip_norm=1.0, lrd=0.5)
    >>> st = opt.init({"x": np.array(0.0)})
    >>> st = opt.update({"x": np.array(100.0)}, st)
    >>> round(float(opt.get_params(st)["x"]), 6)
    -0.1
    """

    def __init__(self, lr: float | Schedule = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, clip_norm: float = 10.0,
                 lrd: float = 1.0) -> None:
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         clip_value=clip_norm)
        if not 0.0 < lrd <= 1.0:
            raise ValueError(f"lrd must be in (0, 1], got {lrd!r}")
        self.lrd = float(lrd)

    def _update_leaf(self, p, g, slots, lr, t):
        if self.lrd != 1.0:
            xp = backends.namespace(p)
            lr = lr * self.lrd ** xp.astype(t - 1, p.dtype)
        return self._adam(p, g, slots, lr, t)


class Adagrad(Optimizer):
    """Adagrad: ``G += g**2``; ``p -= lr * g / (sqrt(G) + eps)``.

    >>> import numpy as np
    >>> opt = Adagrad(1.0)
    >>> st = opt.init({"x": np.array(0.0)})
    >>> st = opt.update({"x": np.array(2.0)}, st)
    >>> round(float(opt.get_params(st)["x"]), 6)
    -1.0
    """

    def __init__(self, lr: float | Schedule = 1e-2, eps: float = 1e-10,
                 initial_accumulator_value: float = 0.0, **clip: Any) -> None:
        super().__init__(lr, **clip)
        self.eps = float(eps)
        self.init_acc = float(initial_accumulator_value)

    def _init_leaf(self, p: Any) -> tuple:
        return (_zeros_like(p) + self.init_acc,)

    def _update_leaf(self, p, g, slots, lr, t):
        xp = backends.namespace(p)
        (acc,) = slots
        acc = acc + g * g
        return p - lr * g / (xp.sqrt(acc) + self.eps), (acc,)


class RMSProp(Optimizer):
    """RMSProp: ``v = alpha * v + (1 - alpha) * g**2``; ``p -= lr * g / (sqrt(v) + eps)``.

    >>> import numpy as np
    >>> opt = RMSProp(0.1, alpha=0.0)
    >>> st = opt.init({"x": np.array(0.0)})
    >>> st = opt.update({"x": np.array(4.0)}, st)
    >>> round(float(opt.get_params(st)["x"]), 6)
    -0.1
    """

    def __init__(self, lr: float | Schedule = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, **clip: Any) -> None:
        super().__init__(lr, **clip)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha must be in [0, 1), got {alpha!r}")
        self.alpha, self.eps, self.momentum = float(alpha), float(eps), float(momentum)

    def _init_leaf(self, p: Any) -> tuple:
        return (_zeros_like(p), _zeros_like(p)) if self.momentum else (_zeros_like(p),)

    def _update_leaf(self, p, g, slots, lr, t):
        xp = backends.namespace(p)
        v = self.alpha * slots[0] + (1.0 - self.alpha) * (g * g)
        step = g / (xp.sqrt(v) + self.eps)
        if self.momentum:
            buf = self.momentum * slots[1] + step
            return p - lr * buf, (v, buf)
        return p - lr * step, (v,)
