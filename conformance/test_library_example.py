"""The library-author guide's example: one package, used from torch and from JAX."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from polyro.testing import gradient_backends

from .library_example import jax_script, torch_script


def test_package_imports_no_engine():
    code = ("import sys; import conformance.library_example.models; "
            "print('torch' in sys.modules, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == ["False", "False"]


# 150 + 150 draws instead of the scripts' 300 + 300: the posterior mean's Monte Carlo error stays
# near 0.005, far inside the tolerances below
SHORT = {"num_warmup": 150, "num_samples": 150}


def test_torch_and_jax_users_get_the_same_fit():
    fits = {}
    if "torch" in gradient_backends():
        fits["torch"] = torch_script.main(**SHORT)
    if "jax" in gradient_backends():
        fits["jax"] = jax_script.main(**SHORT)
    truth = np.array([1.0, -2.0])
    for name, w in fits.items():
        # 80 points, t(5) noise of scale 0.3: the posterior sd of each weight is about 0.04
        assert np.all(np.abs(w - truth) < 0.2), (name, w)
    if len(fits) == 2:
        assert np.all(np.abs(fits["torch"] - fits["jax"]) < 0.1)
