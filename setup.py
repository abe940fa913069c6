"""The package list, found by setuptools (src/ is the package `rankinv`; every folder with an
__init__.py under it is a subpackage): no hand-kept list to forget one. Everything else is
in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=["rankinv", *(f"rankinv.{p}" for p in find_packages("src"))])
