"""The simulated population: record format, outcomes from theory.outcomes, resume after an
interruption, ladders that invert and ladders that do not, the CLI."""

import json

import numpy as np
import pytest

from rankinv import theory
from rankinv._io import read_jsonl
from rankinv.records import LadderRecord
from rankinv.simulate import population as P
from rankinv.simulate import preset
from rankinv.simulate import settings as S
from rankinv.theory.outcomes import post_rl
from rankinv.verdicts.signals import stage1_signals


def _small_design(monkeypatch, ladders, steps=20):
    """A tiny population: 3 depths, 20 RL steps, 32 + 16 prompts (fast to compile)."""
    monkeypatch.setattr(S, "DEPTHS", (0.5, 4.0, 16.0))
    real = S.config_of

    def small(setting, seed):
        cfg = real(setting, seed)
        return cfg.replace(rl_steps=steps, n_heldout=16, sft_depths=S.DEPTHS)

    monkeypatch.setattr(S, "config_of", small)
    return S.Design("test", tuple(ladders), trace_every=5)


RUN_KEYS = {"depth", "counts", "stage1", "trace", "outcome"}
#: raw measurements only: every share a signal needs comes from the counts (stage1_signals)
STAGE1_KEYS = {"pass_at_1", "pass_at_k", "entropy_rollout", "entropy_prompt", "entropy_per_prompt"}
TRACE_KEYS = {
    "step",
    "entropy",
    "min_entropy",
    "frac_reward_zero_std",
    "frac_all_fail",
    "reward",
    "heldout_pass_at_1",
    "heldout_pass_at_k",
}
OUTCOME_KEYS = {
    "final_pass_at_1",
    "final_pass_at_k",
    "peak_pass_at_1",
    "peak_pass_at_k",
    "start_pass_at_k",
    "gain_pass_at_k",
    "rank",
}


def test_record_format_outcomes_and_resume(tmp_path, monkeypatch):
    base = S.base_setting()
    ladders = [(base, 0), ({**base, "demos": "clean"}, 0), ({**base, "group_size": 4}, 1)]
    pl = _small_design(monkeypatch, ladders)
    calls = []
    summary = P.run_population("test", tmp_path, design_=pl, progress=lambda d, t: calls.append(d))
    assert calls[0] == 0 and calls[-1] == 3
    recs = read_jsonl(tmp_path / "population.jsonl")
    assert len(recs) == 3 and summary["n_ladders"] == 3 and summary["n_runs"] == 9
    saved = json.loads((tmp_path / "population.json").read_text())
    for key in ("n_runs", "n_ladders", "settings", "inverted_share", "elapsed_s", "runs_per_s"):
        assert key in saved
    assert saved["settings"]["group_size"] == [8, 4, 16, 32]
    for rec in recs:
        assert rec["setting_id"] == S.setting_id(rec["setting"])
        assert rec["ladder_id"] == f"{rec['setting_id']}-s{rec['seed']}"
        plan = LadderRecord.from_json(rec).plan
        assert rec["k"] == 10 and plan.group_size == rec["setting"]["group_size"]
        assert (plan.batch_prompts, plan.n_prompts) == S.BATCH[rec["setting"]["batch"]]
        assert sorted(r["outcome"]["rank"] for r in rec["runs"]) == [1, 2, 3]
        best = max(rec["runs"], key=lambda r: r["outcome"]["final_pass_at_k"])
        assert best["outcome"]["rank"] == 1
        for run in rec["runs"]:
            assert set(run) == RUN_KEYS
            assert set(run["stage1"]) == STAGE1_KEYS and set(run["outcome"]) == OUTCOME_KEYS
            s1, tr, o = run["stage1"], run["trace"], run["outcome"]
            assert [t["step"] for t in tr] == [0, 5, 10, 15, 20]
            assert all(set(t) == TRACE_KEYS for t in tr)
            assert all(v is not None for t in tr for v in t.values())
            assert run["counts"]["n"] == P.N_PROBE and len(run["counts"]["c"]) == 64
            assert s1["entropy_prompt"] is None and len(s1["entropy_per_prompt"]) == 64
            assert np.mean(s1["entropy_per_prompt"]) == pytest.approx(s1["entropy_rollout"], 1e-4)
            # the shares come from the counts under the ladder's plan (the one computation)
            sig = stage1_signals(run["counts"]["n"], run["counts"]["c"], plan)
            p_hat = np.asarray(run["counts"]["c"]) / P.N_PROBE
            p_star = theory.p_star(plan.group_size)
            assert sig["share_below_p_star"] == pytest.approx(np.mean(p_hat < p_star))
            assert 0 <= sig["informative_fraction"] <= 1
            # the recorded trace's outcome agrees with post_rl (peak over all steps >= 1
            # is at least the peak over the recorded ones; final and start are the same)
            sub = post_rl([t["step"] for t in tr], [t["heldout_pass_at_k"] for t in tr])
            assert o["final_pass_at_k"] == pytest.approx(sub.final, abs=1e-5)
            assert o["start_pass_at_k"] == pytest.approx(sub.start, abs=1e-5)
            assert o["peak_pass_at_k"] >= sub.peak - 1e-5
            assert o["gain_pass_at_k"] == pytest.approx(sub.final - sub.start, abs=2e-5)
    # clean demonstrations raise pre-RL pass@1 with depth more than imperfect ones
    clean = [r for r in recs if r["setting"]["demos"] == "clean"][0]
    assert clean["runs"][-1]["stage1"]["pass_at_1"] > clean["runs"][0]["stage1"]["pass_at_1"]
    # a rerun resumes: nothing recomputed, same summary
    again = P.run_population("test", tmp_path, design_=pl)
    assert again["resumed_ladders"] == 3 and again["runs_computed"] == 0
    assert again["inverted_share"] == summary["inverted_share"]
    for rec in recs:  # every ladder's rate is chosen on its training reward
        sweep = {float(k): v for k, v in rec["lr_sweep"].items()}
        assert rec["lr_tuned"] and rec["rl_lr"] == max(sweep, key=sweep.get)
    assert len(read_jsonl(tmp_path / "population.jsonl")) == 3


