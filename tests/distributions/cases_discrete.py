"""Test tables for the discrete families (shared by ``test_discrete*.py``).

Plain numpy/scipy float64 only: these are the *oracles*; nothing here touches a polyro backend.

A :class:`Case` names a polyro constructor (``ctor``, with fixed keyword arguments ``fixed``),
gives six valid values for each batched parameter (``ranges``) and an oracle
``oracle(**params)`` returning an object with ``logpmf``, ``mean``, ``var``, ``entropy`` (a frozen
scipy distribution or a closed form). Parameter sets of batch shapes ``()``, ``(2,)`` and
``(2, 3)`` are built by :func:`param_sets` (the ``(2, 3)`` one broadcasts a ``(2, 3)`` first
parameter against ``(3,)`` others). ``values(params)`` gives points of the support to evaluate at
(shape ``(4,) + batch_shape``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special as sp
import scipy.stats as st


def expit(x):
    return sp.expit(np.asarray(x, float))


class ZeroInflated:
    """Closed-form oracle of a zero-inflated count distribution around a frozen scipy base."""

    def __init__(self, base, gate):
        self.base, self.gate = base, np.asarray(gate, float)

    def logpmf(self, k):
        k = np.asarray(k, float)
        pmf = self.gate * (k == 0) + (1 - self.gate) * self.base.pmf(k)
        return np.log(pmf)

    def pmf(self, k):
        return np.exp(self.logpmf(k))

    def mean(self):
        return (1 - self.gate) * self.base.mean()

    def var(self):
        m = self.base.mean()
        return (1 - self.gate) * (self.base.var() + m * m) - ((1 - self.gate) * m) ** 2


class CategoricalOracle:
    """log p[k] for batched probability vectors (last dim = categories)."""

    def __init__(self, probs):
        p = np.asarray(probs, float)
        self.p = p / p.sum(-1, keepdims=True)

    def logpmf(self, k):
        k = np.asarray(k).astype(np.int64)
        n = self.p.shape[-1]
        shape = np.broadcast_shapes(k.shape, self.p.shape[:-1])
        pb = np.broadcast_to(self.p, shape + self.p.shape[-1:])
        kb = np.broadcast_to(k, shape)
        inside = (kb >= 0) & (kb < n)
        got = np.take_along_axis(pb, np.clip(kb, 0, n - 1)[..., None], axis=-1)[..., 0]
        with np.errstate(divide="ignore"):
            return np.where(inside, np.log(got), -np.inf)

    def pmf(self, k):
        return np.exp(self.logpmf(k))

    def entropy(self):
        return st.entropy(self.p, axis=-1)


def ordered_logistic_probs(predictor, cutpoints):
    """P(y = k) from the logistic cdf at ``cutpoints - predictor`` (scipy.stats.logistic)."""
    pred = np.asarray(predictor, float)[..., None]
    cdf = st.logistic.cdf(np.asarray(cutpoints, float) - pred)
    shape = cdf.shape[:-1] + (1,)
    full = np.concatenate([np.zeros(shape), cdf, np.ones(shape)], axis=-1)
    return np.diff(full, axis=-1)


def _ints(params, hi):
    """Support points 0..hi-1 spread over shape (4,) + batch."""
    bs = batch_shape(params)
    rng = np.random.default_rng(0)
    return rng.integers(0, hi, size=(4,) + bs).astype(float)


def _binom_values(params):
    n = np.broadcast_to(params["total_count"], batch_shape(params))
    rng = np.random.default_rng(1)
    return np.floor(rng.uniform(0, 1, size=(4,) + n.shape) * (n + 1))


def _du_values(params):
    bs = batch_shape(params)
    lo = np.broadcast_to(params["low"], bs)
    hi = np.broadcast_to(params["high"], bs)
    rng = np.random.default_rng(2)
    return lo + np.floor(rng.uniform(0, 1, size=(4,) + bs) * (hi - lo + 1))


@dataclass
class Case:
    id: str
    ctor: str
    ranges: dict[str, list[float]]
    oracle: Callable[..., Any]
    values: Callable[[dict], np.ndarray]
    checks: tuple[str, ...] = ("log_prob", "mean", "variance", "entropy")
    fixed: dict[str, Any] = field(default_factory=dict)
    enumerable: bool = False
    # chi-square sampling test: highest value counted separately (larger ones are lumped)
    gof_max: int = 30
    # params whose log_prob gradient is checked against finite differences of the oracle
    grad: tuple[str, ...] = ()


PROBS = [0.3, 0.75, 0.1, 0.5, 0.9, 0.45]
LOGITS = [0.4, -1.2, 2.0, 0.0, -0.3, 1.1]

CASES: list[Case] = [
    Case("Bernoulli-probs", "Bernoulli", {"probs": PROBS}, lambda probs: st.bernoulli(probs),
         lambda p: _ints(p, 2), enumerable=True, grad=("probs",)),
    Case("Bernoulli-logits", "Bernoulli", {"logits": LOGITS},
         lambda logits: st.bernoulli(expit(logits)), lambda p: _ints(p, 2), enumerable=True,
         grad=("logits",)),
    Case("Binomial-probs", "Binomial",
         {"total_count": [10, 4, 7, 1, 20, 3], "probs": PROBS},
         lambda total_count, probs: st.binom(total_count, probs), _binom_values,
         checks=("log_prob", "mean", "variance"), grad=("probs",)),
    Case("Binomial-logits", "Binomial",
         {"logits": LOGITS}, lambda logits: st.binom(6, expit(logits)),
         lambda p: _ints(p, 7), fixed={"total_count": 6}, enumerable=True, grad=("logits",)),
    Case("BetaBinomial", "BetaBinomial",
         {"concentration1": [1.5, 0.7, 3.0, 2.2, 0.4, 5.0],
          "concentration0": [2.0, 0.9, 1.3, 4.0, 0.6, 2.5]},
         lambda concentration1, concentration0: st.betabinom(8, concentration1, concentration0),
         lambda p: _ints(p, 9), fixed={"total_count": 8}, enumerable=True,
         grad=("concentration1", "concentration0")),
    Case("Geometric-probs", "Geometric", {"probs": PROBS},
         lambda probs: st.geom(probs, loc=-1), lambda p: _ints(p, 6), grad=("probs",)),
    Case("Geometric-logits", "Geometric", {"logits": LOGITS},
         lambda logits: st.geom(expit(logits), loc=-1), lambda p: _ints(p, 6),
         grad=("logits",)),
    Case("DiscreteUniform", "DiscreteUniform",
         {"low": [0, -2, 1, 3, -1, 2], "high": [3, 4, 5, 6, 7, 8]},
         lambda low, high: st.randint(low, np.asarray(high) + 1), _du_values),
    Case("Poisson", "Poisson", {"rate": [2.5, 0.3, 7.0, 1.0, 12.0, 4.2]},
         lambda rate: st.poisson(rate), lambda p: _ints(p, 12),
         checks=("log_prob", "mean", "variance"), grad=("rate",)),
    Case("GammaPoisson", "GammaPoisson",
         {"concentration": [2.0, 0.7, 5.0, 1.3, 9.0, 3.3], "rate": [0.5, 1.5, 2.0, 0.3, 1.0, 4.0]},
         lambda concentration, rate: st.nbinom(concentration, rate / (1 + rate)),
         lambda p: _ints(p, 10), checks=("log_prob", "mean", "variance"),
         grad=("concentration", "rate")),
    Case("NegativeBinomial-probs", "NegativeBinomial",
         {"total_count": [3.0, 1.5, 7.0, 0.8, 10.0, 2.0], "probs": PROBS},
         lambda total_count, probs: st.nbinom(total_count, 1 - np.asarray(probs)),
         lambda p: _ints(p, 10), checks=("log_prob", "mean", "variance"),
         grad=("total_count", "probs")),
    Case("NegativeBinomial-logits", "NegativeBinomial",
         {"total_count": [3.0, 1.5, 7.0, 0.8, 10.0, 2.0], "logits": LOGITS},
         lambda total_count, logits: st.nbinom(total_count, 1 - expit(logits)),
         lambda p: _ints(p, 10), checks=("log_prob", "mean", "variance"),
         grad=("logits",)),
    Case("NegativeBinomial2", "NegativeBinomial2",
         {"mean": [3.0, 0.5, 8.0, 1.2, 4.0, 2.0], "concentration": [2.0, 0.7, 5.0, 1.3, 9.0, 3.3]},
         lambda mean, concentration: st.nbinom(
             concentration, np.asarray(concentration) / (np.asarray(concentration) + mean)),
         lambda p: _ints(p, 10), checks=("log_prob", "mean", "variance")),
    Case("ZeroInflatedPoisson", "ZeroInflatedPoisson",
         {"rate": [2.5, 0.3, 7.0, 1.0, 12.0, 4.2], "gate": [0.2, 0.5, 0.05, 0.7, 0.3, 0.0]},
         lambda rate, gate: ZeroInflated(st.poisson(rate), gate), lambda p: _ints(p, 8),
         checks=("log_prob", "mean", "variance"), grad=("rate", "gate")),
    Case("ZeroInflatedPoisson-logits", "ZeroInflatedPoisson",
         {"rate": [2.5, 0.3, 7.0, 1.0, 12.0, 4.2], "gate_logits": LOGITS},
         lambda rate, gate_logits: ZeroInflated(st.poisson(rate), expit(gate_logits)),
         lambda p: _ints(p, 8), checks=("log_prob", "mean", "variance")),
    Case("ZeroInflatedNegativeBinomial", "ZeroInflatedNegativeBinomial",
         {"total_count": [3.0, 1.5, 7.0, 0.8, 10.0, 2.0], "probs": PROBS,
          "gate": [0.2, 0.5, 0.05, 0.7, 0.3, 0.1]},
         lambda total_count, probs, gate: ZeroInflated(
             st.nbinom(total_count, 1 - np.asarray(probs)), gate),
         lambda p: _ints(p, 8), checks=("log_prob", "mean", "variance")),
    Case("OrderedLogistic", "OrderedLogistic",
         {"predictor": [0.3, -1.0, 2.0, 0.0, 1.5, -2.5]},
         lambda predictor: CategoricalOracle(ordered_logistic_probs(
             predictor, np.array([-1.0, 0.2, 1.5]))),
         lambda p: _ints(p, 4), checks=("log_prob", "entropy"),
         fixed={"cutpoints": np.array([-1.0, 0.2, 1.5])}, enumerable=True, grad=("predictor",),
         gof_max=3),
]

# Vector-parameter discrete families: name -> (ctor, params by batch shape, values, oracle)
SIMPLEX_2x3x4 = np.array(
    [[[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]],
     [[0.05, 0.05, 0.45, 0.45], [0.4, 0.3, 0.2, 0.1], [0.97, 0.01, 0.01, 0.01]]])
LOGITS_2x3x4 = np.array(
    [[[0.1, -0.2, 1.3, 0.4], [2.0, 0.0, -1.0, 0.5], [0.7, 0.1, -3.1, 0.1]],
     [[-0.5, 0.05, 0.45, 1.45], [0.4, 0.3, 0.2, 0.1], [4.0, 0.0, -2.0, 1.0]]])


def vector_param_sets(base: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Batch shapes (), (2,), (2, 3) from a (2, 3, K) table."""
    return [("()", base[0, 0]), ("(2,)", base[:, 0]), ("(2,3)", base)]


