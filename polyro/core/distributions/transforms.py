"""Bijective transforms with log-absolute-determinant Jacobians (one code for every engine).

A transform ``t`` maps ``t.domain`` onto ``t.codomain``: ``y = t(x)``, ``x = t.inv(y)`` and
``t.log_abs_det_jacobian(x, y)`` of shape ``x.shape[:-domain.event_dim]``.
Vector and matrix transforms live in :mod:`.transforms_matrix`; :func:`biject_to` in
:mod:`.biject`. All are re-exported here.

>>> import numpy as np
>>> t = ExpTransform()
>>> float(t(np.array(0.0))), float(t.inv(np.array(1.0)))
(1.0, 0.0)
>>> float(ComposeTransform([ExpTransform(), AffineTransform(1.0, 2.0)])(np.array(0.0)))
3.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.util import as_array, concrete_numpy, shape_of, sum_rightmost

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "ComposeTransform",
    "ExpTransform",
    "IdentityTransform",
    "IndependentTransform",
    "PowerTransform",
    "SigmoidTransform",
    "SoftplusTransform",
    "TanhTransform",
    "Transform",
]


def _xp(*xs: Any) -> tuple[Any, Any]:
    be = backend_of(*xs)
    return be, be.xp


def _arr(be: Any, x: Any) -> Any:
    return as_array(be, x)


class Transform:
    """Base class: subclasses implement ``__call__``, ``_inverse`` and ``log_abs_det_jacobian``.

    >>> IdentityTransform().inv
    IdentityTransform()
    """

    domain: constraints.Constraint = constraints.real
    codomain: constraints.Constraint = constraints.real
    bijective: bool = True

    @property
    def sign(self) -> Any:
        """+1 or -1 for monotone one-dimensional transforms."""
        raise NotImplementedError(f"{type(self).__name__} has no sign")

    @property
    def inv(self) -> Transform:
        """The inverse transform (``t.inv.inv is t``)."""
        return _InverseTransform(self)

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.__call__ is not implemented")

    def _inverse(self, y: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        """``log |det dy/dx|``, reduced over the domain's event dims."""
        raise NotImplementedError(f"{type(self).__name__}.log_abs_det_jacobian is not implemented")

    def call_with_intermediates(self, x: Any) -> tuple[Any, Any]:
        return self(x), None

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """Shape of ``t(x)`` for ``x`` of ``shape``."""
        return tuple(shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """Shape of ``t.inv(y)`` for ``y`` of ``shape``."""
        return tuple(shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _InverseTransform(Transform):
    def __init__(self, transform: Transform) -> None:
        self._inv = transform

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return self._inv.codomain

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        return self._inv.domain

    @property
    def sign(self) -> Any:
        return self._inv.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def __call__(self, x: Any) -> Any:
        return self._inv._inverse(x)

    def _inverse(self, y: Any) -> Any:
        return self._inv(y)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x, y)
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return self._inv.forward_shape(shape)

    def __repr__(self) -> str:
        return f"{self._inv!r}.inv"


class IdentityTransform(Transform):
    """``y = x``.

    >>> IdentityTransform()(2.0)
    2.0
    """

    sign = 1

    @property
    def inv(self) -> Transform:
        return self

    def __call__(self, x: Any) -> Any:
        return x

    def _inverse(self, y: Any) -> Any:
        return y

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x)
        return xp.zeros_like(_arr(be, x))


class ExpTransform(Transform):
    """``y = exp(x)``: real -> positive.

    >>> float(ExpTransform().log_abs_det_jacobian(1.5, None))
    1.5
    """

    domain = constraints.real
    codomain = constraints.positive
    sign = 1

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        return xp.exp(_arr(be, x))

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        return xp.log(_arr(be, y))

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x)
        return _arr(be, x)


def _static_sign(scale: Any) -> int | None:
    if isinstance(scale, (int, float)):
        return 1 if scale > 0 else -1
    v = concrete_numpy(scale)
    if v is None:
        return None
    if (v > 0).all():
        return 1
    if (v < 0).all():
        return -1
    return None


