"""Simulated ladders across settings (over 450 lines: design, records, summary together).

The settings grid, the designs and the record/summary writers belong together; the update
itself lives in grpo.py, the batched calls and the learning-rate tuning in batch.py, the
validation targets in targets.py.

A *ladder* is one setting and one seed run at every SFT depth of ``DEPTHS`` (SFT to that
depth, then GRPO), on the generalising (family) policy of grpo.py. Ladders whose shapes
agree run together in one compiled, vmapped call (a chunk of ``CHUNK`` ladders), so a
population compiles once per shape; each ladder is appended to ``population.jsonl`` as its
chunk finishes, and a rerun into the same directory skips the ladders already there.

Record of one ladder (one JSON line)::

  {"ladder_id", "setting": {axis: value}, "setting_id" (hash of the setting, seed excluded),
   "seed", "plan" (rankinv.records.Plan: group_size, rl_steps, batch_prompts, n_prompts),
   "k", "task_seed" (fresh per ladder), "rl_lr" (chosen), "lr_tuned", "lr_sweep"
   ({rate: final training pass@1}), "revision",
   "runs": [{"depth",
             "counts": {"n": N_PROBE, "c": [successes per training prompt]},
             "stage1": {"pass_at_1", "pass_at_k", "entropy_rollout", "entropy_prompt": null,
                        "entropy_per_prompt" (step-0 mean token entropy)},
             "trace": [{"step", "entropy", "min_entropy", "frac_reward_zero_std",
                        "frac_all_fail", "reward", "heldout_pass_at_1", "heldout_pass_at_k"}],
             "outcome": {"final_pass_at_1", "final_pass_at_k", "peak_pass_at_1",
                         "peak_pass_at_k", "start_pass_at_k", "gain_pass_at_k", "rank"}}]}

Stage 1 is measured at step 0 (after SFT, before RL) on the N *training* prompts: pass@1
and pass@k exact, ``entropy_rollout`` the exact mean per-token entropy (nats) of the answer
distribution, and ``counts`` each training prompt's successes in N_PROBE samples (a probe
as `rankinv validate` takes one): the count-based signals (informative fraction, shares
below p*(g) and above 1 - p*(g), escape) are computed from them by
``rankinv.verdicts.signals.stage1_signals``, not stored. The simulator has no prompt tokens:
``entropy_prompt`` is null.

Outcomes are measured on the *held-out* prompts of the same families (never trained on, by
SFT or RL), exactly (pass@k = mean of 1 - (1 - p)^k): ``rankinv.theory.outcomes.post_rl``
over every GRPO step (final = after the last update; peak = max over steps >= 1, never
step 0; start = step 0); ``rank`` is 1 for the rung with the best final held-out pass@k in
its ladder. The trace is recorded every ``trace_every`` steps, step 0 and the last step
included; its sampled fields (frac_reward_zero_std, frac_all_fail, reward) describe the
step's first B groups, as `rankinv monitor` reads them.

A ladder is *inverted* (``theory.outcomes.ladder_inverted``) when its best rung by stage-1
pass@1 trails the best rung by final held-out pass@k by more than the margin.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rankinv._io import append_jsonl, read_jsonl, write_json
from rankinv.errors import UserError
from rankinv.records import Counts, LadderRecord, Plan, RunRecord
from rankinv.simulate.batch import Runner, RunSpec, run_tuned
from rankinv.simulate.config import LADDER_DEPTHS, LR_SWEEP, REGIMES, SimConfig
from rankinv.simulate.recipes import RECIPE_DEPTH, RECIPES, is_recipe, recipe_configs
from rankinv.simulate.targets import coverage_loss_share, validation
from rankinv.theory.outcomes import ladder_inverted, post_rl

#: Bumped whenever a ladder's numbers would change for the same setting and seed.
#: 2: one engine and key derivation, competing strategies, tuned learning rates, fresh
#: task seeds per ladder, regimes, per-prompt step-0 counts and entropies in the record.
#: 3: recipe ladders (simulate.recipes) beside the depth ladders; the learning rate tuned
#: over a wider grid (POPULATION_LR_SWEEP); records in rankinv.records' format.
POPULATION_REVISION = 3

#: Learning rates each population ladder is tuned over: config.LR_SWEEP widened by a factor
#: of 4 at both ends (in revision 2, 105 of 220 ladders chose an end of LR_SWEEP).
POPULATION_LR_SWEEP = (4.0, *LR_SWEEP, 1024.0)
#: Seeds of the recipe ladders per one-at-a-time setting (quick, full).
RECIPE_SEEDS = {"quick": 2, "full": 4}

#: SFT depths of every ladder, in epochs (full-batch passes over the demonstrations).
DEPTHS = LADDER_DEPTHS

#: Ladders per compiled call (the last chunk of a shape is padded, so one compile serves all).
CHUNK = 4

#: Samples per training prompt for the stage-1 p-hats.
N_PROBE = 64

#: The base setting; each axis's first value is its base value. The learning rate is not an
#: axis: every ladder's rate is chosen from config.LR_SWEEP on its own training reward
#: (batch.run_tuned). The untuned rates of LR_STUDY are a separate study on the base setting.
AXES: dict[str, tuple] = {
    "difficulty": ("mixed", "hard", "easy"),
    "demos": ("imperfect", "clean", "noisy", "wrong_families"),
    "modes": ("competing", "none", "cued"),
    "regime": ("none", "qwen-like", "deepseek-like"),
    "capacity": (16, 4, 64),
    "vocab": ("V8xL4", "V16xL2", "V4xL6"),
    "group_size": (8, 4, 16, 32),
    "batch": ("B16ofN64", "B8ofN64", "B32ofN128"),
    "rl_steps": (150, 300),
    "variant": ("grpo", "dr-grpo", "kl", "entropy", "clip-higher", "dapo"),
}

#: Competing strategies at the first answer token (config.SimConfig.n_modes): three per
#: family, the majority one right on 60% of prompts; "cued": the prompt reveals its own.
MODES = {
    "competing": dict(n_modes=3, majority_share=0.6, demo_mode_fidelity=0.5),
    "none": dict(n_modes=0),
    "cued": dict(n_modes=3, majority_share=0.6, demo_mode_fidelity=0.5, mode_cue=2.0),
}
MAX_MODES = 4  # the regimes use up to 4

#: Fixed (untuned) learning rates of the separately reported study, on the base setting.
LR_STUDY = (0.25, 1.0, 4.0, 16.0, 64.0)

DIFFICULTY = {"mixed": (1.0, 1.5), "hard": (1.0, 4.0), "easy": (4.0, 1.5)}
DEMOS = {  # (share of correct demonstrations elsewhere, families with every demo wrong)
    "clean": (1.0, 0),
    "noisy": (0.6, 0),
    "imperfect": (0.8, 1),
    "wrong_families": (0.8, 3),
}
VOCAB = {"V8xL4": (8, 4), "V16xL2": (16, 2), "V4xL6": (4, 6)}
BATCH = {"B16ofN64": (16, 64), "B8ofN64": (8, 64), "B32ofN128": (32, 128)}
VARIANTS = {  # every variant runs 2 PPO epochs, so the clip acts
    "grpo": {"advantage": "std"},
    "dr-grpo": {"advantage": "mean"},
    "kl": {"advantage": "std", "kl_beta": 0.05},
    "entropy": {"advantage": "std", "entropy_coef": 0.01},
    "clip-higher": {"advantage": "std", "clip_high": 0.28},
    "dapo": {"advantage": "std", "clip_high": 0.28, "dynamic_sampling": True, "ds_budget": 3},
}
N_FAMILIES = 8
#: Seeds of the random design's ladders start here (one-at-a-time seeds lie below).
RANDOM_SEED0 = 100
#: Seeds of the learning-rate study's ladders start here.
STUDY_SEED0 = 50
SFT_LR = 30.0
MAX_FEATURES = max(AXES["capacity"])
#: Feature columns every run is padded to (family one-hot, strategy cue, private).
N_FEAT = N_FAMILIES + MAX_MODES + MAX_FEATURES


def base_setting() -> dict:
    return {axis: values[0] for axis, values in AXES.items()}


def setting_id(setting: dict) -> str:
    blob = json.dumps({**setting, "revision": POPULATION_REVISION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def task_seed_of(setting: dict, seed: int) -> int:
    """A fresh task seed per ladder (setting and seed): no two ladders share a task, a
    demonstration set or an SFT checkpoint, so the halves calibrate chooses and reports on
    share none."""
    blob = f"{setting_id(setting)}-{seed}".encode()
    return int(hashlib.sha256(blob).hexdigest()[:8], 16) % (2**31)


def is_study(setting: dict) -> bool:
    """A ladder of the untuned learning-rate study (its setting fixes ``rl_lr``)."""
    return "rl_lr" in setting


def config_of(setting: dict, seed: int) -> SimConfig:
    """The SimConfig of one ladder: its own task seed (task_seed_of), the learning rate
    tuned over LR_SWEEP unless the setting fixes ``rl_lr`` (the study)."""
    unknown = set(setting) - set(AXES) - {"rl_lr", "kind"}
    if unknown:
        raise UserError(f"setting has unknown axes {sorted(unknown)}; axes are {list(AXES)}")
    s = {**base_setting(), **setting}
    for axis, value in s.items():
        if axis not in ("rl_lr", "kind") and value not in AXES[axis]:
            raise UserError(f"setting {axis}={value!r} is not one of {AXES[axis]}")
    v, length = VOCAB[s["vocab"]]
    b, n = BATCH[s["batch"]]
    share, wrong = DEMOS[s["demos"]]
    fields = dict(
        name="population",
        policy="family",
        n_families=N_FAMILIES,
        n_prompts=n,
        n_heldout=64,
        batch_size=b,
        n_features=s["capacity"],
        n_answers=v,
        seq_len=length,
        base_beta=DIFFICULTY[s["difficulty"]],
        demo_correct_fraction=share,
        wrong_families=wrong,
        sft_depths=DEPTHS,
        sft_steps_per_epoch=4,
        sft_lr=SFT_LR,
        group_size=s["group_size"],
        rl_steps=s["rl_steps"],
        rl_lr=float(s.get("rl_lr", 1.0)),
        rl_lr_grid=() if is_study(s) else POPULATION_LR_SWEEP,
        clip_low=0.2,
        clip_high=0.2,
        ppo_epochs=2,
        eval_every=1,
        ks=(1, 10),
        task_seed=task_seed_of(setting, seed),
        seeds=1,
    )
    fields.update(MODES[s["modes"]])
    fields.update(REGIMES.get(s["regime"], {}))
    return SimConfig(**{**fields, **VARIANTS[s["variant"]]})


@dataclass(frozen=True)
class Design:
    name: str
    ladders: tuple[tuple[dict, int], ...]  # (setting, seed)
    trace_every: int

    @property
    def n_runs(self) -> int:
        return sum(len(RECIPES) if is_recipe(s) else len(DEPTHS) for s, _ in self.ladders)


def one_at_a_time() -> list[dict]:
    """The base setting and every setting that changes one axis from it."""
    base = base_setting()
    out = [dict(base)]
    for axis, values in AXES.items():
        for v in values[1:]:
            out.append({**base, axis: v})
    return out


def design(name: str) -> Design:
    """Two designs in one population:
    * one-at-a-time: the base setting and every setting that changes one axis from it, with
      seeds 0..S-1 (quick S = 4, full S = 8): what each single change does;
    * random: settings drawn uniformly from the whole grid, one seed each (seed >=
      RANDOM_SEED0; quick 120, full 400): each axis's effect averaged over the others. In
      quick, the shape axes (SHAPE_AXES and DAPO) are drawn jointly from the one-at-a-time
      design's shapes, so that the random ladders add no compilation;
    * the learning-rate study: the base setting at each untuned rate of LR_STUDY, seeds
      STUDY_SEED0.. (S each), reported apart (summary ``lr_study``), in no other share;
    * recipe ladders: every one-at-a-time setting as a ladder of SFT recipes at one depth
      (simulate.recipes), RECIPE_SEEDS seeds each, summarised apart (``recipe_ladders``).
    Every ladder's learning rate but the study's is tuned (batch.run_tuned).
    """
    sizes = {"quick": (4, 120), "full": (8, 400)}
    if name not in sizes:
        raise UserError(f"population must be 'quick' or 'full', got {name!r}")
    seeds, n_random = sizes[name]
    ladders = [(s, seed) for s in one_at_a_time() for seed in range(seeds)]
    rng = np.random.default_rng(2024)
    profiles = _shape_profiles()
    for i in range(n_random):
        s = {a: vals[int(rng.integers(len(vals)))] for a, vals in AXES.items()}
        if name == "quick":  # shapes from the one-at-a-time design: no extra compile
            s.update(profiles[int(rng.integers(len(profiles)))])
            if s["variant"] == "dapo" and s != {**s, **profiles[-1]}:
                s["variant"] = AXES["variant"][int(rng.integers(len(AXES["variant"]) - 1))]
        ladders.append((s, RANDOM_SEED0 + i))
    base = base_setting()
    for lr in LR_STUDY:
        ladders += [({**base, "rl_lr": lr}, STUDY_SEED0 + i) for i in range(seeds)]
    ladders += [
        ({**s, "kind": "recipe"}, seed)
        for s in one_at_a_time()
        for seed in range(RECIPE_SEEDS[name])
    ]
    return Design(name, tuple(ladders), trace_every=10)


#: Axes whose values change a compiled shape (the variant only through DAPO).
SHAPE_AXES = ("vocab", "group_size", "batch", "rl_steps")


def _shape_profiles() -> list[dict]:
    """The shape-axis values of the one-at-a-time design; the last one is DAPO's."""
    base = base_setting()
    out = [{a: base[a] for a in SHAPE_AXES} | {"variant": None}]
    for axis in SHAPE_AXES:
        for v in AXES[axis][1:]:
            out.append({**out[0], axis: v})
    out.append({**out[0], "variant": "dapo"})
    return [{k: v for k, v in p.items() if v is not None} for p in out]


