"""The layer rules of ../shared/DESIGN.md, checked on every module's imports (those inside
functions included), parsed with ast (nothing is imported)."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: what each layer may import from rankinv (besides itself, the package root and rankinv._io)
ALLOWED = {
    "theory": set(),
    "simulate": {"theory"},
    "sandbox": {"theory"},
    "verdicts": {"theory"},
    "validate": {"theory", "sandbox", "verdicts"},
    "experiment": {
        "theory",
        "simulate",
        "sandbox",
        "verdicts",
        "validate",
        "integrations",
        "report",
    },
    "integrations": {"theory", "simulate", "sandbox", "verdicts", "validate", "experiment"},
    "cli": {
        "theory",
        "simulate",
        "sandbox",
        "verdicts",
        "validate",
        "experiment",
        "integrations",
        "render",
        "report",
    },
    "render": {
        "theory",
        "simulate",
        "sandbox",
        "verdicts",
        "validate",
        "experiment",
        "integrations",
    },
    "report": {"theory", "simulate", "sandbox", "verdicts", "validate"},
}
BASE = {
    "errors",
    "",
    "_io",
    "__version__",
}  # rankinv itself (__version__) and the JSON writer: below every layer


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _rankinv_imports(path: Path) -> list[tuple[int, str]]:
    return _imports_in(path.read_text(), path.relative_to(SRC).parent.parts)


def _imports_in(text: str, pkg: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, layer) of every rankinv import in ``text``, a module of package ``pkg``."""
    tree = ast.parse(text)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the module's package
                base = list(pkg[: len(pkg) - node.level + 1])
                mod = ".".join(["rankinv", *base] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "rankinv":
                found.append((node.lineno, parts[1] if len(parts) > 1 else ""))
    return found


def _modules():
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_parses_and_is_in_a_layer():
    mods = _modules()
    assert len(mods) > 30
    layers = {_layer(p) for p in mods}
    assert {"theory", "simulate", "sandbox", "verdicts", "validate", "experiment", "cli"} <= layers
    assert layers <= set(ALLOWED) | {"__init__", "_io", "errors"}


def test_layer_rules_hold():
    bad = []
    for path in _modules():
        layer = _layer(path)
        if layer in ("__init__", "_io", "errors"):
            allowed = set()
            own = set()
        else:
            allowed = ALLOWED[layer]
            own = {layer}
        for lineno, target in _rankinv_imports(path):
            # `from rankinv import theory` names a layer as a member of the root
            if target in BASE or target in own or target in allowed:
                continue
            bad.append(f"{path.relative_to(SRC)}:{lineno} ({layer}) imports rankinv.{target}")
    assert not bad, "layer rule broken:\n" + "\n".join(bad)


def test_nothing_imports_cli_and_only_cli_imports_render():
    users = [
        str(p.relative_to(SRC))
        for p in _modules()
        if _layer(p) != "cli" and any(t == "cli" for _, t in _rankinv_imports(p))
    ]
    assert not users
    render_users = [
        str(p.relative_to(SRC))
        for p in _modules()
        if _layer(p) not in ("cli", "render") and any(t == "render" for _, t in _rankinv_imports(p))
    ]
    assert not render_users


#: Long files whose split is in progress on a branch (issue 22); empty once they land.


def test_no_module_over_450_lines_without_saying_why():
    """A reader holds a file in their head; a longer one says why in its first line."""
    long = [
        f"{p.relative_to(SRC)} ({n} lines)"
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > 450
        and "450" not in p.read_text().splitlines()[0]
        and p.name != "_calibrated.py"  # generated
    ]
    assert not long, long


def test_the_cli_is_thin():
    """Every CLI module under 450 lines, and none prints by itself (render.py does)."""
    for p in (SRC / "cli").glob("*.py"):
        text = p.read_text()
        assert len(text.splitlines()) <= 450, p
        assert "console.print(" not in text and "Table(" not in text, p


@pytest.mark.parametrize("layer", ["theory", "sandbox", "verdicts"])
def test_pure_layers_never_import_torch_or_jax(layer):
    """sandbox runs untrusted code; verdicts judge records without a model (DESIGN.md)."""
    for path in (SRC / layer).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            else:
                continue
            assert not any(m.split(".")[0] in ("torch", "transformers", "jax") for m in mods), path


def test_the_checker_catches_a_violation():
    """The parser sees imports inside functions and relative ones (else the rule is vacuous)."""
    text = (
        "import numpy\n"
        "def f():\n"
        "    from rankinv.validate import probe\n"
        "    import rankinv.cli\n"
        "    from ..simulate import grpo\n"
    )
    found = sorted(set(_imports_in(text, ("theory",))))
    assert found == [(3, "validate"), (4, "cli"), (5, "simulate")]
