"""Stage 3 of the probe, score (run by rankinv.validate.probe): the prompt entropies and the rollout
entropies the sampler could not see, by the teacher-forced scorer, appended to samples.jsonl
as entropy records (so this phase resumes too)."""

from __future__ import annotations

import json

from rankinv._io import JsonlAppender, write_json
from rankinv.verdicts.probe_result import PROMPT_ENTROPY, SAMPLES

#: Samples per teacher-forced scoring call in phase 3 (each call's results are appended).
SCORE_BLOCK = 256


def score(eng, tasks, prompt_ids, done, key, out_dir, entropy_mode, counts) -> dict:
    """Stage 3: prompt entropies (cached in prompt_entropy.json) and the rollout entropies
    the sampler left unscored, both by the teacher-forced scorer."""
    ph_path = out_dir / PROMPT_ENTROPY
    prompt_h: dict[str, float] = {}
    want_prompt = entropy_mode in ("prompt", "both")
    if want_prompt and ph_path.exists():
        cached = json.loads(ph_path.read_text())
        if cached.get("run_key") == key:
            prompt_h = cached["values"]
    index = {t.task_id: i for i, t in enumerate(tasks)}
    todo = [r for t in tasks for r in done.get(t.task_id, []) if r.get("mean_entropy") is None]
    if not todo and (prompt_h or not want_prompt):
        return prompt_h
    scorer = eng.scorer()
    if want_prompt and not prompt_h:
        vals = scorer.prompt_entropy(prompt_ids)
        prompt_h = {t.task_id: v for t, v in zip(tasks, vals, strict=True)}
        write_json(ph_path, {"run_key": key, "values": prompt_h})
    with JsonlAppender(out_dir / SAMPLES) as fh:
        for b in range(0, len(todo), SCORE_BLOCK):
            block = todo[b : b + SCORE_BLOCK]
            hs = scorer.rollout_entropies(
                [prompt_ids[index[r["task_id"]]] for r in block], [r["token_ids"] for r in block]
            )
            for r, h in zip(block, hs, strict=True):
                r["mean_entropy"] = float(sum(h) / len(h)) if h else 0.0
                fh.write(json.dumps(_entropy_record(key, r)) + "\n")
            fh.flush()
            counts["scored"] += len(block)
    return prompt_h


def _entropy_record(key: str, rec: dict) -> dict:
    return {
        "run_key": key,
        "kind": "entropy",
        "task_id": rec["task_id"],
        "sample": rec["sample"],
        "mean_entropy": rec["mean_entropy"],
    }
