"""pyro-api's shipped test suite, collected here and run on every installed polyro alias.

The ``backend`` fixture comes from this folder's ``conftest.py``.

Only the shipped ``test_*`` functions are brought into this module. The shipped module also
exports pyro-api's dispatch modules (``pyro``, ``dist``, ...), which import whichever backend is
current on any attribute access; ``--doctest-modules`` inspects every module attribute, and with
Pyro itself not installed that inspection failed at collection.
"""

import pytest

_shipped = pytest.importorskip("pyroapi.tests")

globals().update(
    {name: obj for name, obj in vars(_shipped).items() if name.startswith("test_")}
)
