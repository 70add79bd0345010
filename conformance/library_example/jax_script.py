"""A JAX user of the package: jax arrays in, NUTS compiled with jax.jit."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import polyro

from .models import fit


def main(seed: int = 0, **fit_kwargs):
    """Fit the package's model to simulated data; ``fit_kwargs`` go to ``fit``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 2))
    y = X @ np.array([1.0, -2.0]) + 0.3 * rng.standard_t(5, size=80)
    with polyro.backend("jax"):
        return fit(jnp.asarray(X), jnp.asarray(y), **fit_kwargs)


if __name__ == "__main__":
    print(main())
