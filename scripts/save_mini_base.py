"""Pretrain the miniature experiment's base model with the ci preset's recipe and save it,
with its manifest, where the package ships it (src/data/mini_base).

    python scripts/save_mini_base.py [--from DIR]

``--from`` takes a directory a pretraining already wrote (``<out>/ckpt/base`` of a run with
``--pretrain``, or of ``rankinv.experiment.train.pretrain``) instead of pretraining here
(3-7 minutes on one CPU thread).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rankinv.experiment import base
from rankinv.experiment.config import preset
from rankinv.experiment.train import pretrain

DEST = Path("src") / Path(*base.SAVED)


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="src", help="a pretrained base directory to save")
    args = ap.parse_args()
    cfg = preset("ci")
    torch.set_num_threads(cfg.threads)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(args.src) if args.src else pretrain(cfg, Path(tmp), print)
        record = base.save(cfg, src, DEST)
    print(f"saved {DEST}: model.safetensors {record['sha256']['model.safetensors'][:12]}")


if __name__ == "__main__":
    main()
