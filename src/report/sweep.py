"""The report's section for a sweep's JSON (`rankinv monitor A B --json` or `--out FILE`):
the sentence `monitor` prints over its table, the table (log, verdict, rank, doom score,
state, saves now, would have saved), what the doom score is, each run's why and the compute
saved."""

from __future__ import annotations

from pathlib import Path

from rankinv.verdicts.words.sweep import doom_words, saved_words, sweep_header

#: What a sweep's JSON holds (``rankinv.verdicts.sweep.SweepResult.to_json``).
SWEEP_KEYS = frozenset({"step", "rule", "keep", "runs"})


def is_sweep(data) -> bool:
    """Whether loaded JSON is a sweep's monitor JSON (found by content, whatever its name)."""
    return (
        isinstance(data, dict)
        and SWEEP_KEYS <= set(data)
        and isinstance(data["runs"], list)
        and all(isinstance(r, dict) and "log" in r and "verdict" in r for r in data["runs"])
    )


def _sentence(words: str) -> str:
    """Words `monitor` prints as a line, as a sentence of the report."""
    return words[:1].upper() + words[1:] + ("" if words.endswith(".") else ".")


def _pct(x) -> str:
    return "-" if x is None else f"{x:.0%}"


def sweep_section(sw: dict, d: Path, name: str) -> list[str]:
    """A sweep's section, as `rankinv monitor A B` prints it."""
    runs = sw["runs"]
    ranked = [r for r in runs if r.get("rank") is not None]
    kept = sum(r["verdict"] == "continue" for r in ranked)
    step, then = sw["step"], sw.get("compute_saved_at_check")
    at_check = bool(sw.get("at_check_step"))
    head = sweep_header(step, at_check, sw["rule"], sw["keep"], kept, len(ranked))
    lines = [f"## Sweep: {name}", "", _sentence(head), ""]
    for note in (sw.get("interval_note"), sw.get("planned_note")):
        lines += [note, ""] if note else []
    cols = ["log", "verdict", "rank", "doom score", "state", "saves now"]
    cols += [f"would have saved at step {step}"] if then is not None else []
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in runs:
        at = r.get("compute_saved_at_check")
        cells = [
            f"`{r['log']}`",
            f"**{r['verdict']}**",
            "-" if r.get("rank") is None else str(r["rank"]),
            "-" if r.get("score") is None else f"{r['score']:+.3f}",
            str(r.get("state", "-")),
            _pct(r.get("compute_saved")),
        ]
        if then is not None:
            cells.append(_pct(r.get("compute_saved") if at is None else at))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", _sentence(sw.get("doom_score") or doom_words(sw["rule"])), ""]
    lines += [f"- `{r['log']}`: {r['verdict']} ({r['why']})" for r in runs if r.get("why")]
    if sw.get("compute_saved") is not None:
        lines += ["", _sentence(saved_words(sw["compute_saved"], then, step))]
    return lines + [""]
