"""A variational autoencoder trained with SVI on torch (torch.nn) or JAX (parameter pytrees).

The data are tiny MNIST-like 8x8 binary "digits" made on the fly with numpy (no download): ten
stroke prototypes, each jittered and corrupted with pixel noise. Encoder and decoder are
registered with ``polyro.module``; SVI with ``Trace_ELBO`` trains both, and the ELBO curve is
printed (and saved, by default as ``vae_elbo.png`` in the working directory, when matplotlib is
installed). SVI needs gradients: on numpy it stops with polyro's ``AutodiffUnavailableError``.

Run::

    python docs/examples/vae.py --backend torch
    python docs/examples/vae.py --backend jax --steps 1000
"""

from __future__ import annotations

import os
import time

import numpy as np
from _common import parser, run

import polyro
import polyro.distributions as dist
from polyro.inference import SVI, Trace_ELBO
from polyro.optim import Adam

PIX, Z_DIM, HIDDEN = 64, 4, 64


def make_digits(n: int, seed: int = 0) -> np.ndarray:
    """``n`` binary 8x8 images (flattened to 64) from 10 stroke prototypes."""
    rng = np.random.default_rng(seed)
    protos = np.zeros((10, 8, 8))
    for k in range(10):
        img = protos[k]
        r0, c0 = rng.integers(1, 4, size=2)
        for _ in range(3):  # three strokes per prototype
            horizontal = rng.random() < 0.5
            length = rng.integers(3, 6)
            for t in range(length):
                r, c = (r0, c0 + t) if horizontal else (r0 + t, c0)
                img[min(r, 7), min(c, 7)] = 1.0
            r0, c0 = rng.integers(1, 6, size=2)
    labels = rng.integers(0, 10, size=n)
    shifts = rng.integers(-1, 2, size=(n, 2))
    x = np.stack([np.roll(protos[k], tuple(s), axis=(0, 1)) for k, s in zip(labels, shifts, strict=False)])
    flip = rng.random(x.shape) < 0.03
    x = np.where(flip, 1.0 - x, x)
    return x.reshape(n, PIX)


# ----------------------------------------------------------------------------- networks
def torch_networks(seed: int):
    import torch

    torch.manual_seed(seed)
    dt = torch.float64
    enc = torch.nn.Sequential(torch.nn.Linear(PIX, HIDDEN), torch.nn.Softplus(),
                              torch.nn.Linear(HIDDEN, 2 * Z_DIM)).to(dt)
    dec = torch.nn.Sequential(torch.nn.Linear(Z_DIM, HIDDEN), torch.nn.Softplus(),
                              torch.nn.Linear(HIDDEN, PIX)).to(dt)
    return enc, dec


def _mlp_params(rng, sizes):
    return {f"l{i}": {"w": rng.normal(size=(a, b)) / np.sqrt(a), "b": np.zeros(b)}
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False))}


def pytree_networks(seed: int):
    """(apply_fn, params) pairs: plain parameter pytrees, no network library needed."""
    be = polyro.backends.current()
    rng = np.random.default_rng(seed)

    def apply(params, x):
        n = len(params)
        for i in range(n):
            layer = params[f"l{i}"]
            x = x @ layer["w"] + layer["b"]
            if i < n - 1:
                x = be.softplus(x)
        return x

    def conv(tree):
        return {k: {kk: be.asarray(vv) for kk, vv in v.items()} for k, v in tree.items()}

    enc = (apply, conv(_mlp_params(rng, [PIX, HIDDEN, 2 * Z_DIM])))
    dec = (apply, conv(_mlp_params(rng, [Z_DIM, HIDDEN, PIX])))
    return enc, dec


# ----------------------------------------------------------------------------- model / guide
def make_model_guide(enc_net, dec_net, n_data: int, batch: int):
    be = polyro.backends.current()

    def model(x):
        decoder = polyro.module("decoder", dec_net)
        xp = polyro.backends.namespace(x)
        with polyro.plate("data", n_data, subsample_size=batch) as idx:
            xb = xp.take(x, idx, axis=0)
            loc = xp.zeros((batch, Z_DIM), dtype=xb.dtype)
            z = polyro.sample("z", dist.Normal(loc, 1.0).to_event(1))
            logits = decoder(z)
            polyro.sample("x", dist.Bernoulli(logits=logits).to_event(1), obs=xb)

    def guide(x):
        encoder = polyro.module("encoder", enc_net)
        xp = polyro.backends.namespace(x)
        with polyro.plate("data", n_data, subsample_size=batch) as idx:
            xb = xp.take(x, idx, axis=0)
            h = encoder(xb)
            loc, scale = h[..., :Z_DIM], be.softplus(h[..., Z_DIM:]) + 1e-3
            polyro.sample("z", dist.Normal(loc, scale).to_event(1))

    return model, guide


def main(argv: list[str] | None = None) -> list[float]:
    p = parser("vae", __doc__, ("torch", "jax"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--n-data", type=int, default=500)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--lr", type=float, default=1e-2)
    p.set_defaults(backend="torch", plot="vae_elbo.png")
    args = p.parse_args(argv)
    if args.quick:  # a few steps on a small data set (tests)
        args.steps, args.n_data, args.batch = 20, 100, 20

    polyro.set_backend(args.backend)
    polyro.set_default_dtype("float64")
    be = polyro.backends.current()
    x = be.asarray(make_digits(args.n_data, args.seed))
    if args.backend == "torch":  # example code may pick the network flavour per engine
        enc, dec = torch_networks(args.seed)
    else:
        enc, dec = pytree_networks(args.seed)
    model, guide = make_model_guide(enc, dec, args.n_data, args.batch)
    svi = SVI(model, guide, Adam(args.lr), Trace_ELBO())
    t0 = time.perf_counter()
    res = svi.run(args.seed, args.steps, x, progress_bar=False)
    dt = time.perf_counter() - t0
    losses = np.asarray(be.to_numpy(res.losses))
    # ELBO per image: the loss is -ELBO of the whole data set (plate scaling)
    elbo = -losses / args.n_data
    every = max(1, args.steps // 12)
    print(f"VAE on {args.backend}: {args.steps} steps in {dt:.1f} s "
          f"({1e3 * dt / args.steps:.2f} ms/step)")
    print("step   ELBO/image (running mean of 20)")
    for i in range(0, args.steps, every):
        lo = max(0, i - 19)
        print(f"{i:5d}  {elbo[lo:i + 1].mean():9.3f}")
    print(f"final  {elbo[-20:].mean():9.3f}  (start {elbo[:20].mean():.3f})")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot(elbo)
        ax.set(xlabel="step", ylabel="ELBO per image", title=f"polyro VAE ({args.backend})")
        os.makedirs(os.path.dirname(os.path.abspath(args.plot)), exist_ok=True)
        fig.savefig(args.plot, dpi=80)
        plt.close(fig)
        print(f"saved {args.plot}")
    except ImportError:
        pass
    return elbo.tolist()


if __name__ == "__main__":
    run(main)