def _shape_key(cfg: SimConfig) -> tuple:
    return (
        cfg.n_prompts,
        cfg.n_answers,
        cfg.seq_len,
        cfg.group_size,
        cfg.batch_size,
        cfg.rl_steps,
        bool(cfg.dynamic_sampling),
        cfg.candidates,
    )


def rungs_of(setting: dict, cfg: SimConfig) -> list[tuple[float, str | None, SimConfig]]:
    """(SFT depth, recipe or None, config) of each rung: the depths of DEPTHS on the
    setting's config, or (recipe ladders) every recipe at RECIPE_DEPTH."""
    if is_recipe(setting):
        return [(RECIPE_DEPTH, name, c) for name, c in recipe_configs(cfg)]
    return [(d, None, cfg) for d in DEPTHS]


def _run_ladders(runner, settings: list[dict], cfgs: list[SimConfig], seeds: list[int]):
    """Every rung of each ladder (setting config, seed) in one call of the batch driver,
    each ladder at its tuned learning rate (or its own, without a grid): batch.Tuned."""
    ladders = [
        [RunSpec(c, seed, int(round(d * c.sft_steps_per_epoch))) for d, _, c in rungs_of(s, cfg)]
        for s, cfg, seed in zip(settings, cfgs, seeds, strict=True)
    ]
    return run_tuned(runner, ladders)


