"""Results users already have (rankinv.verdicts.results_files): evalplus's eval_results.json
and lm-evaluation-harness's results/samples files, written here in each tool's documented
layout (evalplus.evaluate; lm_eval's EvaluationTracker.save_results_samples), read as
per-problem counts; folders of checkpoints expanded in natural order; percent tables."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rankinv.errors import UserError
from rankinv.records import Plan
from rankinv.theory import pass_at_k
from rankinv.verdicts import signals as sg
from rankinv.verdicts.rank import rank
from rankinv.verdicts.results_files import (
    doc_counts,
    file_kind,
    is_checkpoint_input,
    load_inputs,
    natural_key,
)

DATE = "2025-03-01T10-20-30.123456"
#: Per-task (samples, base passes, of which also plus passes), three checkpoints of a ladder.
LADDER = {
    "e1": [(10, 6, 5), (10, 1, 1), (10, 10, 9), (10, 0, 0)],
    "e2": [(10, 8, 8), (10, 0, 0), (10, 10, 10), (10, 1, 0)],
    "e10": [(10, 10, 10), (10, 0, 0), (10, 10, 10), (10, 0, 0)],
}


def evalplus_file(path, counts, plus=True, legacy=False):
    """eval_results.json as evalplus.evaluate writes it: {"date", "hash", "eval":
    {task_id: [{"task_id", "solution", "base_status", "plus_status", "base_fail_tests",
    "plus_fail_tests"}, ...]}, "pass_at_k"}; legacy: {task_id: {"nfiles", "base": [[status,
    details]], "plus": [...]}} with "success" / "failed"."""
    ev = {}
    for t, (n, c_base, c_plus) in enumerate(counts):
        tid = f"HumanEval/{t}"
        base = ["pass"] * c_base + ["fail"] * (n - c_base)
        pl = ["pass"] * c_plus + ["fail"] * (c_base - c_plus) + [None] * (n - c_base)
        pl = [p if p is not None else "fail" for p in pl] if plus else [None] * n
        if legacy:
            word = {"pass": "success", "fail": "failed"}
            ev[tid] = {
                "nfiles": n,
                "base": [[word[b], []] for b in base],
                "plus": [[word[p], []] for p in pl] if plus else [],
            }
        else:
            ev[tid] = [
                {
                    "task_id": tid,
                    "solution": f"def f():\n    return {i}\n",
                    "base_status": b,
                    "plus_status": p,
                    "base_fail_tests": [] if b == "pass" else [[i]],
                    "plus_fail_tests": [],
                }  # fmt: skip
                for i, (b, p) in enumerate(zip(base, pl, strict=True))
            ]
    data = {"date": "2025-03-01 10:20", "hash": "HumanEvalPlus-v0.1.10", "eval": ev}
    data["pass_at_k"] = {"base": {"pass@1": 0.5}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def lm_eval_run(folder, task, per_doc, metric="pass@1", k=None, date=DATE, results=True):
    """An lm_eval --log_samples output: samples_<task>_<date>.jsonl (one line per doc:
    doc_id, doc, target, arguments, resps, filtered_resps, filter, metrics, the metric
    values, doc/prompt/target hashes) and results_<date>.json (results, configs with the
    task's repeats and generation_kwargs, versions, n-samples, config)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for doc_id, (n, c) in enumerate(per_doc):
        preds = [f"    return {j}\n" for j in range(n)]
        value = c / n if k is None else float(pass_at_k(n, c, k))
        line = {
            "doc_id": doc_id,
            "doc": {"task_id": f"HumanEval/{doc_id}", "prompt": "def f():\n"},
            "target": "check(f)",
            "arguments": {"gen_args_0": {"arg_0": "def f():\n", "arg_1": {"until": ["\ndef"]}}},
            "resps": [preds],
            "filtered_resps": [[f"def f():\n{p}" for p in preds]] if n > 1 else [preds[0]],
            "filter": "create_test",
            "metrics": [metric],
            metric: value,
            "doc_hash": f"d{doc_id}",
            "prompt_hash": f"p{doc_id}",
            "target_hash": "t",
        }
        lines.append(json.dumps(line))
    (folder / f"samples_{task}_{date}.jsonl").write_text("\n".join(lines) + "\n")
    if results:
        res = {
            "results": {task: {"alias": task, f"{metric},create_test": 0.4}},
            "configs": {task: {"task": task, "repeats": per_doc[0][0], "generation_kwargs":
                               {"temperature": 0.8, "top_p": 0.95, "max_gen_toks": 512}}},
            "versions": {task: 1.0},
            "n-samples": {task: {"original": len(per_doc), "effective": len(per_doc)}},
            "config": {"model": "hf", "model_args": "pretrained=x"},
            "model_name": "x",
        }  # fmt: skip
        (folder / f"results_{date}.json").write_text(json.dumps(res))
    return folder


def plus_counts(counts):
    return [n for n, _, _ in counts], [cp for _, _, cp in counts]


def test_evalplus_samples_become_counts_plus_tests_included(tmp_path):
    f = evalplus_file(tmp_path / "e1" / "eval_results.json", LADDER["e1"])
    assert file_kind(f) == "evalplus"
    (p,), expanded = load_inputs([f])
    assert not expanded and p.name == "e1"  # named by its folder
    assert (p.n, p.c) == plus_counts(LADDER["e1"])  # a pass needs base and plus tests
    base_only = evalplus_file(tmp_path / "b" / "eval_results.json", LADDER["e1"], plus=False)
    (q,), _ = load_inputs([base_only])
    assert q.c == [cb for _, cb, _ in LADDER["e1"]]
    legacy = evalplus_file(tmp_path / "old" / "eval_results.json", LADDER["e1"], legacy=True)
    (r,), _ = load_inputs([legacy])
    assert (r.n, r.c) == (p.n, p.c)


def test_rank_on_evalplus_files_uses_the_count_signals_and_their_noise(tmp_path):
    files = [evalplus_file(tmp_path / n / "eval_results.json", c) for n, c in LADDER.items()]
    res = rank(files).to_json()
    assert res["source"] == "probes"
    plan = Plan(group_size=8, n_prompts=4)
    by_name = {r["checkpoint"]: r for r in res["ranking"]}
    assert set(by_name) == set(LADDER)
    for name, counts in LADDER.items():
        n, c = plus_counts(counts)
        want = sg.stage1_signals(np.array(n), np.array(c), plan, k=10)
        for s in ("informative_fraction", "share_below_p_star", "escape", "pass_at_1"):
            assert by_name[name]["values"][s] == pytest.approx(want[s]), (name, s)
    assert res["plan"]["n_prompts"] == 4
    # the sampling-noise check ran: 4 problems cannot separate the top two rungs
    assert res["signal_abstain"] == "within_noise" and res["signal_pick"] is None
    assert 0 < res["gap"] <= res["noise_z"] * res["gap_se"]


def test_folder_of_checkpoints_expands_in_natural_order(tmp_path):
    ladder = tmp_path / "ladder"
    for n, c in LADDER.items():
        evalplus_file(ladder / n / "eval_results.json", c)
    (ladder / "notes.txt").write_text("not a checkpoint")
    probes, expanded = load_inputs([ladder])
    assert [p.name for p in probes] == ["e1", "e2", "e10"]
    assert expanded == [{"folder": str(ladder), "order": ["e1", "e2", "e10"],
                         "skipped": ["notes.txt"]}]  # fmt: skip
    res = rank([ladder]).to_json()
    assert res["inputs"]["expanded"][0]["order"] == ["e1", "e2", "e10"]
    assert res["baselines"]["shallowest"] == "e1"  # the listed order, least trained first
    assert sorted(["e10", "e2", "e1"], key=natural_key) == ["e1", "e2", "e10"]


def test_lm_eval_samples_give_counts_with_pass_at_1_and_inverted_pass_at_k(tmp_path):
    per_doc = [(8, 3), (8, 0), (8, 8), (8, 5)]
    run = lm_eval_run(tmp_path / "e1" / "__runs__e1", "humaneval_8", per_doc)
    assert file_kind(run / f"results_{DATE}.json") == "lm_eval_results"
    assert file_kind(run / f"samples_humaneval_8_{DATE}.jsonl") == "lm_eval_samples"
    (p,), _ = load_inputs([run / f"results_{DATE}.json"])
    assert p.name == "__runs__e1" and (p.n, p.c) == ([8] * 4, [3, 0, 8, 5])
    assert p.setup.temperature == 0.8 and p.setup.samples == 8
    (q,), _ = load_inputs([tmp_path / "e1"])  # lm-eval's model folder inside: named e1
    assert q.name == "e1" and q.c == p.c
    # humaneval_64 logs pass@2.. only: inverted exactly, except at the top (said)
    run2 = lm_eval_run(tmp_path / "k" / "m", "humaneval_64", [(8, 3), (8, 7), (8, 0)],
                       metric="pass@2", k=2)  # fmt: skip
    (r,), _ = load_inputs([run2 / f"samples_humaneval_64_{DATE}.jsonl"])
    assert r.c == [3, 8, 0]  # 7 of 8 and 8 of 8 both give pass@2 = 1
    assert any("cannot be told apart" in n for n in r.summary["notes"])


def test_lm_eval_inputs_that_give_no_counts_are_one_line(tmp_path):
    one = lm_eval_run(tmp_path / "g", "gsm8k", [(1, 1), (1, 0)], metric="exact_match")
    with pytest.raises(UserError, match="one scored response per problem"):
        load_inputs([one / f"results_{DATE}.json"])
    agg = tmp_path / "agg"
    lm_eval_run(agg, "humaneval_8", [(8, 3)])
    (agg / f"samples_humaneval_8_{DATE}.jsonl").unlink()
    with pytest.raises(UserError, match="--log_samples"):
        load_inputs([agg / f"results_{DATE}.json"])
    row = {"doc_id": 0, "metrics": ["pass@1"], "pass@1": 0.3, "filtered_resps": [["a", "b"]]}
    with pytest.raises(UserError, match="not a share of its 2"):
        doc_counts(row, "s.jsonl")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rows": []}))
    with pytest.raises(UserError, match="does not read"):
        load_inputs([other])


def test_pilot_logs_are_told_from_checkpoint_inputs(tmp_path):
    f = evalplus_file(tmp_path / "e1" / "eval_results.json", LADDER["e1"])
    log = tmp_path / "trainer_state.json"
    log.write_text(json.dumps({"log_history": [{"step": 1, "entropy": 0.5}]}))
    assert is_checkpoint_input(f) and is_checkpoint_input(tmp_path / "e1")
    assert not is_checkpoint_input(log)


TABLE = "name,pre_pass_at_1,pre_pass_at_10,entropy_prompt\na,{},{},0.9\nb,{},{},0.5\nc,{},{},0.7\n"


def test_percent_table_is_converted_with_a_warning_or_refused(tmp_path):
    shares = tmp_path / "shares.csv"
    shares.write_text(TABLE.format(0.30, 0.60, 0.45, 0.55, 0.20, 0.70))
    percent = tmp_path / "percent.csv"
    percent.write_text(TABLE.format(30, 60, 45, 55, 20, 70))
    a, b = rank(table=shares).to_json(), rank(table=percent).to_json()
    assert a["inputs"]["warnings"] == []
    assert [r["checkpoint"] for r in a["ranking"]] == [r["checkpoint"] for r in b["ranking"]]
    for ra, rb in zip(a["ranking"], b["ranking"], strict=True):
        assert rb["values"]["pass_at_k"] == pytest.approx(ra["values"]["pass_at_k"])
        assert rb["values"]["pass_at_1"] == pytest.approx(ra["values"]["pass_at_1"])
        assert rb["values"]["entropy_prompt"] == ra["values"]["entropy_prompt"]  # nats stay
    warned = " ".join(b["inputs"]["warnings"])
    assert "pre_pass_at_10 is in percent" in warned and "pre_pass_at_1 is in percent" in warned
    bad = tmp_path / "bad.csv"
    bad.write_text(TABLE.format(30, 140, 45, 55, 20, 70))
    with pytest.raises(UserError, match="neither a share"):
        rank(table=bad)


def test_cli_rank_reads_result_files_and_says_the_order(tmp_path):
    ladder = tmp_path / "ladder"
    files = [evalplus_file(ladder / n / "eval_results.json", c) for n, c in LADDER.items()]
    run = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "rank", *map(str, files), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert {r["checkpoint"] for r in json.loads(run.stdout)["ranking"]} == set(LADDER)
    text = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "rank", str(ladder)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "3 checkpoints in natural order: e1, e2, e10" in " ".join(text.stdout.split())
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "rank", str(empty)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_compare_probes_takes_result_files(tmp_path):
    from rankinv.verdicts.compare import rows_from_probes

    ladder = tmp_path / "ladder"
    for n, c in LADDER.items():
        evalplus_file(ladder / n / "eval_results.json", c)
    post = tmp_path / "post.csv"
    post.write_text("name,post_pass_at_10\ne1,0.7\ne2,0.6\ne10,0.5\n")
    rows = rows_from_probes([ladder], post)
    assert [r["name"] for r in rows] == ["e1", "e2", "e10"]
    n, c = plus_counts(LADDER["e2"])
    assert rows[1]["pre_pass_at_1"] == pytest.approx(np.mean(np.array(c) / np.array(n)))
    assert rows[1]["post_pass_at_10"] == 0.6


def test_one_row_convention_and_mixed_scales_refused(tmp_path):
    """Every table reader says "row N" for the Nth data row (1-based, header not counted);
    a column mixing shares and percents is refused in one line naming file, column, rows."""
    import pytest

    from rankinv.verdicts.rank import rank

    bad = tmp_path / "text.csv"
    bad.write_text("name,depth,pre_pass_at_1,pre_pass_at_10\ne1,1,0.3,0.6\ne2,2,abc,0.55\n")
    with pytest.raises(ValueError, match=r"column 'pre_pass_at_1', row 2: 'abc'"):
        rank(table=bad)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "name,depth,pre_pass_at_1,pre_pass_at_10\ne1,1,0.30,0.60\ne2,2,35,0.55\ne3,4,0.40,0.5\n"
    )
    with pytest.raises(ValueError) as err:
        rank(table=mixed)
    msg = str(err.value)
    assert "mixed.csv" in msg and "'pre_pass_at_1' mixes shares and percents" in msg
    assert "row(s) 1, 3 below 1, row(s) 2 above 1" in msg and "\n" not in msg
