"""The real evidence, built once from the repository's saved artifacts and shipped inside the
package (``rankinv/data/real_evidence.json``), so that `rankinv calibrate` scores its real
back-test from any install, not only from a source checkout.

Nothing here is ever used to choose a signal, a sign, a rule or a threshold: calibrate
chooses on simulated settings; the real data are only scored.

Stage-1 Ladders (one post-RL outcome per rung: the final held-out pass@k, steps >= 1):
- paper-qwen: the paper's Qwen2.5-Coder-3B ladder, pre-RL pass@1 and prompt entropy from
  Table 1, pre-RL pass@10 from Table 5; outcome Table 5's final post-RL pass@10 (deep eval);
  paper-qwen-peak is the same ladder against Table 1's peak post-RL pass@10 (secondary: it
  is not counted again in the medians);
- paper-deepseek: Table 5's DeepSeek-Coder-6.7B rows (prompt entropy on 2 of 4 rungs only);
- mini-full-s{0,1,2}, mini-lora-s{0,1,2}: the miniature experiment's imperfect-teacher
  ladders per seed (figures/data/mini/mini_ci.json, mini_ci_lora.json), with the pilot
  signals from their runs (rollout entropy at RL step 10; informative fraction over the first
  5 steps); seed 0 of the full-SFT ladder adds the count-based signals of its saved probes
  (figures/data/mini/probes, 200 synthetic problems x 16 samples) under the run's own plan;
- mini-full-clean, mini-lora-clean: the clean controls (2 rungs: no rho, a pick and regret);
- mini-gpu: the GPU ladder (figures/data/mini/gpu_h200_seed0_ladder.json, one seed, 5 rungs);
- mini-lr-s{0,1,2}, mini-nomod-s{0,1,2}: two settings not run before (presets ci-lr: RL
  learning rate 1e-3; ci-nomod: a teacher wrong on the modular family), 3 seeds each
  (figures/data/mini/mini_ci_lr.json, mini_ci_nomod.json; absent until they are run);
- mini-recipe-s{0,1,2}: recipe ladders (preset ci-recipe): six SFT recipes at 4 epochs from
  the saved base, one ladder per seed, every rung at one depth and named by its recipe
  (figures/data/mini/mini_ci_recipe.json);
- mini-shallow-s{0,1,2}: depth ladders that start under one epoch (preset ci-shallow: 0.25,
  0.5, 1, 2 epochs; figures/data/mini/mini_ci_shallow.json).
The recipe and shallow ladders carry the count-based signals of every rung's probe
(``rankinv validate``, 200 synthetic problems x 16 samples, planned for the run's GRPO:
ci_recipe/probes, ci_shallow/probes), and their per-step GRPO logs are in their runs/.

Stage 2: the real GRPOTrainer corpora (figures/data/trl_corpus, version 1, and
figures/data/trl_corpus_v2: runs.jsonl and each run's trl_logs/<name>/trainer_state.json):
each labelled run's log records, as `rankinv monitor` reads them, and its label.

Regenerate after a saved artifact changes (tests/test_evaluation_real_data.py checks that the
shipped file is what the artifacts give)::

    python scripts/update_real_evidence.py
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from rankinv._io import read_jsonl
from rankinv.errors import InputNotFound, UserError
from rankinv.records import Plan
from rankinv.theory import outcomes, paper
from rankinv.verdicts import signals as sg
from rankinv.verdicts.probe_result import ProbeResult

#: The date each real corpus was first scored (it has never been used to choose anything;
#: a corpus scored before a choice was made could not have informed it).
FIRST_SCORED = {
    "figures/data/trl_corpus": "2026-12-02",
    "figures/data/trl_corpus_v2": "2026-12-07",
}
#: The real GRPOTrainer corpora: key in the evidence -> folder under figures/data.
CORPORA = {"trl_corpus": "trl_corpus", "trl_corpus_v2": "trl_corpus_v2"}
#: The file the package ships, relative to the package root.
SHIPPED = ("data", "real_evidence.json")


def shipped_path():
    """Path of the real evidence shipped with the package."""
    return resources.files("rankinv").joinpath(*SHIPPED)


def load(path: str | Path | None = None) -> dict:
    """The real evidence: the file shipped with the package, or ``path`` (one build() made)."""
    if path is not None and not Path(path).is_file():
        raise InputNotFound(f"real evidence not found: {path}")
    src = shipped_path() if path is None else Path(path)
    try:
        data = json.loads(src.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{src}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or "ladders" not in data:
        raise UserError(f"{src}: not a real-evidence file (no ladders)")
    return data


def trl_corpus(corpus: Path, src: str = "figures/data/trl_corpus") -> dict | None:
    """The real GRPOTrainer runs: setting, label and log records of each run that has both
    (``src``: the corpus's name in the repository, which dates its first scoring)."""
    from rankinv.verdicts import logs

    corpus = Path(corpus)
    if not (corpus / "runs.jsonl").exists():
        return None
    runs = []
    for rec in read_jsonl(corpus / "runs.jsonl"):
        path = corpus / "trl_logs" / rec["name"] / "trainer_state.json"
        if rec.get("label") is None or not path.exists():
            continue
        runs.append({**rec, "records": logs.read_log(path).records})
    return {"source": src, "first_scored": FIRST_SCORED.get(src), "runs": runs}


#: When each real ladder was first scored, and whether anything (a signal, sign, rule,
#: threshold or criterion) was chosen after that, from the repository's history: a ladder
#: is evidence only while nothing was chosen on it. The paper's ladders set the done of the
#: issue that built the back-test and `rank`'s abstain rule was written while they and the
#: first mini ladders were scored (2026-12-02); ci-lr and ci-nomod were run afterwards and
#: nothing was chosen after them.
HISTORY = {
    "paper-": ("2026-12-02", True),
    "mini-full": ("2026-12-02", True),
    "mini-lora": ("2026-12-02", True),
    "mini-gpu": ("2026-12-02", True),
    "mini-lr": ("2026-12-03", False),
    "mini-nomod": ("2026-12-03", False),
    "mini-recipe": ("2026-12-07", False),
    "mini-shallow": ("2026-12-07", False),
}


def history(ladder: str) -> tuple[str | None, bool | None]:
    """(date first scored, chosen after) of a real ladder, by its name's prefix."""
    for prefix, entry in HISTORY.items():
        if ladder.startswith(prefix):
            return entry
    return None, None


def build(figures_data: str | Path) -> dict:
    """The real evidence from a checkout's figures/data folder."""
    root = Path(figures_data)
    if not root.is_dir():
        raise InputNotFound(f"figures data folder not found: {root}")
    ladders = real_ladders(root)
    for lad in ladders:
        lad["first_scored"], lad["chosen_after"] = history(lad["ladder"])
    out = {"ladders": ladders}
    for key, folder in CORPORA.items():
        out[key] = trl_corpus(root / folder, f"figures/data/{folder}")
    return out


def _rung(name, depth, outcome, recipe=None, **values) -> dict:
    rung = {"name": name, "depth": depth, "outcome": outcome, "values": values}
    return rung if recipe is None else {**rung, "recipe": recipe}


def paper_ladders() -> list[dict]:
    data = json.loads(paper.tables_path().read_text())
    t1 = data["examples"]["paper-qwen"]["rows"]
    t5 = {r["depth"]: r for r in data["table5_qwen"]}
    q, qpeak = [], []
    for r in t1:
        v = {
            "pass_at_1": r["pre_pass_at_1"],
            "entropy_prompt": r["entropy"],
            "pass_at_k": t5[r["depth"]]["pre_pass_at_10"],
        }
        q.append(_rung(r["name"], r["depth"], t5[r["depth"]]["post_pass_at_10"], **v))
        qpeak.append(_rung(r["name"], r["depth"], r["post_pass_at_10"], **v))
    ds = [
        _rung(
            r["name"],
            r["depth"],
            r["post_pass_at_10"],
            pass_at_1=r["pre_pass_at_1"],
            pass_at_k=r["pre_pass_at_10"],
            entropy_prompt=r.get("entropy"),
        )
        for r in data["examples"]["paper-deepseek"]["rows"]
    ]
    src = "src/data/paper.json"
    return [
        {"ladder": "paper-qwen", "source": f"{src}: Table 1 + Table 5 (final)", "rungs": q},
        {
            "ladder": "paper-qwen-peak",
            "source": f"{src}: Table 1 (peak)",
            "rungs": qpeak,
            "secondary": True,
        },
        {"ladder": "paper-deepseek", "source": f"{src}: Table 5", "rungs": ds},
    ]


def _mini_rung(run: dict, k: int) -> dict:
    evals = run["evals"]
    steps = [e["step"] for e in evals]
    final = outcomes.post_rl(steps, [e[f"pass_at_{k}"] for e in evals]).final
    pilot = sg.pilot_signals(steps, [e.get("entropy") for e in evals], pilot_step=sg.PILOT_STEP)
    return _rung(
        run["name"],
        run.get("depth"),
        final,
        recipe=run.get("recipe"),
        pass_at_1=run["pre"]["pass_at_1"],
        pass_at_k=run["pre"][f"pass_at_{k}"],
        entropy_rollout=run["pre"].get("entropy"),
        entropy_prompt=run["pre"].get("entropy_prompt"),
        pilot_entropy=pilot["pilot_entropy"],
        pilot_informative=run.get("informative"),  # first 5 GRPO steps
    )


def _probe_values(root: Path, names: list[str], cfg: dict, k: int) -> dict[str, dict] | None:
    """Count-based signals of the saved probes of these rungs (folders ``root/<name>``),
    under the run's own plan (the mini run's g, steps and prompts per step, over the prompts
    probed); None unless every rung has one."""
    dirs = [root / n for n in names]
    if not all(d.is_dir() for d in dirs):
        return None
    out = {}
    for name, d in zip(names, dirs, strict=True):
        p = ProbeResult.load(d)
        plan = Plan(
            group_size=int(cfg["group_size"]),
            rl_steps=int(cfg["rl_steps"]),
            batch_prompts=int(cfg["rl_prompts"]),
            n_prompts=len(p.problems),
        )
        sig = sg.stage1_signals(p.n, p.c, plan, k=k)
        out[name] = {s: sig[s] for s in sg.STAGE1_SIGNALS if sg.STAGE1_SIGNALS[s].needs == "counts"}
    return out


def mini_ladders(path: Path, label: str, probes: Path | None = None) -> list[dict]:
    """The ladders of one saved miniature-experiment summary ([] when it is not there);
    ``probes``: the folder of its rungs' probes (a ladder gets their count-based signals when
    every rung of it was probed)."""
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    cfg = data["config"]
    k = max(cfg.get("ks", [1, 10]))
    runs = data["runs"]
    for r in runs:  # older summaries: the depth and variant are in the name (...-d16)
        m = re.search(r"-d(\d+)$", r.get("name", ""))
        r.setdefault("depth", int(m.group(1)) if m else None)
        r.setdefault("variant", "teacher" if "teacher" in r.get("name", "") else "clean")
    ladders = []
    for variant in ("teacher", "clean"):
        rs = [r for r in runs if r.get("variant", "teacher") == variant]
        for seed in sorted({r.get("seed", 0) for r in rs}):
            lad = sorted((r for r in rs if r.get("seed", 0) == seed), key=lambda r: r["depth"])
            if len(lad) < 2:
                continue
            rungs = [_mini_rung(r, k) for r in lad]
            name = f"{label}-s{seed}" if variant == "teacher" else f"{label}-clean"
            if len({r.get("seed", 0) for r in rs}) == 1 and variant == "teacher":
                name = label
            extra = None
            if probes is not None and variant == "teacher":
                extra = _probe_values(probes, [r["name"] for r in lad], cfg, k)
            if extra:
                for rung in rungs:
                    rung["values"].update(extra[rung["name"]])
            ladders.append(
                {
                    "ladder": name,
                    "source": f"figures/data/mini/{path.name}"
                    + (f" + {probes.relative_to(path.parent)}/ (counts)" if extra else ""),
                    "rungs": rungs,
                }
            )
    return ladders


def real_ladders(figures_data: Path) -> list[dict]:
    """Every real ladder of the back-test (see the module docstring)."""
    mini = Path(figures_data) / "mini"
    return (
        paper_ladders()
        + mini_ladders(mini / "mini_ci.json", "mini-full", probes=mini / "probes")
        + mini_ladders(mini / "mini_ci_lora.json", "mini-lora")
        + mini_ladders(mini / "gpu_h200_seed0_ladder.json", "mini-gpu")
        + mini_ladders(mini / "mini_ci_lr.json", "mini-lr")
        + mini_ladders(mini / "mini_ci_nomod.json", "mini-nomod")
        + mini_ladders(mini / "mini_ci_recipe.json", "mini-recipe", mini / "ci_recipe" / "probes")
        + mini_ladders(
            mini / "mini_ci_shallow.json", "mini-shallow", mini / "ci_shallow" / "probes"
        )
    )
