"""The miniature experiment's pretrained base model, saved once and shipped in the package.

Pretraining is the longest stage of the ci preset (1,500 steps: 3-7 minutes on one CPU
thread), and it is the same for every preset: the base model it gives is saved in
``rankinv/data/mini_base`` (about a megabyte) with a manifest that records the recipe it
was pretrained with (:data:`RECIPE_FIELDS` of :class:`MiniConfig`), the loss every
:data:`~rankinv.experiment.train.LOSS_EVERY` steps and the SHA-256 of every file. Every
preset whose recipe is the saved one's starts from it; ``MiniConfig.pretrain`` (the CLI's
``--pretrain``) pretrains afresh with the preset's recipe, as a preset with another model
must. Regenerate the saved base with ``python scripts/save_mini_base.py``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib import resources
from pathlib import Path

from rankinv._io import write_json
from rankinv.errors import UserError
from rankinv.experiment.config import MiniConfig

#: The MiniConfig fields that make the pretrained base: its model and its pretraining.
RECIPE_FIELDS = (
    "hidden",
    "layers",
    "heads",
    "kv_heads",
    "vocab_size",
    "pretrain_steps",
    "pretrain_batch",
    "pretrain_lr",
    "wrong_share",
)
#: The saved base, relative to the package root.
SAVED = ("data", "mini_base")
MANIFEST = "manifest.json"
#: The files a base directory holds (the manifest aside); each one's hash is recorded.
FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
)


def recipe(cfg: MiniConfig) -> dict:
    """The pretraining recipe of ``cfg`` (the fields that make the base model)."""
    return {k: getattr(cfg, k) for k in RECIPE_FIELDS}


def saved_dir() -> Path:
    """The directory of the base model shipped with the package."""
    return Path(str(resources.files("rankinv").joinpath(*SAVED)))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(path: Path | None = None) -> dict:
    """The saved base's manifest: recipe, losses, file hashes, the versions that made it."""
    d = saved_dir() if path is None else Path(path)
    f = d / MANIFEST
    if not f.is_file():
        raise UserError(f"no saved mini base at {d} (pass --pretrain to pretrain one)")
    return json.loads(f.read_text())


def check(path: Path | None = None) -> Path:
    """The saved base's directory once every file's hash matches its manifest; a one-line
    UserError naming the first file that is missing or changed."""
    d = saved_dir() if path is None else Path(path)
    for name, digest in manifest(d)["sha256"].items():
        if not (d / name).is_file():
            raise UserError(f"saved mini base {d}: {name} is missing")
        if _sha256(d / name) != digest:
            raise UserError(f"saved mini base {d}: {name} differs from its recorded hash")
    return d


def differences(cfg: MiniConfig, saved: dict) -> list[str]:
    """Each recipe field where ``cfg`` differs from the saved base's recorded recipe."""
    mine = recipe(cfg)
    return [
        f"{k} {mine[k]!r} (saved {saved.get(k)!r})"
        for k in RECIPE_FIELDS
        if saved.get(k) != mine[k]
    ]


def base_model(cfg: MiniConfig, out: Path, log) -> Path:
    """Where the experiment's base model is: the saved one (checked against its manifest and
    the preset's recipe), or, with ``cfg.pretrain``, one pretrained afresh under ``out``."""
    from rankinv.experiment.train import pretrain

    if cfg.pretrain:
        log(f"stage 1/4: pretraining the base model ({cfg.pretrain_steps} steps)")
        return pretrain(cfg, out, log)
    diff = differences(cfg, manifest()["recipe"])
    if diff:
        raise UserError(
            f"preset {cfg.name!r} is not the saved base's recipe ({'; '.join(diff)}): "
            "pass --pretrain to pretrain its own base"
        )
    log("stage 1/4: the saved base model (rankinv/data/mini_base; --pretrain makes a new one)")
    return check()


def save(cfg: MiniConfig, pretrained: Path, dest: Path) -> dict:
    """Copy a base pretrained with ``cfg`` (a ``pretrain`` output directory) to ``dest`` with
    its manifest; returns the manifest."""
    import torch
    import transformers

    pretrained, dest = Path(pretrained), Path(dest)
    done = json.loads((pretrained / "done").read_text())
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(pretrained / name, dest / name)
    record = {
        "recipe": recipe(cfg),
        "losses": done["losses"],
        "seconds": done["seconds"],
        "sha256": {name: _sha256(dest / name) for name in FILES},
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    write_json(dest / MANIFEST, record)
    return record
