"""The base model's GRPO line says why its final pass@k is '-' (issue 38c, a fresh-clone
try: `experiment mini` printed "grpo base: ... final pass@10 - (0 s)" unexplained)."""

from rankinv.experiment.train import grpo_line

PRE = {"pass_at_1": 0.2, "entropy": 0.5}


def test_the_base_run_says_why_final_is_dash():
    res = {"name": "base", "pre": PRE, "final_pass_at_k": None, "rl_seconds": 0.1}
    assert grpo_line(res, 10, 0) == (
        "grpo base: pre pass@1 0.200 H 0.500; final pass@10 - (no RL step: the base model is "
        "evaluated only, as the reference; 0 s)"
    )


def test_a_trained_run_keeps_its_line():
    res = {"name": "d1-s0", "pre": PRE, "final_pass_at_k": 0.5, "rl_seconds": 12.0}
    assert grpo_line(res, 10, 40) == (
        "grpo d1-s0: pre pass@1 0.200 H 0.500 -> final pass@10 0.500 (12 s)"
    )
