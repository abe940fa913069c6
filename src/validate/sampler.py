"""Kept only for ``rankinv.integrations.trl``, which imports ``prompt_entropy`` from here:
delete this file once it imports :func:`rankinv.validate.scoring.prompt_entropy`."""

from rankinv.validate.scoring import prompt_entropy

__all__ = ["prompt_entropy"]
