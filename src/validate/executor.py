"""Old import path, kept working: this module is `rankinv.sandbox.executor`."""

import sys

from rankinv.sandbox import executor as _moved

sys.modules[__name__] = _moved
