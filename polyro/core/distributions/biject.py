"""``biject_to(constraint)``: a bijection from unconstrained real space onto ``constraint``.

Used by HMC/NUTS, SVI autoguides and ``init_*`` strategies to move latent sites to an
unconstrained space. New constraint types register a factory with
``@biject_to.register(ConstraintType)``.

>>> import numpy as np
>>> from polyro.core.distributions import constraints
>>> t = biject_to(constraints.interval(-1.0, 3.0))
>>> float(t(np.array(0.0)))
1.0
>>> bool(constraints.simplex.check(biject_to(constraints.simplex)(np.zeros(3))))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyro.core.distributions import constraints as C
from polyro.core.distributions.transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    IdentityTransform,
    IndependentTransform,
    SigmoidTransform,
    Transform,
)
from polyro.core.distributions.transforms_matrix import (
    CorrCholeskyTransform,
    CorrMatrixCholeskyTransform,
    LowerCholeskyTransform,
    OrderedTransform,
    PositiveDefiniteTransform,
    ScaledUnitLowerCholeskyTransform,
    StickBreakingTransform,
)

__all__ = ["biject_to"]


class _BijectRegistry:
    """Maps constraint types to factories ``factory(constraint) -> Transform``."""

    def __init__(self) -> None:
        self._registry: dict[type, Callable[[Any], Transform]] = {}

    def register(
        self, constraint: Any, factory: Callable[[Any], Transform] | None = None
    ) -> Any:
        """Register ``factory`` for a constraint type (or the type of an instance); usable as a
        decorator."""
        if factory is None:
            return lambda f: self.register(constraint, f)
        ctype = constraint if isinstance(constraint, type) else type(constraint)
        self._registry[ctype] = factory
        return factory

    def __call__(self, constraint: C.Constraint) -> Transform:
        if C.is_dependent(constraint):
            raise NotImplementedError(
                "biject_to: the dependent constraint has no bijection; give the site a "
                "distribution whose support is a concrete constraint")
        for ctype in type(constraint).__mro__:
            f = self._registry.get(ctype)
            if f is not None:
                return f(constraint)
        if getattr(constraint, "is_discrete", False):
            raise NotImplementedError(
                f"biject_to: {constraint!r} is discrete and has no bijection from real space; "
                "enumerate the site (infer={'enumerate': 'parallel'}) or marginalize it out")
        raise NotImplementedError(
            f"biject_to: no transform registered for constraint {constraint!r} "
            f"(type {type(constraint).__name__}); register one with "
            "@biject_to.register(ConstraintType)")


biject_to = _BijectRegistry()


def _is_literal(v: Any, x: float) -> bool:
    return isinstance(v, (int, float)) and float(v) == x


@biject_to.register(C._Real)
def _real(c: Any) -> Transform:
    return IdentityTransform()


@biject_to.register(C._GreaterThan)
def _greater_than(c: Any) -> Transform:
    if _is_literal(c.lower_bound, 0.0):
        return ExpTransform()
    return ComposeTransform([ExpTransform(),
                             AffineTransform(c.lower_bound, 1.0, domain=C.positive)])


@biject_to.register(C._LessThan)
def _less_than(c: Any) -> Transform:
    return ComposeTransform([ExpTransform(),
                             AffineTransform(c.upper_bound, -1.0, domain=C.positive)])


@biject_to.register(C._Interval)
def _interval(c: Any) -> Transform:
    if _is_literal(c.lower_bound, 0.0) and _is_literal(c.upper_bound, 1.0):
        return SigmoidTransform()
    scale = c.upper_bound - c.lower_bound
    return ComposeTransform([SigmoidTransform(),
                             AffineTransform(c.lower_bound, scale, domain=C.unit_interval)])


@biject_to.register(C._IndependentConstraint)
def _independent(c: Any) -> Transform:
    return IndependentTransform(biject_to(c.base_constraint), c.reinterpreted_batch_ndims)


@biject_to.register(C._Simplex)
def _simplex(c: Any) -> Transform:
    return StickBreakingTransform()


@biject_to.register(C._OrderedVector)
def _ordered(c: Any) -> Transform:
    return OrderedTransform()


@biject_to.register(C._PositiveOrderedVector)
def _positive_ordered(c: Any) -> Transform:
    return ComposeTransform([OrderedTransform(), ExpTransform()])


@biject_to.register(C._LowerCholesky)
def _lower_cholesky(c: Any) -> Transform:
    return LowerCholeskyTransform()


@biject_to.register(C._ScaledUnitLowerCholesky)
def _scaled_unit_lower_cholesky(c: Any) -> Transform:
    return ScaledUnitLowerCholeskyTransform()


@biject_to.register(C._CorrCholesky)
def _corr_cholesky(c: Any) -> Transform:
    return CorrCholeskyTransform()


@biject_to.register(C._CorrMatrix)
def _corr_matrix(c: Any) -> Transform:
    return ComposeTransform([CorrCholeskyTransform(), CorrMatrixCholeskyTransform().inv])


@biject_to.register(C._PositiveDefinite)
def _positive_definite(c: Any) -> Transform:
    return PositiveDefiniteTransform()
