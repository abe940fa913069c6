"""Validation against real checkpoints and real RL logs.

Submodules import torch/transformers only where they need them: ``monitor`` and
``compare`` are pure Python + numpy; ``sampler``/``probe`` load torch lazily.
"""
