"""Directional families on the unit sphere: the projected normal distribution.

>>> import numpy as np
>>> d = ProjectedNormal(np.zeros(3))  # the uniform law on the 2-sphere
>>> round(float(d.log_prob(np.array([0.0, 0.0, 1.0]))), 6)  # -log(4 pi)
-2.531024
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import LOG_2PI, draw_shape, value_as
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import broadcast_params, shape_of, validate_sample

__all__ = ["ProjectedNormal"]

#: Terms of the continued fraction used in the lower tail of ``t = <concentration, value>``;
#: from ``-t = 4`` (2.5 in lower precision) on it is exact to rounding (2e-16 relative with 40
#: terms at 4, 1e-10 at 2.5, fewer needed further out).
_CF_TERMS = 40


def _tail_cut(xp: Any, dtype: Any) -> float:
    """``-t`` from which the continued fraction replaces the direct form (where the direct form
    is a difference of nearly equal terms: ``(-t)^4 / 2`` times the rounding error for d = 3)."""
    return 4.0 if float(xp.finfo(dtype).eps) < 1e-10 else 2.5


def _log_radial_integral(be: Any, xp: Any, t: Any, d: int) -> Any:
    """``log G_d(t)`` with ``G_d(t) = int_0^inf r^(d-1) phi(r - t) dr`` for d = 2, 3:
    ``G_2 = phi(t) + t Phi(t)`` and ``G_3 = (1 + t^2) Phi(t) + t phi(t)``.

    Directly for ``t >= -cut``. Below, with ``x = -t`` and ``J_k = int_0^inf r^k
    exp(-r^2 / 2 - r x) dr`` (so ``G_d = phi(t) J_(d-1)`` and ``phi(t) J_0 = Phi(t)``), the
    ratios ``J_k / J_(k-1) = k / (x + J_(k+1) / J_k)`` form a continued fraction evaluated
    backward (stable), and ``log G_d = log_ndtr(t) + log(J_1 / J_0) (+ log(J_2 / J_1))``: no
    cancellation, no overflow. Each branch sees only its own safe range of ``t``, so neither
    leaks NaN into values or gradients.
    """
    cut = _tail_cut(xp, t.dtype)
    near = t >= -cut
    tn = xp.where(near, t, xp.full_like(t, -cut))
    phi = xp.exp(-0.5 * tn * tn) / math.sqrt(2 * math.pi)
    cdf = be.ndtr(tn)
    direct = phi + tn * cdf if d == 2 else (1 + tn * tn) * cdf + tn * phi
    x = xp.where(near, xp.full_like(t, cut), -t)
    r1 = r2 = xp.zeros_like(x)
    for k in range(_CF_TERMS, 0, -1):
        r2, r1 = r1, k / (x + r1)
    tail = be.log_ndtr(-x) + xp.log(r1)
    if d == 3:
        tail = tail + xp.log(r2)
    return xp.where(near, xp.log(direct), tail)


def unit_vector(xp: Any, x: Any) -> Any:
    """``x / |x|`` over the last dim (the projection onto the sphere; NaN for a zero vector).

    >>> import numpy as np
    >>> unit_vector(np, np.array([3.0, 4.0])).tolist()
    [0.6, 0.8]
    """
    return x / xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True))


class ProjectedNormal(Distribution):
    """Projected normal distribution on the unit sphere in ``R^d``: the law of ``x / |x|``
    for ``x ~ Normal(concentration, I_d)`` (as ``numpyro.distributions.ProjectedNormal``).

    ``concentration`` is a real vector (event shape ``(d,)``, ``d >= 2``); its direction is the
    mode, its length how concentrated the law is (zero: the uniform law on the sphere). Draws
    are reparameterized: gradients flow through the normal draw. ``log_prob`` has closed forms
    for ``d = 2`` (the circle) and ``d = 3`` (the 2-sphere) and raises NotImplementedError for
    other ``d``; sampling works for every ``d``.

    >>> import numpy as np
    >>> d = ProjectedNormal(np.array([2.0, 0.0]))
    >>> d.batch_shape, d.event_shape, d.mean.tolist()
    ((), (2,), [1.0, 0.0])
    >>> round(float(d.log_prob(np.array([0.0, 1.0]))), 6)  # -log(2 pi) - |c|^2 / 2
    -3.837877
    """

    arg_constraints = {"concentration": constraints.real_vector}
    support = constraints.sphere
    has_rsample = True
    reparametrized_params = ["concentration"]

    def __init__(self, concentration: Any, *, validate_args: bool | None = None) -> None:
        _, _, (c,), _ = broadcast_params(concentration, event_dims=[1])
        s = shape_of(c)
        if len(s) < 1 or s[-1] < 2:
            raise ValueError(
                "ProjectedNormal: parameter 'concentration' must be a vector with at least 2 "
                f"entries in its last dim (the sphere's ambient dimension d >= 2), got shape {s}"
            )
        self.concentration = c
        super().__init__(batch_shape=s[:-1], event_shape=s[-1:], validate_args=validate_args)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        """Draw ``x / |x|`` with ``x ~ Normal(concentration, I)``, shape ``sample_shape +
        batch_shape + (d,)``; differentiable in ``concentration`` (the same key gives the same
        normal noise).

        >>> import numpy as np
        >>> import polyro.backends as B
        >>> be = B.get("numpy")
        >>> u = ProjectedNormal(np.array([1.0, 2.0, 3.0])).sample(be.key(0), (4,))
        >>> u.shape, np.allclose((u * u).sum(-1), 1.0)
        ((4, 3), True)
        """
        c = self.concentration
        be, xp, _ = value_as(c, 0.0)
        shape = draw_shape(sample_shape, self.batch_shape) + self.event_shape
        return unit_vector(xp, c + be.normal(key, shape, c.dtype))

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        """Log density of a unit vector ``value`` w.r.t. the surface measure of the sphere;
        shape ``broadcast(value.shape[:-1], batch_shape)``.

        With ``t = <concentration, value>`` and ``q = |concentration - t value|^2`` (the squared
        distance of the concentration from the ray), the density is ``(2 pi)^((1 - d) / 2)
        exp(-q / 2) G_d(t)``, ``G_d(t) = int_0^inf r^(d-1) phi(r - t) dr``:
        ``G_2 = phi(t) + t Phi(t)``, ``G_3 = (1 + t^2) Phi(t) + t phi(t)`` (a continued
        fraction in the lower tail of ``t``, where these forms cancel). Only ``d = 2`` and
        ``d = 3`` have closed forms.

        >>> import numpy as np
        >>> d = ProjectedNormal(np.array([0.0, 0.0]))
        >>> round(float(d.log_prob(np.array([0.6, 0.8]))), 6)  # -log(2 pi)
        -1.837877
        >>> ProjectedNormal(np.ones(4)).log_prob(np.full(4, 0.5))
        Traceback (most recent call last):
        ...
        NotImplementedError: ProjectedNormal.log_prob has closed forms only for dimension d = 2 (circle) or d = 3 (sphere), got d = 4 (event shape (4,)); sample() works for every d
        """
        c = self.concentration
        d = self.event_shape[0]
        if d not in (2, 3):
            raise NotImplementedError(
                "ProjectedNormal.log_prob has closed forms only for dimension d = 2 (circle) "
                f"or d = 3 (sphere), got d = {d} (event shape {self.event_shape}); sample() "
                "works for every d"
            )
        be, xp, value = value_as(c, value)
        t = xp.sum(c * value, axis=-1)
        perp = c - t[..., None] * value
        q = xp.sum(perp * perp, axis=-1)
        return -0.5 * (d - 1) * LOG_2PI - 0.5 * q + _log_radial_integral(be, xp, t, d)

    @property
    def mean(self) -> Any:
        """``concentration / |concentration|`` (NumPyro's convention): the mean *direction*,
        NOT the expectation of a draw (that is shorter than 1 and points the same way). NaN
        for a zero concentration.

        >>> import numpy as np
        >>> ProjectedNormal(np.array([3.0, 4.0])).mean.tolist()
        [0.6, 0.8]
        """
        c = self.concentration
        return unit_vector(value_as(c, 0.0)[1], c)

    @property
    def mode(self) -> Any:
        """``concentration / |concentration|``: the density's maximum (the same as ``mean``).

        >>> import numpy as np
        >>> ProjectedNormal(np.array([0.0, -2.0, 0.0])).mode.tolist()
        [0.0, -1.0, 0.0]
        """
        return self.mean
