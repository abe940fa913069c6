"""The vLLM engine against a test double of vLLM's offline API (tests/fake_vllm.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import fake_vllm  # noqa: E402
from tiny_models import build_model  # noqa: E402

from rankinv.errors import UserError  # noqa: E402
from rankinv.validate import scorer_process  # noqa: E402
from rankinv.validate.config import ProbeConfig  # noqa: E402
from rankinv.validate.engines import Request, Sampling  # noqa: E402
from rankinv.validate.engines.hf import HFEngine  # noqa: E402
from rankinv.validate.engines.registry import make_engine  # noqa: E402
from rankinv.validate.probe import ProbeInterrupted, run_probe  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer):
    return build_model("qwen2", tmp_path_factory.mktemp("qwen2"), tokenizer, seed=4)


@pytest.fixture
def fake(monkeypatch):
    return fake_vllm.install(monkeypatch)


@pytest.fixture(scope="module")
def adapter_dir(model_dir, tmp_path_factory):
    """A rank-64 LoRA adapter (above vLLM's default max_lora_rank of 16)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("lora64")
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    peft = get_peft_model(base, LoraConfig(r=64, target_modules=["q_proj", "v_proj"]))
    peft.save_pretrained(out)
    return out


def test_vllm_missing_is_a_clear_error(model_dir):
    try:
        import vllm  # noqa: F401

        pytest.skip("vllm is installed")
    except ImportError:
        pass
    with pytest.raises(UserError, match=r"--engine vllm needs vllm: pip install 'rankinv\[vllm\]'"):
        make_engine("vllm", model_dir)


def test_engine_options_pass_through(fake, model_dir):
    make_engine(
        "vllm",
        model_dir,
        batch_size=32,
        tensor_parallel_size=2,
        gpu_memory_utilization=0.5,
        max_model_len=2048,
        trust_remote_code=True,
    )
    kw = fake.instances[-1].kwargs
    assert fake.instances[-1].model == str(model_dir)
    assert kw == {
        "tensor_parallel_size": 2,
        "gpu_memory_utilization": 0.5,
        "max_model_len": 2048,
        "trust_remote_code": True,
        "max_num_seqs": 32,
    }


def test_lora_rank_from_the_adapter_config(fake, model_dir, adapter_dir):
    eng = make_engine("vllm", adapter_dir)
    kw = fake.instances[-1].kwargs
    assert fake.instances[-1].model == str(model_dir)  # the base, with the adapter on top
    assert kw["enable_lora"] is True and kw["max_lora_rank"] == 64 and kw["max_loras"] == 1
    list(eng.sample([Request((5, 6, 7), 2, 1)], Sampling(max_new_tokens=3)))
    lora = fake.instances[-1].calls[-1]["lora"]
    assert lora.lora_path == str(adapter_dir) and lora.lora_int_id == 1


def test_lora_rank_rounds_up_to_what_vllm_accepts():
    from rankinv.validate.engines.vllm import vllm_lora_rank

    assert [vllm_lora_rank(r) for r in (None, 4, 8, 9, 33, 320)] == [16, 8, 8, 16, 64, 320]
    with pytest.raises(UserError, match="above vLLM's largest"):
        vllm_lora_rank(1024)


def test_same_end_tokens_as_the_hf_engine(fake, model_dir, tokenizer):
    """stop_token_ids = the HF engine's end tokens, read from the same directory (config,
    generation config, the tokenizer's end tokens); the engines record the same set."""
    import copy

    d = model_dir.parent / "chatml"
    tok = copy.deepcopy(tokenizer)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_end|>"]})
    build_model("qwen2", d, tok, seed=4)
    hf = HFEngine(d)
    eng = make_engine("vllm", d)
    assert eng.end_tokens == hf.end_tokens
    assert tok.convert_tokens_to_ids("<|im_end|>") in eng.end_tokens
    list(eng.sample([Request((5, 6), 1, 0)], Sampling(max_new_tokens=4)))
    params = fake.instances[-1].calls[-1]["params"][0]
    assert params.stop_token_ids == list(hf.end_tokens) and params.ignore_eos is False


def test_a_resumed_request_is_seeded_apart_and_numbered(fake, model_dir):
    """A problem's first request (samples 0 .. n - 1) is seeded by its seed, as given; a
    resumed rest (samples 1, 5, 6) by (seed, its first number): other draws than the first
    request's, each Generation numbered as asked."""
    eng = make_engine("vllm", model_dir)
    s = Sampling(max_new_tokens=4)
    first = list(eng.sample([Request((3, 4), 3, 100)], s))
    rest = list(eng.sample([Request((3, 4), 3, 100, (1, 5, 6))], s))
    seeds = [c["params"][0].seed for c in fake.instances[-1].calls]
    assert seeds[0] == 100 and seeds[1] not in (100, None)
    assert [g.number for _, g in first] == [0, 1, 2] and [g.number for _, g in rest] == [1, 5, 6]
    assert [g.token_ids for _, g in first] != [g.token_ids for _, g in rest]


def test_n_samples_per_prompt_from_one_request(fake, model_dir):
    """One SamplingParams(n=N, seed=S) per prompt (no per-row seeds), chunks of about
    chunk_rows samples, each Generation attributed to its request."""
    eng = make_engine("vllm", model_dir)
    eng.chunk_rows = 10
    reqs = [Request((3, 4, 5 + i), n, 100 + i) for i, n in enumerate((4, 4, 4, 3, 7))]
    sampling = Sampling(max_new_tokens=6, stop=("\ndef",))
    got = list(eng.sample(reqs, sampling))
    calls = fake.instances[-1].calls
    assert [len(c["prompts"]) for c in calls] == [2, 2, 1]  # 8, 7, 7 samples per call
    params = [p for c in calls for p in c["params"]]
    assert [(p.n, p.seed) for p in params] == [(r.n, r.seed) for r in reqs]
    assert all(p.max_tokens == 6 and p.stop == ["\ndef"] for p in params)
    assert [k for k, _ in got] == [k for k, r in enumerate(reqs) for _ in range(r.n)]
    assert [c["prompts"][0]["prompt_token_ids"] for c in calls] == [[3, 4, 5], [3, 4, 7], [3, 4, 9]]
    first = [g.token_ids for k, g in got if k == 0]
    assert len({tuple(t) for t in first}) == 4  # the children of one request differ
    assert all(g.entropies == [] and g.n_tokens == len(g.token_ids) for _, g in got)


def test_scorer_only_after_close(fake, model_dir):
    eng = make_engine("vllm", model_dir)
    with pytest.raises(RuntimeError, match="before close"):
        eng.scorer()
    eng.close()
    assert fake.instances[-1].shut_down
    scorer = eng.scorer()
    assert scorer is eng.scorer() and scorer.pid != os.getpid()
    eng.close()  # a second close ends the scorer's process
    assert scorer._proc is None and not scorer_process._alive(scorer.pid)


def test_probe_on_vllm_scores_entropies_after_freeing_vllm(fake, model_dir, tmp_path, monkeypatch):
    """Phase 1 samples with vLLM (records without entropy, with their token ids), phase 2
    shuts vLLM down and waits for its engine process to exit, phase 3 loads the transformers
    copy in a process of its own and appends exact entropies equal to a direct
    teacher-forced score of the same tokens; the scorer's process has ended at the end."""
    from rankinv.validate.engines import vllm as vllm_engine
    from rankinv.validate.scoring import EntropyScorer

    started = []

    class Recorded(scorer_process.ScorerProcess):
        def __init__(self, *a, **kw):
            started.append([(llm.shut_down, llm.process.poll()) for llm in fake.instances])
            super().__init__(*a, **kw)
            started.append(self)

    monkeypatch.setattr(vllm_engine, "ScorerProcess", Recorded)
    fake.engine_process = True
    cfg = ProbeConfig(samples=8, group_size=4, limit=3, max_new_tokens=12)
    out = tmp_path / "p"
    s = run_probe(str(model_dir), cfg, out, engine="vllm", progress=False)
    # one transformers copy, in another process, started once vLLM's had exited (its
    # SIGTERM handler exits with 0 after 0.5 s: the scorer waited for it)
    assert len(started) == 2 and started[0] == [(True, 0)]
    scorer = started[1]
    assert scorer.pid != os.getpid() and not scorer_process._alive(scorer.pid)
    assert s["engine"] == "vllm" and s["setup"]["engine"] == "vllm"
    assert s["new_samples"] == 24 and s["new_entropies_scored"] == 24
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    samples = [r for r in recs if r.get("kind") != "entropy"]
    scored = {(r["task_id"], r["sample"]): r["mean_entropy"] for r in recs if r.get("kind")}
    assert len(samples) == len(scored) == 24
    assert all(r["mean_entropy"] is None and r["token_ids"] for r in samples)
    hf = HFEngine(model_dir)
    ids = dict(zip([f"HumanEval/{i}" for i in range(3)], hf.encode(_prompts(3)), strict=True))
    direct = EntropyScorer(hf.model).rollout_entropies(
        [ids[r["task_id"]] for r in samples], [r["token_ids"] for r in samples]
    )
    for r, h in zip(samples, direct, strict=True):
        assert scored[(r["task_id"], r["sample"])] == pytest.approx(np.mean(h), rel=1e-5)
    assert s["entropy_rollout"] == pytest.approx(np.mean([np.mean(h) for h in direct]), rel=1e-5)


def test_probe_on_vllm_resumes_after_ctrl_c(fake, model_dir, tmp_path):
    """Ctrl-C in the second chunk keeps the first chunk's samples; the rerun asks vLLM only
    for the missing ones, each prompt's rest in one request with a seed of its own."""
    cfg = ProbeConfig(samples=8, group_size=4, limit=4, max_new_tokens=8)
    out = tmp_path / "p"
    fake.interrupt_at = 1
    with pytest.raises(ProbeInterrupted, match="kept 8 of 32 samples"):
        run_probe(str(model_dir), cfg, out, engine="vllm",
                  engine_options={"chunk_rows": 8}, progress=False)  # fmt: skip
    assert fake.instances[-1].shut_down  # freed on the way out too
    fake.interrupt_at = None
    s = run_probe(str(model_dir), cfg, out, engine="vllm", engine_options={"chunk_rows": 8},
                  progress=False)  # fmt: skip
    asked = [p for c in fake.instances[-1].calls for p in c["params"]]
    assert [p.n for p in asked] == [8, 8, 8] and s["new_samples"] == 24
    assert s["samples_per_problem"] == 8 and len({p.seed for p in asked}) == 3


def _prompts(k):
    from rankinv.sandbox import tasks as task_sets

    return [t.prompt for t in task_sets.load("humaneval")[:k]]


def test_a_process_that_does_not_exit_is_killed():
    """close() waits for vLLM's processes to exit; one that ignores SIGTERM is killed when
    the wait runs out (a zombie counts as exited: its memory is freed)."""
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
         "signal.SIG_IGN); print(1, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        stubborn.stdout.readline()  # its handler is set
        stubborn.terminate()
        assert scorer_process.wait_exited({stubborn.pid}, timeout_s=0.3) == {stubborn.pid}
        assert stubborn.wait(timeout=5) == -9
        assert scorer_process.wait_exited({stubborn.pid}) == set()  # gone: nothing to wait for
    finally:
        stubborn.kill()


def test_a_scorer_that_cannot_load_is_one_line(tmp_path):
    """The scorer process's load failure is the UserError the load gives, one line."""
    with pytest.raises(UserError, match=r"^model not found: .*no-model \(neither") as err:
        scorer_process.ScorerProcess(str(tmp_path / "no-model"))
    assert "\n" not in str(err.value)
