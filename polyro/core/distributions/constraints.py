"""Constraints: the sets that parameters and values of distributions live in.

A constraint has ``check(x)`` (a boolean array over the batch dims: the rightmost
``event_dim`` dims of ``x`` are reduced), ``event_dim``, ``is_discrete`` and
``feasible_like(prototype)`` (a point inside the set with ``prototype``'s shape).
Real-valued constraints reject NaN and infinities. :func:`polyro.core.distributions.biject_to`
maps unconstrained space onto each constraint a latent site can have.

>>> import numpy as np
>>> positive.check(np.array([1.0, 0.0, np.inf]))
array([ True, False, False])
>>> bool(simplex.check(np.array([0.25, 0.75])))
True
>>> interval(0.0, 2.0)
interval(lower_bound=0.0, upper_bound=2.0)
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from polyro.backends import backend_of
from polyro.core.distributions.util import as_array

__all__ = [
    "Constraint",
    "boolean",
    "circular",
    "corr_cholesky",
    "corr_matrix",
    "dependent",
    "dependent_property",
    "greater_than",
    "greater_than_eq",
    "half_open_interval",
    "independent",
    "integer",
    "integer_greater_than",
    "integer_interval",
    "interval",
    "is_dependent",
    "l1_ball",
    "less_than",
    "less_than_eq",
    "lower_cholesky",
    "scaled_unit_lower_cholesky",
    "multinomial",
    "nonnegative",
    "nonnegative_integer",
    "open_interval",
    "ordered_vector",
    "positive",
    "positive_definite",
    "positive_integer",
    "positive_ordered_vector",
    "positive_semidefinite",
    "real",
    "real_matrix",
    "real_vector",
    "simplex",
    "sphere",
    "unit_interval",
]


def _prep(x: Any, *others: Any) -> tuple[Any, Any, Any, list[Any]]:
    be = backend_of(x, *others)
    xp = be.xp
    x = as_array(be, x)
    conv = [o if o is None else as_array(be, o) for o in others]
    return be, xp, x, conv


def _finite(xp: Any, x: Any) -> Any:
    if xp.isdtype(x.dtype, "bool") or xp.isdtype(x.dtype, "integral"):
        return xp.ones_like(x, dtype=xp.bool)
    return xp.isfinite(x)


def _all_last(xp: Any, ok: Any, n: int) -> Any:
    if n <= 0:
        return ok
    nd = len(ok.shape)
    return xp.all(ok, axis=tuple(range(nd - n, nd)))


def _tol(xp: Any, x: Any, n: int = 1) -> float:
    try:
        eps = float(xp.finfo(x.dtype).eps)
    except (TypeError, ValueError):
        eps = 2.2e-16
    return max(1e-6, 64 * eps * max(n, 1))


def _fmt(v: Any) -> str:
    if isinstance(v, (int, float)):
        return repr(v)
    try:
        a = np.asarray(v if not hasattr(v, "shape") else backend_of(v).to_numpy(v))
    except Exception:
        return f"<traced array, shape {tuple(getattr(v, 'shape', ()))}>"
    if a.ndim == 0:
        return repr(a.item())
    return np.array2string(a, threshold=6, precision=4, separator=", ")


class Constraint:
    """Base class of constraints: a subset of the (event-shaped) space of values.

    >>> Constraint().event_dim, Constraint().is_discrete
    (0, False)
    """

    event_dim: int = 0
    is_discrete: bool = False

    def check(self, x: Any) -> Any:
        """Boolean array: which entries (over the batch dims) satisfy the constraint."""
        raise NotImplementedError(f"{type(self).__name__}.check is not implemented")

    def __call__(self, x: Any) -> Any:
        return self.check(x)

    def feasible_like(self, prototype: Any) -> Any:
        """A point inside the set, of the shape and dtype of ``prototype``."""
        raise NotImplementedError(f"{type(self).__name__}.feasible_like is not implemented")

    def on_host(self) -> Constraint | None:
        """This constraint with its array parameters (bounds, nested constraints) as host
        numpy arrays, so that ``check`` of a host value runs in numpy; None when a parameter
        has no host value (traced, or on an accelerator). Validation uses it.

        >>> import numpy as np
        >>> interval(np.float32(0.0), np.ones(2)).on_host().check(np.array([0.5, 2.0]))
        array([ True, False])
        """
        host = copy.copy(self)
        for name, v in vars(self).items():
            if isinstance(v, Constraint):
                h = v.on_host()
            elif hasattr(v, "shape") and not isinstance(v, (np.ndarray, np.generic)):
                h = backend_of(v).host_view(v)
            else:
                continue
            if h is None:
                return None
            setattr(host, name, h)
        return host

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_").lower()


class _Dependent(Constraint):
    """The support depends on other variables; it cannot be checked or transformed."""

    def __init__(self, is_discrete: bool = False, event_dim: int = 0) -> None:
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def check(self, x: Any) -> Any:
        raise ValueError("the dependent constraint cannot be checked; it stands for a support "
                         "that depends on other values")

    def __call__(self, *args: Any, is_discrete: bool = False, event_dim: int = 0) -> Any:
        if args and callable(args[0]):
            return dependent_property(args[0], is_discrete=is_discrete, event_dim=event_dim)
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def __repr__(self) -> str:
        return "dependent"


class dependent_property(property, _Dependent):
    """A ``property`` that is also a dependent constraint (for ``support`` of parametrised
    families, so that ``type(d).support`` is still recognised as dependent).

    >>> class D:
    ...     @dependent_property(is_discrete=False, event_dim=0)
    ...     def support(self):
    ...         return real
    >>> D().support, is_dependent(D.support)
    (real, True)
    """

    def __init__(self, fn: Any = None, *, is_discrete: bool = False, event_dim: int = 0) -> None:
        property.__init__(self, fn)
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def __call__(self, fn: Any) -> Any:  # type: ignore[override]
        return dependent_property(fn, is_discrete=self.is_discrete, event_dim=self.event_dim)


def is_dependent(constraint: Any) -> bool:
    """Whether ``constraint`` is the (uncheckable) dependent constraint.

    >>> is_dependent(dependent), is_dependent(real)
    (True, False)
    """
    return isinstance(constraint, _Dependent)


class _Real(Constraint):
    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        return _finite(xp, x)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        return xp.zeros_like(p)

    def __repr__(self) -> str:
        return "real"


class _Boolean(Constraint):
    is_discrete = True

    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        if xp.isdtype(x.dtype, "bool"):
            return xp.ones_like(x, dtype=xp.bool)
        return (x == 0) | (x == 1)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        return xp.zeros_like(p)

    def __repr__(self) -> str:
        return "boolean"


class _Integer(Constraint):
    is_discrete = True

    def _is_int(self, xp: Any, x: Any) -> Any:
        if xp.isdtype(x.dtype, "integral") or xp.isdtype(x.dtype, "bool"):
            return xp.ones_like(x, dtype=xp.bool)
        return _finite(xp, x) & (xp.floor(x) == x)

    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        return self._is_int(xp, x)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        return xp.zeros_like(p)

    def __repr__(self) -> str:
        return "integer"


class _IntegerInterval(_Integer):
    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, x: Any) -> Any:
        be, xp, x, (lo, hi) = _prep(x, self.lower_bound, self.upper_bound)
        return self._is_int(xp, x) & (x >= lo) & (x <= hi)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, (lo,) = _prep(prototype, self.lower_bound)
        return xp.zeros_like(p) + xp.astype(lo, p.dtype)

    def __repr__(self) -> str:
        return (f"integer_interval(lower_bound={_fmt(self.lower_bound)}, "
                f"upper_bound={_fmt(self.upper_bound)})")


class _IntegerGreaterThan(_Integer):
    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def check(self, x: Any) -> Any:
        be, xp, x, (lo,) = _prep(x, self.lower_bound)
        return self._is_int(xp, x) & (x >= lo)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, (lo,) = _prep(prototype, self.lower_bound)
        return xp.zeros_like(p) + xp.astype(lo, p.dtype)

    def __repr__(self) -> str:
        if isinstance(self.lower_bound, int) and self.lower_bound in (0, 1):
            return "nonnegative_integer" if self.lower_bound == 0 else "positive_integer"
        return f"integer_greater_than(lower_bound={_fmt(self.lower_bound)})"


class _GreaterThan(Constraint):
    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def check(self, x: Any) -> Any:
        be, xp, x, (lo,) = _prep(x, self.lower_bound)
        return _finite(xp, x) & (x > lo)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, (lo,) = _prep(prototype, self.lower_bound)
        return xp.zeros_like(p) + (lo + 1)

    def __repr__(self) -> str:
        if isinstance(self.lower_bound, (int, float)) and self.lower_bound == 0:
            return "positive"
        return f"greater_than(lower_bound={_fmt(self.lower_bound)})"


class _GreaterThanEq(_GreaterThan):
    def check(self, x: Any) -> Any:
        be, xp, x, (lo,) = _prep(x, self.lower_bound)
        return _finite(xp, x) & (x >= lo)

    def __repr__(self) -> str:
        if isinstance(self.lower_bound, (int, float)) and self.lower_bound == 0:
            return "nonnegative"
        return f"greater_than_eq(lower_bound={_fmt(self.lower_bound)})"


class _LessThan(Constraint):
    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def check(self, x: Any) -> Any:
        be, xp, x, (hi,) = _prep(x, self.upper_bound)
        return _finite(xp, x) & (x < hi)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, (hi,) = _prep(prototype, self.upper_bound)
        return xp.zeros_like(p) + (hi - 1)

    def __repr__(self) -> str:
        return f"less_than(upper_bound={_fmt(self.upper_bound)})"


class _LessThanEq(_LessThan):
    def check(self, x: Any) -> Any:
        be, xp, x, (hi,) = _prep(x, self.upper_bound)
        return _finite(xp, x) & (x <= hi)

    def __repr__(self) -> str:
        return f"less_than_eq(upper_bound={_fmt(self.upper_bound)})"


class _Interval(Constraint):
    """Closed interval ``[lower_bound, upper_bound]``."""

    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, x: Any) -> Any:
        be, xp, x, (lo, hi) = _prep(x, self.lower_bound, self.upper_bound)
        return _finite(xp, x) & (x >= lo) & (x <= hi)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, (lo, hi) = _prep(prototype, self.lower_bound, self.upper_bound)
        return xp.zeros_like(p) + (lo + hi) / 2

    def __repr__(self) -> str:
        return (f"interval(lower_bound={_fmt(self.lower_bound)}, "
                f"upper_bound={_fmt(self.upper_bound)})")


class _OpenInterval(_Interval):
    def check(self, x: Any) -> Any:
        be, xp, x, (lo, hi) = _prep(x, self.lower_bound, self.upper_bound)
        return _finite(xp, x) & (x > lo) & (x < hi)

    def __repr__(self) -> str:
        return (f"open_interval(lower_bound={_fmt(self.lower_bound)}, "
                f"upper_bound={_fmt(self.upper_bound)})")


class _HalfOpenInterval(_Interval):
    def check(self, x: Any) -> Any:
        be, xp, x, (lo, hi) = _prep(x, self.lower_bound, self.upper_bound)
        return _finite(xp, x) & (x >= lo) & (x < hi)

    def __repr__(self) -> str:
        return (f"half_open_interval(lower_bound={_fmt(self.lower_bound)}, "
                f"upper_bound={_fmt(self.upper_bound)})")


class _IndependentConstraint(Constraint):
    """Reinterpret the rightmost ``reinterpreted_batch_ndims`` dims of ``base`` as event dims."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        if not isinstance(base_constraint, Constraint):
            raise TypeError(f"independent() needs a Constraint, got {base_constraint!r}")
        if not isinstance(reinterpreted_batch_ndims, int) or reinterpreted_batch_ndims < 0:
            raise ValueError("reinterpreted_batch_ndims must be a non-negative int, got "
                             f"{reinterpreted_batch_ndims!r}")
        if isinstance(base_constraint, _IndependentConstraint):
            reinterpreted_batch_ndims += base_constraint.reinterpreted_batch_ndims
            base_constraint = base_constraint.base_constraint
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    def check(self, x: Any) -> Any:
        ok = self.base_constraint.check(x)
        xp = backend_of(ok).xp
        return _all_last(xp, ok, self.reinterpreted_batch_ndims)

    def feasible_like(self, prototype: Any) -> Any:
        return self.base_constraint.feasible_like(prototype)

    def __repr__(self) -> str:
        base = repr(self.base_constraint)
        if base == "real" and self.reinterpreted_batch_ndims in (1, 2):
            return "real_vector" if self.reinterpreted_batch_ndims == 1 else "real_matrix"
        return f"independent({base}, {self.reinterpreted_batch_ndims})"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        n = x.shape[-1]
        ok = xp.all(_finite(xp, x) & (x >= 0), axis=-1)
        return ok & (xp.abs(xp.sum(x, axis=-1) - 1) < _tol(xp, x, n))

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        return xp.ones_like(p) / p.shape[-1]

    def __repr__(self) -> str:
        return "simplex"