def test_interrupted_population_resumes_where_it_stopped(tmp_path, monkeypatch):
    base = S.base_setting()
    ladders = [({**base, "rl_lr": lr}, s) for lr in (1.0, 4.0) for s in (0, 1)]
    pl = _small_design(monkeypatch, ladders, steps=10)
    monkeypatch.setattr(P, "CHUNK", 2)
    real = P.Runner.run
    count = {"n": 0}

    def interrupted(self, specs):
        count["n"] += 1
        if count["n"] == 2:
            raise KeyboardInterrupt
        return real(self, specs)

    monkeypatch.setattr(P.Runner, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        P.run_population("test", tmp_path, design_=pl)
    path = tmp_path / "population.jsonl"
    first = read_jsonl(path)
    assert len(first) == 2
    with path.open("a") as fh:  # a half-written line from a crash mid-append
        fh.write('{"ladder_id": "trunc')
    monkeypatch.setattr(P.Runner, "run", real)
    out = P.run_population("test", tmp_path, design_=pl)
    assert out["resumed_ladders"] == 2 and out["runs_computed"] == 6
    recs = read_jsonl(path)
    assert len(recs) == 4 and len({r["ladder_id"] for r in recs}) == 4
    assert recs[:2] == first


def test_study_ladders_are_untuned_and_reported_apart(monkeypatch):
    base = S.base_setting()
    ladders = [(base, 0), ({**base, "rl_lr": 4.0}, S.STUDY_SEED0)]
    pl = _small_design(monkeypatch, ladders, steps=10)
    summary = P.run_population("test", None, design_=pl)
    assert summary["n_ladders"] == 1 and summary["n_runs_study"] == 3
    assert set(summary["lr_study"]) == {"4"} and summary["lr_study"]["4"]["n_ladders"] == 1
    names = [t["name"] for t in summary["targets"]]
    assert names[:3] == ["coverage_loss_share", "cui_fit_r2", "inverted_share"]
    assert all(t["evidence"] for t in summary["targets"])


def test_recipe_ladders_share_a_depth_and_differ_in_recipe(monkeypatch):
    """A recipe ladder: one rung per recipe, all at RECIPE_DEPTH epochs (so depth cannot
    order them), each recipe's change applied to the setting's config and nothing else."""
    from rankinv.simulate.recipes import RECIPE_DEPTH, RECIPES

    base = S.base_setting()
    pl = _small_design(monkeypatch, [({**base, "kind": "recipe"}, 0), (base, 0)], steps=10)
    summary = P.run_population("test", None, design_=pl)
    assert summary["recipe_ladders"]["n_ladders"] == 1 and summary["n_ladders"] == 1
    cfg = S.config_of(base, 0)
    rungs = S.rungs_of({**base, "kind": "recipe"}, cfg)
    assert [r[1] for r in rungs] == list(RECIPES) and {r[0] for r in rungs} == {RECIPE_DEPTH}
    changed = {name: {f for f in c.__dataclass_fields__ if getattr(c, f) != getattr(cfg, f)}
               for _, name, c in rungs}  # fmt: skip
    assert changed["as-set"] == set() and changed["sft-lr-x2"] == {"sft_lr"}
    assert changed["label-smoothing-0.1"] == {"label_smoothing"}
    with pytest.raises(ValueError, match="unknown axes"):
        S.config_of({**base, "flavour": 1}, 0)


def test_base_setting_is_the_family_preset_with_competing_strategies():
    cfg = S.config_of(S.base_setting(), 0)
    fam = preset("family").replace(**S.MODES["competing"], rl_lr_grid=S.POPULATION_LR_SWEEP)
    assert cfg.replace(seeds=3, eval_every=10, name="family", task_seed=0) == fam


def test_designs_meet_their_sizes_and_share_compiles():
    quick, full = S.design("quick"), S.design("full")
    assert quick.n_runs >= 250 and len(quick.ladders) >= 50
    assert full.n_runs >= 2000
    shapes = {S.shape_key(S.config_of(s, seed)) for s, seed in quick.ladders}
    assert len(shapes) == 10  # the random quick ladders add no compilation
    ids = [f"{S.setting_id(s)}-s{seed}" for s, seed in full.ladders]
    assert len(set(ids)) == len(ids)
    gs = {s["group_size"] for s, _ in full.ladders}
    assert gs == {4, 8, 16, 32}
    # fresh seeds: no two ladders share a task (hence no demonstrations, no SFT checkpoint)
    task_seeds = [S.config_of(s, seed).task_seed for s, seed in quick.ladders]
    assert len(set(task_seeds)) == len(task_seeds)
    study = [s for s, _ in quick.ladders if S.is_study(s)]
    assert len(study) == 4 * len(S.LR_STUDY)
    tuned = [S.config_of(s, seed) for s, seed in quick.ladders if not S.is_study(s)]
    assert all(c.rl_lr_grid == S.POPULATION_LR_SWEEP for c in tuned)
    recipe = [s for s, _ in quick.ladders if s.get("kind") == "recipe"]
    assert len(recipe) == 2 * len(S.one_at_a_time())


@pytest.mark.parametrize(
    "setting,match",
    [({"colour": "red"}, "unknown axes"), ({"group_size": 5}, "group_size=5 is not one of")],
)
def test_bad_setting_raises(setting, match):
    with pytest.raises(ValueError, match=match):
        S.config_of(setting, 0)


def test_bad_population_name_raises():
    with pytest.raises(ValueError, match="population must be 'quick' or 'full'"):
        S.design("medium")


def test_cli_population_json_and_table(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from rankinv.cli import app

    base = S.base_setting()
    small = _small_design(monkeypatch, [(base, 0), ({**base, "demos": "clean"}, 0)], steps=10)
    monkeypatch.setattr(S, "design", lambda name: small)
    runner = CliRunner()
    res = runner.invoke(
        app, ["simulate", "--population", "quick", "--out", str(tmp_path), "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["n_ladders"] == 2 and data["n_runs"] == 6
    for key in ("settings", "inverted_share", "elapsed_s", "runs_per_s"):
        assert key in data
    res = runner.invoke(app, ["simulate", "--population", "quick", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "resumed 2 ladders" in res.output and "inverted" in res.output


def test_cli_bad_population_is_one_line_exit_2():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "simulate", "--population", "medium"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "--population must be quick or full" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_torn_last_ladder_is_dropped_without_rewriting_the_file(tmp_path):
    """Resuming reads past a torn last line and leaves the file as it is (the next append
    cuts the tail): a rewrite of the whole file, killed halfway, would lose every ladder."""
    path = tmp_path / "population.jsonl"
    whole = "".join(json.dumps({"ladder_id": f"x-s{i}", "revision": 0}) + "\n" for i in (0, 1))
    path.write_text(whole + '{"ladder_id": "x-s2", "rev')
    inode = path.stat().st_ino
    assert P._load_done(path) == []  # another revision's records: none of this one's
    assert path.read_text() == whole + '{"ladder_id": "x-s2", "rev'
    assert path.stat().st_ino == inode
