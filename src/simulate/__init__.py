"""JAX simulator of SFT to a chosen depth followed by GRPO on synthetic policies.

jax is imported by the submodules that need it, not by ``import rankinv.simulate``.
"""

from rankinv.simulate.config import PRESETS, SimConfig, preset
from rankinv.simulate.sweep import run_sweep

__all__ = ["PRESETS", "SimConfig", "preset", "run_sweep"]
