"""One-off (issue 38): the saved artifacts under figures/data named checkpoints by the paths
of the machines that made them (/tmp/mini-ci/ckpt/teacher-s0-d8, /work/runs/...). Rewrite
those name/path fields to the checkpoint folder's name, as probes record it now
(rankinv.validate.models.model_name):

- a probe's validate_summary.json: ``model``, ``tag.model`` and ``setup.model``;
- a mini experiment's run record (runs/*.json, mini_*.json ``runs[]``): ``checkpoint``;
- a saved rank result (evidence/rank_*.json): ``ranking[].checkpoint``, ``recommended`` and
  ``best_pre_pass_at_1``.

The rewrite is textual (each such field's JSON string value, nothing else), so numbers keep
their exact digits and the files their layout; each file is then checked to parse to what
it parsed to before with only those values changed. Run from the repository root:

    python scripts/portable_checkpoint_names.py [--check]

``--check`` rewrites nothing and exits 1 when a file still holds such a path.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path("figures/data")
#: The fields that name a checkpoint, by their key (values checked to be machine paths).
KEYS = ("model", "checkpoint", "recommended", "best_pre_pass_at_1")
#: A path of the machine that made the artifact: an absolute path with a folder in it.
PATH_VALUE = re.compile(r'("(?:' + "|".join(KEYS) + r')":\s*)"(/[^"\\]+/[^"\\/]+)"')


def rewrite(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text with each checkpoint field's path replaced by its last part; the changes."""
    changes = []

    def name(m: re.Match) -> str:
        path = m.group(2)
        base = path.rstrip("/").rsplit("/", 1)[-1]
        changes.append((path, base))
        return f'{m.group(1)}"{base}"'

    return PATH_VALUE.sub(name, text), changes


def _strip(obj, changed: dict):
    """``obj`` with every string that was rewritten mapped to its new value."""
    if isinstance(obj, dict):
        return {k: _strip(v, changed) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strip(v, changed) for v in obj]
    if isinstance(obj, str):
        return changed.get(obj, obj)
    return obj


def _parse(text: str, jsonl: bool):
    return [json.loads(x) for x in text.splitlines() if x.strip()] if jsonl else json.loads(text)


def main(check: bool = False) -> int:
    files = sorted(p for p in ROOT.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file())
    left, n_files, n_values = [], 0, 0
    for f in files:
        text = f.read_text()
        new, changes = rewrite(text)
        if not changes:
            continue
        if check:
            left.append(str(f))
            continue
        before, after = _parse(text, f.suffix == ".jsonl"), _parse(new, f.suffix == ".jsonl")
        if _strip(before, dict(changes)) != after:  # only those values moved
            raise SystemExit(f"{f}: the rewrite changed more than the checkpoint fields")
        f.write_text(new)
        n_files += 1
        n_values += len(changes)
    if check:
        print("\n".join(left) or "no checkpoint path left")
        return 1 if left else 0
    print(f"rewrote {n_values} checkpoint paths in {n_files} files under {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
