"""Primitives of the modeling language: ``sample``, ``param``, ``plate``, ``factor``, ...

Each primitive builds a :class:`~polyro.core.runtime.Message` and sends it through the handler
stack. A model is a plain Python function that calls them.

>>> import polyro
>>> import polyro.distributions as dist
>>> from polyro import handlers
>>> def model():
...     x = polyro.sample("x", dist.Normal(0.0, 1.0))
...     with polyro.plate("data", 3):
...         polyro.sample("y", dist.Normal(x, 1.0), obs=[0.1, 0.2, 0.3])
>>> tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace()
>>> list(tr), tr["y"]["fn"].batch_shape
(['x', 'data', 'y'], (3,))
"""

from __future__ import annotations

import contextlib
import importlib
import math
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from polyro.backends import backend_of, current
from polyro.core.distributions.validation import is_validation_enabled
from polyro.core.runtime import (
    _STACK,
    CondIndepStackFrame,
    Message,
    Messenger,
    apply_stack,
    get_stack,
    new_message,
    site_shape,
)
from polyro.core.shared_arrays import shared_array
from polyro.errors import ModelError

__all__ = [
    "deterministic",
    "factor",
    "module",
    "param",
    "plate",
    "plate_stack",
    "prng_key",
    "sample",
    "subsample",
]


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"polyro.{what}: the site name must be a non-empty str, got {name!r}")


def _as_array(x: Any) -> Any:
    be = backend_of(x)
    return x if be.is_array(x) else be.asarray(x)


def sample(
    name: str,
    fn: Any,
    obs: Any = None,
    obs_mask: Any = None,
    sample_shape: Sequence[int] = (),
    infer: dict | None = None,
) -> Any:
    """A random variable ``name`` with distribution ``fn``; observed when ``obs`` is given.

    ``obs_mask`` (boolean, broadcasting with the batch shape) marks which entries of ``obs`` are
    observed: the site splits into ``{name}_observed`` (the data) and ``{name}_unobserved`` (a
    latent for the missing entries), and ``name`` becomes a deterministic site combining them;
    the latent's observed entries get a fixed proper density (site ``{name}_unobserved_pad``,
    see :func:`_observed_entries_density`), so that they are not flat directions.
    Drawing a latent value needs a key: run the model inside ``polyro.handlers.seed``.

    >>> import polyro, polyro.distributions as dist
    >>> float(polyro.sample("y", dist.Normal(0.0, 1.0), obs=0.5))
    0.5
    """
    _check_name(name, "sample")
    if not hasattr(fn, "sample") or not hasattr(fn, "log_prob"):
        raise TypeError(
            f"sample site {name!r}: expected a distribution (with .sample and .log_prob), "
            f"got {type(fn).__name__}"
        )
    if obs is not None:
        obs = _as_array(obs)
    if obs_mask is not None:
        if obs is None:
            raise ModelError(f"sample site {name!r}: obs_mask was given without obs")
        return _masked_sample(name, fn, obs, obs_mask, sample_shape, infer)
    if isinstance(sample_shape, int):
        sample_shape = (sample_shape,)
    msg = new_message(
        "sample",
        name,
        fn,
        kwargs={"sample_shape": tuple(sample_shape), "obs_mask": None},
        value=obs,
        is_observed=obs is not None,
        infer=infer,
    )
    return apply_stack(msg)["value"]


def _masked_sample(name, fn, obs, obs_mask, sample_shape, infer):
    from polyro.core.handlers.mask import mask as mask_handler

    be = backend_of(obs, obs_mask)
    xp = be.xp
    m = obs_mask if be.is_array(obs_mask) else be.asarray(obs_mask)
    with mask_handler(mask=m):
        observed = sample(f"{name}_observed", fn, obs=obs, sample_shape=sample_shape, infer=infer)
    with mask_handler(mask=xp.logical_not(m)):
        missing = sample(f"{name}_unobserved", fn, sample_shape=sample_shape, infer=infer)
    pad = _observed_entries_density(fn, missing)
    if pad is not None:
        factor(f"{name}_unobserved_pad", xp.where(m, pad, xp.zeros_like(pad)))
    event_ndim = len(getattr(fn, "event_shape", ()))
    mm = xp.reshape(m, site_shape(m) + (1,) * event_ndim) if event_ndim else m
    return deterministic(name, xp.where(mm, observed, missing))


