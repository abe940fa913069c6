"""Model directories: resolve a full checkpoint or a LoRA adapter on its base, check its files
before anything heavy loads (one-line errors), load it with transformers, and a cheap
revision hash of its weight files."""

from __future__ import annotations

import json
from pathlib import Path

from rankinv.errors import InputNotFound, UserError


def resolve_model_dir(path: str | Path) -> tuple[Path, Path | None]:
    """Return (base model dir, adapter dir or None); clear errors for non-model dirs."""
    p = Path(path)
    if not p.exists():
        raise InputNotFound(f"model directory not found: {p}")
    if not p.is_dir():
        raise UserError(f"--model must be a directory saved with save_pretrained, got file {p}")
    if (p / "adapter_config.json").exists():
        cfg = json.loads((p / "adapter_config.json").read_text())
        base = cfg.get("base_model_name_or_path")
        if not base or not Path(base).is_dir():
            raise UserError(
                f"LoRA adapter {p} names base model {base!r}, which is not a local "
                "directory (weights cannot be downloaded here)"
            )
        _check_model_files(Path(base))
        return Path(base), p
    if not (p / "config.json").exists():
        raise UserError(f"{p} is not a model directory (no config.json or adapter_config.json)")
    _check_model_files(p)
    return p, None


#: Files any one of which makes a directory's tokenizer loadable.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tiktoken.model")


def _check_model_files(p: Path) -> None:
    """One-line errors, before loading anything, for a config.json that is not JSON or
    names no model type, and for a directory without tokenizer files (which transformers
    reports as a reshape error from inside the model, or a cut-off tokenizer message)."""
    try:
        cfg = json.loads((p / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot load model from {p}: config.json is not valid JSON ({exc})"
        ) from None
    if not isinstance(cfg, dict) or not cfg.get("model_type"):
        raise UserError(
            f'cannot load model from {p}: config.json has no "model_type" '
            "(save the model with save_pretrained)"
        )
    if not any((p / f).exists() for f in TOKENIZER_FILES):
        raise UserError(
            f"cannot load model from {p}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); "
            "save them next to the weights with tokenizer.save_pretrained(dir)"
        )


def load_model(
    model_path: str | Path, device: str | None = None, dtype=None, trust_remote_code=False
):
    """(model in eval mode, tokenizer, device, revision) from a local model or LoRA adapter
    directory; every load failure is one UserError naming the directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir, adapter_dir = resolve_model_dir(model_path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = dtype or (torch.bfloat16 if device.startswith("cuda") else torch.float32)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_dir, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            base_dir, dtype=dtype, trust_remote_code=trust_remote_code
        )
        if adapter_dir is not None:
            try:
                from peft import PeftModel
            except ImportError:
                raise UserError(
                    "loading a LoRA adapter needs peft: pip install 'rankinv[validate]'"
                ) from None
            model = PeftModel.from_pretrained(model, adapter_dir)
    except Exception as exc:  # noqa: BLE001 - any load failure (corrupt safetensors
        # raises SafetensorError) becomes one line naming the directory
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot load model from {model_path}: {first}") from None
    if not tokenizer("def f():").input_ids:
        raise UserError(
            f"cannot load model from {model_path}: its tokenizer encodes text to no tokens"
        )
    return model.to(device).eval(), tokenizer, device, revision(base_dir, adapter_dir)


def cache_keyword(model) -> str:
    """transformers >= 5.2x calls the KV cache argument ``cache``; older ones
    ``past_key_values``."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def cache_of(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def revision(base_dir: Path, adapter_dir: Path | None) -> str:
    """A content hash of the weight files' names, sizes and mtimes (cheap, no full read)."""
    import hashlib

    h = hashlib.sha256()
    for d in filter(None, (base_dir, adapter_dir)):
        for f in sorted(Path(d).glob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:12]


def adapter_rank(adapter_dir: str | Path) -> int | None:
    """The LoRA rank of an adapter directory: the largest of adapter_config.json's ``r`` and
    its per-module ``rank_pattern`` values (None when it records no rank)."""
    try:
        cfg = json.loads((Path(adapter_dir) / "adapter_config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    ranks = [cfg.get("r")] + list((cfg.get("rank_pattern") or {}).values())
    ranks = [int(r) for r in ranks if isinstance(r, int) and r > 0]
    return max(ranks) if ranks else None
