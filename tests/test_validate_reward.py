"""`rankinv validate` on RL prompts as training stores them (verl's parquet, chat-list
prompts through the chat template) with the user's own reward judging each sample: p-hat is
the reward's pass rate, recorded per sample; one-line errors before any model loads."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model, train_tokenizer  # noqa: E402

from rankinv.sandbox import tasks as task_sets  # noqa: E402

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
REWARD = "def parity(prompt, completion, **row):\n    return len(completion) % 2 == 0\n"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    tasks = task_sets.load("humaneval")
    tok = train_tokenizer([t.prompt + t.canonical_solution for t in tasks])
    tok.chat_template = CHATML
    return build_model("qwen2", tmp_path_factory.mktemp("qwen2"), tok, seed=2)


def _cli(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "validate", *map(str, args)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_validate_with_a_parquet_and_the_users_reward(model_dir, tmp_path):
    rows = [
        {"data_source": "toy", "prompt": [{"role": "user", "content": f"count to {i}"}],
         "reward_model": {"style": "rule", "ground_truth": str(i)}, "extra_info": {"index": i}}
        for i in range(3)
    ]  # fmt: skip
    data = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    reward = tmp_path / "rw.py"
    reward.write_text(REWARD)
    out = tmp_path / "probe"
    bad = _cli("--model", model_dir, "--benchmark", data, "--reward", f"{reward}:nope",
               "--out", out, "-n", 8)  # fmt: skip
    assert bad.returncode == 2 and "defines no top-level nope" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not out.exists()
    run = _cli("--model", model_dir, "--benchmark", data, "--reward", f"{reward}:parity",
               "--samples", 8, "--max-new-tokens", 6, "--entropy", "prompt", "--out", out,
               "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["reward"] == f"{reward}:parity" and summary["stop"] == []
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    recs = [r for r in recs if r.get("kind") != "entropy"]
    assert len(recs) == 24
    # the reward judged the raw answer text, sample by sample
    assert all(r["passed"] == (len(r["completion"]) % 2 == 0) for r in recs)
    assert any(r["passed"] for r in recs) and not all(r["passed"] for r in recs)
    problems = [json.loads(x) for x in (out / "problems.jsonl").read_text().splitlines()]
    by_task = {p["task_id"]: p["c"] for p in problems}
    for tid in ("toy/0", "toy/1", "toy/2"):
        assert by_task[tid] == sum(r["passed"] for r in recs if r["task_id"] == tid)
