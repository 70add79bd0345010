"""The posteriordb reference models, translated from the math in ``shared/posteriordb/MODELS.md``.

Each model takes its data as keyword arguments of backend arrays (the harness converts the
numpy data once, at the boundary) and uses only polyro primitives, ``polyro.distributions`` and
``polyro.ops``, so it runs unchanged on numpy, torch and JAX.
"""

from __future__ import annotations

import numpy as np

import polyro as pr
import polyro.distributions as dist
from polyro import ops
from polyro.distributions import constraints

from .posteriordb import load_data

# ---------------------------------------------------------------- eight schools


def eight_schools_noncentered(J, sigma, y=None):
    mu = pr.sample("mu", dist.Normal(0.0, 5.0))
    tau = pr.sample("tau", dist.HalfCauchy(5.0))
    with pr.plate("J", J):
        theta_trans = pr.sample("theta_trans", dist.Normal(0.0, 1.0))
        theta = pr.deterministic("theta", mu + tau * theta_trans)
        pr.sample("y", dist.Normal(theta, sigma), obs=y)


def eight_schools_centered(J, sigma, y=None):
    mu = pr.sample("mu", dist.Normal(0.0, 5.0))
    tau = pr.sample("tau", dist.HalfCauchy(5.0))
    with pr.plate("J", J):
        theta = pr.sample("theta", dist.Normal(mu, tau))
        pr.sample("y", dist.Normal(theta, sigma), obs=y)


def eight_schools_data(name="eight_schools-eight_schools_noncentered"):
    d = load_data(name)
    return {"J": int(d["J"]), "sigma": d["sigma"].astype(float), "y": d["y"].astype(float)}


# ---------------------------------------------------------------- dogs (logistic regression)


def dogs(n_avoid, n_shock, y=None):
    beta = pr.sample("beta", dist.Normal(0.0, 100.0).expand([3]).to_event(1))
    logits = beta[0] + beta[1] * n_avoid + beta[2] * n_shock
    with pr.plate("obs", n_avoid.shape[0]):
        pr.sample("y", dist.Bernoulli(logits=logits), obs=y)


def dogs_data():
    d = load_data("dogs-dogs")
    y = d["y"].astype(float)  # (n_dogs, n_trials)
    prev = np.concatenate([np.zeros((y.shape[0], 1)), y[:, :-1]], axis=1)
    n_shock = np.cumsum(prev, axis=1)
    n_avoid = np.cumsum(np.concatenate([np.zeros((y.shape[0], 1)), 1 - y[:, :-1]], axis=1),
                        axis=1)
    return {"n_avoid": n_avoid.ravel(), "n_shock": n_shock.ravel(), "y": y.ravel()}


# ---------------------------------------------------------------- GP Poisson regression


def gp_pois_regr(x, k=None):
    n = x.shape[0]
    rho = pr.sample("rho", dist.Gamma(25.0, 4.0))
    alpha = pr.sample("alpha", dist.HalfNormal(2.0))
    with pr.plate("N", n):
        f_tilde = pr.sample("f_tilde", dist.Normal(0.0, 1.0))
    diff = x[:, None] - x[None, :]
    cov = alpha**2 * ops.exp(-(diff**2) / (2 * rho**2)) + 1e-10 * ops.eye(n, dtype=x.dtype)
    f = pr.deterministic("f", ops.matmul(ops.cholesky(cov), f_tilde))
    with pr.plate("N", n):
        pr.sample("k", dist.Poisson(ops.exp(f)), obs=k)


def gp_pois_regr_data():
    d = load_data("gp_pois_regr-gp_pois_regr")
    return {"x": d["x"].astype(float), "k": d["k"].astype(float)}


# ---------------------------------------------------------------- AR(K)