class _Multinomial(Constraint):
    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def check(self, x: Any) -> Any:
        be, xp, x, (n,) = _prep(x, self.upper_bound)
        ok = xp.all(_Integer()._is_int(xp, x) & (x >= 0), axis=-1)
        return ok & (xp.sum(x, axis=-1) == n)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, (n,) = _prep(prototype, self.upper_bound)
        first = xp.zeros_like(p[..., :1]) + xp.astype(xp.reshape(n, tuple(n.shape) + (1,)), p.dtype)
        return xp.concat([first, xp.zeros_like(p[..., 1:])], axis=-1)

    def __repr__(self) -> str:
        return f"multinomial(upper_bound={_fmt(self.upper_bound)})"


class _OrderedVector(Constraint):
    event_dim = 1

    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        ok = xp.all(_finite(xp, x), axis=-1)
        return ok & xp.all(x[..., 1:] > x[..., :-1], axis=-1)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        n = p.shape[-1]
        return xp.zeros_like(p) + xp.astype(xp.arange(n), p.dtype)

    def __repr__(self) -> str:
        return "ordered_vector"


class _PositiveOrderedVector(_OrderedVector):
    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        return super().check(x) & xp.all(x > 0, axis=-1)

    def feasible_like(self, prototype: Any) -> Any:
        return super().feasible_like(prototype) + 1

    def __repr__(self) -> str:
        return "positive_ordered_vector"


