"""GRPO variants compared at their own learning rates (rankinv.simulate.advantages)."""

from rankinv.simulate import settings as S
from rankinv.simulate.advantages import compare_advantages


def test_compare_advantages_chooses_each_variants_rate_on_tuning_seeds(monkeypatch):
    monkeypatch.setattr(S, "DEPTHS", (0.5, 16.0))
    r = compare_advantages(lrs=(0.25, 4.0), tune_seeds=(0,), test_seeds=(1,))
    assert set(r["variants"]) == {"dr-grpo", "grpo"}
    for v in r["variants"].values():
        sweep = {float(k): x for k, x in v["sweep"].items()}
        assert v["chosen_lr"] == max(sweep, key=sweep.get)
        assert v["chosen_at_edge"] is True  # two rates: either is an edge
        assert 0 <= v["test_final_pass_at_1"] <= 1
    # on this task a larger rate does more in 150 steps: the sweep is not flat
    assert r["variants"]["grpo"]["sweep"]["4.0"] > r["variants"]["grpo"]["sweep"]["0.25"] + 0.05
