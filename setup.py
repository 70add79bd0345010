"""Build script for the one compiled part of polyro, an optional Threefry kernel.

Everything else is in ``pyproject.toml``. The extension is ``optional``: where it cannot be
built (no C compiler), installation goes on without it and polyro hashes with numpy ufuncs
instead -- the same bits, slower (``polyro.backends._threefry``).
"""

import sys

from setuptools import Extension, setup

# no contraction of a * b + c into one rounding: the float results must be those of numpy
flags = ["/fp:strict"] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]
setup(ext_modules=[Extension("polyro.backends._threefry_kernel",
                             ["polyro/backends/_threefry_kernel.c"],
                             extra_compile_args=flags, optional=True)])
