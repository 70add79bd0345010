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
from polyro.core.distributions.util import broadcast_shape, validate_sample

__all__ = ["DiscreteHMM"]


def _log_normalize(logits: Any) -> Any:
    be = backend_of(logits)
    return logits - be.logsumexp(logits, axis=-1, keepdims=True)


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
        init = initial_logits if be.is_array(initial_logits) else be.asarray(
            initial_logits, dtype=be.float_dtype())
        trans = transition_logits if be.is_array(transition_logits) else be.asarray(
            transition_logits, dtype=be.float_dtype())
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
        shape = broadcast_shape(tuple(init.shape[:-1]) + (1,), tuple(trans.shape[:-2]),
                                obs_batch[:-1])
        batch_shape, steps = shape[:-1], shape[-1]
        if duration is not None:
            if not isinstance(duration, int) or duration < 1 or steps not in (1, duration):
                raise ValueError(
                    f"DiscreteHMM: duration must be a positive int matching the {steps} steps "
                    f"of the transitions/observations, got {duration!r}")
            steps = duration
        self.initial_logits = _log_normalize(init)
        self.transition_logits = _log_normalize(trans)
        self.observation_dist = observation_dist
        self.duration = duration if duration is not None else (steps if steps > 1 else None)
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
        shape = tuple(shape)
        return (len(shape) == len(self.event_shape)
                and shape[1:] == tuple(self.observation_dist.event_shape)
                and (self.duration is None or shape[0] == self.duration))

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
