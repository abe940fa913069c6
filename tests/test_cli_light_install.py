"""A light install (no extras): monitor, rank, compare, threshold and report's readers run
without jax or torch, and a command that needs an extra says which, in one line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "trl"

#: Runs rankinv's CLI with the heavy packages made unimportable, then reports which of them
#: were imported (none may be) and the exit code.
_DRIVER = """
import importlib.abc, json, sys
HEAVY = {"jax", "jaxlib", "torch", "transformers", "vllm", "ray", "trl", "peft"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in HEAVY:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from rankinv.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _run(*args: str, cwd=None) -> tuple[dict, str, str]:
    run = subprocess.run(
        [sys.executable, "-c", _DRIVER, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    last = run.stderr.strip().splitlines()[-1]
    return json.loads(last), run.stdout, run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("threshold", "--group-size", "8", "--json"),
        ("compare", "--example", "paper-qwen", "--json"),
        ("monitor", str(DATA / "stalled"), "--json"),
    ],
)
def test_light_commands_import_no_jax_or_torch(args):
    res, out, err = _run(*args)
    assert res == {"code": 0, "heavy": []}, err
    json.loads(out)


def test_rank_table_without_extras(tmp_path):
    table = tmp_path / "ladder.csv"
    table.write_text(
        "name,depth,pre_pass_at_1,entropy\na,1,0.30,0.40\nb,2,0.35,0.30\nc,4,0.40,0.20\n"
    )
    res, out, err = _run("rank", "--table", str(table), "--json")
    assert res == {"code": 0, "heavy": []}, err
    assert len(json.loads(out)["ranking"]) == 3


def test_a_command_needing_an_extra_names_it():
    res, out, err = _run("simulate", "--preset", "quick", "--json")
    assert res["code"] == 2
    line = err.strip().splitlines()[0]
    assert line == (
        "rankinv: error: this command needs jax, not installed: install rankinv with its "
        "`simulate` extra (from a checkout: pip install -e '.[simulate]')"
    )
