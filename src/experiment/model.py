"""The miniature experiment's model: tokenizer, a Qwen2ForCausalLM from a config, batch
encoding and per-token log-probabilities. torch/transformers are imported inside the functions
(heavy optional dependencies of the validate extra)."""

from __future__ import annotations

from pathlib import Path

from rankinv.experiment.config import MiniConfig
from rankinv.experiment.data import correct_forms, task_of, wrong_forms
from rankinv.sandbox import tasks as task_sets
from rankinv.validate.models import resolve_model_dir


def train_bpe_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE trained offline on ``texts`` (tokenizers library), wrapped for
    transformers, with <|endoftext|> as EOS and padding."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )


def build_tokenizer(vocab_size: int):
    """The task corpus' tokenizer: prompts and every correct and wrong answer form."""
    corpus = []
    for p in task_sets.synthetic_programs():
        corpus.append(task_of(p).prompt)
        corpus.extend(correct_forms(p) + wrong_forms(p))
    return train_bpe_tokenizer(corpus, vocab_size)


def build_model(cfg: MiniConfig, tokenizer, seed: int = 0):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden,
        intermediate_size=cfg.hidden * 4,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.kv_heads,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )
    return Qwen2ForCausalLM(config)


class Encoder:
    """Token ids of prompts and answers, tokenised apart so the boundary matches decoding."""

    def __init__(self, tokenizer):
        self.tok = tokenizer
        self.cache: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int]:
        if text not in self.cache:
            self.cache[text] = self.tok(text, add_special_tokens=False).input_ids
        return self.cache[text]

    def batch(self, prompts: list[str], answers: list[list[int]], device):
        """Right-padded input ids, attention mask, and the answer-token mask."""
        import torch

        rows = [self.ids(p) + a for p, a in zip(prompts, answers, strict=True)]
        width = max(map(len, rows))
        pad = self.tok.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        att = torch.zeros((len(rows), width), dtype=torch.long)
        ans = torch.zeros((len(rows), width), dtype=torch.bool)
        for r, (p, a) in enumerate(zip(prompts, answers, strict=True)):
            n_p = len(self.ids(p))
            row = rows[r]
            ids[r, : len(row)] = torch.tensor(row)
            att[r, : len(row)] = 1
            ans[r, n_p : n_p + len(a)] = True
        return ids.to(device), att.to(device), ans.to(device)

    def answer_ids(self, answer: str) -> list[int]:
        return self.ids(answer + "\n") + [self.tok.eos_token_id]


def token_logprobs(model, ids, att):
    """log pi(token_t | tokens_<t) for t >= 1, aligned so that [:, t] scores ids[:, t]."""
    import torch

    logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1)
    tok_lp = logp.gather(-1, ids[:, 1:, None])[..., 0]
    return torch.nn.functional.pad(tok_lp, (1, 0))


def smoothed_logprobs(model, ids, att):
    """(log pi(token_t), mean over the vocabulary of log pi(v)) per position, aligned as in
    :func:`token_logprobs`: the two terms of a label-smoothed cross-entropy."""
    import torch

    logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1)
    tok_lp = logp.gather(-1, ids[:, 1:, None])[..., 0]
    pad = torch.nn.functional.pad
    return pad(tok_lp, (1, 0)), pad(logp.mean(-1), (1, 0))


def device_of(model) -> str:
    return str(next(model.parameters()).device)


def resolve_device(cfg: MiniConfig) -> str:
    import torch

    if cfg.device != "auto":
        return cfg.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_checkpoint(ckpt: Path, device: str):
    """A full checkpoint, or a LoRA adapter merged into its base (for RL on the whole model)."""
    from transformers import AutoModelForCausalLM

    base, adapter = resolve_model_dir(ckpt)
    model = AutoModelForCausalLM.from_pretrained(base)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        model.requires_grad_(True)  # peft froze the base weights; RL trains them all
    return model.to(device)
