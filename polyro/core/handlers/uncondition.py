"""``uncondition``: treat observed sites as latent (their data kept in ``infer["obs"]``).

>>> import polyro, polyro.distributions as dist
>>> from polyro import handlers
>>> model = lambda: polyro.sample("x", dist.Normal(0.0, 1.0), obs=10.0)
>>> tr = handlers.trace(handlers.seed(handlers.uncondition(model), rng_seed=0)).get_trace()
>>> tr["x"]["is_observed"], float(tr["x"]["infer"]["obs"])
(False, 10.0)
"""

from __future__ import annotations

from polyro.core.runtime import Message, Messenger

__all__ = ["uncondition"]


class uncondition(Messenger):
    """Make every observed sample site latent: its value is drawn again; the data are kept in
    ``msg["infer"]["obs"]`` and ``msg["infer"]["was_observed"]`` is True.

    >>> uncondition().fn is None
    True
    """

    def _pyro_sample(self, msg: Message) -> None:
        if not msg["is_observed"]:
            return
        msg["infer"] = {**msg["infer"], "was_observed": True, "obs": msg["value"]}
        msg["is_observed"] = False
        msg["value"] = None
        msg["done"] = False
