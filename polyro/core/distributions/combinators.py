"""Combinators and simple special distributions: Independent, ExpandedDistribution,
MaskedDistribution, Delta, Unit, ImproperUniform, TransformedDistribution.

>>> import numpy as np
>>> d = Delta(np.array([1.0, 2.0])).to_event(1)
>>> d.batch_shape, d.event_shape, float(d.log_prob(np.array([1.0, 2.0])))
((), (2,), 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.distribution import Distribution, _as_shape
from polyro.core.distributions.transforms import ComposeTransform, Transform
from polyro.core.distributions.util import (
    as_array,
    broadcast_shape,
    shape_of,
    sum_rightmost,
    validate_sample,
)

__all__ = [
    "Delta",
    "ExpandedDistribution",
    "ImproperUniform",
    "Independent",
    "MaskedDistribution",
    "TransformedDistribution",
    "Unit",
]


def _arr(x: Any) -> tuple[Any, Any, Any]:
    be = backend_of(x)
    return be, be.xp, as_array(be, x)


class Independent(Distribution):
    """Reinterpret the rightmost ``reinterpreted_batch_ndims`` batch dims of ``base_dist`` as
    event dims: ``log_prob`` sums over them.

    >>> import numpy as np
    >>> d = Independent(Delta(np.zeros((2, 3))), 1)
    >>> d.batch_shape, d.event_shape
    ((2,), (3,))
    """

    arg_constraints: dict = {}

    def __init__(self, base_dist: Distribution, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        n = int(reinterpreted_batch_ndims)
        if n < 0 or n > len(base_dist.batch_shape):
            raise ValueError(
                f"Independent: reinterpreted_batch_ndims={reinterpreted_batch_ndims} must be "
                f"between 0 and len(base_dist.batch_shape)={len(base_dist.batch_shape)} "
                f"(base batch_shape {base_dist.batch_shape})")
        self.base_dist = base_dist
        self.reinterpreted_batch_ndims = n
        bs = base_dist.batch_shape
        cut = len(bs) - n
        super().__init__(bs[:cut], bs[cut:] + base_dist.event_shape, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.independent(self.base_dist.support, self.reinterpreted_batch_ndims)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @property
    def is_discrete(self) -> bool:
        return self.base_dist.is_discrete

    @property
    def reparametrized_params(self) -> list[str]:  # type: ignore[override]
        return self.base_dist.reparametrized_params

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        return self.base_dist.sample(key, sample_shape)

    def rsample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        return self.base_dist.rsample(key, sample_shape)

    def log_prob(self, value: Any) -> Any:
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    @property
    def mean(self) -> Any:
        return self.base_dist.mean

    @property
    def variance(self) -> Any:
        return self.base_dist.variance

    def entropy(self) -> Any:
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerated_log_prob(self, dim: int) -> Any:
        if self.reinterpreted_batch_ndims:
            return super().enumerated_log_prob(dim)  # raises as enumerate_support does
        return self.base_dist.enumerated_log_prob(dim)

    def enumerate_support(self, expand: bool = True) -> Any:
        if self.reinterpreted_batch_ndims:
            raise NotImplementedError("Independent with reinterpreted dims cannot enumerate "
                                      "its (exponentially large) support")
        return self.base_dist.enumerate_support(expand)

    def expand(self, batch_shape: Sequence[int]) -> Distribution:
        batch_shape = _as_shape(batch_shape, "batch_shape")
        if batch_shape == self.batch_shape:
            return self
        n = self.reinterpreted_batch_ndims
        inner = self.base_dist.batch_shape[len(self.base_dist.batch_shape) - n:]
        return Independent(self.base_dist.expand(batch_shape + inner), n)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


class ExpandedDistribution(Distribution):
    """``base_dist`` broadcast to a bigger ``batch_shape`` (expanded dims draw independently).

    >>> import numpy as np
    >>> ExpandedDistribution(Delta(np.zeros(1)), (4, 3)).batch_shape
    (4, 3)
    """

    arg_constraints: dict = {}

    def __init__(self, base_dist: Distribution, batch_shape: Sequence[int] = (),
                 validate_args: bool | None = None) -> None:
        batch_shape = _as_shape(batch_shape, "batch_shape")
        if isinstance(base_dist, ExpandedDistribution):
            base_dist = base_dist.base_dist
        bb = base_dist.batch_shape
        if len(bb) > len(batch_shape) or any(
            b not in (1, s) for b, s in zip(bb[::-1], batch_shape[::-1], strict=False)
        ):
            raise ValueError(
                f"cannot expand {type(base_dist).__name__} with batch_shape {bb} to batch_shape "
                f"{batch_shape}: each base dim must equal the new dim or be 1")
        self.base_dist = base_dist
        pad = (1,) * (len(batch_shape) - len(bb)) + bb
        self._expand_sizes = tuple(s if b == 1 else 1 for b, s in zip(pad, batch_shape, strict=False))
        super().__init__(batch_shape, base_dist.event_shape, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        return self.base_dist.support

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_enumerate_support

    @property
    def is_discrete(self) -> bool:
        return self.base_dist.is_discrete

    def _draw(self, draw: Any, key: Any, sample_shape: Sequence[int]) -> Any:
        sample_shape = _as_shape(sample_shape, "sample_shape")
        nb = len(self.batch_shape)
        bb = self.base_dist.batch_shape
        x = draw(key, sample_shape + self._expand_sizes)
        be, xp, x = _arr(x)
        ns, ne = len(sample_shape), len(self.event_shape)
        pad = (1,) * (nb - len(bb)) + bb
        x = xp.reshape(x, sample_shape + self._expand_sizes + pad + self.event_shape)
        # pair each expanded dim with its base dim (one of each pair has size 1), then merge
        perm = list(range(ns))
        for i in range(nb):
            perm += [ns + i, ns + nb + i]
        perm += list(range(ns + 2 * nb, ns + 2 * nb + ne))
        x = xp.permute_dims(x, tuple(perm))
        return xp.reshape(x, sample_shape + self.batch_shape + self.event_shape)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        return self._draw(self.base_dist.sample, key, sample_shape)

    def rsample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        return self._draw(self.base_dist.rsample, key, sample_shape)

    def _bcast(self, x: Any, extra: tuple[int, ...] = ()) -> Any:
        be, xp, x = _arr(x)
        return xp.broadcast_to(x, broadcast_shape(shape_of(x), self.batch_shape + extra))

    def log_prob(self, value: Any) -> Any:
        return self._bcast(self.base_dist.log_prob(value))

    def cdf(self, value: Any) -> Any:
        return self._bcast(self.base_dist.cdf(value))

    def icdf(self, q: Any) -> Any:
        return self._bcast(self.base_dist.icdf(q))

    @property
    def mean(self) -> Any:
        return self._bcast(self.base_dist.mean, self.event_shape)

    @property
    def variance(self) -> Any:
        return self._bcast(self.base_dist.variance, self.event_shape)

    def entropy(self) -> Any:
        return self._bcast(self.base_dist.entropy())

    def enumerated_log_prob(self, dim: int) -> Any:
        return self._bcast(self.base_dist.enumerated_log_prob(dim))

    def enumerate_support(self, expand: bool = True) -> Any:
        s = self.base_dist.enumerate_support(expand=False)
        be, xp, s = _arr(s)
        n = s.shape[0]
        s = xp.reshape(s, (n,) + (1,) * len(self.batch_shape) + self.event_shape)
        if expand:
            s = xp.broadcast_to(s, (n,) + self.batch_shape + self.event_shape)
        return s

    def expand(self, batch_shape: Sequence[int]) -> Distribution:
        batch_shape = _as_shape(batch_shape, "batch_shape")
        if batch_shape == self.batch_shape:
            return self
        return ExpandedDistribution(self.base_dist, batch_shape)

    def __repr__(self) -> str:
        return f"ExpandedDistribution({self.base_dist!r}, batch_shape={self.batch_shape})"


def fill_masked(support: Any, value: Any, mask: Any, event_dim: int) -> Any:
    """``value`` with its masked-out entries (``mask`` False, over the batch dims) replaced by a
    point of ``support``, so that they can neither raise (validation) nor give NaN, in value
    or gradient, where a mask later zeroes their log density. A dependent or missing support
    leaves ``value`` as it is.

    >>> import numpy as np
    >>> fill_masked(constraints.positive, np.array([2.0, np.nan]), np.array([True, False]), 0)
    array([2., 1.])
    """
    if support is None or constraints.is_dependent(support):
        return value
    be, xp, value = _arr(value)
    me = xp.reshape(mask, shape_of(mask) + (1,) * event_dim)
    return xp.where(me, value, support.feasible_like(value))


class MaskedDistribution(Distribution):
    """``log_prob`` replaced by 0 where ``mask`` is False (``mask`` broadcasts with the batch).

    Masked-out values are not validated (they may be placeholders, NaN included).

    >>> import numpy as np
    >>> d = MaskedDistribution(Delta(np.zeros(2)), np.array([True, False]))
    >>> d.log_prob(np.array([1.0, 1.0]))
    array([-inf,   0.])
    """

    arg_constraints: dict = {}

    def __init__(self, base_dist: Distribution, mask: Any,
                 validate_args: bool | None = None) -> None:
        if isinstance(mask, bool):
            self._mask: Any = mask
            batch_shape = base_dist.batch_shape
        else:
            be, xp, m = _arr(mask)
            if not xp.isdtype(m.dtype, "bool"):
                raise TypeError(f"mask must be a boolean array or bool, got dtype {m.dtype}")
            self._mask = m
            batch_shape = broadcast_shape(shape_of(m), base_dist.batch_shape)
        self.base_dist = base_dist
        super().__init__(batch_shape, base_dist.event_shape, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        return self.base_dist.support

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_enumerate_support

    @property
    def is_discrete(self) -> bool:
        return self.base_dist.is_discrete

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        x = self.base_dist.sample(key, sample_shape)
        shape = _as_shape(sample_shape, "sample_shape") + self.batch_shape + self.event_shape
        be, xp, x = _arr(x)
        return x if shape_of(x) == shape else xp.broadcast_to(x, shape)

    def rsample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        x = self.base_dist.rsample(key, sample_shape)
        shape = _as_shape(sample_shape, "sample_shape") + self.batch_shape + self.event_shape
        be, xp, x = _arr(x)
        return x if shape_of(x) == shape else xp.broadcast_to(x, shape)

    def log_prob(self, value: Any) -> Any:
        be, xp, value = _arr(value)
        ed = self.event_dim
        vb = shape_of(value)[: len(shape_of(value)) - ed]
        out_shape = broadcast_shape(vb, self.batch_shape)
        if self._mask is False:
            return xp.zeros(out_shape, dtype=value.dtype if xp.isdtype(
                value.dtype, "real floating") else be.float_dtype())
        if self._mask is True:
            return self.base_dist.log_prob(value)
        m = self._mask
        lp = self.base_dist.log_prob(fill_masked(self.base_dist.support, value, m, ed))
        return xp.where(m, lp, xp.zeros_like(lp))

    @property
    def mean(self) -> Any:
        return self.base_dist.mean

    @property
    def variance(self) -> Any:
        return self.base_dist.variance

    def enumerate_support(self, expand: bool = True) -> Any:
        return self.base_dist.enumerate_support(expand)

    def enumerated_log_prob(self, dim: int) -> Any:
        if self._mask is False:
            return super().enumerated_log_prob(dim)
        lp = self.base_dist.enumerated_log_prob(dim)
        if self._mask is True:
            return lp
        xp = backend_of(lp).xp
        return xp.where(self._mask, lp, xp.zeros_like(lp))

    def __repr__(self) -> str:
        return f"MaskedDistribution({self.base_dist!r})"


class Delta(Distribution):
    """Point mass at ``v`` with ``log_prob = log_density`` there (``-inf`` elsewhere); the last
    ``event_dim`` dims of ``v`` are the event.

    >>> import numpy as np
    >>> Delta(np.array(2.0), log_density=1.5).log_prob(np.array([2.0, 3.0]))
    array([ 1.5, -inf])
    """

    arg_constraints = {"v": constraints.dependent, "log_density": constraints.real}
    has_rsample = True
    reparametrized_params = ["v", "log_density"]

    def __init__(self, v: Any = 0.0, log_density: Any = 0.0, event_dim: int = 0,
                 validate_args: bool | None = None) -> None:
        be, xp, v = _arr(v)
        if not xp.isdtype(v.dtype, "real floating") and not xp.isdtype(v.dtype, "integral"):
            v = xp.astype(v, be.float_dtype())
        nd = len(shape_of(v))
        if event_dim > nd:
            raise ValueError(f"Delta: event_dim={event_dim} exceeds v.ndim={nd} (v shape "
                             f"{shape_of(v)})")
        self.v = v
        bs, es = shape_of(v)[: nd - event_dim], shape_of(v)[nd - event_dim:]
        be2, xp2, ld = _arr(log_density)
        if not xp2.isdtype(ld.dtype, "real floating"):
            ld = xp2.astype(ld, be.float_dtype())
        self.log_density = ld
        bs = broadcast_shape(bs, shape_of(ld))
        super().__init__(bs, es, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.independent(constraints.real, self.event_dim)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, xp, v = _arr(self.v)
        return xp.broadcast_to(v, self.shape(sample_shape))

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = _arr(value)
        v = self.v
        eq = value == v
        ed = self.event_dim
        if ed:
            eq = xp.all(eq, axis=tuple(range(-ed, 0)))
        dt = self.log_density.dtype
        lp = xp.where(eq, xp.asarray(0.0, dtype=dt), xp.asarray(-float("inf"), dtype=dt))
        return lp + self.log_density

    @property
    def mean(self) -> Any:
        be, xp, v = _arr(self.v)
        return xp.broadcast_to(v, self.batch_shape + self.event_shape)

    @property
    def variance(self) -> Any:
        be, xp, v = _arr(self.v)
        return xp.zeros(self.batch_shape + self.event_shape, dtype=self.log_density.dtype)

    def entropy(self) -> Any:
        be, xp, ld = _arr(self.log_density)
        return xp.broadcast_to(-ld * 0.0, self.batch_shape)


class Unit(Distribution):
    """Trivial distribution over the empty event (shape ``(0,)``) with ``log_prob =
    log_factor``; the engine of ``polyro.factor``.

    >>> import numpy as np
    >>> Unit(np.array(-1.5)).log_prob(np.zeros((0,)))
    array(-1.5)
    """

    # -inf is a legitimate log factor (a hard constraint), so the factor is not validated
    arg_constraints = {"log_factor": constraints.dependent}
    support = constraints.real

    def __init__(self, log_factor: Any, validate_args: bool | None = None) -> None:
        be, xp, lf = _arr(log_factor)
        if not xp.isdtype(lf.dtype, "real floating"):
            lf = xp.astype(lf, be.float_dtype())
        self.log_factor = lf
        super().__init__(shape_of(lf), (0,), validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        be, xp, lf = _arr(self.log_factor)
        return xp.zeros(self.shape(sample_shape), dtype=lf.dtype)

    def log_prob(self, value: Any) -> Any:
        be, xp, value = _arr(value)
        shape = broadcast_shape(shape_of(value)[:-1], self.batch_shape)
        return xp.broadcast_to(self.log_factor, shape)


class ImproperUniform(Distribution):
    """Flat (improper) density 0 on ``support``; it cannot be sampled.

    Used as a flat prior: ``log_prob`` is 0 inside the support (and ``-inf``/an error outside).

    >>> import numpy as np
    >>> d = ImproperUniform(constraints.positive, (), (2,))
    >>> d.log_prob(np.ones((3, 2)))
    array([0., 0., 0.])
    """

    arg_constraints: dict = {}

    def __init__(self, support: constraints.Constraint, batch_shape: Sequence[int] = (),
                 event_shape: Sequence[int] = (), validate_args: bool | None = None) -> None:
        event_shape = _as_shape(event_shape, "event_shape")
        if len(event_shape) < support.event_dim:
            raise ValueError(f"ImproperUniform: event_shape {event_shape} has fewer dims than "
                             f"the support {support!r} needs ({support.event_dim})")
        extra = len(event_shape) - support.event_dim
        self._support = constraints.independent(support, extra) if extra else support
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        return self._support

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        raise NotImplementedError(
            "ImproperUniform is improper and cannot be sampled; initialize the site with "
            "init_to_uniform/init_to_feasible or give it a proper prior")

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        be, xp, value = _arr(value)
        nd = len(shape_of(value)) - self.event_dim
        shape = broadcast_shape(shape_of(value)[:nd], self.batch_shape)
        dt = value.dtype if xp.isdtype(value.dtype, "real floating") else be.float_dtype()
        return xp.zeros(shape, dtype=dt)


class TransformedDistribution(Distribution):
    """``transforms`` (applied in order) of a draw of ``base_distribution``; ``log_prob`` by the
    change-of-variables formula.

    >>> import numpy as np
    >>> from polyro.core.distributions.transforms import ExpTransform
    >>> d = TransformedDistribution(Delta(np.array(0.0)), ExpTransform())
    >>> float(d.sample(None))
    1.0
    """

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution,
                 transforms: Transform | Sequence[Transform],
                 validate_args: bool | None = None) -> None:
        if isinstance(transforms, Transform):
            transforms = [transforms]
        transforms = list(transforms)
        for t in transforms:
            if not isinstance(t, Transform):
                raise TypeError(f"TransformedDistribution: {t!r} is not a Transform")
        if isinstance(base_distribution, TransformedDistribution):
            transforms = list(base_distribution.transforms) + transforms
            base_distribution = base_distribution.base_dist
        base_shape = base_distribution.shape()
        base_event_dim = base_distribution.event_dim
        chain = ComposeTransform(transforms) if transforms else None
        if chain is not None:
            dom_ed = chain.domain.event_dim
            if dom_ed > base_event_dim:
                need = dom_ed - base_event_dim
                if need > len(base_distribution.batch_shape):
                    raise ValueError(
                        f"TransformedDistribution: the transforms need {dom_ed} event dims but "
                        f"the base distribution has shape {base_shape}")
                base_distribution = base_distribution.to_event(need)
                base_event_dim = dom_ed
            shape = chain.forward_shape(base_shape)
            event_dim = chain.codomain.event_dim + max(base_event_dim - dom_ed, 0)
        else:
            shape, event_dim = base_shape, base_event_dim
        self.base_dist = base_distribution
        self.transforms = transforms
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        if not self.transforms:
            return self.base_dist.support
        c = self.transforms[-1].codomain
        extra = self.event_dim - c.event_dim
        return constraints.independent(c, extra) if extra > 0 else c

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        x = self.base_dist.sample(key, sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def rsample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        x = self.base_dist.rsample(key, sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        ed = self.event_dim
        y = value
        total: Any = 0.0
        for t in reversed(self.transforms):
            x = t.inv(y)
            ed += t.domain.event_dim - t.codomain.event_dim
            total = total - sum_rightmost(t.log_abs_det_jacobian(x, y),
                                          ed - t.domain.event_dim)
            y = x
        return total + sum_rightmost(self.base_dist.log_prob(y), ed - self.base_dist.event_dim)

    def _monotone_sign(self) -> int:
        s = 1
        for t in self.transforms:
            if t.domain.event_dim or t.codomain.event_dim:
                raise NotImplementedError("cdf/icdf need scalar monotone transforms")
            sign = t.sign
            from polyro.core.distributions.util import concrete_numpy

            v = concrete_numpy(sign)
            if v is None or not (v.size and ((v > 0).all() or (v < 0).all())):
                raise NotImplementedError("cdf/icdf need transforms of known constant sign")
            s *= 1 if (v > 0).all() else -1
        return s

    def cdf(self, value: Any) -> Any:
        sign = self._monotone_sign()
        x = value
        for t in reversed(self.transforms):
            x = t.inv(x)
        c = self.base_dist.cdf(x)
        return c if sign > 0 else 1 - c

    def icdf(self, q: Any) -> Any:
        sign = self._monotone_sign()
        x = self.base_dist.icdf(q if sign > 0 else 1 - q)
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"TransformedDistribution({self.base_dist!r}, {self.transforms!r})"