def batch_shape(params: dict[str, Any]) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*(np.shape(v) for v in params.values())))


def param_sets(case: Case) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Parameter sets of batch shapes (), (2,), (2, 3) for ``case``."""
    names = list(case.ranges)
    out = [("()", {k: np.asarray(case.ranges[k][0], float) for k in names}),
           ("(2,)", {k: np.asarray(case.ranges[k][:2], float) for k in names})]
    p23 = {}
    for i, k in enumerate(names):
        vals = np.asarray(case.ranges[k], float)
        p23[k] = vals.reshape(2, 3) if i == 0 else vals[:3]
    out.append(("(2,3)", p23))
    return out


def gof_bins(pmf: np.ndarray, n: int, min_expected: float = 5.0) -> np.ndarray:
    """Indices 0..m of values whose expected count is at least ``min_expected``; the rest of
    the mass is lumped into one tail bin by the caller."""
    return np.nonzero(pmf * n >= min_expected)[0]


def chi2_pvalue(samples: np.ndarray, pmf_fn: Callable[[np.ndarray], np.ndarray],
                support_max: int) -> float:
    """Chi-square goodness of fit of integer ``samples`` against ``pmf_fn`` on
    ``0..support_max`` (values with expected count < 5 are pooled with the remainder)."""
    n = samples.size
    ks = np.arange(support_max + 1)
    pmf = pmf_fn(ks.astype(float))
    keep = pmf * n >= 5.0
    obs = np.array([(samples == k).sum() for k in ks[keep]], float)
    exp = pmf[keep] * n
    rest_obs = n - obs.sum()
    rest_exp = n - exp.sum()
    if rest_exp >= 5.0:
        obs = np.append(obs, rest_obs)
        exp = np.append(exp, rest_exp)
    elif rest_obs > 0:
        # pool the small remainder into the last kept bin
        obs[-1] += rest_obs
        exp[-1] += rest_exp
    stat = ((obs - exp) ** 2 / exp).sum()
    return float(st.chi2.sf(stat, len(obs) - 1))
