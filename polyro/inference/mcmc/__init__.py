"""Markov chain Monte Carlo: HMC, NUTS, gradient-free kernels and the MCMC driver.

>>> from polyro.inference.mcmc import MCMC, NUTS, HMC, RandomWalkMetropolis, AIES
>>> NUTS(potential_fn=lambda z: (z["x"] ** 2).sum()).max_tree_depth
10
"""

from __future__ import annotations

from .gradient_free import AIES, AIESState, RandomWalkMetropolis, RWMState
from .hmc import HMC, HMCState
from .mcmc import MCMC
from .nuts import NUTS

__all__ = ["MCMC", "HMC", "NUTS", "RandomWalkMetropolis", "AIES", "HMCState", "RWMState",
           "AIESState"]
