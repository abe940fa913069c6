"""`rankinv validate` as a user meets it: one-line errors before any model load, Ctrl-C
that says what was kept, the options of the new engine (issues 17 and 19)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model, train_tokenizer  # noqa: E402

from rankinv.sandbox import tasks as task_sets  # noqa: E402

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    tasks = task_sets.load("humaneval")
    tok = train_tokenizer([t.prompt + t.canonical_solution for t in tasks])
    tok.chat_template = CHATML
    return build_model("qwen2", tmp_path_factory.mktemp("qwen2"), tok, seed=1)


def cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "validate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(run, needle):
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert needle in lines[0], lines[0]


def test_model_dir_without_tokenizer_files(model_dir, tmp_path):
    bad = tmp_path / "no_tok"
    shutil.copytree(model_dir, bad)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (bad / f).unlink()
    run = cli("--model", bad, "--out", tmp_path / "o", "--limit", 1, "--samples", 8)
    one_line_error(run, "no tokenizer files")


def test_config_without_model_type(model_dir, tmp_path):
    bad = tmp_path / "no_type"
    shutil.copytree(model_dir, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg.pop("model_type")
    (bad / "config.json").write_text(json.dumps(cfg))
    run = cli("--model", bad, "--out", tmp_path / "o", "--limit", 1, "--samples", 8)
    one_line_error(run, 'config.json has no "model_type"')


def test_out_existing_file_is_checked_before_loading(model_dir, tmp_path):
    # weights that cannot load: had the model been loaded first, the error would say so
    bad = tmp_path / "corrupt"
    shutil.copytree(model_dir, bad)
    (bad / "model.safetensors").write_bytes(b"not safetensors")
    out = tmp_path / "taken.txt"
    out.write_text("mine")
    run = cli("--model", bad, "--out", out, "--limit", 1, "--samples", 8)
    one_line_error(run, f"--out {out} is an existing file")
    assert out.read_text() == "mine"
    for opt, val, needle in (
        ("--entropy", "tokens", "--entropy must be prompt, rollout or both"),
        ("--engine", "tgi", "--engine must be one of hf, vllm"),
        ("--batch-size", "0", "--batch-size must be >= 1"),
    ):
        one_line_error(cli("--model", bad, "--out", tmp_path / "o", opt, val), needle)


def test_text_output_explains_pass_at_64_and_chat_run(model_dir, tmp_path):
    out = tmp_path / "probe"
    run = cli(
        "--model", model_dir, "--out", out, "--limit", 2, "--samples", 8, "--group-size", 4,
        "--max-new-tokens", 12, "--chat-template", "--stop", "\\n\\n", "--batch-size", 5,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    text = " ".join(run.stdout.split())
    assert "pass@64 needs at least 64 samples per problem, this probe has 8" in text
    summary = json.loads((out / "validate_summary.json").read_text())
    assert summary["chat_template"] is True and summary["stop"] == ["\n\n"]
    assert summary["tag"]["sampling"]["chat_template"] is True
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(recs) == 16 and sorted({r["sample"] for r in recs}) == list(range(8))
    for r in recs:
        assert "\n\n" not in r["answer"] and 1 <= r["n_tokens"] <= 12
        assert r["mean_entropy"] > 0  # exact rollout entropy, scored after sampling


def test_ctrl_c_says_what_was_kept_and_resumes(model_dir, tmp_path):
    out = tmp_path / "probe"
    args = [
        sys.executable, "-m", "rankinv.cli", "validate", "--model", str(model_dir),
        "--out", str(out), "--limit", 40, "--samples", 8, "--max-new-tokens", 64,
        "--batch-size", 4, "--entropy", "rollout", "--json",
    ]  # fmt: skip
    args = [str(a) for a in args]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    samples = out / "samples.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and not (samples.exists() and samples.stat().st_size > 0):
        time.sleep(0.2)
    assert samples.exists(), "no sample was written within 240 s"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    kept = len(samples.read_text().splitlines())
    assert 0 < kept < 320
    assert f"kept {kept} of 320 samples in {samples}" in stderr
    assert "rerun the same command to resume" in stderr
    assert "Traceback" not in stderr


def test_validate_refuses_temperature_zero(tmp_path):
    import subprocess
    import sys

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rankinv.cli",
            "validate",
            "--model",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--temperature",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "temperature must be > 0" in run.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "opt, val, needle",
    [
        ("--max-new-tokens", "0", "max_new_tokens must be an integer >= 1, got 0"),
        ("--n-prompts", "0", "n_prompts must be a positive integer"),
        ("--workers", "0", "workers must be an integer in [1,"),
    ],
)
def test_sampling_and_plan_checks_come_before_the_model_and_the_out_folder(
    tmp_path, opt, val, needle
):
    # --model names no model: had it been looked at (or loaded) first, the error would say so
    out = tmp_path / "r10"
    run = cli("--model", tmp_path / "nomodel", "--benchmark", "synthetic", "--limit", 2,
              "--samples", 8, "--out", out, opt, val, timeout=120)  # fmt: skip
    one_line_error(run, needle)
    assert not out.exists()


def test_a_limit_above_the_benchmark_is_said(model_dir):
    # a fresh-clone try: --limit 100000 probed every problem without a word
    from rankinv.sandbox import tasks as task_sets
    from rankinv.validate.fanout import check_inputs

    n = len(task_sets.load("synthetic"))
    got = check_inputs([str(model_dir)], "synthetic", None, n + 1)
    assert got == f"--limit {n + 1} is more than synthetic's {n} problems: all {n} are probed"
    assert check_inputs([str(model_dir)], "synthetic", None, n) is None
