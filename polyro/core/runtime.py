"""The effect system: messages, the per-context handler stack and the ``Messenger`` base class.

A primitive (``polyro.sample``, ``polyro.param``, ...) builds a :class:`Message` and hands it to
:func:`apply_stack`. Every active handler (a :class:`Messenger`) sees the message twice: first on
the way *down* (``process_message``, innermost handler first), then, after the default behaviour
ran (e.g. drawing a sample), on the way *up* (``postprocess_message``, outermost handler first).

Design points (where polyro differs from Pyro/NumPyro):

* The stack lives in a :class:`contextvars.ContextVar`, so each thread and each asyncio task
  has its own.
* Handlers are never mutated when applied. Entering a handler pushes a *frame*: a shallow copy
  of the handler made by :meth:`Messenger.enter_frame`, which holds any per-entry state (the
  running PRNG key of ``seed``, the fresh trace of ``trace``). The handler object itself keeps
  nothing, so the same object may be reused, nested, or used inside ``jax.jit`` without leaking
  tracers.

>>> from polyro.core.runtime import Messenger, apply_stack, new_message
>>> class Double(Messenger):
...     def _pyro_custom(self, msg):
...         msg["value"] = 2 * msg["args"][0]
>>> with Double():
...     apply_stack(new_message("custom", "a", None, args=(21,)))["value"]
42
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable
from typing import Any, NamedTuple, TypedDict

from polyro.errors import ModelError, PolyroError

__all__ = [
    "CondIndepStackFrame",
    "Message",
    "Messenger",
    "MissingKeyError",
    "apply_stack",
    "default_process_message",
    "get_stack",
    "new_message",
    "site_shape",
]


class MissingKeyError(PolyroError, RuntimeError):
    """A random draw was needed but no PRNG key was supplied (wrap the model in ``seed``)."""


class CondIndepStackFrame(NamedTuple):
    """One plate in effect at a site.

    Fields: ``name`` of the plate; ``dim`` (negative batch dim counted from the right of the
    batch shape, or ``None`` for a sequential plate); ``size`` (full size); ``subsample_size``;
    ``counter`` (iteration index of a sequential plate, else 0).
    """

    name: str
    dim: int | None
    size: int
    subsample_size: int
    counter: int = 0

    @property
    def vectorized(self) -> bool:
        """True for a vectorized plate (it owns a batch dim)."""
        return self.dim is not None


class Message(TypedDict, total=False):
    """What a primitive sends through the handler stack. Every key is always present.

    * ``type`` (str): ``"sample"``, ``"param"``, ``"plate"``, ``"subsample"``,
      ``"deterministic"``, ``"prng_key"`` or a user type.
    * ``name`` (str | None): the site name (unique among sample/param/deterministic sites).
    * ``fn`` (Any): the distribution of a sample site; the init value or init function of a
      param site; the plate object of a plate message; ``None`` otherwise.
    * ``args`` (tuple), ``kwargs`` (dict): extra positional/keyword data of the primitive. For
      sample sites ``kwargs`` holds ``sample_shape`` (tuple) and ``obs_mask`` (array or None);
      for param sites ``constraint`` and ``event_dim``; for plates ``size``,
      ``subsample_size``.
    * ``value`` (Any): the value of the site; ``None`` until a handler or the default
      behaviour sets it.
    * ``is_observed`` (bool): True for data (``obs=`` or ``condition``).
    * ``infer`` (dict): inference hints (``{"enumerate": "parallel"}``, ``was_observed``, ...).
    * ``scale`` (Any): multiplier of the site's log density (``None`` means 1); plates with
      subsampling and the ``scale`` handler multiply it.
    * ``mask`` (Any): boolean mask of the site's log density (``None`` means no mask).
    * ``cond_indep_stack`` (tuple[CondIndepStackFrame, ...]): plates in effect, innermost last.
    * ``done`` (bool): the value is final; the default behaviour does nothing.
    * ``stop`` (bool): handlers further out are not applied (except those with
      ``ignores_stop``: ``seed`` and ``plate``, which give keys and batch dims).
    * ``continuation`` (Callable | None): called with the message after postprocessing
      (``escape`` uses it to leave the model).
    * ``key`` (Any): PRNG key given by ``seed``; the default behaviour draws a sample site with
      ``fn.sample(msg["key"], sample_shape)``.
    * ``intermediates`` (list): auxiliary values (e.g. the base value of a reparameterized
      site).
    * ``_control_flow`` (Any): reserved for control-flow primitives (scan/cond); ``None``.
    """

    type: str
    name: str | None
    fn: Any
    args: tuple
    kwargs: dict
    value: Any
    is_observed: bool
    infer: dict
    scale: Any
    mask: Any
    cond_indep_stack: tuple
    done: bool
    stop: bool
    continuation: Callable[[Any], Any] | None
    key: Any
    intermediates: list
    _control_flow: Any


def new_message(
    type: str,
    name: str | None,
    fn: Any,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    value: Any = None,
    is_observed: bool = False,
    infer: dict | None = None,
    scale: Any = None,
    mask: Any = None,
) -> Message:
    """Build a complete :class:`Message` (every key present).

    >>> m = new_message("sample", "x", None)
    >>> m["cond_indep_stack"], m["done"], m["key"] is None
    ((), False, True)
    """
    return Message(
        type=type,
        name=name,
        fn=fn,
        args=tuple(args),
        kwargs=dict(kwargs or {}),
        value=value,
        is_observed=is_observed,
        infer=dict(infer or {}),
        scale=scale,
        mask=mask,
        cond_indep_stack=(),
        done=False,
        stop=False,
        continuation=None,
        key=None,
        intermediates=[],
        _control_flow=None,
    )


_STACK: contextvars.ContextVar[tuple[Messenger, ...]] = contextvars.ContextVar(
    "polyro_handler_stack", default=()
)


def get_stack() -> tuple[Messenger, ...]:
    """The active handler frames of this thread/task, outermost first.

    >>> get_stack()
    ()
    """
    return _STACK.get()


def site_shape(x: Any) -> tuple[int, ...]:
    """Shape of an array or Python scalar as a tuple of ints.

    >>> import numpy as np
    >>> site_shape(np.zeros((2, 3))), site_shape(1.5)
    ((2, 3), ())
    """
    return tuple(int(s) for s in getattr(x, "shape", ()))


def _plates_text(msg: Message) -> str:
    frames = msg["cond_indep_stack"]
    if not frames:
        return "no plates in effect"
    return "plates in effect: " + ", ".join(
        f"{f.name}(size={f.subsample_size}, dim={f.dim})" for f in frames
    )


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y and x != 1 and y != 1:
            return False
    return True


def _check_observed_shape(msg: Message) -> None:
    fn = msg["fn"]
    batch = getattr(fn, "batch_shape", None)
    event = getattr(fn, "event_shape", None)
    if batch is None or event is None:
        return
    want = tuple(msg["kwargs"].get("sample_shape", ())) + tuple(batch) + tuple(event)
    got = site_shape(msg["value"])
    ok = _broadcastable(got, want)
    if ok and len(event) > 0:
        # the event dims must match exactly (broadcast only over batch dims), unless the
        # distribution takes other event shapes (a homogeneous HMM: any number of steps)
        tail = got[len(got) - len(event):] if len(got) >= len(event) else None
        accepts = getattr(fn, "accepts_event_shape", None)
        ok = tail is not None and (accepts(tail) if accepts is not None
                                   else tail == tuple(event))
    if not ok:
        raise ModelError(
            f"sample site {msg['name']!r}: observed value of shape {got} does not broadcast with "
            f"the distribution's shape {want} (batch_shape={tuple(batch)}, "
            f"event_shape={tuple(event)}); {_plates_text(msg)}. Reshape the data, or move the "
            "site into/out of a plate so that the shapes line up."
        )


def default_process_message(msg: Message) -> None:
    """What happens when no handler has set the value: draw samples, initialize params.

    Sample sites draw ``fn.sample(msg["key"], sample_shape)``; without a key this raises
    :class:`MissingKeyError` naming the site. Param sites read the param store or the init value.

    >>> msg = new_message("deterministic", "d", None, value=3)
    >>> default_process_message(msg); msg["value"]
    3
    """
    if msg["done"]:
        return
    t = msg["type"]
    if t == "sample":
        if msg["value"] is None:
            if msg["key"] is None:
                raise MissingKeyError(
                    f"sample site {msg['name']!r} needs a random draw but no PRNG key was given. "
                    "Wrap the model in polyro.handlers.seed, e.g. "
                    "polyro.handlers.seed(model, rng_seed=0)(*args), or substitute/condition a "
                    "value for this site. (polyro has no hidden global random state, on any "
                    "backend, so runs are reproducible.)"
                )
            shape = tuple(msg["kwargs"].get("sample_shape", ()))
            msg["value"] = msg["fn"].sample(msg["key"], shape)
        elif msg["is_observed"]:
            _check_observed_shape(msg)
    elif t == "param":
        if msg["value"] is None:
            from polyro.core.param_store import _default_param_value

            msg["value"] = _default_param_value(msg)
    elif t == "prng_key":
        if msg["value"] is None:
            if msg["key"] is None:
                raise MissingKeyError(
                    "polyro.prng_key() was called outside polyro.handlers.seed; wrap the model "
                    "in polyro.handlers.seed(model, rng_seed=0)."
                )
            msg["value"] = msg["key"]
    elif t == "plate":
        if msg["value"] is None:
            msg["value"] = msg["fn"]._default_indices(msg)
    msg["done"] = True


def apply_stack(msg: Message) -> Message:
    """Send ``msg`` through the active handlers and return it with its value set.

    Handlers are visited innermost first (``process_message``) until one sets ``stop``; then the
    default behaviour runs; then the visited handlers run ``postprocess_message`` outermost first;
    finally ``msg["continuation"]`` (if any) is called.

    >>> apply_stack(new_message("deterministic", "d", None, value=1.5))["value"]
    1.5
    """
    stack = _STACK.get()
    visited = []
    stopped = False
    for frame in reversed(stack):
        if stopped:
            if frame.ignores_stop:
                frame.process_message(msg)
            continue
        visited.append(frame)
        frame.process_message(msg)
        if msg["stop"]:
            stopped = True
    default_process_message(msg)
    for frame in reversed(visited):
        frame.postprocess_message(msg)
    cont = msg["continuation"]
    if cont is not None:
        cont(msg)
    return msg


class Messenger:
    """Base class of effect handlers; usable as ``with handler:`` and ``handler(fn)``.

    Subclasses define per-type hooks ``_pyro_<type>(msg)`` / ``_pyro_post_<type>(msg)`` (or
    override ``process_message`` / ``postprocess_message``). Per-entry state belongs in
    :meth:`enter_frame`, which returns the object actually pushed on the stack (by default a
    shallow copy of ``self``); ``__enter__`` returns :meth:`frame_value` of that frame.

    >>> from polyro.core.runtime import Messenger
    >>> class Count(Messenger):
    ...     pass
    >>> h = Count()
    >>> with h:
    ...     len(get_stack())
    1
    >>> len(get_stack())
    0
    """

    #: If True the handler's ``process_message`` still runs for messages stopped by an inner
    #: handler (``block``): ``seed`` (hands out keys) and ``plate`` (batch dims) use it.
    ignores_stop: bool = False

    def __init__(self, fn: Callable | None = None) -> None:
        self.fn = fn

    # -- frames -------------------------------------------------------------------------
    def enter_frame(self) -> Messenger:
        """Return the per-entry frame to push (a shallow copy of ``self``; override to add state).

        >>> h = Messenger(); h.enter_frame() is not h
        True
        """
        frame = object.__new__(type(self))  # a cheap shallow copy (hot path in MCMC)
        frame.__dict__.update(self.__dict__)
        frame._origin = self  # type: ignore[attr-defined]
        return frame

    def frame_value(self) -> Any:
        """What ``with handler as v`` binds (called on the frame); default: the frame itself.

        >>> Messenger().frame_value() is not None
        True
        """
        return self

    def __enter__(self) -> Any:
        frame = self.enter_frame()
        _STACK.set(_STACK.get() + (frame,))
        return frame.frame_value()

    def __exit__(self, exc_type, exc, tb) -> None:
        stack = _STACK.get()
        # pop our own frame (the innermost one that came from this handler)
        for i in range(len(stack) - 1, -1, -1):
            if getattr(stack[i], "_origin", None) is self:
                _STACK.set(stack[:i])
                return
        raise RuntimeError(f"{type(self).__name__}: exiting a handler that is not on the stack")

    # -- hooks --------------------------------------------------------------------------
    def process_message(self, msg: Message) -> None:
        """Dispatch to ``_pyro_<type>`` (called innermost handler first).

        >>> Messenger().process_message(new_message("sample", "x", None))
        """
        hook = getattr(self, "_pyro_" + msg["type"], None)
        if hook is not None:
            hook(msg)

    def postprocess_message(self, msg: Message) -> None:
        """Dispatch to ``_pyro_post_<type>`` (called outermost handler first).

        >>> Messenger().postprocess_message(new_message("sample", "x", None))
        """
        hook = getattr(self, "_pyro_post_" + msg["type"], None)
        if hook is not None:
            hook(msg)

    # -- wrapper ------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fn is None:
            # handler(fn) on a handler built without fn: wrap fn
            if len(args) == 1 and not kwargs and callable(args[0]):
                wrapped = copy.copy(self)
                wrapped.fn = args[0]
                return wrapped
            raise TypeError(f"{type(self).__name__} has no function to call; use it as handler(fn)")
        with self:
            return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", None)
        return f"{type(self).__name__}({name or ''})"
