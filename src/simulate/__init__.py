"""JAX simulator of SFT to a chosen depth followed by GRPO on synthetic policies.

New work uses the generalising (family) policy: engine.py (prompt batches, held-out prompts,
GRPO as TRL and verl define it, DAPO as its paper defines it; reference.FamilyReference is
its NumPy reference) and population.py (ladders across settings, ``rankinv simulate
--population``). core.py / sweep.py keep the cited legacy presets quick, paper, high-base.

jax is imported by the submodules that need it, not by ``import rankinv.simulate``.
"""

from rankinv.simulate.config import PRESETS, SimConfig, preset
from rankinv.simulate.sweep import run_sweep

__all__ = ["PRESETS", "SimConfig", "preset", "run_sweep"]
