"""pyro-api's shipped test suite, collected here and run on every installed polyro alias.

The ``backend`` fixture comes from this folder's ``conftest.py``.
"""

import pytest

pytest.importorskip("pyroapi")

from pyroapi.tests import *  # noqa: E402,F401,F403
