"""The teacher-forced exact-entropy scorer (rankinv.validate.scoring) on tiny Qwen2 / Llama."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model  # noqa: E402

from rankinv.errors import UserError  # noqa: E402
from rankinv.validate.engines import Request, Sampling  # noqa: E402
from rankinv.validate.engines.hf import HFEngine  # noqa: E402
from rankinv.validate.scoring import (  # noqa: E402
    EntropyScorer,
    chunked_entropy,
    full_entropy,
    prompt_entropy,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def model_dir(request, tmp_path_factory, tokenizer):
    return build_model(request.param, tmp_path_factory.mktemp(request.param), tokenizer, seed=2)


@pytest.fixture(scope="module")
def engine(model_dir):
    return HFEngine(model_dir, batch_size=8)


@pytest.fixture(scope="module")
def tasks(humaneval_tasks):
    return humaneval_tasks


@pytest.mark.parametrize("vocab_chunk,row_chunk", [(1, 1), (7, 3), (64, 1000), (10_000, 5)])
def test_chunked_entropy_equals_full(vocab_chunk, row_chunk):
    g = torch.Generator().manual_seed(vocab_chunk)
    hidden = torch.randn(37, 16, generator=g)
    weight = torch.randn(301, 16, generator=g) * 3  # peaky rows too
    bias = torch.randn(301, generator=g)
    for b, cap in ((None, None), (bias, None), (bias, 5.0)):
        logits = hidden @ weight.T + (0 if b is None else b)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        got = chunked_entropy(hidden, weight, b, vocab_chunk, row_chunk, softcap=cap)
        torch.testing.assert_close(got, full_entropy(logits.double()).float(), rtol=1e-5, atol=2e-6)


def test_chunked_entropy_extremes():
    # one-hot (entropy 0) and uniform (ln V) distributions
    w = torch.eye(50) * 1e4
    h = chunked_entropy(torch.eye(50)[:3], w, vocab_chunk=8)
    torch.testing.assert_close(h, torch.zeros(3), atol=1e-4, rtol=0)
    h = chunked_entropy(torch.zeros(2, 50), w, vocab_chunk=8)
    torch.testing.assert_close(h, torch.full((2,), float(np.log(50))), atol=1e-5, rtol=0)


def test_scored_entropy_equals_sampling_logits(engine, tasks):
    """Teacher-forced entropies == the entropies the HF engine takes from the very logits
    each token was sampled from (left padding, refilled KV cache), at any temperature."""
    scorer = EntropyScorer(engine.model, token_budget=300, vocab_chunk=97, row_chunk=64)
    ids = engine.encode([tasks[i].prompt for i in (0, 7, 21)])
    reqs = [Request(tuple(p), 3, 3) for p in ids]
    for temp in (1.0, 0.7):
        got = list(engine.sample(reqs, Sampling(temperature=temp, max_new_tokens=24)))
        scored = scorer.rollout_entropies([ids[k] for k, _ in got], [g.token_ids for _, g in got])
        for (_, g), h in zip(got, scored, strict=True):
            assert len(h) == len(g.entropies) == g.n_tokens <= 24
            np.testing.assert_allclose(h, g.entropies, rtol=1e-4, atol=1e-4)


def test_rollout_entropy_is_the_distribution_not_the_surprisal(engine, tasks):
    ids = engine.encode([tasks[3].prompt])[0]
    got = [g for _, g in engine.sample([Request(tuple(ids), 3, 5)], Sampling(max_new_tokens=12))]
    for g in got:
        full = torch.tensor(ids + g.token_ids[:-1])
        with torch.no_grad():
            logits = engine.model(full[None]).logits[0, len(ids) - 1 :].float()
        logp = torch.log_softmax(logits, -1)
        np.testing.assert_allclose(g.entropies, full_entropy(logits).tolist(), rtol=1e-4, atol=1e-5)
        surprisal = [-float(logp[i, t]) for i, t in enumerate(g.token_ids)]
        assert not np.allclose(g.entropies, surprisal, atol=1e-3)


def test_prompt_entropy_equals_full_forward_and_batches_alike(engine, tasks):
    prompts = [tasks[i].prompt for i in (0, 9, 30)]
    got = prompt_entropy(engine.model, engine.tokenizer, prompts)
    single = [prompt_entropy(engine.model, engine.tokenizer, [p], batch_size=1)[0] for p in prompts]
    np.testing.assert_allclose(got, single, rtol=1e-5)
    for p, h in zip(prompts, got, strict=True):
        ids = engine.tokenizer(p, return_tensors="pt").input_ids
        with torch.no_grad():
            ref = full_entropy(engine.model(ids).logits[0]).mean()
        assert h == pytest.approx(float(ref), rel=1e-5)


def test_scorer_rejects_empty_prompt(engine):
    with pytest.raises(UserError, match="prompt 1 has no tokens"):
        engine.scorer().score([[1, 2], []])


SCORER_MEMORY = r"""
import sys, torch
torch.set_num_threads(1)
from transformers import Qwen2Config, Qwen2ForCausalLM
from rankinv.validate.scoring import EntropyScorer
V, B, T = 151_936, int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
m = Qwen2ForCausalLM(Qwen2Config(vocab_size=V, hidden_size=16, intermediate_size=32,
    num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
    tie_word_embeddings=True)).eval()
ids = torch.randint(0, 600, (B, T)).tolist()
def status(key):  # kB, from /proc/self/status
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
before = status("VmRSS")
try:  # reset the high-water mark so that model building does not hide the scorer's peak
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
except OSError:
    pass
h = EntropyScorer(m).prompt_entropy(ids)
after = status("VmHWM")
assert len(h) == B and all(0 < x < 11.94 for x in h), h[:3]
print((after - before) / 1024)
"""


def test_scorer_memory_bounded_at_qwen_vocabulary():
    """V = 151,936, 8 x 256 positions: full fp32 logits alone would be 1.2 GB (and the
    old log-softmax path three times that); the scorer's peak stays far below."""
    run = subprocess.run(
        [sys.executable, "-c", SCORER_MEMORY, "8", "256"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    peak_mib = float(run.stdout.strip().splitlines()[-1])
    assert peak_mib < 400, peak_mib
