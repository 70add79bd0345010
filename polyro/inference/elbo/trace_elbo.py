"""``ELBO`` base class and ``Trace_ELBO``: the Monte Carlo evidence lower bound.

Reparameterized latent sites get pathwise gradients; non-reparameterizable ones (discrete,
``has_rsample=False``) get score-function terms, as in Pyro: the surrogate adds
``log q(z) * stop_gradient(elbo_particle)``, written so that the loss *value* stays the ELBO and only
its gradient changes.

>>> from polyro.inference import Trace_ELBO
>>> Trace_ELBO(num_particles=4).num_particles
4
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import polyro.backends as backends
from polyro.errors import unexpected_options
from polyro.inference.elbo import util as eu

__all__ = ["ELBO", "Trace_ELBO"]


def _arr(be: Any, x: Any) -> Any:
    return x if be.is_array(x) else be.asarray(x)


class ELBO:
    """Base class of the ELBO losses.

    Args:
        num_particles: number of Monte Carlo particles averaged per estimate.
        vectorize_particles: how the particles are drawn. ``True`` (default): with ``be.vmap``
            on backends with JIT and vmap (JAX), else inside an outer plate
            ``_num_particles_vectorized`` placed left of the model's plates (Pyro's way; needs
            a model whose sites broadcast over extra batch dims); ``"vmap"`` or ``"plate"``
            force one; ``False``: a Python loop. ``"plate"`` draws the same numbers on every
            engine (the portable RNG), so torch and JAX runs then agree exactly.

    Subclasses implement ``_particle(key, params, model, guide, args, kwargs, state) ->
    (elbo, surrogate_extra, aux)``; ``loss`` returns ``-elbo`` whose gradient is that of the
    surrogate.

    >>> ELBO().vectorize_particles
    True
    """

    #: Pyro's ELBO options with no effect here: the particle plate goes left of the model's
    #: plates by itself, steps are compiled (JAX) or recorded (torch) whatever they say
    _NO_EFFECT = frozenset({"max_plate_nesting", "strict_enumeration_warning",
                            "ignore_jit_warnings", "jit_options", "retain_graph"})

    def __init__(self, num_particles: int = 1, vectorize_particles: bool = True,
                 **peer_options: Any) -> None:
        unknown = sorted(k for k in peer_options if k not in self._NO_EFFECT)
        if unknown:
            own = inspect.signature(type(self).__init__).parameters
            inert = sorted(self._NO_EFFECT - set(own))
            raise unexpected_options(type(self).__name__, type(self), unknown,
                                     f" (and Pyro's {inert}, which change nothing here)")
        if not (isinstance(num_particles, int) and num_particles >= 1):
            raise ValueError(f"num_particles must be a positive int, got {num_particles!r}")
        if vectorize_particles not in (True, False, "vmap", "plate"):
            raise ValueError(
                f"vectorize_particles must be True, False, 'vmap' or 'plate', got "
                f"{vectorize_particles!r}"
            )
        self.num_particles = num_particles
        self.vectorize_particles = vectorize_particles
        self._nesting: dict = {}  # (model, guide) ids -> the particle-plated (model, guide)
        self._loop_memo: set = set()  # (backend, (model, guide) ids) that vmap cannot batch
        self._unplated: set = set()  # (model, guide) ids whose sites do not broadcast

    def _mode(self) -> str:
        """'single', 'vmap', 'plate' or 'loop'."""
        if self.num_particles == 1:
            return "single"
        v = self.vectorize_particles
        if v is False:
            return "loop"
        be = backends.current()
        if v == "vmap" or (v is True and be.SUPPORTS_JIT and be.SUPPORTS_VMAP):
            return "vmap"
        return "plate"

    def _plated(self, rng_key: Any, params: dict, model: Any, guide: Any, args: tuple,
                kwargs: dict) -> tuple[Any, Any]:
        """``(model, guide)`` run inside the particle plate (left of every model plate)."""
        import polyro

        ck = (id(model), id(guide))
        pair = self._nesting.get(ck)
        if pair is not None:
            # the same wrapper objects every step: caches keyed by function (TraceEnum_ELBO's
            # plate-nesting guess) stay valid and bounded
            return pair
        # one plain run: the plate nesting (and autoguide prototypes)
        model_tr, guide_tr = eu.get_traces(rng_key, params, model, guide, args, kwargs)
        nest = 0  # the particle plate goes left of every plate and every batch dim: a site
        for site in list(model_tr.values()) + list(guide_tr.values()):  # with batch dims
            for f in site.get("cond_indep_stack", ()):  # outside plates would otherwise meet
                if f.dim is not None:  # the particle dim (silently, when the sizes agree)
                    nest = max(nest, -f.dim)
            if site.get("type") == "sample":
                nest = max(nest, len(tuple(getattr(site.get("fn"), "batch_shape", ()) or ())))
        K = self.num_particles

        def wrap(fn):
            def wrapped(*a, **k):
                with polyro.plate("_num_particles_vectorized", K, dim=-(nest + 1)):
                    return fn(*a, **k)
            return wrapped

        pair = self._nesting[ck] = (wrap(model), wrap(guide))
        return pair

    # -- particles ------------------------------------------------------------------------
    def _particles(self, rng_key: Any, fn: Any, memo_key: Any = None) -> Any:
        """Evaluate ``fn(key)`` on ``num_particles`` keys; returns a pytree with a leading
        particle dim."""
        be = backends.current()
        if self.num_particles == 1:
            out = fn(rng_key)
            return be.tree_map(lambda x: be.xp.expand_dims(_arr(be, x), axis=0), out)
        keys = be.split(rng_key, self.num_particles)
        if self._mode() == "vmap" or (memo_key in self._unplated and be.SUPPORTS_VMAP):
            return eu.map_leading(fn, keys, loop_memo=self._loop_memo, memo_key=memo_key)
        outs = [fn(keys[i]) for i in range(self.num_particles)]
        return be.tree_map(lambda *xs: be.xp.stack([_arr(be, x) for x in xs]), *outs)

    def _particle(self, key, params, model, guide, args, kwargs, state):
        raise NotImplementedError

    def _combine(self, elbos: Any, surrogates: Any) -> Any:
        be = backends.current()
        xp = be.xp
        elbo = xp.mean(elbos)
        surr = xp.mean(surrogates)
        return -(elbo + (surr - be.stop_gradient(surr)))

    def loss_with_state(self, rng_key: Any, param_map: dict, model: Any, guide: Any,
                        state: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """``(loss, new_state)`` where ``loss = -ELBO`` (gradient: the surrogate's)."""
        mode = self._mode()
        if mode == "single":  # what _combine computes on one particle, without the particle dim
            e, s, _ = self._particle(rng_key, param_map, model, guide, args, kwargs, state)
            be = backends.current()
            e, s = _arr(be, e), _arr(be, s)
            return -(e + (s - be.stop_gradient(s))), state
        ck = (id(model), id(guide))
        if mode == "plate" and ck not in self._unplated:
            m, g = self._plated(rng_key, param_map, model, guide, args, kwargs)
            try:
                e, s, _ = self._particle(rng_key, param_map, m, g, args, kwargs, state)
            except Exception as err:  # noqa: BLE001 - a model that does not broadcast
                if self.vectorize_particles == "plate":
                    raise
                self._unplated.add(ck)  # the automatic choice: draw them one by one instead
                warnings.warn(
                    "the model or guide does not broadcast over the particle plate "
                    f"'_num_particles_vectorized' ({type(err).__name__}: {str(err)[:200]}); "
                    f"its {self.num_particles} particles are drawn with vmap (or a loop) "
                    "instead. Write its sites to broadcast over extra leading batch dims (as "
                    "Pyro's vectorize_particles asks) for the faster plate, or pass "
                    "vectorize_particles='vmap' or False.", UserWarning, stacklevel=2)
            else:
                K = self.num_particles
                return self._combine(e / K, s / K), state

        def fn(key):
            e, s, _ = self._particle(key, param_map, model, guide, args, kwargs, state)
            return e, s

        elbos, surrogates = self._particles(rng_key, fn, (id(model), id(guide)))
        return self._combine(elbos, surrogates), state

    def loss(self, rng_key: Any, param_map: dict, model: Any, guide: Any, *args: Any,
             **kwargs: Any) -> Any:
        """The negative ELBO estimate at ``param_map`` (constrained param values by name).

        Differentiate it with ``be.value_and_grad`` for an unbiased gradient estimate.
        """
        state = self.init_state(rng_key, param_map, model, guide, *args, **kwargs)
        return self.loss_with_state(rng_key, param_map, model, guide, state, *args,
                                    **kwargs)[0]

    def init_state(self, rng_key: Any, param_map: dict, model: Any, guide: Any, *args: Any,
                   **kwargs: Any) -> Any:
        """The loss's mutable state (``{}`` unless the ELBO keeps baselines)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_particles={self.num_particles})"


def model_guide_terms(model_tr: dict, guide_tr: dict) -> tuple[Any, Any]:
    """``(log p(x, z) summed, log q(z) summed)`` over a pair of traces."""
    logp = 0.0
    for site in model_tr.values():
        if site.get("type") == "sample":
            logp = logp + eu.site_log_prob_sum(site)
    logq = 0.0
    for site in guide_tr.values():
        if eu.is_latent(site):
            logq = logq + eu.site_log_prob_sum(site)
    return logp, logq


class Trace_ELBO(ELBO):
    """The standard ELBO ``E_q[log p(x, z) - log q(z)]`` estimated with ``num_particles`` draws.

    >>> import polyro
    >>> import polyro.distributions as dist
    >>> from polyro import handlers
    >>> def model():
    ...     polyro.sample("x", dist.Normal(0.0, 1.0))
    >>> def guide():
    ...     polyro.sample("x", dist.Normal(0.0, 1.0))
    >>> abs(float(Trace_ELBO().loss(polyro.backends.current().key(0), {}, model, guide)))
    0.0
    """

    def _particle(self, key, params, model, guide, args, kwargs, state):
        be = backends.current()
        model_tr, guide_tr = eu.get_traces(key, params, model, guide, args, kwargs)
        logp, logq = model_guide_terms(model_tr, guide_tr)
        elbo = logp - logq
        surrogate = score_surrogate(model_tr, guide_tr, be)
        return elbo, (0.0 * elbo if surrogate is None else surrogate), None


def score_surrogate(model_tr: dict, guide_tr: dict, be: Any) -> Any:
    """Score-function surrogate of the non-reparameterized guide sites (``None`` if there are
    none): ``sum(log q(z) * stop_gradient(cost))`` where ``cost`` is ``log p - log q`` of the whole
    particle, kept per element of the site's vectorized plates (Pyro's ``log_r.sum_to``)."""
    xp = be.xp
    sites = [(n, s) for n, s in guide_tr.items() if eu.is_latent(s) and not eu.is_reparam(s)]
    if not sites:
        return None
    g_terms = [(s, eu.site_log_prob(s)) for s in guide_tr.values() if eu.is_latent(s)]
    m_terms = [(s, eu.site_log_prob(s)) for s in model_tr.values() if s.get("type") == "sample"]
    surrogate = 0.0
    for _, site in sites:
        lq = eu.site_log_prob(site)
        cost = 0.0
        for t_site, t in m_terms:
            cost = cost + eu.reduce_to_site(t, t_site, site, lq.ndim)
        for t_site, t in g_terms:
            cost = cost - eu.reduce_to_site(t, t_site, site, lq.ndim)
        surrogate = surrogate + xp.sum(lq * be.stop_gradient(cost))
    return surrogate
