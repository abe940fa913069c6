"""docs/cli.md names the best calibrated stage-2 rule that calibrate.json names, and copies
no stage-1 AUC or rule recall that the code and calibrate.json do not give."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_md_names_the_calibrated_best_rule_and_copies_no_stale_numbers():
    cal = json.loads((ROOT / "figures/data/calibrate/calibrate.json").read_text())
    best = cal["stage2_default"]["best_rule"]["rule"]
    text = (ROOT / "docs/cli.md").read_text()
    named = re.findall(r"best calibrated rule[^`]*`(\w+)`", text)
    assert named and set(named) == {best}, named
    # the stage-1 accuracy is the one validate prints (from calibrate.json), not a copy
    assert not re.search(r"AUC\s+0\.\d\d \(\d+ held-out ladders", text)
