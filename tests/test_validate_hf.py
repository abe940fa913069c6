"""The HF engine (rankinv.validate.engines.hf) on tiny Qwen2 / Llama models."""

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model  # noqa: E402

from rankinv.validate.engines import Request, Sampling, end_token_ids, generate  # noqa: E402
from rankinv.validate.engines.draws import (  # noqa: E402
    row_key,
    row_uniforms,
    sample_tokens,
    sample_with_entropy,
)
from rankinv.validate.engines.hf import HFEngine, StopChecker  # noqa: E402
from rankinv.validate.scoring import full_entropy  # noqa: E402

torch.set_num_threads(1)


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


@pytest.fixture(scope="module")
def tasks(humaneval_tasks):
    return humaneval_tasks


def greedy(engine, prompts, max_new_tokens, stop=()):
    s = Sampling(temperature=0.0, max_new_tokens=max_new_tokens, stop=stop)
    return [row[0] for row in generate(engine, prompts, 1, s)]


def test_refilled_batch_equals_each_row_decoded_alone(sharp, tasks):
    """Batch of 3 over 13 rows, rows ending at different steps on stop strings (left
    padding, refill, trimmed cache): every row's tokens, text and entropies equal the same
    row decoded alone (batch 1: no padding, no merge)."""
    alone = HFEngine.from_model(sharp.model, sharp.tokenizer, batch_size=1)
    prompts = [tasks[i].prompt for i in (0, 5, 17, 3, 9, 11, 40, 1, 2, 4, 6, 7, 8)]
    texts = [g.text for g in greedy(alone, prompts, 20)]
    # stop characters that some rows produce and others do not: rows end at different steps
    chars = sorted({c for t in texts for c in t if not c.isspace()})
    count = {c: sum(c in t for t in texts) for c in chars}
    stop = tuple(sorted(chars, key=lambda c: abs(count[c] - len(texts) / 2))[:3])
    lengths = set()
    for x, y in zip(
        greedy(sharp, prompts, 20, stop), greedy(alone, prompts, 20, stop), strict=True
    ):
        assert x.token_ids == y.token_ids and x.text == y.text and x.n_tokens == y.n_tokens
        np.testing.assert_allclose(x.entropies, y.entropies, rtol=1e-4, atol=1e-4)
        lengths.add(x.n_tokens)
    assert len(lengths) >= 2  # rows really ended at different steps (refill exercised)


def test_rows_of_one_prompt_share_its_prefill(sharp, tasks):
    """n rows of a prompt are prefilled once and expanded (batch 4 over 3 prompts x 3 rows:
    a refill holds copies of one prompt beside rows of another): greedy rows equal the prompt
    decoded alone, entropies included."""
    alone = HFEngine.from_model(sharp.model, sharp.tokenizer, batch_size=1)
    shared = HFEngine.from_model(sharp.model, sharp.tokenizer, batch_size=4)
    prompts = [tasks[i].prompt for i in (0, 5, 17)]
    s = Sampling(temperature=0.0, max_new_tokens=10)
    ref = [row[0] for row in generate(alone, prompts, 1, s)]
    out = generate(shared, prompts, 3, s)
    for row, r in zip(out, ref, strict=True):
        assert len(row) == 3
        for g in row:
            assert g.token_ids == r.token_ids
            np.testing.assert_allclose(g.entropies, r.entropies, rtol=1e-4, atol=1e-4)


def test_sampling_reproducible_distinct_and_counted(engine, tasks):
    prompts = [tasks[i].prompt for i in (1, 2)]
    s = Sampling(max_new_tokens=12)
    a, b, c = (generate(engine, prompts, 5, s, seed) for seed in (42, 42, 43))
    assert [g.token_ids for r in a for g in r] == [g.token_ids for r in b for g in r]
    assert [g.token_ids for r in a for g in r] != [g.token_ids for r in c for g in r]
    ends = engine.end_tokens
    for g in (g for r in a for g in r):
        assert g.n_tokens == len(g.entropies) == len(g.token_ids) <= 12
        assert g.n_tokens == 12 or g.token_ids[-1] in ends
        assert not any(t in ends for t in g.token_ids[:-1])
    assert len({tuple(g.token_ids) for g in a[0]}) == 5  # not copies of each other
    bare = generate(engine, prompts, 5, Sampling(max_new_tokens=12, entropy=False), 42)
    assert all(g.entropies == [] for r in bare for g in r)


@pytest.mark.parametrize("temperature,top_p", [(1.0, 1.0), (0.7, 0.9)])
def test_a_sample_draws_alike_in_any_call_and_batch(engine, tasks, temperature, top_p):
    """Each sample is keyed by (its prompt's seed, its number): asked for alone, among other
    prompts' rows, in another batch size or refill order, it draws the same tokens, and the
    engine says which sample it is (the resume of a probe rests on this)."""
    s = Sampling(temperature=temperature, top_p=top_p, max_new_tokens=16)
    ids = engine.encode([tasks[i].prompt for i in (1, 2, 3)])

    def draw(eng, reqs):
        out = {}
        for k, g in eng.sample(reqs, s):
            assert (k, g.number) not in out
            out[(k, g.number)] = g.token_ids
        return out

    full = draw(engine, [Request(tuple(p), 10, 50 + i) for i, p in enumerate(ids)])
    assert len(full) == 30 and len(set(map(tuple, full.values()))) == 30
    other = HFEngine.from_model(engine.model, engine.tokenizer, batch_size=3)
    some = [(7, 2, 9), (0,), (4, 5, 6, 8, 1)]
    part = draw(other, [Request(tuple(p), len(n), 50 + i, n) for i, (p, n) in
                        enumerate(zip(ids, some, strict=True))])  # fmt: skip
    assert part == {(k, j): full[(k, j)] for k, n in enumerate(some) for j in n}
    other_seed = draw(engine, [Request(tuple(ids[0]), 3, 51, (7, 2, 9))])
    assert all(other_seed[(0, j)] != full[(0, j)] for j in (7, 2, 9))