def _eye_like(xp: Any, p: Any) -> Any:
    n = p.shape[-1]
    return xp.zeros_like(p) + xp.eye(n, dtype=p.dtype)


def _upper_zero(xp: Any, x: Any) -> Any:
    n = x.shape[-1]
    r = xp.arange(n)
    strict_upper = r[:, None] < r[None, :]
    return xp.all(xp.where(strict_upper, x == 0, True), axis=(-2, -1))


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        finite = xp.all(_finite(xp, x), axis=(-2, -1))
        return finite & _upper_zero(xp, x) & xp.all(xp.linalg.diagonal(x) > 0, axis=-1)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        return _eye_like(xp, p)

    def __repr__(self) -> str:
        return "lower_cholesky"


class _ScaledUnitLowerCholesky(_LowerCholesky):
    """The lower Cholesky factors, as :data:`lower_cholesky`; only its bijection differs
    (``biject_to``: positive row scales times a unit lower-triangular matrix, NumPyro's
    parametrization of ``AutoMultivariateNormal``'s ``scale_tril``)."""

    def __repr__(self) -> str:
        return "scaled_unit_lower_cholesky"


class _CorrCholesky(_LowerCholesky):
    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        n = x.shape[-1]
        unit = xp.all(xp.abs(xp.sum(x * x, axis=-1) - 1) < _tol(xp, x, n), axis=-1)
        return super().check(x) & unit

    def __repr__(self) -> str:
        return "corr_cholesky"