def _observed_entries_density(fn: Any, value: Any) -> Any:
    """A proper density, free of the model's parameters, for the entries of an ``obs_mask``
    site's ``{name}_unobserved`` latent that were observed (the model never reads them): the
    image of a standard normal under ``biject_to(fn.support)``, per batch element.

    Masking those entries out, as Pyro and NumPyro do, leaves them without any density: NUTS
    then random-walks them without bound and an autoguide's scale for them grows forever (the
    ELBO is unbounded). With this density they integrate to one and leave every other
    posterior as it was. ``None`` for a discrete support (such a latent needs enumeration)."""
    from polyro.core.distributions import biject_to

    try:
        t = biject_to(fn.support)
    except NotImplementedError:
        return None
    from polyro.core.distributions.util import sum_rightmost

    u = t.inv(value)
    batch_nd = value.ndim - len(getattr(fn, "event_shape", ()))
    lp = -0.5 * u * u - 0.5 * math.log(2 * math.pi)
    ladj = _as_array(t.log_abs_det_jacobian(u, value))
    return sum_rightmost(lp, lp.ndim - batch_nd) - sum_rightmost(ladj, ladj.ndim - batch_nd)


def param(
    name: str,
    init_value: Any = None,
    constraint: Any = None,
    event_dim: int | None = None,
) -> Any:
    """A learnable parameter; returns its (constrained) value.

    ``init_value`` is an array or a function of a PRNG key (then the model must run inside
    ``seed``). Inference passes learned values in with ``handlers.substitute``; outside any
    handler the Pyro-style param store is read and written (see :mod:`polyro.core.param_store`).
    ``constraint`` (default ``constraints.real``) is checked on the init value.

    >>> import polyro
    >>> from polyro import handlers
    >>> float(handlers.substitute(lambda: polyro.param("a", 1.0), data={"a": 3.0})())
    3.0
    """
    _check_name(name, "param")
    if constraint is None:
        from polyro.core.distributions import constraints

        constraint = constraints.real
    msg = new_message(
        "param",
        name,
        init_value,
        kwargs={"constraint": constraint, "event_dim": event_dim},
    )
    return apply_stack(msg)["value"]


def deterministic(name: str, value: Any) -> Any:
    """Record ``value`` at site ``name`` (returned unchanged unless a handler substitutes it).

    >>> import polyro
    >>> polyro.deterministic("d", 2.5)
    2.5
    """
    _check_name(name, "deterministic")
    msg = new_message("deterministic", name, None, value=value)
    return apply_stack(msg)["value"]


def factor(name: str, log_factor: Any) -> None:
    """Add ``log_factor`` (an array, summed) to the model's log density at site ``name``.

    >>> import polyro
    >>> from polyro import handlers
    >>> tr = handlers.trace(lambda: polyro.factor("f", -1.5)).get_trace()
    >>> float(tr.log_prob_sum())
    -1.5
    """
    _check_name(name, "factor")
    from polyro.core.distributions import Unit

    log_factor = _as_array(log_factor)
    unit = Unit(log_factor, validate_args=False)  # -inf is a legitimate hard constraint
    value = unit.sample(None)
    sample(name, unit, obs=value, infer={"is_auxiliary": True})


def prng_key() -> Any:
    """A fresh PRNG key from the enclosing ``seed`` handler.

    >>> import polyro
    >>> from polyro import handlers
    >>> handlers.seed(polyro.prng_key, rng_seed=0)().shape
    (2,)
    """
    return apply_stack(new_message("prng_key", None, None))["value"]


def subsample(data: Any, event_dim: int) -> Any:
    """Index ``data`` along every enclosing subsampled plate whose full size it has.

    ``event_dim`` is the number of rightmost dims of ``data`` that are not batch dims.

    >>> import numpy as np, polyro
    >>> from polyro import handlers
    >>> def model():
    ...     with polyro.plate("n", 4, subsample=np.array([3, 1])):
    ...         return polyro.subsample(np.arange(4.0), event_dim=0)
    >>> model()
    array([3., 1.])
    """
    msg = new_message("subsample", None, None, kwargs={"event_dim": int(event_dim)}, value=data)
    return apply_stack(msg)["value"]