def _r(x, nd=5):
    x = float(x)
    return None if not math.isfinite(x) else round(x, nd)


def ladder_record(
    setting: dict,
    seed: int,
    cfg: SimConfig,
    start,
    per_step,
    final,
    trace_every: int,
    lr_sweep: dict | None = None,
):
    """The JSON record of one ladder from its runs' outputs (leading axis: the depths);
    ``start``: grpo.Start of its runs, ``lr_sweep``: the tuning's {rate: training pass@1}."""
    n = cfg.n_prompts
    p_pre = np.asarray(start.p)[:, :n]
    g, ks = cfg.group_size, list(cfg.ks)
    k = max(ks)
    i1, ik = ks.index(1), ks.index(k)
    steps_all = np.arange(cfg.rl_steps + 1)
    runs = []
    for r, (depth, recipe, _) in enumerate(rungs_of(setting, cfg)):
        rng = np.random.default_rng([seed, r, 99])
        # the probe: successes in N_PROBE samples per training prompt (raw counts only;
        # every share a signal needs is computed from them by signals.stage1_signals)
        counts = Counts(np.int64(N_PROBE), rng.binomial(N_PROBE, np.clip(p_pre[r], 0.0, 1.0)))
        stage1 = {
            "pass_at_1": _r(per_step.train_pass[r, 0, i1]),
            "pass_at_k": _r(per_step.train_pass[r, 0, ik]),
            "entropy_rollout": _r(per_step.entropy[r, 0]),
            "entropy_prompt": None,
            "entropy_per_prompt": [_r(x) for x in np.asarray(start.entropy)[r, :n]],
        }
        held1 = np.append(per_step.heldout_pass[r, :, i1], final.heldout_pass[r, i1])
        heldk = np.append(per_step.heldout_pass[r, :, ik], final.heldout_pass[r, ik])
        trace = []
        for t in range(0, cfg.rl_steps + 1, trace_every):
            src = final if t == cfg.rl_steps else None

            def at(field, _t=t, _src=src, r=r):
                arr = (
                    getattr(_src, field)[r] if _src is not None else getattr(per_step, field)[r, _t]
                )
                return _r(arr)

            trace.append(
                {
                    "step": t,
                    "entropy": at("entropy"),
                    "min_entropy": at("min_entropy"),
                    "frac_reward_zero_std": _r(1.0 - float(at("informative"))),
                    "frac_all_fail": at("all_fail"),
                    "reward": at("reward"),
                    "heldout_pass_at_1": _r(held1[t]),
                    "heldout_pass_at_k": _r(heldk[t]),
                }
            )
        o1, ok = post_rl(steps_all, held1), post_rl(steps_all, heldk)
        outcome = {
            "final_pass_at_1": _r(o1.final),
            "final_pass_at_k": _r(ok.final),
            "peak_pass_at_1": _r(o1.peak),
            "peak_pass_at_k": _r(ok.peak),
            "start_pass_at_k": _r(ok.start),
            "gain_pass_at_k": _r(ok.gain),
        }
        extra = {} if recipe is None else {"recipe": recipe}
        runs.append(RunRecord(float(depth), counts, stage1, trace, outcome, extra))
    order = sorted(range(len(runs)), key=lambda i: -runs[i].outcome["final_pass_at_k"])
    for rank, i in enumerate(order, start=1):
        runs[i].outcome["rank"] = rank
    sid = setting_id(setting)
    plan = Plan(group_size=g, rl_steps=cfg.rl_steps, batch_prompts=cfg.batch, n_prompts=n)
    return LadderRecord(
        ladder_id=f"{sid}-s{seed}",
        setting_id=sid,
        seed=int(seed),
        plan=plan,
        k=k,
        runs=runs,
        setting=dict(setting),
        extra={
            "task_seed": cfg.task_seed,
            "rl_lr": cfg.rl_lr,
            "lr_tuned": bool(cfg.rl_lr_grid),
            "lr_sweep": lr_sweep,
            "revision": POPULATION_REVISION,
        },
    ).to_json()


