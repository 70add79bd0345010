"""Hidden Markov models as distributions: :class:`DiscreteHMM`, as in Pyro.

The latent chain is summed out exactly: ``log_prob`` multiplies the per-step log-matrices
``transition + observation`` along time (:func:`polyro.inference.enum.chain.chain_reduce`: a
log-depth product on eager engines, one compiled loop over vector messages on JAX), so a
model can score a whole sequence with one site and no enumeration.

>>> import numpy as np
>>> import polyro.distributions as dist
>>> d = DiscreteHMM(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
...                 dist.Normal(np.array([-1.0, 1.0]), 1.0), duration=3)
>>> d.event_shape, round(float(d.log_prob(np.array([-1.0, 0.5, 2.0]))), 6)
((3,), -5.634751)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyro.backends import backend_of
from polyro.core.distributions import constraints
from polyro.core.distributions.disc_common import draw_shape
from polyro.core.distributions.distribution import Distribution
from polyro.core.distributions.gaussian_chain import gaussian_chain_log_prob
from polyro.core.distributions.util import broadcast_shape, validate_sample

__all__ = ["DiscreteHMM", "GaussianHMM"]


def _log_normalize(logits: Any) -> Any:
    be = backend_of(logits)
    return logits - be.logsumexp(logits, axis=-1, keepdims=True)


def _float_array(be: Any, x: Any, dtype: Any = None) -> Any:
    """``x`` as an array of ``be`` (a float one of ``dtype``, default the backend's, where it
    is not an array yet)."""
    return x if be.is_array(x) else be.asarray(x, dtype=dtype or be.float_dtype())


def _accepts(shape: tuple, steps_fixed: int | None, tail: tuple) -> bool:
    """An HMM's observed event shape: ``(steps,) + tail``, any number of steps unless
    ``steps_fixed``."""
    shape = tuple(shape)
    return (len(shape) == 1 + len(tail) and shape[1:] == tuple(tail)
            and (steps_fixed is None or shape[0] == steps_fixed))


def _time_shape(name: str, duration: int | None, *shapes: tuple) -> tuple:
    """``(batch_shape, steps, duration)`` of an HMM from its parameters' shapes (time the last
    dim of each, 1 where the parameter is homogeneous) and the ``duration`` argument; the
    duration is None when nothing fixes the number of steps."""
    shape = broadcast_shape(*shapes)
    batch_shape, steps = shape[:-1], shape[-1]
    if duration is not None:
        if not isinstance(duration, int) or duration < 1 or steps not in (1, duration):
            raise ValueError(f"{name}: duration must be a positive int matching the {steps} "
                             f"steps of its parameters, got {duration!r}")
        steps = duration
    return batch_shape, steps, duration if duration is not None else (
        steps if steps > 1 else None)


class DiscreteHMM(Distribution):
    """Hidden Markov model with ``K`` discrete latent states and any observation distribution
    (Pyro's ``DiscreteHMM``; the latent state is summed out).

    The generative process: ``x[-1] ~ Categorical(logits=initial_logits)``, then for each step
    ``t = 0 .. T-1``: ``x[t] ~ Categorical(logits=transition_logits[..., t, x[t-1], :])`` and
    ``y[t] ~ observation_dist[..., t, x[t]]``. The value is ``y`` (event shape ``(T,) +
    observation_dist.event_shape``).

    Args:
        initial_logits: ``(..., K)`` logits of the state before the first step (normalized here).
        transition_logits: ``(..., T or 1, K, K)`` or ``(..., K, K)`` logits, rows the old
            state, columns the new one (normalized here).
        observation_dist: a distribution whose batch shape ends in ``(T or 1, K)`` or ``(K,)``:
            the observation given each state.
        duration: the number of steps ``T`` where neither the transitions nor the observations
            give it (the homogeneous case, whose event shape is otherwise ``(1, ...)``; needed
            to sample, and accepted by ``log_prob`` for any length of data).

    >>> import numpy as np
    >>> import polyro.distributions as dist
    >>> d = DiscreteHMM(np.zeros(3), np.zeros((3, 3)), dist.Normal(np.zeros(3), 1.0))
    >>> d.batch_shape, d.event_shape
    ((), (1,))
    """

    arg_constraints = {"initial_logits": constraints.real_vector,
                       "transition_logits": constraints.independent(constraints.real, 2)}

    def __init__(self, initial_logits: Any, transition_logits: Any, observation_dist: Any,
                 validate_args: bool | None = None, duration: int | None = None) -> None:
        be = backend_of(initial_logits, transition_logits)
        init = _float_array(be, initial_logits)
        trans = _float_array(be, transition_logits)
        if init.ndim < 1 or trans.ndim < 2:
            raise ValueError(
                f"DiscreteHMM: initial_logits needs a state dim and transition_logits two, got "
                f"shapes {tuple(init.shape)} and {tuple(trans.shape)}")
        obs_batch = tuple(observation_dist.batch_shape)
        k = int(init.shape[-1])
        if tuple(trans.shape[-2:]) != (k, k) or not obs_batch or obs_batch[-1] != k:
            raise ValueError(
                f"DiscreteHMM: {k} states (initial_logits' last dim) need transition_logits "
                f"ending in ({k}, {k}) and an observation_dist batch shape ending in {k}; got "
                f"transition_logits shape {tuple(trans.shape)} and observation batch shape "
                f"{obs_batch}")
        batch_shape, steps, self.duration = _time_shape(
            "DiscreteHMM", duration, tuple(init.shape[:-1]) + (1,), tuple(trans.shape[:-2]),
            obs_batch[:-1])
        self.initial_logits = _log_normalize(init)
        self.transition_logits = _log_normalize(trans)
        self.observation_dist = observation_dist
        super().__init__(batch_shape=batch_shape,
                         event_shape=(steps,) + tuple(observation_dist.event_shape),
                         validate_args=validate_args)

    def accepts_event_shape(self, shape: tuple[int, ...]) -> bool:
        """Whether an observed value may have event shape ``shape``: any number of steps when
        the steps are not fixed (no duration), the observation's event shape after them.

        >>> import numpy as np
        >>> import polyro.distributions as dist
        >>> d = DiscreteHMM(np.zeros(2), np.zeros((2, 2)), dist.Normal(np.zeros(2), 1.0))
        >>> d.accepts_event_shape((200,)), d.accepts_event_shape((200, 2))
        (True, False)
        """
        return _accepts(shape, self.duration, tuple(self.observation_dist.event_shape))

    @property
    def support(self) -> Any:  # type: ignore[override]
        return constraints.independent(self.observation_dist.support, 1)

    def _step_matrices(self, value: Any) -> Any:
        """``(T, *batch, K, K)``: ``transition[t, i, j] + log p(y[t] | j)``, time first."""
        be = backend_of(self.transition_logits)
        xp = be.xp
        obs_dim = len(self.observation_dist.event_shape)
        lp = self.observation_dist.log_prob(xp.expand_dims(value, axis=-1 - obs_dim))
        mats = self.transition_logits + xp.expand_dims(lp, axis=-2)     # (..., T, K, K)
        n = int(value.shape[value.ndim - obs_dim - 1])
        shape = tuple(int(s) for s in mats.shape)
        mats = xp.broadcast_to(mats, shape[:-3] + (n,) + shape[-2:])
        return xp.moveaxis(mats, -3, 0)

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        from polyro.inference.enum.chain import chain_reduce

        be = backend_of(self.transition_logits, value)
        msg = chain_reduce(self._step_matrices(value), "sum", axis=-1)   # over x[-1]
        return be.logsumexp(self.initial_logits + msg, axis=-1)

    def filter(self, value: Any) -> Any:
        """The posterior of the last state ``x[T-1]`` given the observations ``value``: a
        ``Categorical`` (its logits can be the ``initial_logits`` of a forecast).

        >>> import numpy as np
        >>> import polyro.distributions as dist
        >>> d = DiscreteHMM(np.zeros(2), np.log([[0.9, 0.1], [0.1, 0.9]]),
        ...                 dist.Normal(np.array([-3.0, 3.0]), 1.0))
        >>> np.round(d.filter(np.array([3.0, 3.1])).probs, 4).tolist()
        [0.0, 1.0]
        """
        from polyro.core.distributions.disc_categorical import Categorical
        from polyro.inference.enum.chain import chain_reduce

        xp = backend_of(self.transition_logits, value).xp
        mats = self._step_matrices(value)
        first = xp.expand_dims(self.initial_logits, axis=-1) + mats[0]
        mats = xp.concat([first[None], mats[1:]], axis=0)
        return Categorical(logits=chain_reduce(mats, "sum", axis=-2))

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        from polyro.core.distributions.disc_categorical import Categorical

        if self.duration is None:
            raise ValueError("DiscreteHMM.sample needs the number of steps: pass duration= "
                             "(neither the transitions nor the observations have a time dim)")
        be = backend_of(self.transition_logits)
        xp = be.xp
        k_init, k_trans, k_obs = be.split(key, 3)
        base = draw_shape(sample_shape, self.batch_shape)
        n, k = self.duration, int(self.initial_logits.shape[-1])
        x = Categorical(logits=xp.broadcast_to(self.initial_logits, base + (k,))).sample(k_init)
        # the next state from every state at every step, then the path through them
        nxt = Categorical(logits=xp.broadcast_to(
            self.transition_logits, base + (n, k, k))).sample(k_trans)      # (..., T, K)

        def step(prev: Any, row: Any) -> tuple[Any, Any]:
            cur = xp.take_along_axis(row, xp.expand_dims(prev, axis=-1), axis=-1)[..., 0]
            return cur, cur

        _, path = be.scan(step, x, xp.moveaxis(nxt, -2, 0))
        path = xp.moveaxis(path, 0, -1)                                     # (..., T)
        obs_dim = len(self.observation_dist.event_shape)
        y = self.observation_dist.expand(tuple(self.batch_shape) + (n, k)).sample(
            k_obs, tuple(sample_shape))                                     # (..., T, K, *ev)
        idx = xp.reshape(path, tuple(path.shape) + (1,) * (obs_dim + 1))
        idx = xp.broadcast_to(idx, tuple(path.shape) + (1,) + tuple(y.shape[y.ndim - obs_dim:]))
        return xp.squeeze(xp.take_along_axis(y, idx, axis=-1 - obs_dim), axis=-1 - obs_dim)


def _mean_cov(d: Any, what: str) -> tuple[Any, Any]:
    """``(mean, covariance)`` of a ``MultivariateNormal`` or of an ``Independent`` normal with
    one event dim (any family with ``mean`` and ``variance``)."""
    if len(tuple(d.event_shape)) != 1:
        raise ValueError(f"GaussianHMM: {what} must have one event dim (a vector), got event "
                         f"shape {tuple(d.event_shape)}")
    L = getattr(d, "scale_tril", None)
    if L is not None:
        xp = backend_of(L).xp
        return d.mean, L @ xp.matrix_transpose(L)
    var = d.variance
    xp = backend_of(var).xp
    n = int(var.shape[-1])
    return d.mean, var[..., None] * xp.eye(n, dtype=var.dtype)


class GaussianHMM(Distribution):
    """Linear-Gaussian state space model (Pyro's ``GaussianHMM``), the hidden state summed out
    by a Kalman filter. The generative process::

        z = initial_dist.sample()
        for t in range(T):
            z = z @ transition_matrix[t] + transition_dist[t].sample()
            y[t] = z @ observation_matrix[t] + observation_dist[t].sample()

    The value is ``y`` (event shape ``(T, obs_dim)``); the matrices are ``(old, new)``
    ordered, shapes ``(..., T or 1, hidden, hidden)`` and ``(..., T or 1, hidden, obs)`` (or
    without the time dim); ``initial_dist``, ``transition_dist`` and ``observation_dist`` are
    ``MultivariateNormal`` or ``Independent`` normals with one event dim. ``log_prob`` is a
    Kalman filter run as a log-depth scan, about ``2 log2 T`` rounds of batched operations
    (:mod:`polyro.core.distributions.gaussian_chain`); draws are reparameterized.

    >>> import numpy as np
    >>> import polyro.distributions as dist
    >>> d = GaussianHMM(dist.Normal(np.zeros(1), 1.0).to_event(1), np.eye(1),
    ...                 dist.Normal(np.zeros(1), 1.0).to_event(1), np.eye(1),
    ...                 dist.Normal(np.zeros(1), 1.0).to_event(1), duration=2)
    >>> d.event_shape, round(float(d.log_prob(np.zeros((2, 1)))), 6)
    ((2, 1), -2.877598)
    """

    has_rsample = True
    arg_constraints: dict = {}

    def __init__(self, initial_dist: Any, transition_matrix: Any, transition_dist: Any,
                 observation_matrix: Any, observation_dist: Any,
                 validate_args: bool | None = None, duration: int | None = None) -> None:
        m0, P0 = _mean_cov(initial_dist, "initial_dist")
        be = backend_of(m0)
        A = _float_array(be, transition_matrix, m0.dtype)
        C = _float_array(be, observation_matrix, m0.dtype)
        b, Q = _mean_cov(transition_dist, "transition_dist")
        d, R = _mean_cov(observation_dist, "observation_dist")
        h, o = int(m0.shape[-1]), int(C.shape[-1]) if C.ndim >= 2 else -1
        if (A.ndim < 2 or tuple(A.shape[-2:]) != (h, h) or C.ndim < 2 or int(C.shape[-2]) != h
                or int(b.shape[-1]) != h or int(d.shape[-1]) != o):
            raise ValueError(
                f"GaussianHMM: a hidden state of size {h} (initial_dist) needs "
                f"transition_matrix (..., {h}, {h}), observation_matrix (..., {h}, obs) and "
                f"transition/observation noise of sizes {h} and obs; got shapes "
                f"{tuple(A.shape)}, {tuple(C.shape)}, {tuple(b.shape)}, {tuple(d.shape)}")
        batch_shape, steps, duration = _time_shape(
            "GaussianHMM", duration, tuple(m0.shape[:-1]) + (1,), tuple(A.shape[:-2]),
            tuple(b.shape[:-1]), tuple(C.shape[:-2]), tuple(d.shape[:-1]))
        self.initial_dist, self.transition_dist = initial_dist, transition_dist
        self.observation_dist = observation_dist
        self.transition_matrix, self.observation_matrix = A, C
        self.hidden_dim, self.obs_dim = h, o
        self._params = (m0, P0, A, b, Q, C, d, R)
        self.duration = duration
        super().__init__(batch_shape=batch_shape, event_shape=(steps, o),
                         validate_args=validate_args)

    support = constraints.independent(constraints.real, 2)

    def accepts_event_shape(self, shape: tuple[int, ...]) -> bool:
        """Any number of steps without a duration; ``obs_dim`` values per step.

        >>> import numpy as np
        >>> import polyro.distributions as dist
        >>> n = dist.Normal(np.zeros(1), 1.0).to_event(1)
        >>> GaussianHMM(n, np.eye(1), n, np.eye(1), n).accepts_event_shape((7, 1))
        True
        """
        return _accepts(shape, self.duration, (self.obs_dim,))

    def _time_major(self, n: int, *xs: tuple[Any, int], batch: tuple[int, ...] | None = None
                    ) -> list:
        """Each ``(x, k)``, ``x`` of shape ``(..., T or 1 or none, *tail)`` with ``k`` tail
        dims, as ``(n, *batch, *tail)`` (``batch``: ``batch_shape`` unless given, a shape it
        broadcasts to)."""
        xp = backend_of(*[x for x, _ in xs]).xp
        batch = tuple(self.batch_shape) if batch is None else batch
        out = []
        for x, tail in xs:
            shape = tuple(int(s) for s in x.shape)
            if len(shape) == tail:
                shape = (1,) + shape
                x = xp.reshape(x, shape)
            full = batch + (n,) + shape[len(shape) - tail:]
            out.append(xp.moveaxis(xp.broadcast_to(x, full), len(batch), 0))
        return out

    @validate_sample
    def log_prob(self, value: Any) -> Any:
        m0, P0, A, b, Q, C, d, R = self._params
        be = backend_of(m0, value)
        n = int(value.shape[-2])
        bshape = broadcast_shape(tuple(int(s) for s in value.shape[:-2]), tuple(self.batch_shape))
        A, b, Q, C, d, R, ys = self._time_major(n, (A, 2), (b, 1), (Q, 2), (C, 2), (d, 1), (R, 2),
                                                (value, 1), batch=bshape)
        return gaussian_chain_log_prob(be, m0, P0, A, b, Q, C, d, R, ys)

    def sample(self, key: Any, sample_shape: Sequence[int] = ()) -> Any:
        if self.duration is None:
            raise ValueError("GaussianHMM.sample needs the number of steps: pass duration= "
                             "(neither the matrices nor the noises have a time dim)")
        _, _, A, _, _, C, _, _ = self._params
        be = backend_of(A)
        xp = be.xp
        k0, k1, k2 = be.split(key, 3)
        n, bs = self.duration, tuple(self.batch_shape)
        sample_shape = tuple(sample_shape)
        z = self.initial_dist.expand(bs).sample(k0, sample_shape)
        eps = self.transition_dist.expand(bs + (n,)).sample(k1, sample_shape)
        dlt = self.observation_dist.expand(bs + (n,)).sample(k2, sample_shape)
        A, C = self._time_major(n, (A, 2), (C, 2))
        lead = len(sample_shape)

        def tm(x: Any) -> Any:
            return xp.moveaxis(x, lead + len(bs), 0)

        def step(z: Any, inp: tuple) -> tuple:
            A, C, e, dl = inp
            z = (z[..., None, :] @ A)[..., 0, :] + e
            return z, (z[..., None, :] @ C)[..., 0, :] + dl

        _, ys = be.scan(step, z, (A, C, tm(eps), tm(dlt)))
        return xp.moveaxis(ys, 0, -2)
