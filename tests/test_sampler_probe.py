"""Samplers and the checkpoint probe on tiny Qwen2 / Llama models built in the test."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model  # noqa: E402

from rankinv.validate.sampler import (  # noqa: E402
    HFSampler,
    entropy_from_top_logprobs,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def model_dir(request, tmp_path_factory, tokenizer):
    return build_model(request.param, tmp_path_factory.mktemp(request.param), tokenizer, seed=1)


@pytest.fixture(scope="module")
def sampler(model_dir):
    return HFSampler(model_dir, batch_size=16)


@pytest.fixture(scope="module")
def tasks(humaneval_tasks):
    return humaneval_tasks


def test_rollout_entropies_equal_direct_computation(sampler, tasks):
    prompt = tasks[3].prompt
    gens = sampler.generate([prompt], n=3, max_new_tokens=12, stop=(), seed=5)[0]
    ids = sampler.tokenizer(prompt, return_tensors="pt").input_ids[0]
    for g in gens:
        assert g.n_tokens == len(g.token_ids) == len(g.entropies) == 12
        full = torch.cat([ids, torch.tensor(g.token_ids[:-1])])
        with torch.no_grad():
            logits = sampler.model(full[None]).logits[0, len(ids) - 1 :].float()
        logp = torch.log_softmax(logits, -1)
        direct = (-(logp.exp() * logp).sum(-1)).tolist()
        np.testing.assert_allclose(g.entropies, direct, rtol=1e-4, atol=1e-5)
        # and it is not the surprisal of the sampled tokens
        surprisal = [-float(logp[i, t]) for i, t in enumerate(g.token_ids)]
        assert not np.allclose(g.entropies, surprisal, atol=1e-3)


def test_entropy_is_distribution_not_surprisal(sampler, tasks):
    g = sampler.generate([tasks[0].prompt], n=1, max_new_tokens=8, stop=(), seed=1)[0][0]
    v = len(sampler.tokenizer)
    # a random tiny model is near uniform: entropy ~ ln V, bounded by it
    assert all(0 < h <= np.log(v) + 1e-6 for h in g.entropies)


def test_batched_and_single_greedy_agree(sampler, tasks):
    prompts = [tasks[i].prompt for i in (0, 5, 17)]  # different lengths: left padding
    batched = sampler.generate(prompts, n=1, temperature=0.0, max_new_tokens=16, stop=())
    for p, b in zip(prompts, batched, strict=True):
        single = sampler.generate([p], n=1, temperature=0.0, max_new_tokens=16, stop=())[0][0]
        assert single.text == b[0].text
        np.testing.assert_allclose(single.entropies, b[0].entropies, rtol=1e-4, atol=1e-5)


def test_fixed_seed_reproduces(sampler, tasks):
    a = sampler.generate([tasks[1].prompt], n=4, max_new_tokens=10, seed=42)
    b = sampler.generate([tasks[1].prompt], n=4, max_new_tokens=10, seed=42)
    c = sampler.generate([tasks[1].prompt], n=4, max_new_tokens=10, seed=43)
    assert [g.text for g in a[0]] == [g.text for g in b[0]]
    assert [g.text for g in a[0]] != [g.text for g in c[0]]


def test_stop_sequences_cut(sampler, tasks):
    gens = sampler.generate([tasks[2].prompt], n=8, max_new_tokens=40, seed=3, stop=("e",))[0]
    for g in gens:
        assert "e" not in g.text
        assert len(g.entropies) == g.n_tokens <= 40


def test_prompt_entropy_batched_equals_single(sampler, tasks):
    prompts = [tasks[i].prompt for i in (0, 9, 30)]
    batched = sampler.prompt_entropy(prompts)
    single = [sampler.prompt_entropy([p])[0] for p in prompts]
    np.testing.assert_allclose(batched, single, rtol=1e-5)
    tok, model = sampler.tokenizer, sampler.model
    ids = tok(prompts[0], return_tensors="pt").input_ids
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0].float(), -1)
    assert batched[0] == pytest.approx(float((-(logp.exp() * logp).sum(-1)).mean()), rel=1e-5)


def test_lora_adapter_directory_loads(model_dir, tmp_path, tasks):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir)
    peft_model = get_peft_model(
        base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "adapter_config.json").read_text())
    assert Path(cfg["base_model_name_or_path"]) == Path(model_dir)
    s = HFSampler(tmp_path)
    base_s = HFSampler(model_dir)
    h_lora = s.prompt_entropy([tasks[0].prompt])[0]
    h_base = base_s.prompt_entropy([tasks[0].prompt])[0]
    assert h_lora != pytest.approx(h_base, abs=1e-7)  # the adapter's weights are applied


def test_bad_model_dirs(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        HFSampler(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a model directory"):
        HFSampler(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot load model"):
        HFSampler(tmp_path)


def test_entropy_from_top_logprobs_bounds():
    rng = np.random.default_rng(0)
    for _ in range(50):
        v = 200
        p = rng.dirichlet(np.full(v, 0.1))
        top = np.sort(p)[::-1][:20]
        lo, hi = entropy_from_top_logprobs(np.log(top).tolist(), v)
        h = float(-(p[p > 0] * np.log(p[p > 0])).sum())
        assert lo - 1e-9 <= h <= hi + 1e-9


def test_vllm_missing_is_a_clear_error(tmp_path):
    try:
        import vllm  # noqa: F401

        pytest.skip("vllm is installed")
    except ImportError:
        pass
    from rankinv.validate.sampler import VLLMSampler

    with pytest.raises(ValueError, match=r"pip install 'rankinv\[vllm\]'"):
        VLLMSampler(tmp_path)


def test_validate_end_to_end_and_resume(model_dir, tmp_path):
    out = tmp_path / "probe"
    args = [
        sys.executable,
        "-m",
        "rankinv.cli",
        "validate",
        "--model",
        str(model_dir),
        "--benchmark",
        "humaneval",
        "--samples",
        "8",
        "--group-size",
        "4",
        "--limit",
        "3",
        "--max-new-tokens",
        "24",
        "--out",
        str(out),
        "--json",
    ]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["n_problems"] == 3 and summary["samples_per_problem"] == 8
    # the verdict is the calibrated stage-1 signal, recomputed here from the saved counts
    from rankinv.validate.probe import stage1_verdict
    from rankinv.verdicts import rules

    probs = [json.loads(x) for x in (out / "problems.jsonl").read_text().splitlines()]
    plan = rules.Plan(group_size=8, rl_steps=400, batch_prompts=32, n_prompts=3)
    expect = rules.stage1_signals(
        [p["n"] for p in probs],
        [p["c"] for p in probs],
        plan,
        entropy_rollout=summary["entropy_rollout"],
        entropy_prompt=summary["entropy_prompt"],
    )
    assert summary["signals"] == pytest.approx(expect)
    assert summary["signal"] == rules.DEFAULT_STAGE1_RISK_SIGNAL
    assert summary["risk"] == stage1_verdict(expect)["risk"]
    assert summary["new_samples"] == 24
    # the contract a later `rank` reads: what the probe was run with, end tokens included
    from rankinv.verdicts.probe_result import ProbeResult

    setup = ProbeResult.load(out).setup
    assert (setup.samples, setup.group_size, setup.max_new_tokens, setup.n_problems) == (
        8,
        4,
        24,
        3,
    )
    assert setup.end_tokens and setup.engine == "hf" and setup.model == str(model_dir)
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 24
    rec = json.loads(lines[0])
    for key in ("model", "revision", "benchmark_hash", "sampling", "version", "passed"):
        assert key in rec
    # interrupted run: drop the last 5 samples and a cut line; the rerun redoes only those
    (out / "samples.jsonl").write_text("\n".join(lines[:-5]) + '\n{"run_key": "cut')
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    summary = json.loads(run.stdout)
    assert summary["new_samples"] == 5
    assert summary["samples_per_problem"] == 8
    from rankinv.report import build_report

    report = build_report(out).read_text()
    assert "## Checkpoint probe" in report and (out / "probe.png").stat().st_size > 10_000
    bad = subprocess.run(args[:-1] + ["--group-size", "1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "group size must be an integer >= 2" in bad.stderr