def is_inverted(rec: dict, outcome: str = "final_pass_at_k") -> bool:
    pre = [r["stage1"]["pass_at_1"] for r in rec["runs"]]
    post = [r["outcome"][outcome] for r in rec["runs"]]
    return ladder_inverted(pre, post)


def _load_done(path: Path) -> list[dict]:
    """Finished ladders; a truncated last line (an interrupted append) is dropped from the
    file so that the next append starts on a line of its own."""
    if not path.exists():
        return []
    recs = read_jsonl(path)
    text = path.read_text()
    if text and (not text.endswith("\n") or len(text.splitlines()) != len(recs)):
        path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    # records of this revision in the records' format (rankinv.records.LadderRecord)
    return [r for r in recs if r.get("revision") == POPULATION_REVISION and "plan" in r]


def summarise(design_: Design, records: list[dict]) -> dict:
    """inverted_share over all ladders; per axis value: ``by_axis`` over the random design
    (the axis's effect averaged over the others), ``by_axis_vs_base`` over the
    one-at-a-time design (the base setting with only that axis changed); the validation
    targets (targets.validation) over the tuned ladders; ``lr_study``: the untuned rates."""
    study = [r for r in records if is_study(r["setting"])]
    recipes = [r for r in records if is_recipe(r["setting"])]
    records = [r for r in records if not is_study(r["setting"]) and not is_recipe(r["setting"])]
    inv = [is_inverted(r) for r in records]
    inv1 = [is_inverted(r, "final_pass_at_1") for r in records]
    base = base_setting()
    random = [i for i, r in enumerate(records) if r["seed"] >= RANDOM_SEED0]
    oat = [i for i, r in enumerate(records) if r["seed"] < RANDOM_SEED0]
    by_axis: dict[str, dict] = {}
    vs_base: dict[str, dict] = {}
    for axis, values in AXES.items():
        by_axis[axis], vs_base[axis] = {}, {}
        for v in values:
            sel = [i for i in random if records[i]["setting"][axis] == v]
            by_axis[axis][str(v)] = _share(inv, sel)
            only = [
                i
                for i in oat
                if records[i]["setting"][axis] == v
                and all(a == axis or records[i]["setting"][a] == base[a] for a in AXES)
            ]
            vs_base[axis][str(v)] = _share(inv, only)
    n_runs = sum(len(r["runs"]) for r in records)
    return {
        "population": design_.name,
        "n_runs": n_runs,
        "n_ladders": len(records),
        "k": records[0]["k"] if records else None,
        "settings": {a: list(v) for a, v in AXES.items()},
        "depths": list(DEPTHS),
        "base_setting": base,
        "inverted_share": float(np.mean(inv)) if inv else None,
        "inverted_share_pass_at_1": float(np.mean(inv1)) if inv1 else None,
        "n_ladders_random": len(random),
        "inverted_share_random": _share(inv, random)["inverted_share"],
        "by_axis": by_axis,
        "by_axis_vs_base": vs_base,
        **validation(records, [records[i] for i in random]),
        "lr": {
            "tuned_over": list(POPULATION_LR_SWEEP),
            "chosen": {
                f"{lr:g}": sum(r["rl_lr"] == lr for r in records) for lr in POPULATION_LR_SWEEP
            },
            "rule": "per ladder, the rate with the best mean final training pass@1 over its "
            "rungs (batch.run_tuned); never a held-out number",
        },
        "lr_study": _lr_study(study),
        "recipe_ladders": {
            "n_ladders": len(recipes),
            "recipes": list(RECIPES),
            "depth": RECIPE_DEPTH,
            "inverted_share": float(np.mean([is_inverted(r) for r in recipes]))
            if recipes
            else None,
        },
        "n_runs_study": sum(len(r["runs"]) for r in study),
        "outcome": "final held-out pass@k (inverted_share_pass_at_1: final held-out pass@1); "
        "inversion: rankinv.theory.outcomes.ladder_inverted on stage-1 pass@1; every share "
        "over the tuned depth ladders (the learning-rate study and the recipe ladders apart)",
        "revision": POPULATION_REVISION,
    }


