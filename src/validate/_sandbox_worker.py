"""Old import path, kept working: this module is `rankinv.sandbox._worker`."""

import sys

from rankinv.sandbox import _worker as _moved

sys.modules[__name__] = _moved
