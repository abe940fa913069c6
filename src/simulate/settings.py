"""The population's settings grid and its designs: what one ladder of a population is.

A *setting* picks one value per axis of ``AXES`` (the base setting takes each axis's first
value); ``config_of`` turns a setting and a seed into the ladder's SimConfig (its own task
seed, its learning rate tuned unless the setting fixes ``rl_lr``); ``rungs_of`` lists its
rungs (the SFT depths of ``DEPTHS``, or the recipes of a recipe ladder). A *design* is the
list of (setting, seed) ladders a population runs (``design("quick" | "full")``).
``rankinv.simulate.population`` runs them and writes their records.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from rankinv.errors import UserError
from rankinv.simulate.config import LADDER_DEPTHS, LR_SWEEP, REGIMES, SimConfig
from rankinv.simulate.recipes import RECIPE_DEPTH, RECIPES, is_recipe, recipe_configs

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


def shape_key(cfg: SimConfig) -> tuple:
    """The values that change a compiled shape: ladders that share them run in one call."""
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
