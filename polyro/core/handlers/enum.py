"""``enum``: replace discrete sample sites marked for enumeration by their whole support.

A site with ``infer={"enumerate": "parallel"}`` (see ``config_enumerate``) and no value gets the
value ``fn.enumerate_support(expand=False)`` reshaped so that its support lies along a fresh
batch dim to the *left* of every plate dim: the first one is ``first_available_dim`` (``=
-max_plate_nesting - 1``), the next ``first_available_dim - 1`` and so on. Downstream log
densities broadcast over these dims; :mod:`polyro.inference.enum` sums (or maximizes) them out.
Inside :class:`~polyro.core.handlers.markov.markov` steps, sites older than ``history`` steps
free their dims for reuse.

Every sample site seen by the handler records ``infer["_dim_to_var"]`` (``{dim: site name}``
of the enumerated sites visible to it) and enumerated sites record ``infer["_enumerate_dim"]``.

>>> import numpy as np, polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> def model():
...     z = polyro.sample("z", dist.Bernoulli(0.3), infer={"enumerate": "parallel"})
...     with polyro.plate("data", 2):
...         polyro.sample("y", dist.Normal(z, 1.0), obs=np.zeros(2))
>>> tr = handlers.trace(handlers.enum(model, first_available_dim=-2)).get_trace()
>>> tr["z"]["value"].shape, tr["y"]["fn"].log_prob(tr["y"]["value"]).shape
((2, 1), (2, 2))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.core.handlers.markov import markov_path
from polyro.core.runtime import Message, Messenger, site_shape
from polyro.errors import ModelError

__all__ = ["enum", "first_support_value", "is_enumerated"]


def is_enumerated(msg: Message) -> bool:
    """Whether a sample site is a latent marked ``infer={"enumerate": "parallel"}``.

    >>> is_enumerated({"type": "sample", "is_observed": False, "infer": {"enumerate": "parallel"}})
    True
    """
    return (msg.get("type") == "sample" and not msg.get("is_observed", False)
            and msg.get("infer", {}).get("enumerate") == "parallel")


def first_support_value(msg: Message) -> Any:
    """For a sample site :func:`is_enumerated` without a value yet whose distribution has an
    enumerable support, the first value of that support at the shape a draw would have
    (``sample_shape`` included); ``None`` for any other site. A ``substitute_fn`` for runs in
    which the values of such sites matter only for their shapes.

    >>> import polyro, polyro.distributions as dist
    >>> from polyro import handlers
    >>> def model():
    ...     return polyro.sample("x", dist.Bernoulli(0.5).expand((3,)),
    ...                          infer={"enumerate": "parallel"})
    >>> handlers.substitute(model, substitute_fn=first_support_value)().tolist()
    [0.0, 0.0, 0.0]
    """
    fn = msg.get("fn")
    if (msg.get("value") is not None or not is_enumerated(msg)
            or not getattr(fn, "has_enumerate_support", False)):
        return None
    value = fn.enumerate_support(expand=True)[0]
    shape = tuple((msg.get("kwargs") or {}).get("sample_shape", ()))
    if shape:
        from polyro.backends import backend_of

        value = backend_of(value).xp.broadcast_to(value, shape + tuple(value.shape))
    return value


class enum(Messenger):
    """Enumerate the marked discrete sites in parallel along dims left of the plates.

    Args:
        fn: the model (or ``None`` for a context manager).
        first_available_dim: the rightmost dim enumeration may use, a negative int
            ``-max_plate_nesting - 1``; every plate must use a dim to its right.

    >>> enum(first_available_dim=-1).first_available_dim
    -1
    """

    def __init__(self, fn: Callable | None = None, first_available_dim: int | None = None
                 ) -> None:
        if first_available_dim is None:
            raise ValueError("enum needs first_available_dim= (a negative int, "
                             "-max_plate_nesting - 1)")
        if not isinstance(first_available_dim, int) or first_available_dim >= 0:
            raise ValueError(f"enum: first_available_dim must be a negative int, got "
                             f"{first_available_dim!r}")
        super().__init__(fn)
        self.first_available_dim = first_available_dim

    def enter_frame(self) -> enum:
        frame = super().enter_frame()
        # live enumerated sites of this entry: [name, dim, markov path]
        frame._live = []
        return frame

    # -- bookkeeping ----------------------------------------------------------------------
    def _visible(self) -> list:
        live = [r for r in self._live
                if all(chain.last_step - step <= chain.history for chain, step in r[2])]
        if len(live) != len(self._live):
            self._live[:] = live  # old markov steps never become visible again
        return live

    def _check_plates(self, msg: Message) -> None:
        mpn = -self.first_available_dim - 1
        for f in msg["cond_indep_stack"]:
            if f.dim is not None and f.dim < -mpn:
                raise ModelError(
                    f"sample site {msg['name']!r}: plate {f.name!r} uses dim {f.dim}, but "
                    f"enumeration owns dims <= {self.first_available_dim} "
                    f"(max_plate_nesting={mpn}). Raise max_plate_nesting to at least {-f.dim} "
                    "(or first_available_dim to at most "
                    f"{f.dim - 1}), or give the plate a dim to the right."
                )

    def _pyro_sample(self, msg: Message) -> None:
        self._check_plates(msg)
        live = self._visible()
        if msg["value"] is None and is_enumerated(msg):
            self._enumerate(msg, live)
            live = self._visible()
        msg["infer"]["_dim_to_var"] = {r[1]: r[0] for r in live}

    def _enumerate(self, msg: Message, live: list) -> None:
        fn = msg["fn"]
        name = msg["name"]
        if not getattr(fn, "has_enumerate_support", False):
            raise ModelError(
                f"sample site {name!r} is marked infer={{'enumerate': 'parallel'}} but its "
                f"distribution {type(fn).__name__} has no finite support to enumerate "
                "(has_enumerate_support is False). Remove the mark (continuous latents are "
                "sampled or handled by the guide) or use a finite discrete distribution."
            )
        mpn = -self.first_available_dim - 1
        batch = tuple(getattr(fn, "batch_shape", ()))
        shape = tuple(msg["kwargs"].get("sample_shape", ())) + batch
        used = {r[1] for r in live}
        bad = [d for d in range(-len(shape), -mpn) if shape[d] != 1 and d not in used]
        if bad:
            raise ModelError(
                f"sample site {name!r} has batch shape {shape} whose dim(s) {bad} lie left of "
                f"the plate dims -1..-{mpn} (max_plate_nesting={mpn}) where enumeration "
                f"starts at dim {self.first_available_dim}, and no enumerated site owns them. "
                "Set "
                f"max_plate_nesting >= {len(shape)} (first_available_dim <= {-len(shape) - 1}), "
                "or put the batch dims in plates."
            )
        dim = self.first_available_dim
        while dim in used:
            dim -= 1
        values = fn.enumerate_support(expand=False)
        event = tuple(getattr(fn, "event_shape", ()))
        k = site_shape(values)[0]
        from polyro.backends import backend_of

        xp = backend_of(values).xp
        values = xp.reshape(values, (k,) + (1,) * (-dim - 1) + event)
        msg["value"] = values
        msg["done"] = True
        msg["infer"]["_enumerate_dim"] = dim
        msg["infer"]["_enum_support"] = (k, event)
        msg["infer"]["_enum_value"] = values  # site_log_density: the table, no gather
        self._live.append([name, dim, markov_path()])
