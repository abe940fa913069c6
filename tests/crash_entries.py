"""Tiny configurations of rankinv's long jobs as processes a test can SIGKILL and resume
(tests/test_crash_resume.py). Each entry runs the job's real code path on a design small
enough for a few seconds of work, and prints ``written <key>`` once a record is durable
(after the call that writes it returned), so the test knows what was reported written.

    python tests/crash_entries.py population|mini|corpus OUT
"""

from __future__ import annotations

import dataclasses
import sys


def _say(key: str) -> None:
    print(f"written {key}", flush=True)


def population(out: str) -> None:
    """`rankinv simulate --population quick --out OUT` on a 13-ladder design of 3 depths and
    10 RL steps (tests/test_simulate_population.py's _small_design), chunks of 2."""
    from rankinv.cli import main
    from rankinv.simulate import population as P
    from rankinv.simulate import settings as S

    S.DEPTHS = (0.5, 4.0, 16.0)
    real_config = S.config_of

    def small(setting, seed):
        return real_config(setting, seed).replace(rl_steps=10, n_heldout=16, sft_depths=S.DEPTHS)

    base = S.base_setting()
    ladders = tuple(
        [({**base, "rl_lr": lr}, s) for lr in (1.0, 2.0, 4.0) for s in range(4)]
        + [({**base, "group_size": 4}, 2)]
    )
    S.config_of = small
    S.design = lambda name: S.Design("quick", ladders, trace_every=5)
    P.CHUNK = 2
    real_append = P.append_jsonl

    def append(path, rec, fsync=True):
        real_append(path, rec, fsync)
        _say(rec["ladder_id"])

    P.append_jsonl = append
    main(["simulate", "--population", "quick", "--out", out, "--json"])


#: The mini experiment at its smallest: one seed, two depths, 4 GRPO steps.
TINY_MINI = dict(
    pretrain=True,  # its own tiny base, not the saved one (whose recipe is 1500 steps)
    pretrain_steps=30,
    pretrain_batch=16,
    sft_demos=32,
    depths=(1, 2),
    seeds=1,
    control_depths=(1,),
    rl_steps=4,
    rl_prompts=4,
    eval_every=2,
    eval_samples=4,
    ks=(1, 4),
    workers=1,
)


def mini(out: str) -> None:
    """`rankinv experiment mini --preset ci --out OUT` with the ci preset made tiny; the run
    logs what it finished (a GRPO run's result, an SFT ladder's checkpoints)."""
    from rankinv.cli import main
    from rankinv.experiment import mini as M

    real_preset, real_run = M.preset, M.run_mini
    M.preset = lambda name: dataclasses.replace(real_preset(name), **TINY_MINI)

    def log(msg: str) -> None:
        if msg.startswith("grpo "):  # logged once the run's result JSON is written
            _say("run " + msg.split()[1].rstrip(":"))
        print(msg, flush=True)

    M.run_mini = lambda cfg, out_, **_: real_run(cfg, out_, log=log)
    main(["experiment", "mini", "--preset", "ci", "--out", out, "--json"])


def corpus(out: str) -> None:
    """The TRL corpus builder (rankinv.experiment.trl_corpus.build) on 12 runs of 2 steps
    with a tiny pretrain; TRL itself is stood in for by a deterministic stand-in unless
    RANKINV_CRASH_TRL=1 (the builder's own resume is what is tested: pretrain, SFT, the
    trainer_state.json and the appended runs.jsonl)."""
    import os
    import time

    from rankinv.experiment import trl_corpus as C

    real_append = C.append_jsonl

    def append(path, rec, fsync=True):
        real_append(path, rec, fsync)
        _say(rec["name"])

    C.append_jsonl = append
    if os.environ.get("RANKINV_CRASH_TRL") != "1":

        def fake_run(spec, ckpt, out_, cfg, sandbox):
            """A TRL log whose values follow from the run's name and checkpoint only."""
            import hashlib

            h = int(hashlib.sha256(f"{spec['name']}:{ckpt.name}".encode()).hexdigest(), 16)
            time.sleep(0.5)  # a window for a kill inside a run
            hist = []
            for step in range(cfg.steps + 1):
                p = ((h >> step) % 97) / 97
                hist.append({"step": step, "reward": p, "entropy": 1 - p})
                if step % cfg.eval_every == 0:
                    hist.append({"step": step, "heldout_pass_at_1": p / 2, "heldout_pass_at_k": p})
            return {"log_history": hist, "max_steps": cfg.steps, "global_step": cfg.steps}

        C.train_run = fake_run
    mini_cfg = dataclasses.replace(C.CorpusConfig().mini, **TINY_MINI)
    cfg = C.CorpusConfig(runs=12, steps=2, eval_every=1, eval_prompts=4, eval_samples=4, k=2,
                         mini=mini_cfg)  # fmt: skip
    C.build(out, cfg, log=lambda m: print(m, flush=True))


if __name__ == "__main__":
    {"population": population, "mini": mini, "corpus": corpus}[sys.argv[1]](sys.argv[2])
