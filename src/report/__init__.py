"""`rankinv report DIR`: one Markdown report with PNG figures from the artifacts in DIR.

One section per artifact, assembled here; the figures are drawn by ``rankinv.report.figures``
(and ``rankinv.report.population`` for population and calibrate folders), each from saved
artifacts only.

Artifacts read (any subset): simulate.json and derive.json (rankinv simulate --out
[--derive]), compare.json
(rankinv compare --out; --json's, without its rows: no figures), any monitor report or
sweep (rankinv monitor [A B ...] --out FILE or --json, found by its content),
mini.json and compare_rows.json (rankinv experiment mini --out, ``rankinv.report.mini``),
validate_summary.json (rankinv validate --out) in DIR or in probe folders up to
``rankinv.verdicts.ladders.MAX_DEPTH`` levels below it: the probe folders of one folder are a
ladder, ranked by ``rankinv.verdicts.rank.rank`` (``rankinv.report.ladders`` writes it as
`rank` prints it). Figures are drawn only from these files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rankinv._io import RUN_FILE
from rankinv.errors import InputNotFound, NotADirectoryInput, UserError
from rankinv.report import ladders as ladder_md
from rankinv.report.figures import monitor_figure, plane_figure, probe_figure, ranks_figure
from rankinv.report.mini import MINI, ROWS, mini_section
from rankinv.report.population import calibrate_section, population_section
from rankinv.report.sweep import is_sweep, sweep_section
from rankinv.theory import outcomes
from rankinv.theory.paper import GROUP_SIZE, TAU_H
from rankinv.verdicts import ladders
from rankinv.verdicts.ladders import DEEPER, LadderSearch
from rankinv.verdicts.monitor_report import is_report as is_monitor_report
from rankinv.verdicts.probe_result import PROBLEMS, SUMMARY, ProbeResult
from rankinv.verdicts.results_files import natural_key
from rankinv.verdicts.words import report as report_words
from rankinv.verdicts.words.compare import (
    flag_word,
    h_screen_column,
    headroom_column,
    rho_line,
    rho_words,
)
from rankinv.verdicts.words.monitor import basis as monitor_basis


def _load(path: Path) -> dict:
    """A JSON artifact, or a one-line ValueError naming the file."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}; truncated write?)"
        ) from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _section(path: Path, build, *args) -> list[str]:
    """Run one section builder; a missing or ill-typed key becomes one line naming the file."""
    data = _load(path)
    try:
        return build(data, path.parent, *args)
    except KeyError as exc:
        raise UserError(
            f"{path}: missing key {exc.args[0]!r} (not a complete rankinv artifact?)"
        ) from None
    except (TypeError, IndexError, AttributeError) as exc:
        raise UserError(f"{path}: unexpected content ({exc})") from None


