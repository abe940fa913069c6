"""Checkpoints as users name them: a local directory saved with save_pretrained, a Hugging
Face Hub id (``org/name``), or a PEFT adapter (a directory, or a Hub id) whose
``base_model_name_or_path`` is either. A Hub id resolves to its snapshot folder in the local
Hugging Face cache (downloaded there first unless ``HF_HUB_OFFLINE`` is set), so the rest of
the pipeline (transformers' and vLLM's ``from_pretrained``, the revision hash) reads a local
folder. Files are checked before anything heavy loads (one-line errors); a cheap revision
hash of the weights (a Hub snapshot's commit)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from rankinv.errors import InputNotFound, UserError

#: What a Hub download of a model fetches (what from_pretrained reads: config, tokenizer,
#: generation config, safetensors weights, remote code); ``*.bin`` only where a repo has no
#: safetensors. Mistral-style consolidated/original copies of the weights are skipped.
HUB_FILES = ("*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.py", "*.jinja")
HUB_SKIP = ("original/*", "consolidated*", "*.pth")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")


def is_hub_id(name: str) -> bool:
    """``org/name`` or ``name`` as the Hub spells repo ids, and not a path on this machine
    (a Hub id has at most one ``/``, no leading ``.`` ``/`` ``~``, no ``..`` or ``--``)."""
    s = str(name)
    return (
        bool(_HUB_ID.match(s))
        and not Path(s).exists()
        and ".." not in s
        and "--" not in s
        and not s.endswith((".json", ".jsonl", ".safetensors", ".bin"))
    )


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def hub_cache_dir() -> Path:
    """The Hugging Face cache as huggingface_hub finds it (read now, not at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or Path(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def hub_snapshot(repo_id: str, what: str = "model") -> Path:
    """The local snapshot folder of Hub repo ``repo_id``: from the cache, downloading the
    files from_pretrained reads first unless HF_HUB_OFFLINE is set; one line when it is
    neither here nor reachable."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (
            HfHubHTTPError,
            HFValidationError,
            LocalEntryNotFoundError,
        )
    except ImportError:
        raise UserError(
            f"{what} {repo_id!r} is no local directory; reading it from the Hugging Face Hub "
            "needs huggingface_hub: pip install 'rankinv[validate]'"
        ) from None
    offline = _offline()
    kw = {"cache_dir": hub_cache_dir(), "local_files_only": offline, "ignore_patterns": HUB_SKIP}
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=list(HUB_FILES), **kw))
        if not offline and not any(folder.glob("*.safetensors")):
            folder = Path(snapshot_download(repo_id, allow_patterns=["*.bin"], **kw))
    except (HfHubHTTPError, HFValidationError, LocalEntryNotFoundError, OSError) as exc:
        # not found, gated, offline, network: one line naming the id
        where = (
            f"not in the local Hugging Face cache ({kw['cache_dir']}) and HF_HUB_OFFLINE is set"
            if offline
            else f"not downloadable from the Hugging Face Hub ({_first_line(exc)})"
        )
        raise InputNotFound(f"{what} {repo_id!r}: no such local directory, and {where}") from None
    return folder


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _model_folder(name: str | Path, what: str) -> Path:
    """A local directory, or the cache snapshot of a Hub id."""
    p = Path(name)
    if p.exists():
        return p
    if is_hub_id(str(name)):
        return hub_snapshot(str(name), what)
    raise InputNotFound(f"{what} not found: {p} (neither a local directory nor a Hub id)")


def model_key(name: str | Path) -> str:
    """How a run names a checkpoint: a local directory's absolute path, a Hub id as given."""
    return str(name) if is_hub_id(str(name)) else str(Path(name).resolve())


def model_name(name: str | Path) -> str:
    """How a probe names a checkpoint wherever it is read: a Hub id as given, a local
    directory by its folder's name (no path of the machine that probed it)."""
    return str(name) if is_hub_id(str(name)) else Path(name).resolve().name


def resolve_model_dir(path: str | Path) -> tuple[Path, Path | None]:
    """Return (base model folder, adapter folder or None) for a local directory or a Hub id
    (its cache snapshot); clear errors for folders that hold no model."""
    p = _model_folder(path, "model")
    if not p.is_dir():
        raise UserError(f"--model must be a directory saved with save_pretrained, got file {p}")
    if (p / "adapter_config.json").exists():
        cfg = json.loads((p / "adapter_config.json").read_text())
        base = cfg.get("base_model_name_or_path")
        if not base:
            raise UserError(f"LoRA adapter {path} names no base model (base_model_name_or_path)")
        base_dir = _model_folder(base, f"base model of LoRA adapter {path}")
        if not (base_dir / "config.json").exists():
            raise UserError(f"LoRA adapter {path}: its base {base} holds no config.json")
        _check_model_files(base_dir)
        return base_dir, p
    if not (p / "config.json").exists():
        raise UserError(f"{path} is not a model directory (no config.json or adapter_config.json)")
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
    directory or a Hub id; every load failure is one UserError naming the checkpoint."""
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


def hub_commit(folder: Path) -> str | None:
    """The commit of a Hugging Face cache snapshot folder (.../models--org--name/snapshots/
    <commit>), else None."""
    folder = Path(folder)
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        return folder.name
    return None


def revision(base_dir: Path, adapter_dir: Path | None) -> str:
    """A content hash of the weight files' names, sizes and mtimes (cheap, no full read); a
    Hub snapshot counts by its commit (the same on every machine)."""
    import hashlib

    h = hashlib.sha256()
    for d in filter(None, (base_dir, adapter_dir)):
        if hub_commit(d):
            h.update(f"hub:{hub_commit(d)}".encode())
            continue
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
