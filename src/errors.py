"""The one exception for a user's mistake, below every layer (imports nothing of rankinv).

``UserError`` is raised where input from the user is checked: an argument outside its range,
a file that is missing or of the wrong kind, a log without the columns a rule needs. The
console script prints it as one line and exits 2. Any other exception is our bug: the CLI
says so in one line (the traceback with ``RANKINV_DEBUG=1``) and exits 1, so an internal
``ValueError`` (a ``zip(strict=True)`` mismatch, say) is never blamed on the user.

It subclasses ``ValueError`` so that callers of the library (and the public contract: bad
input "raises ValueError") keep working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input from the user: printed as one line, exit status 2."""


class InputNotFound(UserError, FileNotFoundError):
    """A path the user gave does not exist (also a ``FileNotFoundError``)."""


class NotADirectoryInput(UserError, NotADirectoryError):
    """A path the user gave is a file where a directory is needed."""
