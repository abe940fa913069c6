"""Old import path, kept working: this module is `rankinv.sandbox.tasks`."""

import sys

from rankinv.sandbox import tasks as _moved

sys.modules[__name__] = _moved
