"""Guides over one flat unconstrained latent vector: ``AutoDiagonalNormal``,
``AutoMultivariateNormal``, ``AutoLowRankMultivariateNormal``, ``AutoLaplaceApproximation``.

The guide samples an auxiliary site ``_{prefix}_latent`` (dimension D = total number of
unconstrained latent values), unpacks it per site, maps each piece with ``biject_to(support)``
and records the site as a ``Delta`` carrying ``-log|det J|``, so that the guide density is the
correct density of the constrained values.

>>> from polyro.inference.autoguide import AutoDiagonalNormal
>>> AutoDiagonalNormal(lambda: None).latent_dim is None
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import polyro.backends as backends
from polyro.core.distributions.util import as_array
from polyro.inference.autoguide.base import AutoGuide, quantile_args
from polyro.inference.elbo import util as eu

__all__ = [
    "AutoContinuous",
    "AutoDiagonalNormal",
    "AutoMultivariateNormal",
    "AutoLowRankMultivariateNormal",
    "AutoLaplaceApproximation",
]


def _dist():
    import polyro.distributions as dist

    return dist


def _C():
    from polyro.core.distributions import constraints

    return constraints


class AutoContinuous(AutoGuide):
    """Base of the flat-latent guides; subclasses define ``_posterior(params...)``.

    >>> AutoContinuous(lambda: None).prefix
    'auto'
    """

    def __init__(self, model: Callable, *, prefix: str = "auto",
                 init_loc_fn: Callable | None = None, init_scale: float = 0.1) -> None:
        if not init_scale > 0:
            raise ValueError(f"init_scale must be positive, got {init_scale!r}")
        super().__init__(model, prefix=prefix, init_loc_fn=init_loc_fn)
        self.init_scale = float(init_scale)
        self.latent_dim: int | None = None
        self._layout: list[tuple[str, int, int, tuple]] = []
        self._proto_args: tuple = ((), {})

    def _setup_prototype(self, *args: Any, **kwargs: Any) -> None:
        super()._setup_prototype(*args, **kwargs)
        self._proto_args = (args, kwargs)
        off = 0
        self._layout = []
        for name, s in self._sites.items():
            for f in s.frames:
                if f.dim is not None and f.subsample_size != f.size:
                    raise ValueError(
                        f"{type(self).__name__} cannot guide site {name!r}: it is a local latent "
                        f"variable of the subsampled plate {f.name!r} (size {f.size}, subsample "
                        f"{f.subsample_size}); use AutoNormal, which supports subsampling"
                    )
            shape = tuple(getattr(s.uvalue, "shape", ()))
            n = int(math.prod(shape))
            self._layout.append((name, off, n, shape))
            off += n
        self.latent_dim = off
        if off == 0:
            raise ValueError(f"{type(self).__name__}: the model has no continuous latent sites")

    def _init_latent(self) -> Any:
        be = backends.current()
        xp = be.xp
        parts = [xp.reshape(xp.asarray(self._sites[n].uvalue), (-1,)) for n, *_ in self._layout]
        return xp.astype(xp.concat(parts), be.float_dtype())

    def _unpack(self, latent: Any) -> dict[str, Any]:
        xp = backends.namespace(latent)
        batch = tuple(latent.shape[:-1])
        return {name: xp.reshape(latent[..., off:off + n], batch + shape)
                for name, off, n, shape in self._layout}

    def _latent_name(self) -> str:
        return f"_{self.prefix}_latent"

    def _posterior(self) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        import polyro

        self._ensure_setup(args, kwargs)
        dist = _dist()
        latent = polyro.sample(self._latent_name(), self._posterior(),
                               infer={"is_auxiliary": True})
        out = {}
        for name, u in self._unpack(latent).items():
            s = self._sites[name]
            z = s.transform(u)
            ladj = s.transform.log_abs_det_jacobian(u, z)
            xp = backends.namespace(z)
            batch_nd = z.ndim - s.event_dim
            ladj = as_array(backends.backend_of(z), ladj)  # as it is when an array
            if ladj.ndim > batch_nd:
                ladj = xp.sum(ladj, axis=tuple(range(batch_nd, ladj.ndim)))
            out[name] = polyro.sample(name, dist.Delta(z, log_density=-ladj,
                                                       event_dim=s.event_dim))
        return out

    # ---- summaries ---------------------------------------------------------------------
    def _loc(self, params: dict) -> Any:
        return params[self._param_name("latent", "loc")]

    def _marginal_sd(self, params: dict) -> Any:
        raise NotImplementedError

    def median(self, params: dict | None = None) -> dict:
        """Constrained value at the latent location, per site.

        >>> AutoDiagonalNormal(lambda: None).median.__name__
        'median'
        """
        params = self._get_params(params)
        return {n: self._sites[n].transform(u) for n, u in self._unpack(self._loc(params)).items()}

    def get_posterior(self, params: dict | None = None, *args: Any, **kwargs: Any) -> Any:
        """The guide's distribution over the flat unconstrained latent at ``params``
        (constrained values; default: the param store), as NumPyro's
        ``get_posterior(params)`` and Pyro's ``get_posterior()``: e.g. a diagonal ``Normal``
        with one event dim, or a ``MultivariateNormal``. The guide must have run (or
        ``args``/``kwargs`` are the model's arguments to set it up).

        >>> AutoDiagonalNormal(lambda: None).get_posterior.__name__
        'get_posterior'
        """
        from polyro.core.handlers import block, substitute

        if self.prototype_trace is None:
            if not args and not kwargs:
                raise RuntimeError(f"{type(self).__name__}.get_posterior: the guide has not run "
                                   "yet; call it (svi.init/run) first, or pass the model's "
                                   "arguments")
            self._ensure_setup(args, kwargs)
        params = self._get_params(params)
        return block(substitute(self._posterior, data=params))()

    def quantiles(self, quantiles: Any, params: dict | None = None) -> dict:
        """Marginal quantiles (``loc + sd * ndtri(q)`` pushed through the transforms).

        >>> AutoDiagonalNormal(lambda: None).quantiles.__name__
        'quantiles'
        """
        quantiles, params = quantile_args(quantiles, params)
        params = self._get_params(params)
        loc, sd = self._loc(params), self._marginal_sd(params)
        be = backends.backend_of(loc)
        xp = be.xp
        q = be.ndtri(be.asarray([float(v) for v in quantiles], dtype=loc.dtype))
        lat = loc + xp.reshape(q, (-1, 1)) * sd
        return {n: self._sites[n].transform(u) for n, u in self._unpack(lat).items()}


class AutoDiagonalNormal(AutoContinuous):
    """Diagonal Normal over the flat unconstrained latent vector (params
    ``{prefix}_latent_loc``, ``{prefix}_latent_scale``).

    >>> AutoDiagonalNormal(lambda: None, init_scale=0.2).init_scale
    0.2
    """

    def _posterior(self) -> Any:
        import polyro

        xp = backends.current().xp
        init = self._init_latent()
        loc = polyro.param(self._param_name("latent", "loc"), init, event_dim=1)
        scale = polyro.param(self._param_name("latent", "scale"),
                             xp.full_like(init, self.init_scale),
                             constraint=_C().positive, event_dim=1)
        return _dist().Normal(loc, scale).to_event(1)

    def _marginal_sd(self, params: dict) -> Any:
        return params[self._param_name("latent", "scale")]


class AutoMultivariateNormal(AutoContinuous):
    """Full-covariance Normal over the flat latent (``{prefix}_latent_loc``,
    ``{prefix}_latent_scale_tril``: a lower Cholesky factor, optimized as positive row scales
    times a unit lower-triangular matrix, ``constraints.scaled_unit_lower_cholesky``, as in
    NumPyro; with the plain ``lower_cholesky`` bijection Adam's steps on the off-diagonal
    entries swamp small posterior scales).

    >>> AutoMultivariateNormal(lambda: None).prefix
    'auto'
    """

    def _posterior(self) -> Any:
        import polyro

        xp = backends.current().xp
        init = self._init_latent()
        loc = polyro.param(self._param_name("latent", "loc"), init, event_dim=1)
        eye = xp.eye(self.latent_dim, dtype=init.dtype)
        tril = polyro.param(self._param_name("latent", "scale_tril"), self.init_scale * eye,
                            constraint=_C().scaled_unit_lower_cholesky, event_dim=2)
        return _dist().MultivariateNormal(loc, scale_tril=tril)

    def _marginal_sd(self, params: dict) -> Any:
        L = params[self._param_name("latent", "scale_tril")]
        xp = backends.namespace(L)
        return xp.sqrt(xp.sum(L * L, axis=-1))


class AutoLowRankMultivariateNormal(AutoContinuous):
    """Normal with covariance ``F F^T + diag(d)`` (rank ``rank``; default ``ceil(sqrt(D))``).

    >>> AutoLowRankMultivariateNormal(lambda: None, rank=2).rank
    2
    """

    def __init__(self, model: Callable, *, prefix: str = "auto",
                 init_loc_fn: Callable | None = None, init_scale: float = 0.1,
                 rank: int | None = None) -> None:
        super().__init__(model, prefix=prefix, init_loc_fn=init_loc_fn, init_scale=init_scale)
        if rank is not None and (not isinstance(rank, int) or rank < 1):
            raise ValueError(f"rank must be a positive int, got {rank!r}")
        self.rank = rank

    def _posterior(self) -> Any:
        import polyro

        xp = backends.current().xp
        init = self._init_latent()
        D = self.latent_dim
        rank = self.rank or max(1, int(math.ceil(math.sqrt(D))))
        loc = polyro.param(self._param_name("latent", "loc"), init, event_dim=1)
        factor = polyro.param(self._param_name("latent", "cov_factor"),
                              xp.zeros((D, rank), dtype=init.dtype), event_dim=2)
        diag = polyro.param(self._param_name("latent", "cov_diag"),
                            xp.full_like(init, self.init_scale ** 2),
                            constraint=_C().positive, event_dim=1)
        return _dist().LowRankMultivariateNormal(loc, factor, diag)

    def _marginal_sd(self, params: dict) -> Any:
        F = params[self._param_name("latent", "cov_factor")]
        d = params[self._param_name("latent", "cov_diag")]
        xp = backends.namespace(F)
        return xp.sqrt(xp.sum(F * F, axis=-1) + d)


class AutoLaplaceApproximation(AutoContinuous):
    """Laplace approximation: trained as a point estimate (MAP in unconstrained space), then
    ``get_posterior(params)`` is ``MultivariateNormal(loc, inverse Hessian of -log joint)``.

    >>> AutoLaplaceApproximation(lambda: None).prefix
    'auto'
    """

    def _posterior(self) -> Any:
        import polyro

        init = self._init_latent()
        loc = polyro.param(self._param_name("latent", "loc"), init, event_dim=1)
        return _dist().Delta(loc, event_dim=1)

    def _potential(self, args: tuple, kwargs: dict, params: dict) -> Callable:
        from polyro import handlers as h

        def potential(u: Any) -> Any:
            values, ladj = {}, 0.0
            xp = backends.namespace(u)
            for name, piece in self._unpack(u).items():
                s = self._sites[name]
                z = s.transform(piece)
                values[name] = z
                ladj = ladj + xp.sum(as_array(backends.backend_of(z),
                                              s.transform.log_abs_det_jacobian(piece, z)))
            model = h.seed(h.substitute(h.substitute(self.model, data=values), data=params),
                           rng_seed=0)
            tr = eu.trace_nodes(h.trace(model).get_trace(*args, **kwargs))
            logp = 0.0
            for site in tr.values():
                if site.get("type") == "sample":
                    logp = logp + eu.site_log_prob_sum(site)
            return -(logp + ladj)

        return potential

    def get_posterior(self, params: dict | None = None, *args: Any, **kwargs: Any) -> Any:
        """The Laplace posterior over the flat unconstrained latent (uses the model arguments
        of the first guide call unless ``args``/``kwargs`` are given)."""
        be = backends.current()
        _require_autodiff_laplace(be)
        params = self._get_params(params)
        if not args and not kwargs:
            args, kwargs = self._proto_args
        loc = self._loc(params)
        pot = self._potential(args, kwargs, params)
        H = be.jacobian(be.grad(pot))(loc)
        xp = be.xp
        Ht = xp.matrix_transpose(H) if hasattr(xp, "matrix_transpose") else H.T
        H = 0.5 * (H + Ht)
        from polyro.inference.recording import FAULT_EXCEPTIONS

        try:  # torch raises on a matrix that is not positive definite, JAX gives NaNs
            L = be.cholesky(be.inv(H))
            host = be.host_view(L)
            ok = host is None or bool(np.all(np.isfinite(host)))
        except FAULT_EXCEPTIONS:
            ok = False
        if not ok:
            raise ValueError(
                f"{type(self).__name__}: the Hessian of the negative log joint at the params' "
                f"latent point ({int(loc.shape[-1])} unconstrained dims) is not positive "
                "definite, so that point is not a local MAP and has no Laplace posterior. Train "
                "longer (more SVI steps, or a smaller learning rate) and call it again.")
        return _dist().MultivariateNormal(loc, scale_tril=L)

    def _marginal_sd(self, params: dict) -> Any:
        post = self.get_posterior(params)
        L = post.scale_tril
        xp = backends.namespace(L)
        return xp.sqrt(xp.sum(L * L, axis=-1))

    def sample_posterior(self, rng_key: Any, params: dict | None = None, *args: Any,
                         sample_shape: tuple = (), **kwargs: Any) -> dict:
        """Draws from the Laplace posterior (not the point estimate used in training)."""
        post = self.get_posterior(params, *args, **kwargs)
        lat = post.sample(rng_key, tuple(sample_shape))
        return {n: self._sites[n].transform(u) for n, u in self._unpack(lat).items()}


def _require_autodiff_laplace(be: Any) -> None:
    if not be.SUPPORTS_AUTODIFF:
        from polyro.errors import AutodiffUnavailableError

        raise AutodiffUnavailableError(
            f"AutoLaplaceApproximation.get_posterior needs a Hessian, which the {be.NAME!r} "
            "backend cannot compute; use polyro.set_backend('torch') or ('jax')"
        )
