"""The probe's sampling engine and teacher-forced entropy scorer on tiny Qwen2 / Llama."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model  # noqa: E402

from rankinv.validate.engine import (  # noqa: E402
    HFEngine,
    StopChecker,
    VLLMEngine,
    chat_prompt,
    eos_token_ids,
    extract_code,
    make_engine,
)
from rankinv.validate.sampler import HFSampler  # noqa: E402
from rankinv.validate.scoring import EntropyScorer, chunked_entropy, full_entropy  # noqa: E402

torch.set_num_threads(1)

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def model_dir(request, tmp_path_factory, tokenizer):
    return build_model(request.param, tmp_path_factory.mktemp(request.param), tokenizer, seed=2)


@pytest.fixture(scope="module")
def engine(model_dir):
    return HFEngine(model_dir, batch_size=4)


@pytest.fixture(scope="module")
def sharp(model_dir):
    """The same architecture with 2-D weights redrawn at std 0.3: peaky, diverse greedy
    continuations (the default init collapses to repeated newlines), so rows end at
    different steps on stop strings."""
    e = HFEngine(model_dir, batch_size=3)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in e.model.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.3, generator=g)
    return e


# ---------------------------------------------------------------- scorer
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


@pytest.fixture(scope="module")
def tasks(humaneval_tasks):
    return humaneval_tasks


def test_chunked_entropy_extremes():
    # one-hot (entropy 0) and uniform (ln V) distributions
    w = torch.eye(50) * 1e4
    h = chunked_entropy(torch.eye(50)[:3], w, vocab_chunk=8)
    torch.testing.assert_close(h, torch.zeros(3), atol=1e-4, rtol=0)
    h = chunked_entropy(torch.zeros(2, 50), w, vocab_chunk=8)
    torch.testing.assert_close(h, torch.full((2,), float(np.log(50))), atol=1e-5, rtol=0)


def test_scored_entropy_equals_sampling_logits(model_dir, tasks):
    """Teacher-forced entropies == the entropies HFSampler takes from the very logits each
    token was sampled from (left padding, KV cache), to 1e-4, at any temperature."""
    s = HFSampler(model_dir, batch_size=8)
    scorer = EntropyScorer(s.model, token_budget=300, vocab_chunk=97, row_chunk=64)
    prompts = [tasks[i].prompt for i in (0, 7, 21)]
    for temp in (1.0, 0.7):
        gens = s.generate(prompts, n=3, temperature=temp, max_new_tokens=24, stop=(), seed=3)
        p_ids = [s.tokenizer(p).input_ids for p in prompts for _ in range(3)]
        flat = [g for row in gens for g in row]
        scored = scorer.rollout_entropies(p_ids, [g.token_ids for g in flat])
        for g, h in zip(flat, scored, strict=True):
            assert len(h) == len(g.entropies) == g.n_tokens <= 24
            assert g.n_tokens == 24 or g.token_ids[-1] in (s.tokenizer.eos_token_id,)
            np.testing.assert_allclose(h, g.entropies, rtol=1e-4, atol=1e-4)


def test_scored_prompt_entropy_equals_full_forward(engine, tasks):
    prompts = [tasks[i].prompt for i in (0, 9, 30)]
    got = engine.prompt_entropy(prompts)
    for p, h in zip(prompts, got, strict=True):
        ids = engine.tokenizer(p, return_tensors="pt").input_ids
        with torch.no_grad():
            ref = full_entropy(engine.model(ids).logits[0]).mean()
        assert h == pytest.approx(float(ref), rel=1e-5)


def test_scorer_rejects_empty_prompt(engine):
    with pytest.raises(ValueError, match="prompt 1 has no tokens"):
        engine.scorer.score([[1, 2], []])


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


# ---------------------------------------------------------------- engine
def test_engine_with_refill_equals_static_batch_greedy(sharp, tasks):
    """Batch of 3 over 13 rows, rows ending at different steps on stop strings: every row's
    tokens, length and (scored) entropies equal HFSampler's static-batch greedy decode."""
    ref = HFSampler.from_model(sharp.model, sharp.tokenizer, batch_size=16)
    prompts = [tasks[i].prompt for i in (0, 5, 17, 3, 9, 11, 40, 1, 2, 4, 6, 7, 8)]
    free = ref.generate(prompts, n=1, temperature=0.0, max_new_tokens=20, stop=())
    texts = [r[0].text for r in free]
    # stop characters that some rows produce and others do not: rows end at different steps
    chars = sorted({c for t in texts for c in t if not c.isspace()})
    count = {c: sum(c in t for t in texts) for c in chars}
    stop = tuple(sorted(chars, key=lambda c: abs(count[c] - len(texts) / 2))[:3])
    a = sharp.generate(prompts, n=1, temperature=0.0, max_new_tokens=20, stop=stop)
    b = ref.generate(prompts, n=1, temperature=0.0, max_new_tokens=20, stop=stop)
    lengths = set()
    for x, y in zip(a, b, strict=True):
        assert x[0].token_ids == y[0].token_ids
        assert x[0].text == y[0].text and x[0].n_tokens == y[0].n_tokens
        np.testing.assert_allclose(x[0].entropies, y[0].entropies, rtol=1e-4, atol=1e-4)
        lengths.add(x[0].n_tokens)
    assert len(lengths) >= 2  # rows really ended at different steps (refill exercised)


