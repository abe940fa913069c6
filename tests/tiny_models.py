"""Tiny random Qwen2 / Llama causal LMs with an offline BPE tokenizer, saved with
save_pretrained, for tests of the real loading path."""

from __future__ import annotations

from pathlib import Path


def train_tokenizer(texts: list[str], vocab_size: int = 600):
    from rankinv.experiment.mini import train_bpe_tokenizer

    return train_bpe_tokenizer(texts, vocab_size)


def build_model(
    arch: str,
    out: Path,
    tokenizer,
    seed: int = 0,
    hidden: int = 32,
    layers: int = 2,
    vocab_size: int | None = None,
) -> Path:
    """Save a random model + tokenizer to ``out``; ``vocab_size`` pads the model's
    vocabulary beyond the tokenizer's (e.g. 151,936 as Qwen2.5 has), for memory tests."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    common = dict(
        vocab_size=vocab_size or len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    elif arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common))
    else:
        raise ValueError(arch)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def closed_tokenizer(texts: list[str], vocab_size: int = 60):
    """A byte-level BPE whose vocabulary holds only the characters of ``texts`` (no byte
    alphabet): a model over it cannot write a NUL byte or a line break ``texts`` lack."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE(unk_token=None))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(
        texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"])
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )


def place_in_hub_cache(folder: Path, cache: Path, repo_id: str) -> Path:
    """Copy a saved model/adapter folder into a Hugging Face hub cache as huggingface_hub
    lays it out (models--org--name/blobs/<sha256>, snapshots/<commit>/<file> linked to its
    blob, refs/main holding the commit); returns the snapshot folder."""
    import hashlib
    import os

    repo = cache / ("models--" + repo_id.replace("/", "--"))
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    commit = hashlib.sha1(
        b"".join(p.relative_to(folder).as_posix().encode() + p.read_bytes() for p in files)
    ).hexdigest()
    snap = repo / "snapshots" / commit
    for p in files:
        data = p.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snap / p.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snap