def _compare_section(cmp: dict, d: Path) -> list[str]:
    call = cmp.get("inversion_call") or ("inversion" if cmp["inversion"] else "none")
    lines = [
        f"## Predicted vs observed ({cmp.get('source', 'compare')})",
        "",
        f"n = {cmp['n']}, outcome `{cmp['outcome']}`, seed-demeaned: "
        f"{cmp['seed_demeaned']}. Inversion of the pre-RL pass@1 ranking: **{call}**"
        + (
            f" (permutation p = {cmp['inversion_p']:.3g})"
            if cmp.get("inversion_p") is not None
            else ""
        )
        + f". Strongest predictor by |rho|: `{cmp['favoured_predictor']}`.",
        "",
        "| predictor | Spearman rho [95% CI], permutation p, detectable rho | expected sign "
        "| note |",
        "|---|---|---|---|",
    ]
    for k, v in cmp["predictors"].items():
        exp = v.get("expected_sign")
        sign = "" if exp is None else ("+" if exp > 0 else "-")
        if v.get("agrees") is not None:
            sign += " (agrees)" if v["agrees"] else " (disagrees)"
        note = ""
        if v.get("monotone_of"):
            note = f"monotone function of {v['monotone_of']}: not scored"
            if v.get("expected_sign_conflict"):
                note += f"; its expected sign disagrees with {v['monotone_of']}'s"
            lines.append(f"| {k} (not scored) | - (same ranks as {v['monotone_of']}) | | {note} |")
            continue
        if v.get("same_ranks_as"):
            how = "reverse ranks of" if v.get("same_ranks_sign") == -1 else "same ranks as"
            note = f"{how} {v['same_ranks_as']} here"
        lines.append(f"| {k} | {rho_words(v)} | {sign} | {note} |")
    methods = {v.get("ci_method") for v in cmp["predictors"].values()} - {None}
    if "fisher-z" in methods:
        lines += [
            "",
            "Intervals at n <= 15: Fisher z with the Bonett-Wright variance (the percentile "
            "bootstrap undercovers there). Detectable rho: the smallest true |rho| a test at "
            "alpha = 0.05 detects with 80% power at this n (as `rankinv compare` prints it).",
        ]
    lines += [
        "",
        f"| checkpoint | H | {h_screen_column(cmp.get('tau_h', TAU_H))} | stage-2 drop | "
        f"stage 2 | {headroom_column(cmp.get('group_size', GROUP_SIZE))} | observed rank |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in cmp["stage"]:
        h = "-" if s["entropy"] is None else f"{s['entropy']:.3f}"
        drop = "-" if s["stage2_drop"] is None else f"{s['stage2_drop']:.0%}"
        head = "-" if s["headroom"] is None else f"{s['headroom']:.1f}x"
        h_flag = s.get("paper_h_screen_flag", s.get("stage1_flag"))  # older compare.json
        lines.append(
            f"| {s['name']} | {h} | {flag_word(h_flag)} | {drop} | "
            f"{flag_word(s['stage2_flag'])} | {head} | {s['observed_rank']} |"
        )
    if "rows" not in cmp:  # `rankinv compare FILE --json` prints it without its rows
        return lines + ["", report_words.COMPARE_NO_ROWS, ""]
    pts = [
        {
            "pass_at_1": r["pre_pass_at_1"],
            "entropy": r["entropy"],
            "label": str(r.get("name") or f"row {i + 1}"),
            "color": r.get("depth", 0) or 0,
        }
        for i, r in enumerate(cmp["rows"])
        if isinstance(r.get("pre_pass_at_1"), int | float)
        and isinstance(r.get("entropy"), int | float)
    ]
    if pts:
        plane_figure(pts, cmp["group_size"], d, "Checkpoints on the pass@1-entropy plane")
        lines += ["", "![pass@1-entropy plane](plane.png)"]
    ranks_figure(cmp, d)
    return lines + ["", "![predicted vs observed ranks](ranks.png)", ""]


def _simulate_section(sim: dict, d: Path) -> list[str]:
    bd = sim["by_depth"]
    post = f"post pass@{sim['k']}"
    lines = [
        "## Simulation",
        "",
        f"Preset `{sim['config']['name']}`: {sim['work']['runs']} runs x "
        f"{sim['work']['rl_steps']} GRPO steps, g = {sim['work']['group_size']}. "
        f"Inversion: **{outcomes.sweep_inversion(sim)[1]}**.",
        "",
        "- " + rho_line(f"pre-RL pass@1 vs {post}", sim["spearman_pre_pass1_vs_post"]),
        "- " + rho_line(f"pre-RL entropy vs {post}", sim["spearman_entropy_vs_post"]),
        f"- p*({sim['work']['group_size']}): Monte Carlo {sim['p_star_numeric']:.4f} vs "
        f"exact {sim['p_star_analytic']:.4f}",
        "",
        "| SFT epochs | H | pass@1 | peak post pass@k | all-fail | all-pass |",
        "|---|---|---|---|---|---|",
    ]
    for i, dep in enumerate(bd["depth"]):
        lines.append(
            f"| {dep:g} | {bd['pre_entropy'][i]:.3f} | {bd['pre_pass_at_1'][i]:.3f}"
            f" | {bd['post_peak'][i]:.3f} | {bd['all_fail_pre'][i]:.2f} | "
            f"{bd['all_pass_pre'][i]:.2f} |"
        )
    pts = [
        {"pass_at_1": p, "entropy": h, "post": post, "label": f"{dep:g} ep", "color": dep}
        for dep, p, h, post in zip(
            bd["depth"], bd["pre_pass_at_1"], bd["pre_entropy"], bd["post_peak"], strict=True
        )
    ]
    plane_figure(
        pts,
        sim["work"]["group_size"],
        d,
        "Simulated checkpoints (means over seeds)",
        per_token=(sim["config"]["n_answers"], sim["config"]["seq_len"]),
        name="plane_sim.png",
        post_label=f"peak post-RL pass@{sim['k']} (held out)",
    )
    lines += ["", "![simulated checkpoints on the pass@1-entropy plane](plane_sim.png)", ""]
    return lines


def _derive_section(der: dict, d: Path) -> list[str]:
    lines = [
        "## Derived: p*(g) two ways, the entropy threshold, mitigations",
        "",
        "p*(g), the pass rate below which more than half the groups of g all fail: exact root "
        "of (1 - p)^g + p^g = 1/2 against the Monte Carlo estimate from simulated groups, and "
        "the dynamic p* (lowest start that escapes within the simulated steps).",
        "",
        "| g | exact | Monte Carlo (+- se) | z | dynamic (steps) |",
        "|---|---|---|---|---|",
    ]
    for r in der["p_star"]:
        dyn = r.get("p_star_dynamic")
        dyn_s = "-" if dyn is None else f"{dyn:.4f} ({r.get('dynamic_steps', '?')})"
        lines.append(
            f"| {r['g']} | {r['p_star_analytic']:.4f} | {r['p_star_monte_carlo']:.4f} "
            f"(+- {r.get('monte_carlo_se', float('nan')):.4f}) | "
            f"{r.get('monte_carlo_z', float('nan')):+.1f} | {dyn_s} |"
        )
    e = der.get("entropy_threshold")
    if e:
        onset = "none" if e.get("onset_nats") is None else f"{e['onset_nats']:.3f} nats"
        lines += [
            "",
            f"Entropy: inversion onset at {onset} (mean token entropy); theory per token "
            f"H_low {e['theory_low_per_token']:.3f}, H_high {e['theory_high_per_token']:.3f}.",
        ]
    lines += [
        "",
        "| mitigation (deepest checkpoint) | shallow post peak | deep post peak | "
        "deep vs none | rescues |",
        "|---|---|---|---|---|",
    ]
    for r in der["mitigations"]:
        lines.append(
            f"| {r['mitigation']} | {r['shallow_post_peak']:.3f} | {r['deep_post_peak']:.3f} | "
            f"{r['deep_gain_vs_none']:+.3f} | {'yes' if r['rescues'] else 'no'} |"
        )
    return lines + [""]


def _monitor_section(rep: dict, d: Path, name: str) -> list[str]:
    """A monitor report's section; its figure where the JSON holds the series it draws."""
    drawn = "series" in rep
    if drawn:
        monitor_figure(rep, d, name)
    ln = log_name(rep.get("log"))  # monitor.json is named "run": its log names it
    head = (ln or name) if name == "run" else name + (f" (log {ln})" if ln else "")
    lines = [
        f"## Stage-2 monitor: {head}",
        "",
        f"Verdict **{rep['verdict']}** ({monitor_basis(rep)}).",
        "",
    ]
    if rep.get("label"):
        lines += [f"Predicted: **{rep['label']}**; action: {rep['action']}.", ""]
    lines += [f"- {r}" for r in rep["reasons"]]
    lines += [f"- log: {i}" for i in rep.get("log_issues") or []]
    if not drawn:
        return lines + ["", report_words.NO_SERIES, ""]
    return lines + ["", f"![monitor {name}](monitor_{name}.png)", ""]


def log_name(source: str | None) -> str | None:
    """A log's name for a heading: its run folder for a trainer_state.json, else its file."""
    if not source:
        return None
    p = Path(source)
    return p.parent.name if p.name == "trainer_state.json" and p.parent.name else p.name


def _probe_section(v: dict, d: Path, sub: str | None = None) -> list[str]:
    """One probe; ``sub``: its folder's name when it sits in a subfolder of the report's."""
    head = "## Checkpoint probe" + (f": {sub}" if sub else "")
    lines = [head, "", f"Model `{v.get('model')}`, risk **{v['risk']}**.", ""]
    lines += [f"- {r}" for r in v.get("reasons", [])] + [""]
    if (d / PROBLEMS).exists():
        probe_figure(ProbeResult.load(d).problems, v, d)
        link = f"{sub}/probe.png" if sub else "probe.png"
        lines += [f"![per-problem pass rates against p*]({link})", ""]
    return lines


#: Artifacts with sections of their own, and the records beside them; every other *.json is
#: looked at for a monitor report.
KNOWN_JSON = (
    "compare.json",
    "simulate.json",
    "derive.json",
    "calibrate.json",
    "population.json",
    SUMMARY,
    MINI,
    ROWS,
    "config.json",  # the mini experiment's configuration (mini.json holds it too)
    RUN_FILE,  # the command that wrote the folder
)


@dataclass
class Report:
    """The report written (``path``) and the probe folders it searched, ranked by ladder."""

    path: Path
    search: LadderSearch

    @property
    def figures(self) -> list[str]:
        """The figures the report links: beside it, and in the probe folders it read."""
        drawn = [p / "probe.png" for p in self.search.probes if (p / PROBLEMS).exists()]
        return sorted(str(f) for f in [*self.path.parent.glob("*.png"), *drawn] if f.exists())


def build_report(directory: str | Path) -> Path:
    """Write DIR/report.md (and its PNGs) from the artifacts in DIR; a broken artifact is a
    one-line ValueError naming the file."""
    return write_report(directory).path


def write_report(directory: str | Path) -> Report:
    """Write DIR/report.md (and its PNGs) from the artifacts in DIR and in the probe folders
    up to ``ladders.MAX_DEPTH`` levels below it (each folder of two or more ranked as a
    ladder); a broken artifact is a one-line ValueError naming the file."""
    d = Path(directory)
    if not d.exists():
        raise InputNotFound(report_words.not_found(d))
    if not d.is_dir():
        raise NotADirectoryInput(report_words.is_a_file(d))
    lines = ["# rankinv report", ""]
    found = False
    for fname, build in (
        ("compare.json", _compare_section),
        ("simulate.json", _simulate_section),
        ("derive.json", _derive_section),
    ):
        if (d / fname).exists():
            found = True
            lines += _section(d / fname, build)
    if (d / MINI).exists():  # rankinv experiment mini --out DIR
        found = True
        lines += _section(d / MINI, mini_section, _compare_section)
    monitors, not_read = _monitor_sections(d)
    found |= bool(monitors)
    lines += monitors
    if (d / SUMMARY).exists():
        found = True
        lines += _section(d / SUMMARY, _probe_section)
        search = LadderSearch(d, ladders.MAX_DEPTH)  # a probe folder is searched no deeper
    else:
        search = ladders.search(d)
        lines += _ladder_sections(d, search)
    found |= bool(search.probes)
    for fname, build in (
        ("population.json", population_section),
        ("calibrate.json", calibrate_section),
    ):
        if (d / fname).exists():
            found = True
            lines += _section(d / fname, build)
    if not found:
        raise UserError(report_words.no_artifacts(d, search, _skipped(d, not_read, search)))
    out = d / "report.md"
    out.write_text("\n".join(lines) + "\n")
    return Report(out, search)


def _skipped(d: Path, not_read: list[str], search: LadderSearch) -> list[str]:
    """What a folder with nothing to report holds, each entry named (a folder with a
    trailing /, but none named as not searched deeper down), rankinv's own inputs first
    with what they are and how to read them."""
    deeper = {Path(s["folder"]).parts[0] + "/" for s in search.skipped if s["why"] == DEEPER}
    said = {
        ROWS: f"{ROWS} (a compare input table: `rankinv compare {d / ROWS}`)",
        "config.json": "config.json (a mini experiment's configuration; no mini.json beside it)",
    }
    names = sorted(
        (e.name + ("/" if e.is_dir() else "") for e in d.iterdir() if not e.name.startswith(".")),
        key=natural_key,
    )
    names = [n for n in names if n not in not_read and n not in deeper] + not_read
    return [said[n] for n in names if n in said] + [n for n in names if n not in said]


def _monitor_sections(d: Path) -> tuple[list[str], list[str]]:
    """A section per monitor report or sweep in DIR (any *.json but the known artifacts,
    found by its content, `monitor --json`'s too; one named monitor* that is none is said to
    be broken), and the other *.json files' names (no rankinv artifact: named where nothing
    else is found; a TRL log beside its reports, say, is no stray file)."""
    lines, skipped = [], []
    for mpath in sorted(d.glob("*.json")):
        if mpath.name in KNOWN_JSON:
            continue
        try:
            data = json.loads(mpath.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if is_sweep(data):  # `rankinv monitor A B --json`: a sweep of several logs
            lines += _section(mpath, sweep_section, mpath.stem)
            continue
        if not is_monitor_report(data, series=False):
            if mpath.stem.startswith("monitor"):  # named as one, but not one: say so
                lines += _section(mpath, _monitor_section, mpath.stem)
            else:
                skipped.append(mpath.name)
            continue
        name = mpath.stem.replace("monitor_", "").replace("monitor", "run") or "run"
        lines += _section(mpath, _monitor_section, name)
    return lines, skipped


def _ladder_sections(d: Path, search: LadderSearch) -> list[str]:
    """What the search found, then per ladder its ranking and its probes' sections (a probe
    alone in its folder: its section only), in natural order of the folders' paths."""
    if not search.probes:
        return []
    lines = ladder_md.search_section(search)
    by_folder = {lad.folder: lad for lad in search.ladders}
    for p in search.probes:
        lad = by_folder.pop(p.parent, None)
        if lad is not None:
            lines += ladder_md.ladder_section(lad, search)
        lines += _section(p / SUMMARY, _probe_section, ladders.rel(p, d))
    return lines
