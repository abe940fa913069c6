"""rankinv: predict rank inversion of SFT checkpoints under GRPO, and check the prediction.

Importing this package imports neither jax nor torch; the heavy layers load them lazily.
"""

__version__ = "0.1.0"