def test_engine_sampling_reproducible_and_counts(engine, tasks):
    prompts = [tasks[i].prompt for i in (1, 2)]
    a = engine.generate(prompts, n=5, max_new_tokens=12, seed=42, stop=())
    b = engine.generate(prompts, n=5, max_new_tokens=12, seed=42, stop=())
    c = engine.generate(prompts, n=5, max_new_tokens=12, seed=43, stop=())
    assert [g.token_ids for r in a for g in r] == [g.token_ids for r in b for g in r]
    assert [g.token_ids for r in a for g in r] != [g.token_ids for r in c for g in r]
    eos = engine.eos_ids
    for g in (g for r in a for g in r):
        assert g.n_tokens == len(g.entropies) == len(g.token_ids) <= 12
        assert g.n_tokens == 12 or g.token_ids[-1] in eos  # ended on EOS
        assert not any(t in eos for t in g.token_ids[:-1])
    # 5 samples of one prompt are not copies of each other
    assert len({tuple(g.token_ids) for g in a[0]}) == 5
    # the engine's entropies (from its sampling logits, refilled batch) == the scorer's
    flat = [g for r in a for g in r]
    p_ids = [ids for ids in engine.encode(prompts) for _ in range(5)]
    scored = engine.scorer.rollout_entropies(p_ids, [g.token_ids for g in flat])
    for g, h in zip(flat, scored, strict=True):
        np.testing.assert_allclose(g.entropies, h, rtol=1e-4, atol=1e-4)
    bare = engine.generate(prompts, n=5, max_new_tokens=12, seed=42, stop=(), entropy=False)
    assert all(g.entropies == [] for r in bare for g in r)


def test_stop_strings_cut_and_count(engine, tasks):
    gens = engine.generate([tasks[2].prompt], n=8, max_new_tokens=40, seed=3, stop=("e",))[0]
    for g in gens:
        assert "e" not in g.text
        assert len(g.entropies) == g.n_tokens <= 40
        full = engine.tokenizer.decode(g.token_ids)
        if g.n_tokens < 40:  # stopped at the first token that completed "e"
            assert "e" in full and "e" not in engine.tokenizer.decode(g.token_ids[:-1])


def test_incremental_stop_check_matches_full_decode(tokenizer):
    """The windowed check on the newest tokens fires at exactly the step where the full
    decoded completion first contains a stop string."""
    stops = ("\ndef", "\n#", "):", "ret")
    sc = StopChecker(tokenizer, stops, len(tokenizer))
    rng = np.random.default_rng(0)
    text_ids = tokenizer("def f(x):\n    return x\n# done\ndef g():\n    pass\n").input_ids
    for trial in range(60):
        seq = list(rng.integers(0, len(tokenizer), 30)) if trial % 2 else list(text_ids)
        seq = [int(x) for x in seq]
        full_step = next(
            (
                t
                for t in range(1, len(seq) + 1)
                if any(s in tokenizer.decode(seq[:t]) for s in stops)
            ),
            None,
        )
        inc_step = None
        for t in range(1, len(seq) + 1):
            if sc.can_end[seq[t - 1]] and sc.hits([seq[:t]], [0]):
                inc_step = t
                break
        assert inc_step == full_step, (trial, inc_step, full_step)


def test_eos_list_stops(sharp, tasks):
    """generation_config.eos_token_id as a list: every id in it ends a row, not only
    tokenizer.eos_token_id (a ChatML model ends its turns on <|im_end|>)."""
    prompt = tasks[11].prompt
    first = sharp.generate([prompt], n=1, temperature=0.0, max_new_tokens=6, stop=())[0][0]
    assert first.n_tokens == 6
    end_id = first.token_ids[2]  # greedy reaches it at step 3 or earlier
    gc = sharp.model.generation_config
    saved = gc.eos_token_id
    try:
        gc.eos_token_id = [sharp.tokenizer.eos_token_id, end_id]
        e = HFEngine.from_model(sharp.model, sharp.tokenizer, batch_size=2)
        assert end_id in e.eos_ids
        g = e.generate([prompt], n=1, temperature=0.0, max_new_tokens=6, stop=())[0][0]
        assert g.n_tokens == first.token_ids.index(end_id) + 1 <= 3
        assert g.token_ids[-1] == end_id
    finally:
        gc.eos_token_id = saved


