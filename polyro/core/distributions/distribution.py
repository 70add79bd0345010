"""The base :class:`Distribution` (Pyro/NumPyro shape semantics, one code for every engine).

Shapes: a draw has shape ``sample_shape + batch_shape + event_shape``; ``log_prob(value)``
has shape ``broadcast(value.shape[:-event_dim], batch_shape)``.

How to write a family (H5/H6 and users)::

    class Normal(Distribution):
        arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
        support = constraints.real
        has_rsample = True

        def __init__(self, loc=0.0, scale=1.0, *, validate_args=None):
            be, xp, (self.loc, self.scale), batch_shape = broadcast_params(loc, scale)
            super().__init__(batch_shape=batch_shape, validate_args=validate_args)

        def sample(self, key, sample_shape=()):
            be = backend_of(self.loc)
            eps = be.normal(key, self.shape(sample_shape), dtype=self.loc.dtype)
            return self.loc + self.scale * eps

        @validate_sample
        def log_prob(self, value):
            ...

``super().__init__`` validates the parameters in ``arg_constraints`` (those present in the
instance ``__dict__``) when validation is on; ``sample`` of a family with ``has_rsample`` must be
differentiable (it is the reparameterized draw; ``rsample`` calls it).

>>> import numpy as np
>>> from polyro.core.distributions import constraints
>>> class Flat(Distribution):
...     support = constraints.real
...     def log_prob(self, value):
...         return value * 0.0
>>> d = Flat(batch_shape=(3,))
>>> d.shape((2,)), d.event_dim, d.to_event(1).event_shape
((2, 3), 0, (3,))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.util import (
    concrete_check,
    concrete_numpy,
    format_value,
    lazy_property,
    shape_of,
)
from polyro.core.distributions.validation import is_validation_enabled

__all__ = ["Distribution", "DistributionMeta"]

ShapeLike = Sequence[int]


class DistributionMeta(type):
    """Metaclass hook (kept for subclass registries; adds nothing to instances)."""


def _as_shape(shape: Any, what: str) -> tuple[int, ...]:
    if type(shape) is tuple:  # the common case, checked without building a new tuple
        for d in shape:
            if type(d) is not int or d < 0:
                break
        else:
            return shape
    if isinstance(shape, int):
        return (shape,)
    try:
        out = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in out):
        raise ValueError(f"{what} must have non-negative sizes, got {out}")
    return out


class Distribution(metaclass=DistributionMeta):
    """Base class of probability distributions.

    Subclasses set ``arg_constraints`` (parameter name -> constraint), ``support``, and
    implement ``sample(key, sample_shape)`` and ``log_prob(value)``; optionally ``mean``,
    ``variance``, ``entropy``, ``cdf``, ``icdf``, ``enumerate_support``.

    >>> from polyro.core.distributions import constraints
    >>> Distribution(batch_shape=(2,), event_shape=(3,)).shape((5,))
    (5, 2, 3)
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    support: constraints.Constraint | None = None
    has_rsample: bool = False
    has_enumerate_support: bool = False
    reparametrized_params: list[str] = []
    _validate_args: bool = False

    def __init__(
        self,
        batch_shape: ShapeLike = (),
        event_shape: ShapeLike = (),
        validate_args: bool | None = None,
    ) -> None:
        self._batch_shape = _as_shape(batch_shape, "batch_shape")
        self._event_shape = _as_shape(event_shape, "event_shape")
        self._validate_args = is_validation_enabled() if validate_args is None else bool(
            validate_args)
        if self._validate_args:
            self._validate_parameters()

    # ---------------------------------------------------------------- shapes
    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape over which parameters are batched (independent, not identically distributed)."""
        return self._batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        """Shape of a single draw."""
        return self._event_shape

    @property
    def event_dim(self) -> int:
        """Number of event dims (``len(event_shape)``)."""
        return len(self._event_shape)

    def shape(self, sample_shape: ShapeLike = ()) -> tuple[int, ...]:
        """``sample_shape + batch_shape + event_shape``: the shape of ``sample(key, sample_shape)``.

        >>> Distribution(batch_shape=(2,)).shape((3,))
        (3, 2)
        """
        return _as_shape(sample_shape, "sample_shape") + self.batch_shape + self.event_shape

    @property
    def is_discrete(self) -> bool:
        """Whether the support is discrete."""
        s = self.support
        return bool(s is not None and s.is_discrete)

    # ------------------------------------------------------------ validation
    def _validate_parameters(self) -> None:
        for name, constraint in self.arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue
            if name not in self.__dict__ and isinstance(
                getattr(type(self), name, None), lazy_property
            ):
                continue  # the other parametrisation was given
            value = getattr(self, name, None)
            if value is None:
                continue
            ok_np, _ = concrete_check(constraint, value, concrete_only=True)
            if ok_np is None or ok_np.all():
                continue
            self._raise_bad_parameter(name, constraint, value, ok_np)

    def _raise_bad_parameter(
        self, name: str, constraint: constraints.Constraint, value: Any, ok_np: np.ndarray
    ) -> None:
        vnp = concrete_numpy(value)
        bad = np.argwhere(~np.asarray(ok_np, dtype=bool))
        idx = tuple(int(i) for i in bad[0]) if len(bad) else ()
        shown: Any = vnp
        if vnp is not None and vnp.ndim > 0:
            ev = constraint.event_dim
            vb = vnp.shape[: vnp.ndim - ev]
            sub = idx[len(idx) - len(vb):] if len(vb) <= len(idx) else idx
            sub = tuple(0 if d == 1 else i for d, i in zip(vb[len(vb) - len(sub):], sub, strict=False))
            try:
                shown = vnp[sub]
            except IndexError:
                shown = vnp
        where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
        raise ValueError(
            f"{type(self).__name__}: parameter {name!r} must satisfy the constraint "
            f"{constraint!r}, but {where} = "
            f"{format_value(shown) if shown is not None else '?'} "
            f"(shape {shape_of(value)}); pass a valid value (or validate_args=False to skip "
            "this check)"
        )

    def _validate_sample(self, value: Any) -> None:
        """Raise ValueError if a concrete ``value`` lies outside the support (when validating)."""
        if not self._validate_args or self.support is None:
            return
        if constraints.is_dependent(self.support):
            return
        ok_np, _ = concrete_check(self.support, value, concrete_only=True)
        if ok_np is not None and not ok_np.all():
            from polyro.core.distributions.util import raise_outside_support

            raise_outside_support(self, value, ok_np)

    # ---------------------------------------------------------- core methods
    def sample(self, key: Any, sample_shape: ShapeLike = ()) -> Any:
        """Draw a sample of shape ``sample_shape + batch_shape + event_shape`` using ``key``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement sample")

    def rsample(self, key: Any, sample_shape: ShapeLike = ()) -> Any:
        """A reparameterized draw (differentiable in the parameters on torch/jax).

        Raises NotImplementedError for families without ``has_rsample``.
        """
        if not self.has_rsample:
            raise NotImplementedError(
                f"{type(self).__name__} has no reparameterized sampler (has_rsample is False); "
                "use sample() with a score-function estimator instead"
            )
        return self.sample(key, sample_shape)

    def sample_with_intermediates(self, key: Any, sample_shape: ShapeLike = ()) -> tuple[Any, list]:
        """``(sample, intermediates)``; the base class has no intermediates."""
        return self.sample(key, sample_shape), []

    def log_prob(self, value: Any) -> Any:
        """Log density (or mass) of ``value``; shape ``broadcast(sample dims, batch_shape)``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def __call__(self, key: Any, sample_shape: ShapeLike = ()) -> Any:
        return self.sample(key, sample_shape)

    # ------------------------------------------------------- summary values
    @property
    def mean(self) -> Any:
        """Mean, of shape ``batch_shape + event_shape``."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form mean")

    @property
    def variance(self) -> Any:
        """Variance, of shape ``batch_shape + event_shape``."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form variance")

    @property
    def stddev(self) -> Any:
        """Standard deviation (square root of ``variance``)."""
        v = self.variance
        return backend_of(v).xp.sqrt(v)

    def entropy(self) -> Any:
        """Differential (or Shannon) entropy, of shape ``batch_shape``."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form entropy")

    def cdf(self, value: Any) -> Any:
        """Cumulative distribution function."""
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def icdf(self, q: Any) -> Any:
        """Inverse cumulative distribution function (quantile)."""
        raise NotImplementedError(f"{type(self).__name__} has no icdf")

    def enumerate_support(self, expand: bool = True) -> Any:
        """All values of a finite discrete support, stacked along a new leftmost dim.

        With ``expand=False`` the result has shape ``(n,) + (1,) * len(batch_shape) +
        event_shape``; with ``expand=True`` the batch dims are expanded.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no enumerable support (has_enumerate_support is False)"
        )

    def enumerated_log_prob(self, dim: int) -> Any:
        """``log_prob`` of every support value at once, the support laid along ``dim`` (a
        negative dim left of the batch dims): what ``log_prob`` returns for
        ``enumerate_support(expand=False)`` reshaped to ``(n,) + (1,) * (-dim - 1) +
        event_shape``, the value the ``enum`` handler gives an enumerated site.

        Families whose log-mass is a table (``Categorical``) return the table with its axis
        moved, with no gather and no support check (the values are the support).

        >>> import numpy as np
        >>> from polyro.distributions import Bernoulli
        >>> Bernoulli(probs=np.array([0.2, 0.6])).enumerated_log_prob(-2).shape
        (2, 2)
        """
        values = self.enumerate_support(expand=False)
        xp = backend_of(values).xp
        n = int(values.shape[0])
        return self.log_prob(xp.reshape(values, (n,) + (1,) * (-dim - 1) + self.event_shape))

    # ------------------------------------------------------------ combinators
    def expand(self, batch_shape: ShapeLike) -> Distribution:
        """The same distribution broadcast to a bigger ``batch_shape``.

        >>> Distribution(batch_shape=(1,)).expand((4, 3)).batch_shape
        (4, 3)
        """
        batch_shape = _as_shape(batch_shape, "batch_shape")
        if batch_shape == self.batch_shape:
            return self
        from polyro.core.distributions.combinators import ExpandedDistribution

        return ExpandedDistribution(self, batch_shape)

    def expand_by(self, sample_shape: ShapeLike) -> Distribution:
        """Expand by new leftmost batch dims: ``batch_shape = sample_shape + batch_shape``."""
        return self.expand(_as_shape(sample_shape, "sample_shape") + self.batch_shape)

    def to_event(self, reinterpreted_batch_ndims: int | None = None) -> Distribution:
        """Reinterpret the rightmost ``n`` batch dims as event dims (all of them if None).

        >>> Distribution(batch_shape=(2, 3)).to_event(1).event_shape
        (3,)
        """
        if reinterpreted_batch_ndims is None:
            reinterpreted_batch_ndims = len(self.batch_shape)
        if reinterpreted_batch_ndims == 0:
            return self
        from polyro.core.distributions.combinators import Independent

        return Independent(self, reinterpreted_batch_ndims)

    def mask(self, mask: Any) -> Distribution:
        """Mask ``log_prob`` with a boolean array broadcastable to ``batch_shape`` (``True`` keeps).

        ``mask(True)`` returns ``self``.

        >>> Distribution(batch_shape=(2,)).mask(True).batch_shape
        (2,)
        """
        if isinstance(mask, bool) and mask:
            return self
        from polyro.core.distributions.combinators import MaskedDistribution

        return MaskedDistribution(self, mask)

    # ----------------------------------------------------------------- misc
    @classmethod
    def infer_shapes(cls, *args: Any, **kwargs: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(batch_shape, event_shape)`` from parameter shapes, assuming scalar parameters and
        event dims given by ``arg_constraints``' ``event_dim``.

        >>> Distribution.infer_shapes()
        ((), ())
        """
        from polyro.core.distributions.util import broadcast_shape

        batch_shapes = []
        for name, shape in kwargs.items():
            c = cls.arg_constraints.get(name)
            ed = getattr(c, "event_dim", 0) if c is not None else 0
            s = tuple(shape)
            batch_shapes.append(s[: len(s) - ed] if ed else s)
        batch_shapes.extend(tuple(s) for s in args)
        batch_shape = broadcast_shape(*batch_shapes) if batch_shapes else ()
        ev = getattr(cls.support, "event_dim", 0) if cls.support is not None else 0
        if ev:
            raise NotImplementedError(f"{cls.__name__}.infer_shapes cannot infer event shapes")
        return batch_shape, ()

    def _param_reprs(self) -> list[str]:
        out = []
        for name in self.arg_constraints:
            if name not in self.__dict__:
                continue
            v = self.__dict__[name]
            if v is None:
                continue
            s = getattr(v, "shape", None)
            if s is None:
                out.append(f"{name}: {v!r}")
            elif len(tuple(s)) == 0:
                vnp = concrete_numpy(v)
                out.append(f"{name}: {format_value(vnp) if vnp is not None else '()'}")
            else:
                out.append(f"{name}: {tuple(int(d) for d in s)}")
        return out

    def __repr__(self) -> str:
        parts = self._param_reprs()
        if not parts:
            parts = [f"batch_shape: {self.batch_shape}", f"event_shape: {self.event_shape}"]
        return f"{type(self).__name__}({', '.join(parts)})"
