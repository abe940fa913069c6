"""Simulated ladders across settings: run a design's ladders, write each ladder's record.

The settings grid and the designs live in settings.py, the summary in
population_summary.py; the update itself in grpo.py, the batched calls and the
learning-rate tuning in batch.py, the validation targets in targets.py.

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
step's first B groups, as `rankinv monitor` reads them: ``rankinv monitor
DIR#<ladder_id>/<rung>`` reads one run's trace (``rankinv.verdicts.simulated_run``).

A ladder is *inverted* (``theory.outcomes.ladder_inverted``) when its best rung by stage-1
pass@1 trails the best rung by final held-out pass@k by more than the margin.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rankinv._io import append_jsonl, read_jsonl, write_json
from rankinv.records import Counts, LadderRecord, Plan, RunRecord
from rankinv.simulate import settings
from rankinv.simulate.batch import Runner, RunSpec, run_tuned
from rankinv.simulate.config import SimConfig
from rankinv.simulate.population_summary import summarise
from rankinv.simulate.settings import (
    N_FEAT,
    POPULATION_REVISION,
    Design,
    rungs_of,
    setting_id,
    shape_key,
)
from rankinv.theory.outcomes import post_rl

#: Ladders per compiled call (the last chunk of a shape is padded, so one compile serves all).
CHUNK = 4

#: Samples per training prompt for the stage-1 p-hats.
N_PROBE = 64


def run_ladders(runner, settings: list[dict], cfgs: list[SimConfig], seeds: list[int]):
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


def _load_done(path: Path) -> list[dict]:
    """Finished ladders; a truncated last line (an interrupted append) is dropped on read
    and cut by the next append (rankinv._io), never by rewriting the file: a kill during a
    rewrite would lose every ladder in it."""
    if not path.exists():
        return []
    recs = read_jsonl(path)
    # records of this revision in the records' format (rankinv.records.LadderRecord)
    return [r for r in recs if r.get("revision") == POPULATION_REVISION and "plan" in r]


def run_population(
    name: str,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    design_: Design | None = None,
) -> dict:
    """Run (or resume) a population; returns the summary (also written to out/population.json).

    ``progress(done, total)`` is called after every finished chunk of ladders.
    """
    design_ = design_ or settings.design(name)
    out_dir = Path(out) if out is not None else None
    jsonl = out_dir / "population.jsonl" if out_dir is not None else None
    done = _load_done(jsonl) if jsonl is not None else []
    have = {r["ladder_id"] for r in done}
    records = list(done)
    todo: dict[tuple, list] = {}
    for setting, seed in design_.ladders:
        if f"{setting_id(setting)}-s{seed}" in have:
            continue
        cfg = settings.config_of(setting, seed)
        todo.setdefault(shape_key(cfg), []).append((setting, seed, cfg))
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
            res = run_ladders(
                runner,
                [st for st, _, _ in padded],
                [c for _, _, c in padded],
                [s for _, s, _ in padded],
            )
            ends = np.cumsum([len(rungs_of(st, c)) for st, _, c in chunk])
            for j, (setting, seed, cfg) in enumerate(chunk):
                pick = slice_tree(slice(int(ends[j - 1]) if j else 0, int(ends[j])))
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


def slice_tree(sl):
    import jax

    return lambda tree: jax.tree_util.tree_map(lambda x: x[sl], tree)
