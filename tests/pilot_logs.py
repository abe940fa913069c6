"""A pilot run's TRL log for the rank tests: per-step entropy and zero-std share."""

import json


def trl_log(path, entropies, zero_std):
    """trainer_state.json at ``path`` with one record per step (reward 0.1, max_steps 12)."""
    hist = [
        {"step": s, "entropy": h, "frac_reward_zero_std": z, "reward": 0.1}
        for s, (h, z) in enumerate(zip(entropies, zero_std, strict=True), start=1)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"log_history": hist, "max_steps": 12}))
    return path