def test_eos_ids_include_tokenizer_end_tokens(tokenizer, engine):
    import copy

    tok = copy.deepcopy(tokenizer)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_end|>"]})
    ids = eos_token_ids(engine.model, tok)
    assert tok.convert_tokens_to_ids("<|im_end|>") in ids and tok.eos_token_id in ids


def test_chat_template_wraps_and_code_is_extracted(tokenizer, tasks):
    import copy
    import textwrap

    from rankinv.sandbox.executor import Sandbox

    tok = copy.deepcopy(tokenizer)
    with pytest.raises(ValueError, match="no chat template"):
        chat_prompt(tok, "def f(): pass")
    tok.chat_template = CHATML
    t = tasks[0]
    wrapped = chat_prompt(tok, t.prompt)
    assert wrapped.startswith("<|im_start|>user\n") and t.prompt in wrapped
    assert wrapped.endswith("<|im_start|>assistant\n")
    whole = t.prompt + t.canonical_solution
    answers = {
        "whole function": f"Here you go:\n```python\n{whole}```\nDone.",
        "body only": f"```python\n{t.canonical_solution}```",
        "unindented body": f"```python\n{textwrap.dedent(t.canonical_solution)}```",
        "no fence": t.canonical_solution,
        "wrong function": "```python\ndef has_close_elements(numbers, threshold):\n"
        "    return True\n```",
    }
    with Sandbox(1) as sb:
        verdicts = {
            k: sb.check(t, extract_code(a, t.entry_point)).passed for k, a in answers.items()
        }
    assert verdicts == {
        "whole function": True,
        "body only": True,
        "unindented body": True,
        "no fence": True,
        "wrong function": False,
    }
    assert extract_code("```python\nreturn x + 1\n```", "f") == "    return x + 1\n"


# ---------------------------------------------------------------- engines
def test_vllm_missing_is_a_clear_error(tmp_path):
    try:
        import vllm  # noqa: F401

        pytest.skip("vllm is installed")
    except ImportError:
        pass
    with pytest.raises(
        ValueError, match=r"--engine vllm needs vllm: pip install 'rankinv\[vllm\]'"
    ):
        VLLMEngine(tmp_path)
    with pytest.raises(ValueError, match="needs vllm"):
        make_engine("vllm", tmp_path)
    with pytest.raises(ValueError, match="--engine must be hf or vllm"):
        make_engine("tgi", tmp_path)


@pytest.mark.parametrize("temperature,top_p", [(1.0, 1.0), (0.5, 1.0), (1.0, 0.8)])
def test_sample_tokens_draws_from_the_distribution(temperature, top_p):
    """Gumbel-max draws match softmax(z / T) (nucleus-renormalised) within Monte Carlo
    error: 20,000 draws, each probability within 4 standard errors."""
    from rankinv.validate.engine import sample_tokens

    z = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    n = 20_000
    gen = torch.Generator().manual_seed(7)
    draws = sample_tokens(z.expand(n, -1).clone(), temperature, top_p, gen)
    freq = torch.bincount(draws, minlength=6).double() / n
    p = torch.softmax(z.double() / temperature, -1)
    if top_p < 1:
        keep = (p.cumsum(-1) - p) < top_p  # sorted already: descending z
        p = p * keep
        p = p / p.sum()
    se = (p * (1 - p) / n).sqrt()
    assert torch.all((freq - p).abs() <= 4 * se + 1e-12), (freq, p)
    assert sample_tokens(z[None], 0.0, 1.0, gen).item() == 0


def test_sample_with_entropy_draws_and_entropy():
    """The fused inverse-CDF path (T = 1): frequencies within 4 SE of softmax(z), and its
    entropy equals the full log-softmax entropy."""
    from rankinv.validate.engine import sample_with_entropy

    z = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -30.0])
    n = 20_000
    gen = torch.Generator().manual_seed(3)
    tok, h = sample_with_entropy(z.expand(n, -1).clone(), 1.0, 1.0, gen)
    freq = torch.bincount(tok, minlength=6).double() / n
    p = torch.softmax(z.double(), -1)
    se = (p * (1 - p) / n).sqrt()
    assert torch.all((freq - p).abs() <= 4 * se + 1e-12), (freq, p)
    assert freq[5] == 0  # a token of mass ~1e-14 is (practically) never drawn
    torch.testing.assert_close(h, full_entropy(z).expand(n), rtol=1e-6, atol=1e-6)
    tok2, h2 = sample_with_entropy(z[None], 0.5, 1.0, gen)  # other T: Gumbel path, same H
    torch.testing.assert_close(h2, full_entropy(z)[None])
