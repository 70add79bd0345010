"""``Empirical``: a weighted set of stored samples as a distribution (Pyro's ``Empirical``).

``samples`` has shape ``batch_shape + (num_samples,) + event_shape`` and ``log_weights`` (not
necessarily normalised) shape ``batch_shape + (num_samples,)``. Draws pick stored samples with
probability ``softmax(log_weights)``; ``log_prob`` adds up the normalised weights of the stored
samples equal to the value (over every event dim), so duplicate samples add their weights.

>>> import numpy as np
>>> d = Empirical(np.array([0.0, 1.0, 1.0]), np.log(np.array([0.5, 0.25, 0.25])))
>>> round(float(d.log_prob(1.0)), 6), float(d.log_prob(2.0))
(-0.693147, -inf)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import draw_shape
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.util import (
    as_array,
    concrete_numpy,
    format_value,
    lazy_property,
    shape_of,
    validate_sample,
)

__all__ = ["Empirical"]


class Empirical(Distribution):
    """The empirical distribution of weighted ``samples`` (Pyro's ``Empirical``).

    The aggregation dim is ``log_weights.ndim - 1``: ``batch_shape = log_weights.shape[:-1]``,
    ``event_shape = samples.shape[log_weights.ndim:]``. Unlike Pyro, ``log_prob`` also takes
    values with leading sample dims (``sample_shape + batch_shape + event_shape``).

    >>> import numpy as np
    >>> d = Empirical(np.array([[0.0, 1.0], [2.0, 4.0], [2.0, 5.0]]), np.zeros(3))
    >>> d.batch_shape, d.event_shape, d.mean.round(6).tolist()
    ((), (2,), [1.333333, 3.333333])
    >>> round(float(d.log_prob(np.array([2.0, 4.0]))), 6)
    -1.098612
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    has_enumerate_support = True
    has_rsample = False

    def __init__(self, samples: Any, log_weights: Any, *,
                 validate_args: bool | None = None) -> None:
        be = backend_of(samples, log_weights)
        xp = be.xp
        samples, lw = as_array(be, samples), as_array(be, log_weights)
        if not xp.isdtype(lw.dtype, "real floating"):
            lw = xp.astype(lw, be.float_dtype())
        if xp.isdtype(samples.dtype, "bool"):
            samples = xp.astype(samples, lw.dtype)
        ss, ws = shape_of(samples), shape_of(lw)
        if len(ws) < 1 or len(ss) < len(ws) or ss[:len(ws)] != ws:
            raise ValueError(
                f"Empirical: samples of shape {ss} do not match log_weights of shape {ws}; "
                "log_weights must have at least one dim and samples must have shape "
                "log_weights.shape + event_shape (batch_shape + (num_samples,) + event_shape), "
                "e.g. log_weights = zeros(samples.shape[:1]) for unbatched samples"
            )
        if ws[-1] == 0:
            raise ValueError(
                f"Empirical: no samples (samples shape {ss}, log_weights shape {ws}: the "
                f"aggregation dim {len(ws) - 1} has size 0); pass at least one sample"
            )
        self._samples, self._log_weights = samples, lw
        self._aggregation_dim = len(ws) - 1
        super().__init__(batch_shape=ws[:-1], event_shape=ss[len(ws):],
                         validate_args=validate_args)
        if self._validate_args:
            self._check_weights()

    def _check_weights(self) -> None:
        lw = concrete_numpy(self._log_weights)
        if lw is None:  # traced: no value to check
            return
        bad = np.isnan(lw) | (lw == math.inf)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"Empirical: log_weights must be finite or -inf (a zero weight), but "
                f"log_weights[{', '.join(map(str, idx))}] = {format_value(lw[idx])} (shape "
                f"{lw.shape}); fix or drop those samples (or validate_args=False to skip this "
                "check)"
            )
        empty = np.all(lw == -math.inf, axis=-1)
        if empty.any():
            idx = tuple(int(i) for i in np.argwhere(empty)[0])
            raise ValueError(
                f"Empirical: every log weight of batch element {idx} is -inf (log_weights "
                f"shape {lw.shape}), so the weights cannot be normalised; give at least one "
                "sample of each batch element a finite log weight"
            )

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        """``real`` for event dim 0, else ``independent(real, event_dim)`` (``real_vector``...).

        >>> import numpy as np
        >>> Empirical(np.zeros(4), np.zeros(4)).support, Empirical(np.zeros((4, 3)), np.zeros(4)).support
        (real, real_vector)
        """
        if self.event_dim == 0:
            return constraints.real
        return constraints.independent(constraints.real, self.event_dim)

    @property
    def sample_size(self) -> int:
        """Number of stored samples in all (``log_weights.size``, as in Pyro; per batch
        element it is ``log_weights.shape[-1]``).

        >>> import numpy as np
        >>> Empirical(np.zeros((2, 5)), np.zeros((2, 5))).sample_size
        10
        """
        return int(math.prod(shape_of(self._log_weights)))

    @property
    def log_weights(self) -> Any:
        """The log weights as given (not normalised).

        >>> import numpy as np
        >>> Empirical(np.zeros(2), np.array([1.0, 2.0])).log_weights.tolist()
        [1.0, 2.0]
        """
        return self._log_weights

    @lazy_property
    def _log_probs(self) -> Any:
        """Log weights normalised along the sample dim."""
        return backend_of(self._log_weights).log_softmax(self._log_weights, axis=-1)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        """Stored samples drawn with probabilities ``softmax(log_weights)``; shape
        ``sample_shape + batch_shape + event_shape``.

        >>> import numpy as np
        >>> from polyro.backends import numpy as be
        >>> d = Empirical(np.array([3.0, 7.0]), np.array([0.0, -np.inf]))
        >>> d.sample(be.key(0), (4,)).tolist()
        [3.0, 3.0, 3.0, 3.0]
        """
        be = backend_of(self._log_weights)
        xp = be.xp
        idx = be.categorical(key, self._log_weights, axis=-1,
                             shape=draw_shape(sample_shape, self.batch_shape))
        n = int(shape_of(self._log_weights)[-1])
        nb = int(math.prod(self.batch_shape))
        offsets = xp.reshape(xp.arange(nb, dtype=idx.dtype) * n, self.batch_shape)
        flat = xp.reshape(self._samples, (nb * n,) + self.event_shape)
        out = xp.take(flat, xp.reshape(idx + offsets, (-1,)), axis=0)
        return xp.reshape(out, shape_of(idx) + self.event_shape)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        """``logsumexp`` of the normalised log weights of the stored samples equal to ``value``
        (``-inf`` where none is); shape ``broadcast(value batch dims, batch_shape)``.

        >>> import numpy as np
        >>> d = Empirical(np.array([1.0, 2.0, 2.0]), np.zeros(3))
        >>> np.exp(d.log_prob(np.array([1.0, 2.0, 3.0]))).round(6).tolist()
        [0.333333, 0.666667, 0.0]
        """
        lp = self._log_probs
        be = backend_of(lp, value)
        xp = be.xp
        if not be.is_array(value):
            value = be.asarray(value)
        vs, ed = shape_of(value), self.event_dim
        if len(vs) < ed:
            raise ValueError(f"Empirical.log_prob: value of shape {vs} has fewer dims than the "
                             f"event shape {self.event_shape}; pass sample/batch dims + event")
        k = len(vs) - ed
        eq = xp.reshape(value, vs[:k] + (1,) + vs[k:]) == self._samples
        if ed:
            eq = xp.all(eq, axis=tuple(range(-ed, 0)))
        masked = xp.where(eq, lp, xp.asarray(-math.inf, dtype=lp.dtype))
        return be.logsumexp(masked, axis=-1)

    @lazy_property
    def _float_samples(self) -> Any:
        """The samples in the weights' float dtype (for the moments)."""
        return backend_of(self._samples).xp.astype(self._samples, self._log_weights.dtype)

    def _weighted_mean(self, x: Any) -> Any:
        xp = backend_of(self._log_probs).xp
        p = xp.exp(self._log_probs)
        w = xp.reshape(p, shape_of(p) + (1,) * self.event_dim)
        return xp.sum(w * x, axis=self._aggregation_dim)

    @property
    def mean(self) -> Any:
        """Weighted mean of the samples (normalised weights), of shape ``batch + event``.

        >>> import numpy as np
        >>> float(Empirical(np.array([0.0, 4.0]), np.log(np.array([3.0, 1.0]))).mean)
        1.0
        """
        return self._weighted_mean(self._float_samples)

    @property
    def variance(self) -> Any:
        """Weighted variance ``sum_i w_i (x_i - mean)^2`` (normalised weights).

        >>> import numpy as np
        >>> float(Empirical(np.array([0.0, 4.0]), np.log(np.array([3.0, 1.0]))).variance)
        3.0
        """
        xp = backend_of(self._samples).xp
        mean = xp.expand_dims(self.mean, axis=self._aggregation_dim)
        return self._weighted_mean((self._float_samples - mean) ** 2)

    def enumerate_support(self, expand: bool = True) -> Any:
        """The stored samples (duplicates included) along a new leftmost dim: shape
        ``(num_samples,) + batch_shape + event_shape``; they depend on the batch, so the batch
        dims are kept whatever ``expand`` says. For ``batch_shape == ()`` this is Pyro's
        ``Empirical.enumerate_support`` (the samples as stored).

        >>> import numpy as np
        >>> Empirical(np.zeros((2, 5, 3)), np.zeros((2, 5))).enumerate_support().shape
        (5, 2, 3)
        """
        xp = backend_of(self._samples).xp
        return xp.moveaxis(self._samples, self._aggregation_dim, 0)

    def enumerated_log_prob(self, dim: int) -> Any:
        """The normalised log weight of each stored sample, laid along ``dim``, for the
        ``enum`` handler: summing over the enumerated samples then weighs each stored sample
        once, even where duplicates make ``log_prob`` of a value count several of them.

        >>> import numpy as np
        >>> d = Empirical(np.array([1.0, 1.0]), np.zeros(2))
        >>> np.exp(d.enumerated_log_prob(-1)).tolist()
        [0.5, 0.5]
        """
        lp = self._log_probs
        xp = backend_of(lp).xp
        nb = len(self.batch_shape)
        if -dim - 1 < nb:  # the batch already uses dim: not an enumeration layout
            return super().enumerated_log_prob(dim)
        table = xp.moveaxis(lp, -1, 0)
        return xp.reshape(table, shape_of(table)[:1] + (1,) * (-dim - 1 - nb) + self.batch_shape)