class AffineTransform(Transform):
    """``y = loc + scale * x`` (``domain`` real by default; give ``domain`` to map bounded sets:
    the codomain is then the image, assuming ``scale`` of one sign; positive when unknown).

    >>> AffineTransform(1.0, 2.0, domain=constraints.unit_interval).codomain
    interval(lower_bound=1.0, upper_bound=3.0)
    """

    def __init__(
        self, loc: Any, scale: Any, domain: constraints.Constraint = constraints.real
    ) -> None:
        self.loc = loc
        self.scale = scale
        self.domain = domain

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        d = self.domain
        if d is constraints.real:
            return constraints.real
        sign = _static_sign(self.scale)
        pos = sign is None or sign > 0
        if isinstance(d, constraints._Interval):
            lo = self.loc + self.scale * d.lower_bound
            hi = self.loc + self.scale * d.upper_bound
            return constraints.interval(lo, hi) if pos else constraints.interval(hi, lo)
        if isinstance(d, constraints._GreaterThan):
            b = self.loc + self.scale * d.lower_bound
            return constraints.greater_than(b) if pos else constraints.less_than(b)
        if isinstance(d, constraints._LessThan):
            b = self.loc + self.scale * d.upper_bound
            return constraints.less_than(b) if pos else constraints.greater_than(b)
        if isinstance(d, constraints._IndependentConstraint) and (
            d.base_constraint is constraints.real
        ):
            return d
        raise NotImplementedError(f"AffineTransform: no codomain rule for domain {d!r}")

    @property
    def sign(self) -> Any:
        be, xp = _xp(self.scale)
        return xp.sign(_arr(be, self.scale))

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x, self.loc, self.scale)
        return _arr(be, self.loc) + _arr(be, self.scale) * _arr(be, x)

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y, self.loc, self.scale)
        return (_arr(be, y) - _arr(be, self.loc)) / _arr(be, self.scale)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x, self.scale)
        x = _arr(be, x)
        out = xp.log(xp.abs(_arr(be, self.scale))) + xp.zeros_like(x)
        return sum_rightmost(out, self.domain.event_dim)

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return tuple(_bshape(shape, shape_of(self.loc), shape_of(self.scale)))

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return tuple(_bshape(shape, shape_of(self.loc), shape_of(self.scale)))

    def __repr__(self) -> str:
        return "AffineTransform(loc, scale)"


def _bshape(*shapes: Sequence[int]) -> tuple[int, ...]:
    from polyro.core.distributions.util import broadcast_shape

    return broadcast_shape(*shapes)


class SigmoidTransform(Transform):
    """``y = 1 / (1 + exp(-x))``: real -> unit interval.

    >>> float(SigmoidTransform()(0.0))
    0.5
    """

    domain = constraints.real
    codomain = constraints.unit_interval
    sign = 1

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        return be.expit(_arr(be, x))

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        eps = float(xp.finfo(y.dtype).tiny)
        y = xp.clip(y, eps, 1.0 - float(xp.finfo(y.dtype).eps) / 2)
        return xp.log(y) - xp.log1p(-y)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x)
        x = _arr(be, x)
        return -be.softplus(x) - be.softplus(-x)


