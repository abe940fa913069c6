"""The checkpoint probe (rankinv.validate.probe): end to end with resume, the Engine
protocol it samples through, and the setup a later `rank` compares."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model  # noqa: E402

from rankinv.errors import UserError  # noqa: E402
from rankinv.records import Plan
from rankinv.sandbox import io_tasks  # noqa: E402
from rankinv.validate.config import ProbeConfig  # noqa: E402
from rankinv.validate.engines import Generation  # noqa: E402
from rankinv.validate.engines.hf import HFEngine  # noqa: E402
from rankinv.validate.probe import ProbeInterrupted, run_probe  # noqa: E402

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
CASES_IN, CASES_OUT = ["1 2\n", "10 -3\n"], ["3\n", "7\n"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer):
    return build_model("qwen2", tmp_path_factory.mktemp("qwen2"), tokenizer, seed=1)


class FixedEngine:
    """An Engine double: the right program for prompts about adding, a wrong one otherwise;
    entropies filled as an HF engine fills them."""

    name = "fixed"
    tokenizer = None
    revision = "fixed"
    exact_entropy = True
    vocab_size = 100

    def __init__(self, end_tokens=(0,)):
        self.end_tokens = tuple(end_tokens)
        self.prompts = {}
        self.closed = 0

    def encode(self, prompts):
        ids = [[1, 2, 3 + i] for i in range(len(prompts))]
        self.prompts = {tuple(x): p for x, p in zip(ids, prompts, strict=True)}
        return ids

    def sample(self, requests, sampling):
        for k, r in enumerate(requests):
            prog = ADD if "Add two" in self.prompts[r.prompt_ids] else "print(0)\n"
            for _ in range(r.n):
                yield k, Generation(prog, 5, [0.5] * 5, [1] * 5)

    def scorer(self):
        raise AssertionError("an engine with exact entropies needs no scorer here")

    def close(self):
        self.closed += 1


def io_bench(tmp_path):
    rows = [
        {"task_id": "add/0", "question": "Add two ints.", "inputs": CASES_IN, "outputs": CASES_OUT},
        {"task_id": "add/1", "question": "Sub two ints.", "inputs": ["5 1\n"], "outputs": ["4\n"]},
    ]
    path = tmp_path / "io.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_probe_over_io_tasks_with_pre_rl_report(tmp_path):
    cfg = ProbeConfig(benchmark=str(io_bench(tmp_path)), samples=4, group_size=4, workers=1,
                      rl_steps=10, batch_prompts=1)  # fmt: skip
    eng = FixedEngine()
    s = run_probe("fixed", cfg, tmp_path / "out", engine=eng, progress=False,
                  entropy_mode="rollout", pre_rl=True)  # fmt: skip
    assert s["pass_at_1"] == 0.5 and s["stop"] == list(io_tasks.IO_STOP)
    assert eng.closed >= 1 and s["entropy_rollout"] == pytest.approx(0.5)
    rep = json.loads((tmp_path / "out" / "pre_rl.json").read_text())
    by = {p["task_id"]: p for p in rep["prompts"]}
    assert by["add/0"]["p_hat"] == 1.0 and by["add/1"]["p_hat"] == 0.0
    assert rep["draws_per_prompt"] == 5.0 and s["pre_rl"]["frac_never_solved"] == 0.5


def test_a_probe_names_its_checkpoint_by_folder_and_its_path_only_when_asked(tmp_path):
    """The setup, the summary and every sample name the checkpoint by its folder's name (or
    the name given, as validate gives DIR/<name>'s); ``record_path`` adds its full path."""
    from rankinv.verdicts.probe_result import ProbeResult

    cfg = ProbeConfig(benchmark=str(io_bench(tmp_path)), samples=4, group_size=4, workers=1)
    ckpt = tmp_path / "runs" / "sft-d4" / "checkpoint-500"
    for out, kw in (("plain", {}), ("named", {"name": "sft-d4-checkpoint-500"}),
                    ("path", {"record_path": True})):  # fmt: skip
        run_probe(str(ckpt), cfg, tmp_path / out, engine=FixedEngine(), progress=False,
                  entropy_mode="rollout", **kw)  # fmt: skip
    texts = {out: "".join(f.read_text() for f in sorted((tmp_path / out).iterdir()) if
                          f.is_file()) for out in ("plain", "named", "path")}  # fmt: skip
    plain, named, path = (ProbeResult.load(tmp_path / d) for d in ("plain", "named", "path"))
    assert plain.name == plain.summary["model"] == "checkpoint-500"
    assert named.name == "sft-d4-checkpoint-500" and path.name == "checkpoint-500"
    runs = str(tmp_path / "runs")
    assert plain.setup.model_path is None and runs not in texts["plain"]
    assert runs not in texts["named"] and runs in texts["path"]
    assert path.setup.model_path == str(ckpt.resolve())


