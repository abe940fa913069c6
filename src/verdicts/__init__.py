"""Verdicts on records, without a model (no torch, no jax): the stage-1 signals and the free
baselines, the stage-2 labels, rules and log readers, monitor, rank and compare."""
