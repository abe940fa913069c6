"""`python -m rankinv.cli ...`: the console script."""

from rankinv.cli import entry

entry()
