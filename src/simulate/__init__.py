"""JAX simulator of SFT to a chosen depth followed by GRPO on synthetic policies.

One engine, grpo.py (SFT then GRPO for every policy: the legacy free-table and shared
policies of the cited presets quick, paper, high-base, and the generalising family policy
with prompt batches, held-out prompts, GRPO as TRL and verl define it, DAPO as its paper
defines it; reference.py is its NumPy reference), sampling primitives in sampling.py, and
one batch driver, batch.py (runs stacked, one compile per shape, one key derivation, sharded
over the local devices) under sweep.py (preset sweeps) and population.py (ladders across
settings, ``rankinv simulate --population``).

jax is imported by the submodules that need it, not by ``import rankinv.simulate``.
"""

from rankinv.simulate.config import PRESETS, SimConfig, preset
from rankinv.simulate.sweep import run_sweep

__all__ = ["PRESETS", "SimConfig", "preset", "run_sweep"]