def module(name: str, nn_module: Any) -> Callable[..., Any]:
    """Register a native network's parameters as param sites; return it as a callable.

    On torch ``nn_module`` is a ``torch.nn.Module``; on JAX and numpy it is a pair
    ``(apply_fn, params)`` with ``params`` a (nested) dict of arrays, called as
    ``apply_fn(params, *args)``. Each leaf becomes the param site ``{name}$$${path}``; the returned
    callable runs the network with the (possibly substituted) parameter values.

    >>> import numpy as np, polyro
    >>> net = polyro.module("lin", (lambda p, x: p["w"] * x, {"w": np.array(2.0)}))
    >>> float(net(3.0))
    6.0
    """
    _check_name(name, "module")
    nn = importlib.import_module(current().__name__ + ".nn")
    values = {
        path: param(f"{name}$$${path}", init)
        for path, init in nn.module_params(nn_module).items()
    }
    known = _NETWORKS.get(name)
    if (known is None or known[0]() is not nn_module) and hasattr(nn, "write_back"):
        # a mutable network object (torch): training updates it
        _NETWORKS[name] = (weakref.ref(nn_module), nn.write_back)
    return nn.bind(nn_module, values)


#: ``name -> (weak reference to the network, the backend's write_back)`` of ``module`` calls
_NETWORKS: dict[str, tuple[Callable[[], Any], Callable[[Any, dict], None]]] = {}


def write_back_networks(params: dict) -> None:
    """Copy trained values of ``module`` param sites (``{name}$$${path}``) into the network
    objects registered under ``name`` where the backend's networks are mutable objects (a
    ``torch.nn.Module``, as Pyro users expect after training); functional networks (an
    ``(apply_fn, params)`` pair on JAX and numpy) are left as they are: read ``params``.

    >>> write_back_networks({"absent$$$w": 1.0})
    """
    groups: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        name, sep, path = key.partition("$$$")
        if sep and name in _NETWORKS:
            groups.setdefault(name, {})[path] = value
    for name, values in groups.items():
        ref, write = _NETWORKS[name]
        net = ref()
        if net is None:
            del _NETWORKS[name]
        else:
            write(net, values)


# ------------------------------------------------------------------------------------------
# plates
# ------------------------------------------------------------------------------------------


_FULL_INDICES: dict[tuple, Any] = {}


def _full_indices(be: Any, size: int) -> Any:
    """``arange(size)``, made once per backend, size and device (a plate is entered at every
    step of an inference loop). Shared: never modify it in place (numpy copies are read-only).
    Engines that compile stage every array creation into the compiled code (a cached array made
    while tracing would leak the tracer): they get a fresh one."""
    return shared_array(be, _FULL_INDICES, (be, size, be.default_device()),
                        lambda: be.xp.arange(size), limit=256)


def _enclosing_plates() -> list[plate]:
    return [f for f in get_stack() if isinstance(f, plate) and getattr(f, "_entered", False)]