def test_row_uniforms_are_keyed_uniform_and_independent():
    """splitmix64 of (key, token number): the same pair, the same uniform; across pairs,
    uniform on [0, 1) (a 10-bin chi-square) and uncorrelated between neighbouring keys
    and steps."""
    keys = [row_key(7, j) for j in range(2000)]
    u = row_uniforms(keys, [3] * 2000)
    assert np.array_equal(u, row_uniforms(keys, [3] * 2000)) and u.dtype == np.float32
    assert 0 <= u.min() and u.max() < 1 and len(set(u.tolist())) > 1990
    counts = np.bincount((u * 10).astype(int), minlength=10)
    assert ((counts - 200) ** 2 / 200).sum() < 27.9  # chi-square 9 dof, p = 0.001
    v = row_uniforms(keys, [4] * 2000)
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.1 and abs(np.corrcoef(u[1:], u[:-1])[0, 1]) < 0.1
    assert row_key(7, 1) != row_key(8, 1) != row_key(7, 2)


def test_stop_strings_cut_and_count(engine, tasks):
    gens = generate(engine, [tasks[2].prompt], 8, Sampling(max_new_tokens=40, stop=("e",)), 3)[0]
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


def test_every_end_token_stops(sharp, tasks):
    """generation_config.eos_token_id as a list: every id in it ends a row, not only
    tokenizer.eos_token_id (a ChatML model ends its turns on <|im_end|>)."""
    prompt = tasks[11].prompt
    first = greedy(sharp, [prompt], 6)[0]
    assert first.n_tokens == 6
    end_id = first.token_ids[2]  # greedy reaches it at step 3 or earlier
    gc = sharp.model.generation_config
    saved = gc.eos_token_id
    try:
        gc.eos_token_id = [sharp.tokenizer.eos_token_id, end_id]
        e = HFEngine.from_model(sharp.model, sharp.tokenizer, batch_size=2)
        assert end_id in e.end_tokens
        g = greedy(e, [prompt], 6)[0]
        assert g.n_tokens == first.token_ids.index(end_id) + 1 <= 3
        assert g.token_ids[-1] == end_id
    finally:
        gc.eos_token_id = saved


def test_end_tokens_include_the_tokenizers(tokenizer):
    tok = copy.deepcopy(tokenizer)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_end|>"]})
    ids = end_token_ids(tok, [7, 9], None, 3)
    assert ids == tuple(
        sorted({7, 9, 3, tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")})
    )


@pytest.mark.parametrize("temperature,top_p", [(1.0, 1.0), (0.5, 1.0), (1.0, 0.8)])
def test_sample_tokens_draws_from_the_distribution(temperature, top_p):
    """Inverse-CDF draws match softmax(z / T) (nucleus-renormalised) within Monte Carlo
    error: 20,000 draws, each probability within 4 standard errors."""
    z = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    n = 20_000
    gen = torch.Generator().manual_seed(7)
    draws = sample_tokens(z.expand(n, -1).clone(), temperature, top_p, torch.rand(n, generator=gen))
    freq = torch.bincount(draws, minlength=6).double() / n
    p = torch.softmax(z.double() / temperature, -1)
    if top_p < 1:
        keep = (p.cumsum(-1) - p) < top_p  # sorted already: descending z
        p = p * keep
        p = p / p.sum()
    se = (p * (1 - p) / n).sqrt()
    assert torch.all((freq - p).abs() <= 4 * se + 1e-12), (freq, p)
    assert sample_tokens(z[None], 0.0, 1.0, torch.rand(1, generator=gen)).item() == 0


def test_sample_with_entropy_draws_and_entropy():
    """The fused inverse-CDF path (T = 1): frequencies within 4 SE of softmax(z), and its
    entropy equals the full log-softmax entropy."""
    z = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -30.0])
    n = 20_000
    gen = torch.Generator().manual_seed(3)
    tok, h = sample_with_entropy(z.expand(n, -1).clone(), 1.0, 1.0, torch.rand(n, generator=gen))
    freq = torch.bincount(tok, minlength=6).double() / n
    p = torch.softmax(z.double(), -1)
    se = (p * (1 - p) / n).sqrt()
    assert torch.all((freq - p).abs() <= 4 * se + 1e-12), (freq, p)
    assert freq[5] == 0  # a token of mass ~1e-14 is (practically) never drawn
    torch.testing.assert_close(h, full_entropy(z).expand(n), rtol=1e-6, atol=1e-6)
    tok2, h2 = sample_with_entropy(z[None], 0.5, 1.0, torch.rand(1, generator=gen))  # other T
    torch.testing.assert_close(h2, full_entropy(z)[None])