def _lr_study(study: list[dict]) -> dict:
    """The base setting at each fixed (untuned) learning rate."""
    out = {}
    for lr in sorted({r["setting"]["rl_lr"] for r in study}):
        recs = [r for r in study if r["setting"]["rl_lr"] == lr]
        out[f"{lr:g}"] = {
            "n_ladders": len(recs),
            "inverted_share": float(np.mean([is_inverted(r) for r in recs])),
            "coverage_loss_share": coverage_loss_share(recs),
            "mean_final_pass_at_k": float(
                np.mean([x["outcome"]["final_pass_at_k"] for r in recs for x in r["runs"]])
            ),
        }
    return out


def _share(inv: list[bool], sel: Iterable[int]) -> dict:
    sel = list(sel)
    return {
        "n_ladders": len(sel),
        "inverted_share": float(np.mean([inv[i] for i in sel])) if sel else None,
    }


def run_population(
    name: str,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    design_: Design | None = None,
) -> dict:
    """Run (or resume) a population; returns the summary (also written to out/population.json).

    ``progress(done, total)`` is called after every finished chunk of ladders.
    """
    design_ = design_ or design(name)
    out_dir = Path(out) if out is not None else None
    jsonl = out_dir / "population.jsonl" if out_dir is not None else None
    done = _load_done(jsonl) if jsonl is not None else []
    have = {r["ladder_id"] for r in done}
    records = list(done)
    todo: dict[tuple, list] = {}
    for setting, seed in design_.ladders:
        if f"{setting_id(setting)}-s{seed}" in have:
            continue
        cfg = config_of(setting, seed)
        todo.setdefault(_shape_key(cfg), []).append((setting, seed, cfg))
    total = len(design_.ladders)
    if progress:
        progress(len(records), total)
    runner = Runner(n_feat=N_FEAT, penalties=True)
    t0 = time.perf_counter()
    for group in todo.values():
        size = min(CHUNK, len(group))
        for i in range(0, len(group), size):
            chunk = group[i : i + size]
            padded = chunk + [chunk[-1]] * (size - len(chunk))
            res = _run_ladders(
                runner,
                [st for st, _, _ in padded],
                [c for _, _, c in padded],
                [s for _, s, _ in padded],
            )
            ends = np.cumsum([len(rungs_of(st, c)) for st, _, c in chunk])
            for j, (setting, seed, cfg) in enumerate(chunk):
                pick = _slice_tree(slice(int(ends[j - 1]) if j else 0, int(ends[j])))
                rec = ladder_record(
                    setting,
                    seed,
                    cfg.replace(rl_lr=res.chosen_lr[j]),
                    pick(res.start),
                    pick(res.per_step),
                    pick(res.final),
                    design_.trace_every,
                    res.sweep[j] if cfg.rl_lr_grid else None,
                )
                records.append(rec)
                if jsonl is not None:
                    append_jsonl(jsonl, rec)
            if progress:
                progress(len(records), total)
    elapsed = time.perf_counter() - t0
    wanted = {f"{setting_id(s)}-s{seed}" for s, seed in design_.ladders}
    records = [r for r in records if r["ladder_id"] in wanted]
    summary = summarise(design_, records)
    new_runs = sum(len(rungs_of(st, c)) for g in todo.values() for st, _, c in g)
    new_runs_swept = sum(
        len(rungs_of(st, c)) * len(c.rl_lr_grid or (1,)) for g in todo.values() for st, _, c in g
    )
    summary["elapsed_s"] = elapsed
    summary["compile_s"] = runner.compile_s
    summary["n_compiles"] = len(runner.compiled)
    summary["runs_computed"] = new_runs
    summary["runs_computed_with_sweep"] = new_runs_swept
    summary["runs_per_s"] = new_runs / elapsed if new_runs and elapsed > 0 else None
    summary["resumed_ladders"] = len(done)
    if out_dir is not None:
        write_json(out_dir / "population.json", summary)
    return summary