def _symmetric(xp: Any, x: Any) -> Any:
    n = x.shape[-1]
    xt = xp.matrix_transpose(x)
    scale = xp.max(xp.abs(x), axis=(-2, -1)) if n > 0 else 1.0
    return xp.all(xp.abs(x - xt) <= _tol(xp, x, n) * (1 + scale)[..., None, None], axis=(-2, -1))


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        finite = xp.all(_finite(xp, x), axis=(-2, -1))
        safe = xp.where(finite[..., None, None], x, xp.zeros_like(x) + xp.eye(x.shape[-1]))
        sym = _symmetric(xp, safe)
        safe = (safe + xp.matrix_transpose(safe)) / 2
        return finite & sym & xp.all(xp.linalg.eigvalsh(safe) > 0, axis=-1)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        return _eye_like(xp, p)

    def __repr__(self) -> str:
        return "positive_definite"


class _PositiveSemidefinite(_PositiveDefinite):
    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        finite = xp.all(_finite(xp, x), axis=(-2, -1))
        safe = xp.where(finite[..., None, None], x, xp.zeros_like(x) + xp.eye(x.shape[-1]))
        sym = _symmetric(xp, safe)
        safe = (safe + xp.matrix_transpose(safe)) / 2
        ev = xp.linalg.eigvalsh(safe)
        tol = _tol(xp, x, x.shape[-1]) * (1 + xp.max(xp.abs(ev), axis=-1))
        return finite & sym & xp.all(ev >= -tol[..., None], axis=-1)

    def __repr__(self) -> str:
        return "positive_semidefinite"


