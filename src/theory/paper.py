"""The paper's constants and rules, in one place (Aphale & Liu, arXiv 2606.18487).

Everything that cites the paper's numbers imports them from here; the tables themselves are
in ``rankinv/data/paper.json``. These are the paper's calibrations, kept as the baseline that
rankinv's measured rules are scored against (``rankinv calibrate``), not as truths.
"""

from __future__ import annotations

from importlib import resources

#: Stage 1: prompt-token entropy (nats) below which the paper calls a checkpoint collapsed.
#: Calibrated on the Qwen2.5-Coder-3B ladder (Table 3); the ordering transfers, the number may not.
TAU_H = 0.18

#: Stage 2, the paper's rule: stop when mean rollout entropy at CHECK_STEP has fallen by more
#: than DROP_THRESHOLD relative to its value at REF_STEP.
REF_STEP = 10
CHECK_STEP = 150
DROP_THRESHOLD = 0.5

#: The paper's GRPO runs: groups of GROUP_SIZE rollouts per prompt, RL_STEPS steps long (its
#: stage-2 check is at step CHECK_STEP *of* RL_STEPS). rankinv's planned-run defaults
#: (``rankinv.records.Plan``) are these.
GROUP_SIZE = 8
RL_STEPS = 400

#: The paper's reported correlation of entropy with post-RL pass@10 (Qwen2.5-Coder-3B).
RHO_ENTROPY_QWEN = 0.69


def tables_path():
    """Path of the paper's tables (JSON) shipped with the package."""
    return resources.files("rankinv") / "data" / "paper.json"
