"""The real GRPOTrainer corpus's design (no training here: tests/test_crash_resume.py runs the
builder): version 2's evaluations resolve +-0.05, its settings carry >= 3 seeds, and the
logging_steps 10 replicates train exactly what their twins train."""

import collections
import math

import pytest

from rankinv.experiment import trl_corpus as C
from rankinv.verdicts import labels


@pytest.mark.parametrize("n", [1, 7, 14, 35, 64, 800, 801])
def test_samples_per_prompt_are_the_fewest_that_resolve_the_halfwidth(n):
    m = C.samples_for(n, 4, 0.05)
    assert m % 4 == 0

    def halfwidth(m_):
        return labels.LABEL_Z * math.sqrt(2) * labels.eval_se(0.5, n, m_, 4)

    assert halfwidth(m) <= 0.05 + 1e-12
    if m > 4:
        assert halfwidth(m - 4) > 0.05


def test_v2_sizes_each_family_and_v1_keeps_its_fixed_evaluation():
    spec = {"difficulty": "easy"}
    assert C.eval_size(spec, C.V2) == {"eval_prompts": 14, "eval_samples": 232, "k": 4}
    assert C.eval_size({"difficulty": "mixed"}, C.V2)["eval_prompts"] == 64
    assert C.eval_size(spec, C.CorpusConfig()) == {"eval_prompts": 14, "eval_samples": 8, "k": 4}


def test_v2_design_has_seeds_filtered_prompts_and_log10_twins():
    runs = C.grid_v2()
    names = [r["name"] for r in runs]
    assert len(names) == len(set(names))
    per = collections.Counter(r["setting"] for r in runs if r["logging_steps"] == 1)
    assert min(per.values()) >= 3 and len(per) == len(C.V2_SETTINGS)
    assert {r["prompts"] for r in runs} == {"all", "filtered", "solved", "mastered"}
    assert {r["intent"] for r in runs} >= {"improve", "sharpen", "diverge", "saturate", "strand"}
    by = {r["name"]: r for r in runs}
    tens = [r for r in runs if r["logging_steps"] == 10]
    assert tens
    for r in tens:
        twin = by[r["name"].removesuffix("-log10")]
        assert twin["logging_steps"] == 1 and twin["seed_name"] == r["seed_name"]
        same = {k: v for k, v in r.items() if k not in ("name", "logging_steps")}
        assert same == {k: v for k, v in twin.items() if k not in ("name", "logging_steps")}
    # version 1's grid is untouched: 5 checkpoints x 3 difficulties x 3 lrs x 2 group sizes
    assert len(C.grid()) == 90 and C.grid()[0]["name"] == "base-d0-hard-lr0.004-g8"