def ark(lags, y_now=None):
    K = lags.shape[1]
    alpha = pr.sample("alpha", dist.Normal(0.0, 10.0))
    beta = pr.sample("beta", dist.Normal(0.0, 10.0).expand([K]).to_event(1))
    sigma = pr.sample("sigma", dist.HalfCauchy(2.5))
    mean = alpha + ops.matmul(lags, beta)
    with pr.plate("T", lags.shape[0]):
        pr.sample("y", dist.Normal(mean, sigma), obs=y_now)


def ark_data():
    d = load_data("arK-arK")
    y, K = d["y"].astype(float), int(d["K"])
    T = y.shape[0]
    lags = np.stack([y[K - k - 1: T - k - 1] for k in range(K)], axis=1)  # lag k+1
    return {"lags": lags, "y_now": y[K:]}


# ---------------------------------------------------------------- GARCH(1,1)


def garch11(y, sigma1, tri_pow):
    """Flat priors as in Stan; beta1 is flat on (0, 1 - alpha1).

    beta1 = (1 - alpha1) * beta1_raw with beta1_raw in (0, 1); the factor log(1 - alpha1)
    makes the prior flat in beta1 itself (Stan adds no 1/(1 - alpha1) normalizer).
    """
    mu = pr.sample("mu", dist.ImproperUniform(constraints.real, (), ()))
    alpha0 = pr.sample("alpha0", dist.ImproperUniform(constraints.positive, (), ()))
    alpha1 = pr.sample("alpha1", dist.Uniform(0.0, 1.0))
    beta1_raw = pr.sample("beta1_raw", dist.Uniform(0.0, 1.0))
    pr.factor("beta1_jacobian", ops.log1p(-alpha1))
    beta1 = pr.deterministic("beta1", (1.0 - alpha1) * beta1_raw)
    # s2[t] = c[t] + beta1 s2[t-1]: a linear recurrence, solved in closed form with the
    # lower-triangular matrix W[t, j] = beta1^(t - j), j <= t (tri_pow holds t - j, -1 above).
    c = alpha0 + alpha1 * (y[:-1] - mu) ** 2
    c = ops.concat([ops.reshape(sigma1**2 + 0.0 * mu, (1,)), c])
    mask = tri_pow >= 0
    w = ops.where(mask, beta1 ** ops.where(mask, tri_pow, 0.0 * tri_pow), 0.0 * tri_pow)
    sigma = ops.sqrt(ops.matmul(w, c))
    with pr.plate("T", y.shape[0]):
        pr.sample("y", dist.Normal(mu, sigma), obs=y)


def garch11_data():
    d = load_data("garch-garch11")
    T = int(d["T"])
    t = np.arange(T)
    pow_ = (t[:, None] - t[None, :]).astype(float)
    pow_[pow_ < 0] = -1.0
    # the first row uses sigma1^2 directly: s2[1] = c[1] = sigma1^2 (weights beta1^(t-1) on it)
    return {"y": d["y"].astype(float), "sigma1": float(d["sigma1"]), "tri_pow": pow_}


# ---------------------------------------------------------------- low-dimensional Gaussian mixture


def low_dim_gauss_mix(y):
    mu = pr.sample("mu", dist.ImproperUniform(constraints.ordered_vector, (), (2,)))
    pr.factor("mu_prior", ops.sum(dist.Normal(0.0, 2.0).log_prob(mu)))
    sigma = pr.sample("sigma", dist.HalfNormal(2.0).expand([2]).to_event(1))
    theta = pr.sample("theta", dist.Beta(5.0, 5.0))
    lp1 = ops.log(theta) + dist.Normal(mu[0], sigma[0]).log_prob(y)
    lp2 = ops.log1p(-theta) + dist.Normal(mu[1], sigma[1]).log_prob(y)
    pr.factor("y", ops.sum(ops.logaddexp(lp1, lp2)))


def low_dim_gauss_mix_data():
    return {"y": load_data("low_dim_gauss_mix-low_dim_gauss_mix")["y"].astype(float)}


# ---------------------------------------------------------------- linear regressions