def test_rank_refuses_probes_of_engines_with_other_end_tokens(tmp_path):
    """Each probe records the end tokens its engine stopped on; `rank` names the difference."""
    from rankinv.verdicts.rank import rank

    cfg = ProbeConfig(benchmark=str(io_bench(tmp_path)), samples=4, group_size=4, workers=1)
    for name, ends in (("a", (0,)), ("b", (0, 7)), ("c", (0,))):
        run_probe(name, cfg, tmp_path / name, engine=FixedEngine(ends), progress=False,
                  entropy_mode="rollout")  # fmt: skip
    assert (
        len(
            rank([tmp_path / "a", tmp_path / "c"], signal="share_below_p_star").to_json()["ranking"]
        )
        == 2
    )
    with pytest.raises(UserError, match=r"not sampled alike.*end_tokens: \(0,\) .* vs \(0, 7\)"):
        rank([tmp_path / "a", tmp_path / "b"])


def test_validate_end_to_end_and_resume(model_dir, tmp_path):
    out = tmp_path / "probe"
    args = [
        sys.executable,
        "-m",
        "rankinv.cli",
        "validate",
        "--model",
        str(model_dir),
        "--benchmark",
        "humaneval",
        "--samples",
        "8",
        "--group-size",
        "4",
        "--limit",
        "3",
        "--max-new-tokens",
        "24",
        "--out",
        str(out),
        "--json",
    ]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["n_problems"] == 3 and summary["samples_per_problem"] == 8
    # the verdict is the calibrated stage-1 signal, recomputed here from the saved counts
    from rankinv.verdicts import signals
    from rankinv.verdicts.signals import stage1_verdict

    probs = [json.loads(x) for x in (out / "problems.jsonl").read_text().splitlines()]
    plan = Plan(group_size=8, rl_steps=400, batch_prompts=32, n_prompts=3)
    expect = signals.stage1_signals(
        [p["n"] for p in probs],
        [p["c"] for p in probs],
        plan,
        entropy_rollout=summary["entropy_rollout"],
        entropy_prompt=summary["entropy_prompt"],
    )
    assert summary["signals"] == pytest.approx(expect)
    assert summary["signal"] == signals.DEFAULT_STAGE1_RISK_SIGNAL
    assert summary["risk"] == stage1_verdict(expect).risk
    assert summary["new_samples"] == 24
    # the contract a later `rank` reads: what the probe was run with, end tokens included
    from rankinv.verdicts.probe_result import ProbeResult

    setup = ProbeResult.load(out).setup
    assert (setup.samples, setup.group_size, setup.max_new_tokens, setup.n_problems) == (
        8,
        4,
        24,
        3,
    )
    assert setup.engine == "hf" and setup.model == Path(model_dir).name
    assert setup.model_path is None  # the folder's name only: no path of this machine
    for f in ("validate_summary.json", "problems.jsonl", "samples.jsonl"):
        assert str(Path(model_dir).parent) not in (out / f).read_text(), f
    assert setup.end_tokens == HFEngine(model_dir).end_tokens
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 24
    rec = json.loads(lines[0])
    for key in ("model", "revision", "benchmark_hash", "sampling", "version", "passed"):
        assert key in rec
    # interrupted run: drop the last 5 samples and a cut line; the rerun redoes only those
    (out / "samples.jsonl").write_text("\n".join(lines[:-5]) + '\n{"run_key": "cut')
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    summary = json.loads(run.stdout)
    assert summary["new_samples"] == 5
    assert summary["samples_per_problem"] == 8
    from rankinv.report import build_report

    report = build_report(out).read_text()
    assert "## Checkpoint probe" in report and (out / "probe.png").stat().st_size > 10_000
    bad = subprocess.run(args[:-1] + ["--group-size", "1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "group size must be an integer >= 2" in bad.stderr


class InterruptedEngine:
    """An HF engine that gets Ctrl-C after ``after`` samples of its first call."""

    def __init__(self, inner, after: int):
        self.inner, self.after = inner, after

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def sample(self, requests, sampling):
        for i, item in enumerate(self.inner.sample(requests, sampling)):
            if i == self.after:
                raise KeyboardInterrupt
            yield item


def _drawn(out: Path) -> dict:
    """Each sample record's draw and verdict, keyed (task, sample number)."""
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    return {
        (r["task_id"], r["sample"]): (r["completion"], r["n_tokens"], r["passed"])
        for r in recs
        if r.get("kind") != "entropy"
    }


def test_interrupted_and_resumed_probe_draws_what_an_uninterrupted_one_draws(model_dir, tmp_path):
    """Ctrl-C after some samples, then a rerun with another batch size, then a samples.jsonl
    cut mid-line and missing samples of every problem: each resumed run asks only for the
    missing samples and draws exactly those of an uninterrupted run (each sample keyed by
    the run's seed, its problem and its number), so problems.jsonl is the same too (its
    entropies up to the floating point of differently padded batches)."""
    cfg = ProbeConfig(samples=8, group_size=4, limit=3, max_new_tokens=24, workers=1)

    def probe(out, engine):
        return run_probe(str(model_dir), cfg, out, engine=engine, progress=False)

    ref = tmp_path / "ref"
    probe(ref, HFEngine(model_dir, batch_size=8))
    want = _drawn(ref)
    assert len(want) == 24 and len({c for c, _, _ in want.values()}) > 12  # real draws
    out = tmp_path / "resumed"
    with pytest.raises(ProbeInterrupted):
        probe(out, InterruptedEngine(HFEngine(model_dir, batch_size=8), after=10))
    kept = _drawn(out)
    assert 0 < len(kept) < 24 and all(want[k] == v for k, v in kept.items())
    s = probe(out, HFEngine(model_dir, batch_size=3))
    assert s["new_samples"] == 24 - len(kept) and _drawn(out) == want
    # samples 1, 4 and 6 of every problem lost, and the last line cut
    lines = (out / "samples.jsonl").read_text().splitlines()
    keep = [x for x in lines if json.loads(x).get("sample") not in (1, 4, 6)]
    (out / "samples.jsonl").write_text("\n".join(keep[:-1]) + "\n" + keep[-1][:30])
    s = probe(out, HFEngine(model_dir, batch_size=5))
    assert s["new_samples"] == 24 - len(keep) + 1 and _drawn(out) == want
    got, ref_p = ([json.loads(x) for x in (d / "problems.jsonl").read_text().splitlines()]
                  for d in (out, ref))  # fmt: skip
    for a, b in zip(got, ref_p, strict=True):  # entropies up to a batch's floating point
        h = "mean_token_entropy"
        assert a.pop(h) == pytest.approx(b.pop(h), rel=1e-6) and a == b


def test_sandbox_workers_leave_one_cpu_to_the_sampler():
    from rankinv.sandbox.executor import default_workers
    from rankinv.validate.probe import sandbox_workers

    assert sandbox_workers(None) == max(1, default_workers() - 1)
    assert sandbox_workers(3) == 3  # --workers wins