def _slice_tree(sl):
    import jax

    return lambda tree: jax.tree_util.tree_map(lambda x: x[sl], tree)


#: Learning rates of the mean-vs-std comparison's sweep.
LR_GRID = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)


def compare_advantages(
    setting: dict | None = None,
    variants: tuple[str, ...] = ("dr-grpo", "grpo"),
    lrs: tuple[float, ...] = LR_GRID,
    tune_seeds: tuple[int, ...] = (0, 1),
    test_seeds: tuple[int, ...] = (2, 3, 4),
    score: str = "final_pass_at_1",
) -> dict:
    """Each GRPO variant at its own learning rate: the rate is chosen on ``tune_seeds`` (the
    best mean ``score`` over every rung, held-out prompts), then the variants are compared on
    ``test_seeds`` (other tasks, other demonstrations) at their chosen rates, so that a
    variant's gain is not its effective step size. Returns the sweep, the chosen rates and
    the test means (score, final pass@k, inverted share)."""
    setting = {**base_setting(), **(setting or {})}
    runner = Runner(n_feat=N_FEAT, penalties=True)

    def ladders(variant, lr, seeds):
        s = {**setting, "variant": variant}
        cfgs = [config_of(s, seed).replace(rl_lr=lr, rl_lr_grid=()) for seed in seeds]
        res = _run_ladders(runner, [s] * len(cfgs), cfgs, list(seeds))
        nd = len(DEPTHS)
        out = []
        for j, (cfg, seed) in enumerate(zip(cfgs, seeds, strict=True)):
            pick = _slice_tree(slice(j * nd, (j + 1) * nd))
            rec = ladder_record(
                s,
                seed,
                cfg,
                pick(res.start),
                pick(res.per_step),
                pick(res.final),
                cfg.rl_steps,
            )
            out.append(rec)
        return out

    def mean_of(recs, key):
        return float(np.mean([r["outcome"][key] for rec in recs for r in rec["runs"]]))

    result = {"setting": setting, "lrs": list(lrs), "score": score, "variants": {}}
    for v in variants:
        sweep = {lr: mean_of(ladders(v, lr, tune_seeds), score) for lr in lrs}
        best = max(sweep, key=sweep.get)
        test = ladders(v, best, test_seeds)
        result["variants"][v] = {
            "sweep": {str(lr): round(x, 5) for lr, x in sweep.items()},
            "chosen_lr": best,
            "chosen_at_edge": best in (min(lrs), max(lrs)),
            "test_" + score: round(mean_of(test, score), 5),
            "test_final_pass_at_k": round(mean_of(test, "final_pass_at_k"), 5),
            "test_inverted_share": float(np.mean([is_inverted(r) for r in test])),
        }
    result["tune_seeds"], result["test_seeds"] = list(tune_seeds), list(test_seeds)
    return result
