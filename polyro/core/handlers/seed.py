"""``seed``: give every random site a fresh PRNG key split from one seed.

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.sample("x", dist.Normal(0.0, 1.0))
>>> float(handlers.seed(model, rng_seed=3)()) == float(handlers.seed(model, rng_seed=3)())
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.backends import as_key, backend_of
from polyro.core.runtime import Message, Messenger

__all__ = ["seed"]


class seed(Messenger):
    """Seed ``fn``: each sample/param/plate-subsample/prng_key message gets ``msg["key"]``.

    ``rng_seed`` is an int or a key array (``be.key(...)``). The running key lives in the frame
    pushed on entry (never on the handler), so ``seed`` is reusable and safe under ``jax.jit``.
    Keys are handed out in program order to every unobserved sample site (also those whose value
    is substituted, so the draws at other sites do not depend on what was substituted), every
    param site, every subsampled plate and every ``prng_key()`` call. ``seed`` also serves
    messages that an inner ``block`` hid from outer handlers.

    >>> import polyro
    >>> seed(polyro.prng_key, rng_seed=0)().shape
    (2,)
    """

    ignores_stop = True

    def __init__(self, fn: Callable | None = None, rng_seed: Any = None) -> None:
        if rng_seed is None:
            raise ValueError(
                "polyro.handlers.seed needs rng_seed= (an int or a key from "
                "polyro.backends.current().key(int))"
            )
        super().__init__(fn)
        self.rng_seed = rng_seed

    def enter_frame(self) -> seed:
        frame = super().enter_frame()
        # an int seed (also a 0-d integer array), a key, or a typed JAX key (its raw words)
        s = as_key(self.rng_seed, backend_of(self.rng_seed))
        if tuple(getattr(s, "shape", ())) != (2,):
            raise ValueError(
                f"seed: rng_seed must be an int or a key of shape (2,), got shape "
                f"{tuple(getattr(s, 'shape', ()))}"
            )
        frame._key = s
        return frame

    def _next(self) -> Any:
        be = backend_of(self._key)
        keys = be.split(self._key)
        self._key = keys[0]
        return keys[1]

    def process_message(self, msg: Message) -> None:
        if msg["key"] is not None:
            return
        t = msg["type"]
        if t == "sample":
            if msg["is_observed"]:
                return
        elif t == "plate":
            kw = msg["kwargs"]
            if kw["subsample_size"] == kw["size"] or msg["value"] is not None:
                return
        elif t not in ("param", "prng_key"):
            return
        msg["key"] = self._next()
