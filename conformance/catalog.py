"""The model catalog: every model the conformance suite runs on every backend.

An entry names a polyro model, its data (numpy, converted once per backend at the boundary), the
sites to compare and its reference: a posteriordb posterior (Stan, 10k draws), a closed form, or
none (log-density/sampling checks only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import models_posteriordb as P
from . import models_small as S


@dataclass(frozen=True)
class Entry:
    """One catalog model.

    name: catalog key; model: the polyro model; data: () -> dict of numpy arrays / scalars passed
    as keyword arguments; posteriordb: reference folder name, or None; exact: data -> {site:
    (mean, sd)} closed-form posterior, or None; compare: sites whose posterior is compared (None:
    all reference parameters); nuts: MCMC settings; fast: part of the `make test` subset;
    gradient_free: small enough for numpy's gradient-free samplers; tags: what it exercises.
    """

    name: str
    model: Callable
    data: Callable[[], dict]
    posteriordb: str | None = None
    exact: Callable[[dict], dict] | None = None
    nuts: dict = field(default_factory=dict)
    fast: bool = False
    gradient_free: bool = False
    tags: tuple[str, ...] = ()


def _rng_data(seed, fn):
    return lambda: fn(np.random.default_rng(seed))


def _normal_normal_data(rng):
    return {"y": rng.normal(1.5, 1.0, size=20)}


def _beta_binomial_data(rng):
    n = np.full(10, 12.0)
    return {"k": rng.binomial(12, 0.35, size=10).astype(float), "n": n}


def _gamma_poisson_data(rng):
    return {"x": rng.poisson(2.5, size=15).astype(float)}


def _mixture_data(rng):
    z = rng.uniform(size=60) < 0.3
    return {"y": np.where(z, -2.0, 2.0) + 0.8 * rng.normal(size=60)}


def _lkj_data(rng):
    C = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    return {"y": rng.multivariate_normal(np.zeros(3), C, size=50)}


def _hmm_data(rng):
    x, ys = 0, []
    for _ in range(30):
        x = x if rng.uniform() < 0.9 else 1 - x
        ys.append(rng.normal((-1.5, 1.5)[x], 1.0))
    return {"y": np.array(ys)}


def _level_data(rng):
    level = np.cumsum(rng.normal(0.0, 0.5, size=25))
    return {"y": (level + rng.normal(0.0, 1.0, size=25))[:, None]}


def _subsample_data(rng):
    return {"y": rng.normal(0.7, 1.0, size=200)}


CATALOG: dict[str, Entry] = {e.name: e for e in [
    # ---------------------------------------------------------- posteriordb references
    Entry("eight_schools_noncentered", P.eight_schools_noncentered, P.eight_schools_data,
          posteriordb="eight_schools-eight_schools_noncentered", fast=True,
          nuts={"num_warmup": 500, "num_samples": 1000, "target_accept_prob": 0.9},
          tags=("posteriordb", "hierarchical")),
    Entry("eight_schools_centered", P.eight_schools_centered,
          lambda: P.eight_schools_data("eight_schools-eight_schools_centered"),
          posteriordb=None,  # a funnel: used for divergences, not for posterior agreement
          tags=("posteriordb", "funnel")),
    Entry("dogs", P.dogs, P.dogs_data, posteriordb="dogs-dogs",
          nuts={"num_warmup": 500, "num_samples": 1000}, tags=("posteriordb", "logistic")),
    Entry("gp_pois_regr", P.gp_pois_regr, P.gp_pois_regr_data,
          posteriordb="gp_pois_regr-gp_pois_regr",
          nuts={"num_warmup": 1000, "num_samples": 1000, "target_accept_prob": 0.9},
          tags=("posteriordb", "gp", "cholesky")),
    Entry("arK", P.ark, P.ark_data, posteriordb="arK-arK",
          nuts={"num_warmup": 500, "num_samples": 1000}, tags=("posteriordb", "timeseries")),
    Entry("garch11", P.garch11, P.garch11_data, posteriordb="garch-garch11",
          nuts={"num_warmup": 1000, "num_samples": 1000, "target_accept_prob": 0.9},
          tags=("posteriordb", "timeseries", "improper")),
    Entry("low_dim_gauss_mix", P.low_dim_gauss_mix, P.low_dim_gauss_mix_data,
          posteriordb="low_dim_gauss_mix-low_dim_gauss_mix",
          nuts={"num_warmup": 500, "num_samples": 1000}, tags=("posteriordb", "mixture")),
    Entry("kidiq", P.kidiq, P.kidiq_data, posteriordb="kidiq-kidscore_momhsiq", fast=True,
          nuts={"num_warmup": 1000, "num_samples": 1000, "dense_mass": True},
          tags=("posteriordb", "regression", "improper")),
    Entry("earnings", P.earnings, P.earnings_data,
          posteriordb="earnings-logearn_interaction_z",
          nuts={"num_warmup": 500, "num_samples": 1000}, tags=("posteriordb", "regression")),
    Entry("hmm_example", P.hmm_example, P.hmm_example_data,
          posteriordb="hmm_example-hmm_example",
          nuts={"num_warmup": 500, "num_samples": 1000}, tags=("posteriordb", "hmm", "simplex")),
    Entry("diamonds", P.diamonds, P.diamonds_data, posteriordb="diamonds-diamonds",
          nuts={"num_warmup": 1000, "num_samples": 1000, "dense_mass": True,
                "max_tree_depth": 12}, tags=("posteriordb", "regression", "correlated")),
    Entry("sblrc_blr", P.sblrc_blr, P.sblrc_blr_data, posteriordb="sblrc-blr", fast=True,
          nuts={"num_warmup": 500, "num_samples": 1000}, tags=("posteriordb", "regression")),
    # ---------------------------------------------------------- closed forms
    Entry("normal_normal", S.normal_normal, _rng_data(1, _normal_normal_data),
          exact=lambda d: S.normal_normal_posterior(d["y"]), fast=True, gradient_free=True,
          nuts={"num_warmup": 300, "num_samples": 1000}, tags=("conjugate",)),
    Entry("beta_binomial", S.beta_binomial, _rng_data(2, _beta_binomial_data),
          exact=lambda d: S.beta_binomial_posterior(d["k"], d["n"]), fast=True,
          gradient_free=True, nuts={"num_warmup": 300, "num_samples": 1000},
          tags=("conjugate",)),
    Entry("gamma_poisson", S.gamma_poisson, _rng_data(3, _gamma_poisson_data),
          exact=lambda d: S.gamma_poisson_posterior(d["x"]), fast=True, gradient_free=True,
          nuts={"num_warmup": 300, "num_samples": 1000}, tags=("conjugate",)),
    # ---------------------------------------------------------- structure
    Entry("seed_generative", S.seed_generative, lambda: {"X": np.asarray(3.0)},
          tags=("seed",)),
    Entry("seed_plated", S.seed_plated,
          lambda: {"X": np.random.default_rng(4).poisson(2.0, size=(3, 4)).astype(float)},
          tags=("seed", "plates")),
    Entry("mixture_enum", S.two_component_mixture, _rng_data(5, _mixture_data),
          nuts={"num_warmup": 300, "num_samples": 800}, tags=("enumeration",)),
    Entry("subsample", S.subsampled_normal, _rng_data(6, _subsample_data),
          tags=("subsample",)),
    Entry("lkj", S.lkj_model, _rng_data(7, _lkj_data),
          nuts={"num_warmup": 300, "num_samples": 800}, tags=("lkj", "constrained-matrix")),
    Entry("discrete_hmm", S.discrete_hmm, _rng_data(8, _hmm_data),
          nuts={"num_warmup": 300, "num_samples": 500}, tags=("hmm", "simplex")),
    Entry("gaussian_hmm", S.gaussian_hmm, _rng_data(9, _level_data),
          nuts={"num_warmup": 300, "num_samples": 500}, tags=("hmm", "kalman")),
]}
