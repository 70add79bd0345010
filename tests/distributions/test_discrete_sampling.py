"""Discrete families: draws agree with the oracle's pmf (chi-square goodness of fit).

Every test uses a fixed key; the false-failure rate of each chi-square test is its threshold
p > 2e-5 (Pyro's and NumPyro's), over 10,000 draws (values with expected count < 5 pooled).
Moment checks use 5 standard errors (false-failure rate ~6e-7 per coordinate).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import scipy.stats as st

from polyro.core import distributions as dist

sys.path.insert(0, os.path.dirname(__file__))
from cases_discrete import CASES, chi2_pvalue, param_sets  # noqa: E402
from test_discrete import make, np_, oracle  # noqa: E402

N = 10_000
P_MIN = 2e-5
BY_ID = {c.id: c for c in CASES}


@pytest.mark.parametrize("cid", list(BY_ID))
def test_chi_square_goodness_of_fit(backend, cid):
    case = BY_ID[cid]
    params = dict(param_sets(case))["()"]
    d = make(backend, case, params)
    x = np_(backend, d.sample(backend.key(2024), (N,)))
    assert x.shape == (N,)
    assert np.all(x == np.floor(x))
    o = oracle(case, params)
    p = chi2_pvalue(x - (params["low"] if "low" in params else 0), lambda k: o.pmf(
        k + (params["low"] if "low" in params else 0)), case.gof_max)
    assert p > P_MIN, f"{cid}: chi-square p = {p:.3g}"


def test_categorical_goodness_of_fit(backend):
    probs = np.array([0.1, 0.45, 0.05, 0.4])
    d = dist.Categorical(logits=backend.asarray(np.log(probs) + 0.3))
    x = np_(backend, d.sample(backend.key(7), (N,)))
    assert x.dtype.kind == "i"
    assert chi2_pvalue(x, lambda k: probs[k.astype(int)], 3) > P_MIN
    oh = dist.OneHotCategorical(probs=backend.asarray(probs))
    y = np_(backend, oh.sample(backend.key(8), (N,)))
    assert chi2_pvalue(y.argmax(-1), lambda k: probs[k.astype(int)], 3) > P_MIN


def test_multinomial_marginal_goodness_of_fit(backend):
    probs = np.array([0.2, 0.5, 0.3])
    n = 7
    d = dist.Multinomial(n, probs=backend.asarray(probs))
    x = np_(backend, d.sample(backend.key(9), (N,)))
    assert (x.sum(-1) == n).all()
    for j in range(3):  # each count is Binomial(n, p_j)
        assert chi2_pvalue(x[:, j], st.binom(n, probs[j]).pmf, n) > P_MIN


def test_dirichlet_multinomial_moments(backend):
    conc = np.array([0.7, 2.0, 1.3])
    n = 6
    d = dist.DirichletMultinomial(backend.asarray(conc), total_count=n)
    x = np_(backend, d.sample(backend.key(10), (N,)))
    o = st.dirichlet_multinomial(conc, n)
    se = np.sqrt(np.diag(o.cov()) / N)
    assert np.all(np.abs(x.mean(0) - o.mean()) < 5 * se)
    pmf0 = st.betabinom(n, conc[0], conc.sum() - conc[0]).pmf  # marginal of a count
    assert chi2_pvalue(x[:, 0], pmf0, n) > P_MIN