class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))``: real -> positive.

    >>> round(float(SoftplusTransform()(0.0)), 6)
    0.693147
    """

    domain = constraints.real
    codomain = constraints.positive
    sign = 1

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        return be.softplus(_arr(be, x))

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        return y + xp.log(-xp.expm1(-y))

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x)
        return -be.softplus(-_arr(be, x))


class TanhTransform(Transform):
    """``y = tanh(x)``: real -> (-1, 1).

    >>> float(TanhTransform()(0.0))
    0.0
    """

    domain = constraints.real
    codomain = constraints.open_interval(-1.0, 1.0)
    sign = 1

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        return xp.tanh(_arr(be, x))

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y)
        y = _arr(be, y)
        eps = float(xp.finfo(y.dtype).eps)
        y = xp.clip(y, -1.0 + eps, 1.0 - eps)
        return 0.5 * (xp.log1p(y) - xp.log1p(-y))

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        # log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), stable for large |x|
        be, xp = _xp(x)
        x = _arr(be, x)
        return 2.0 * (math.log(2.0) - x - be.softplus(-2.0 * x))


class PowerTransform(Transform):
    """``y = x ** exponent``: positive -> positive.

    >>> float(PowerTransform(2.0)(3.0))
    9.0
    """

    domain = constraints.positive
    codomain = constraints.positive

    def __init__(self, exponent: Any) -> None:
        self.exponent = exponent

    @property
    def sign(self) -> Any:
        be, xp = _xp(self.exponent)
        return xp.sign(_arr(be, self.exponent))

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x, self.exponent)
        return xp.pow(_arr(be, x), _arr(be, self.exponent))

    def _inverse(self, y: Any) -> Any:
        be, xp = _xp(y, self.exponent)
        return xp.pow(_arr(be, y), 1.0 / _arr(be, self.exponent))

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        be, xp = _xp(x, self.exponent)
        x = _arr(be, x)
        e = _arr(be, self.exponent)
        y = xp.pow(x, e) if y is None else _arr(be, y)
        return xp.log(xp.abs(e * y / x))

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return _bshape(shape, shape_of(self.exponent))

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return _bshape(shape, shape_of(self.exponent))


class AbsTransform(Transform):
    """``y = |x|`` (not bijective; the inverse picks the positive root).

    >>> float(AbsTransform()(-2.0))
    2.0
    """

    domain = constraints.real
    codomain = constraints.nonnegative
    bijective = False

    def __call__(self, x: Any) -> Any:
        be, xp = _xp(x)
        return xp.abs(_arr(be, x))

    def _inverse(self, y: Any) -> Any:
        return y


class ComposeTransform(Transform):
    """Apply ``parts`` in order: ``ComposeTransform([f, g])(x) == g(f(x))``.

    >>> import numpy as np
    >>> t = ComposeTransform([ExpTransform(), AffineTransform(0.0, 3.0)])
    >>> float(t.log_abs_det_jacobian(np.array(0.5), t(np.array(0.5))))  # 0.5 + log 3
    1.5986122886681098
    """

    def __init__(self, parts: Sequence[Transform]) -> None:
        self.parts = list(parts)
        if not self.parts:
            raise ValueError("ComposeTransform needs at least one transform")

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        ed = self._in_event_dim()
        d = self.parts[0].domain
        if ed > d.event_dim:
            return constraints.independent(d, ed - d.event_dim)
        return d

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        ed = self._out_event_dim()
        c = self.parts[-1].codomain
        if ed > c.event_dim:
            return constraints.independent(c, ed - c.event_dim)
        return c

    def _in_event_dim(self) -> int:
        ed = self.parts[-1].codomain.event_dim
        for p in reversed(self.parts):
            ed += p.domain.event_dim - p.codomain.event_dim
            ed = max(ed, p.domain.event_dim)
        return ed

    def _out_event_dim(self) -> int:
        ed = self.parts[0].domain.event_dim
        for p in self.parts:
            ed += p.codomain.event_dim - p.domain.event_dim
            ed = max(ed, p.codomain.event_dim)
        return ed

    @property
    def sign(self) -> Any:
        s: Any = 1
        for p in self.parts:
            s = s * p.sign
        return s

    def __call__(self, x: Any) -> Any:
        for p in self.parts:
            x = p(x)
        return x

    def _inverse(self, y: Any) -> Any:
        for p in reversed(self.parts):
            y = p.inv(y)
        return y

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        total: Any = 0.0
        ed = self._in_event_dim()
        for i, p in enumerate(self.parts):
            y_i = y if (i == len(self.parts) - 1 and y is not None) else p(x)
            term = p.log_abs_det_jacobian(x, y_i)
            total = total + sum_rightmost(term, ed - p.domain.event_dim)
            ed += p.codomain.event_dim - p.domain.event_dim
            x = y_i
        return total

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        for p in self.parts:
            shape = p.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return tuple(shape)

    def __repr__(self) -> str:
        return "ComposeTransform([" + ", ".join(repr(p) for p in self.parts) + "])"


class IndependentTransform(Transform):
    """Treat the rightmost ``reinterpreted_batch_ndims`` dims of ``base_transform`` as event dims
    (its log-det-Jacobian is summed over them).

    >>> import numpy as np
    >>> t = IndependentTransform(ExpTransform(), 1)
    >>> float(t.log_abs_det_jacobian(np.array([1.0, 2.0]), None))
    3.0
    """

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int) -> None:
        if reinterpreted_batch_ndims < 0:
            raise ValueError("reinterpreted_batch_ndims must be >= 0")
        self.base_transform = base_transform
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.independent(self.base_transform.domain,
                                       self.reinterpreted_batch_ndims)

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    @property
    def sign(self) -> Any:
        return self.base_transform.sign

    def __call__(self, x: Any) -> Any:
        return self.base_transform(x)

    def _inverse(self, y: Any) -> Any:
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                             self.reinterpreted_batch_ndims)

    def forward_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return self.base_transform.inverse_shape(shape)

    def __repr__(self) -> str:
        return f"IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


# vector/matrix transforms and biject_to (they import the names above)
from polyro.core.distributions.biject import biject_to  # noqa: E402,F401
from polyro.core.distributions.transforms_matrix import *  # noqa: E402,F401,F403
from polyro.core.distributions.transforms_matrix import __all__ as _matrix_all  # noqa: E402

__all__ += [*_matrix_all, "biject_to"]