def kidiq(mom_hs, mom_iq, kid_score=None):
    beta = pr.sample("beta", dist.ImproperUniform(constraints.real, (), (3,)))
    sigma = pr.sample("sigma", dist.HalfCauchy(2.5))
    mean = beta[0] + beta[1] * mom_hs + beta[2] * mom_iq
    with pr.plate("N", mom_hs.shape[0]):
        pr.sample("kid_score", dist.Normal(mean, sigma), obs=kid_score)


def kidiq_data():
    d = load_data("kidiq-kidscore_momhsiq")
    return {k: d[k].astype(float) for k in ("mom_hs", "mom_iq", "kid_score")}


def earnings(z, male, log_earn=None):
    beta = pr.sample("beta", dist.ImproperUniform(constraints.real, (), (4,)))
    sigma = pr.sample("sigma", dist.ImproperUniform(constraints.positive, (), ()))
    mean = beta[0] + beta[1] * z + beta[2] * male + beta[3] * z * male
    with pr.plate("N", z.shape[0]):
        pr.sample("log_earn", dist.Normal(mean, sigma), obs=log_earn)


def earnings_data():
    d = load_data("earnings-logearn_interaction_z")
    h = d["height"].astype(float)
    z = (h - h.mean()) / h.std(ddof=1)
    return {"z": z, "male": d["male"].astype(float), "log_earn": np.log(d["earn"].astype(float))}


def diamonds(Xc, Y=None):
    K = Xc.shape[1]
    b = pr.sample("b", dist.Normal(0.0, 1.0).expand([K]).to_event(1))
    intercept = pr.sample("Intercept", dist.StudentT(3.0, 8.0, 10.0))
    sigma = pr.sample("sigma", dist.ImproperUniform(constraints.positive, (), ()))
    pr.factor("sigma_prior", dist.StudentT(3.0, 0.0, 10.0).log_prob(sigma))
    with pr.plate("N", Xc.shape[0]):
        pr.sample("Y", dist.Normal(intercept + ops.matmul(Xc, b), sigma), obs=Y)


def diamonds_data():
    d = load_data("diamonds-diamonds")
    X = d["X"].astype(float)[:, 1:]
    return {"Xc": X - X.mean(axis=0), "Y": d["Y"].astype(float)}


def sblrc_blr(X, y=None):
    D = X.shape[1]
    beta = pr.sample("beta", dist.Normal(0.0, 10.0).expand([D]).to_event(1))
    sigma = pr.sample("sigma", dist.HalfNormal(10.0))
    with pr.plate("N", X.shape[0]):
        pr.sample("y", dist.Normal(ops.matmul(X, beta), sigma), obs=y)


def sblrc_blr_data():
    d = load_data("sblrc-blr")
    return {"X": d["X"].astype(float), "y": d["y"].astype(float)}


# ---------------------------------------------------------------- HMM (forward algorithm)


def hmm_example(y):
    theta1 = pr.sample("theta1", dist.Dirichlet(ops.ones(2, dtype=y.dtype)))
    theta2 = pr.sample("theta2", dist.Dirichlet(ops.ones(2, dtype=y.dtype)))
    mu = pr.sample("mu", dist.ImproperUniform(constraints.positive_ordered_vector, (), (2,)))
    pr.factor("mu_prior", dist.Normal(3.0, 1.0).log_prob(mu[0])
              + dist.Normal(10.0, 1.0).log_prob(mu[1]))
    log_trans = ops.log(ops.stack([theta1, theta2]))  # [from, to]
    emit = dist.Normal(mu, 1.0).log_prob(y[:, None])  # (N, K)
    # the forward algorithm; ops.scan traces its step once on JAX (a Python loop would unroll)
    gamma, _ = ops.scan(lambda g, e: (ops.logsumexp(g[:, None] + log_trans, axis=0) + e, None),
                        emit[0], emit[1:])
    pr.factor("y", ops.logsumexp(gamma, axis=0))


def hmm_example_data():
    return {"y": load_data("hmm_example-hmm_example")["y"].astype(float)}