class plate(Messenger):
    """Conditionally independent batch of size ``size``; a context manager or an iterator.

    As ``with plate(...) as idx:`` it is *vectorized*: every site inside gets a batch dim ``dim``
    (allocated right to left automatically, or fixed with ``dim=-k``) of length
    ``subsample_size``; distributions are expanded to it. With subsampling (``subsample_size`` or
    explicit ``subsample`` indices) log densities are scaled by ``size / subsample_size``. As
    ``for i in plate(...)`` it is *sequential*: the body runs once per index.

    >>> import polyro, polyro.distributions as dist
    >>> from polyro import handlers
    >>> def model():
    ...     with polyro.plate("a", 3):
    ...         with polyro.plate("b", 2):
    ...             return polyro.sample("x", dist.Normal(0.0, 1.0))
    >>> handlers.seed(model, rng_seed=1)().shape
    (2, 3)
    """

    #: plates are structure, not observers: they still act on sites an inner ``block`` hides
    ignores_stop = True

    def __init__(
        self,
        name: str,
        size: int,
        subsample_size: int | None = None,
        subsample: Any = None,
        dim: int | None = None,
    ) -> None:
        super().__init__(None)
        _check_name(name, "plate")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            given = size
            try:
                size = int(size)
            except (TypeError, ValueError):  # also a traced value (a concrete size is needed)
                raise ModelError(
                    f"plate {name!r}: size must be a positive int known when the model runs, "
                    f"got {type(given).__name__} {given!r}. Under a compiled (jit) function a "
                    "size passed as an array is traced: pass it as a Python int (polyro's SVI, "
                    "MCMC and Predictive keep Python int arguments static)."
                ) from None
            if size < 1:
                raise ModelError(f"plate {name!r}: size must be a positive int, got {given!r}")
        if subsample is not None:
            n_sub = site_shape(subsample)
            if len(n_sub) != 1:
                raise ModelError(
                    f"plate {name!r}: subsample indices must be 1-D, got shape {n_sub}"
                )
            if subsample_size is not None and int(subsample_size) != n_sub[0]:
                raise ModelError(
                    f"plate {name!r}: subsample_size={subsample_size} disagrees with "
                    f"len(subsample)={n_sub[0]}"
                )
            subsample_size = n_sub[0]
        if subsample_size is None:
            subsample_size = size
        subsample_size = int(subsample_size)
        if not 1 <= subsample_size <= size:
            raise ModelError(
                f"plate {name!r}: subsample_size={subsample_size} must be in [1, size={size}]"
            )
        if dim is not None and (not isinstance(dim, int) or dim >= 0):
            raise ModelError(f"plate {name!r}: dim must be a negative int, got {dim!r}")
        self.name = name
        self.size = size
        self.subsample_size = subsample_size
        self.subsample = subsample
        self.dim = dim
        self._entered = False
        self._frame: CondIndepStackFrame | None = None
        self._indices: Any = None

    # -- indices ----------------------------------------------------------------------
    def _default_indices(self, msg: Message) -> Any:
        be = current()
        xp = be.xp
        if self.subsample_size == self.size:
            msg["infer"]["_default_indices"] = True
            return _full_indices(be, self.size)
        key = msg["key"]
        if key is None:
            from polyro.core.runtime import MissingKeyError

            raise MissingKeyError(
                f"plate {self.name!r} draws a random subsample of size {self.subsample_size} "
                f"from {self.size} but no PRNG key was given; wrap the model in "
                "polyro.handlers.seed, or pass subsample= indices."
            )
        u = be.uniform(key, (self.size,))
        return xp.argsort(u)[: self.subsample_size]

    def _compute_indices(self) -> tuple[Any, bool]:
        """(indices, whether they are the default ``arange(size)``) via a "plate" message."""
        msg = new_message(
            "plate",
            self.name,
            self,
            kwargs={"size": self.size, "subsample_size": self.subsample_size},
            value=self.subsample,
        )
        apply_stack(msg)
        idx = msg["value"]
        if msg["infer"].get("_default_indices"):
            return idx, True
        idx = _as_array(idx)
        shape = site_shape(idx)
        if shape != (self.subsample_size,):
            raise ModelError(
                f"plate {self.name!r}: subsample indices have shape {shape}, expected "
                f"({self.subsample_size},)"
            )
        self._check_range(idx)
        return idx, False

    def _check_range(self, idx: Any) -> None:
        if not is_validation_enabled():  # off, or a trusted step whose inputs were checked
            return
        be = backend_of(idx)
        try:
            arr = be.to_numpy(idx)
        except Exception:  # traced values cannot be checked here
            return
        bad = (arr < 0) | (arr >= self.size)
        if bad.any():
            i = int(bad.nonzero()[0][0])
            raise ModelError(
                f"plate {self.name!r}: subsample index {arr[i]} at position {i} is out of "
                f"range for size {self.size} (valid: 0..{self.size - 1})"
            )

    def _allocate_dim(self, enclosing: list[plate]) -> int:
        used = {p._frame.dim for p in enclosing if p._frame is not None and p._frame.dim is not None}
        if self.dim is not None:
            if self.dim in used:
                other = [p.name for p in enclosing if p._frame and p._frame.dim == self.dim]
                raise ModelError(
                    f"plate {self.name!r}: dim={self.dim} is already used by the enclosing plate "
                    f"{other[0]!r}; choose another dim or leave dim=None"
                )
            return self.dim
        d = -1
        while d in used:
            d -= 1
        return d

    # -- context manager: vectorized --------------------------------------------------
    def enter_frame(self) -> plate:
        frame = super().enter_frame()
        enclosing = _enclosing_plates()
        for p in enclosing:
            if p.name == self.name:
                raise ModelError(f"plate {self.name!r} is nested inside itself")
        dim = self._allocate_dim(enclosing)
        frame._indices = self._compute_indices()[0]
        frame._frame = CondIndepStackFrame(self.name, dim, self.size, self.subsample_size, 0)
        frame._entered = True
        return frame

    def frame_value(self) -> Any:
        return self._indices

    # -- iterator: sequential ---------------------------------------------------------
    def __iter__(self) -> Iterator[int]:
        idx, default = self._compute_indices()
        if default:  # no array round trip: works on traced code too
            values = list(range(self.size))
        else:
            values = [int(v) for v in backend_of(idx).to_numpy(idx)]
        for counter, value in enumerate(values):
            frame = Messenger.enter_frame(self)
            frame._indices = value
            frame._frame = CondIndepStackFrame(
                self.name, None, self.size, self.subsample_size, counter
            )
            frame._entered = True
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
        return self.subsample_size

    # -- hooks ------------------------------------------------------------------------
    def _add_frame(self, msg: Message) -> None:
        msg["cond_indep_stack"] = (self._frame,) + tuple(msg["cond_indep_stack"])

    def _scale(self, msg: Message) -> None:
        if self.subsample_size < self.size:
            ratio = self.size / self.subsample_size
            msg["scale"] = ratio if msg["scale"] is None else ratio * msg["scale"]

    def _pyro_sample(self, msg: Message) -> None:
        self._add_frame(msg)
        self._scale(msg)
        dim = self._frame.dim
        if dim is None:
            return
        fn = msg["fn"]
        batch = tuple(getattr(fn, "batch_shape", ()))
        need = -dim
        full = (1,) * max(0, need - len(batch)) + batch
        cur = full[dim]
        if cur == self.subsample_size:
            new = full
        elif cur == 1:
            new = full[:dim] + (self.subsample_size,) + (full[dim + 1:] if dim != -1 else ())
        else:
            hint = (
                " (the site has the plate's full size: wrap the data in polyro.subsample or "
                "index it with the plate's indices)" if cur == self.size else ""
            )
            raise ModelError(
                f"sample site {msg['name']!r}: its distribution has batch_shape {batch} whose "
                f"size at dim {dim} is {cur}, but the enclosing plate {self.name!r} has size "
                f"{self.subsample_size} at that dim{hint}. Make the batch dim 1 or "
                f"{self.subsample_size}, or give the plate another dim="
            )
        if new != batch:
            msg["fn"] = fn.expand(new)

    def _pyro_param(self, msg: Message) -> None:
        self._add_frame(msg)

    def _pyro_deterministic(self, msg: Message) -> None:
        self._add_frame(msg)

    def _pyro_subsample(self, msg: Message) -> None:
        dim = self._frame.dim
        if dim is None or self.subsample_size == self.size:
            return
        data = msg["value"]
        shape = site_shape(data)
        axis = dim - msg["kwargs"]["event_dim"]
        if len(shape) >= -axis and shape[axis] == self.size:
            be = backend_of(data, self._indices)
            xp = be.xp
            data = data if be.is_array(data) else be.asarray(data)
            idx = self._indices if be.is_array(self._indices) else be.asarray(self._indices)
            msg["value"] = xp.take(data, idx, axis=len(shape) + axis)

    def __repr__(self) -> str:
        return f"plate({self.name!r}, size={self.size}, subsample_size={self.subsample_size})"


@contextlib.contextmanager
def plate_stack(prefix: str, sizes: Sequence[int], rightmost_dim: int = -1) -> Iterator[None]:
    """Nested vectorized plates ``{prefix}_0, {prefix}_1, ...`` covering dims right to left.

    >>> import polyro, polyro.distributions as dist
    >>> from polyro import handlers
    >>> def model():
    ...     with polyro.plate_stack("p", (2, 3)):
    ...         return polyro.sample("x", dist.Normal(0.0, 1.0))
    >>> handlers.seed(model, rng_seed=0)().shape
    (2, 3)
    """
    with contextlib.ExitStack() as stack:
        n = len(sizes)
        for i, size in enumerate(sizes):
            stack.enter_context(plate(f"{prefix}_{i}", size, dim=rightmost_dim - n + 1 + i))
        yield