class _CorrMatrix(_PositiveDefinite):
    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        n = x.shape[-1]
        diag = xp.all(xp.abs(xp.linalg.diagonal(x) - 1) < _tol(xp, x, n), axis=-1)
        return super().check(x) & diag

    def __repr__(self) -> str:
        return "corr_matrix"


class _Sphere(Constraint):
    event_dim = 1

    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        n = x.shape[-1]
        return xp.abs(xp.sum(x * x, axis=-1) - 1) < _tol(xp, x, n)

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        return xp.ones_like(p) / math.sqrt(p.shape[-1])

    def __repr__(self) -> str:
        return "sphere"


class _L1Ball(Constraint):
    event_dim = 1

    def check(self, x: Any) -> Any:
        be, xp, x, _ = _prep(x)
        return xp.all(_finite(xp, x), axis=-1) & (xp.sum(xp.abs(x), axis=-1) < 1 + _tol(xp, x))

    def feasible_like(self, prototype: Any) -> Any:
        be, xp, p, _ = _prep(prototype)
        return xp.zeros_like(p)

    def __repr__(self) -> str:
        return "l1_ball"


# public instances and factories (NumPyro/Pyro names)
dependent = _Dependent()
real = _Real()
real_vector = _IndependentConstraint(real, 1)
real_matrix = _IndependentConstraint(real, 2)
boolean = _Boolean()
integer = _Integer()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
integer_greater_than = _IntegerGreaterThan
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
less_than_eq = _LessThanEq
interval = _Interval
open_interval = _OpenInterval
half_open_interval = _HalfOpenInterval
unit_interval = _Interval(0.0, 1.0)
circular = _Interval(-math.pi, math.pi)
independent = _IndependentConstraint
simplex = _Simplex()
multinomial = _Multinomial
ordered_vector = _OrderedVector()
positive_ordered_vector = _PositiveOrderedVector()
lower_cholesky = _LowerCholesky()
scaled_unit_lower_cholesky = _ScaledUnitLowerCholesky()
corr_cholesky = _CorrCholesky()
corr_matrix = _CorrMatrix()
positive_definite = _PositiveDefinite()
positive_semidefinite = _PositiveSemidefinite()
sphere = _Sphere()
l1_ball = _L1Ball()
