"""The batch driver: the tuned learning rate is the training reward's best, the run axis
shards over devices with the same numbers as one device, compilations persist on disk."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rankinv.simulate import SimConfig
from rankinv.simulate.batch import Runner, RunSpec, compile_cache_dir, run_tuned

SMALL = dict(
    policy="family",
    n_families=4,
    n_prompts=16,
    n_heldout=8,
    batch_size=4,
    n_features=4,
    seq_len=3,
    n_answers=6,
    group_size=4,
    n_modes=3,
    rl_steps=12,
    eval_every=4,
    sft_depths=(0.5, 4.0),
)

SCRIPT = """
import json, sys
import jax
from rankinv.simulate import SimConfig
from rankinv.simulate.batch import Runner, RunSpec
cfg = SimConfig(**json.loads(sys.argv[1]))
specs = [RunSpec(cfg.replace(task_seed=t), s, d) for t in (0, 1) for s in (0, 1) for d in (2, 16)]
runner = Runner()
_, per_step, final = runner.run(specs[:-1])  # 7 runs: padded to the device count
print(json.dumps({"devices": len(jax.local_devices()),
                  "heldout": per_step.heldout_pass.tolist(), "final": final.train_pass.tolist(),
                  "compile_s": runner.compile_s}))
"""


def _run(env_extra, cache):
    env = {**os.environ, "JAX_ENABLE_X64": "0", "RANKINV_JAX_CACHE": str(cache), **env_extra}
    cfg = {k: list(v) if isinstance(v, tuple) else v for k, v in SMALL.items()}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(cfg)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_devices_give_the_numbers_of_one_and_compilations_persist(tmp_path):
    cache = tmp_path / "jax-cache"
    one = _run({"XLA_FLAGS": ""}, cache)
    assert one["devices"] == 1
    assert any(cache.rglob("*"))  # the compilation was written to the persistent cache
    two = _run({"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}, cache)
    assert two["devices"] == 2
    np.testing.assert_array_equal(np.asarray(one["heldout"]), np.asarray(two["heldout"]))
    np.testing.assert_array_equal(np.asarray(one["final"]), np.asarray(two["final"]))


def test_compile_cache_dir_can_be_turned_off(monkeypatch, tmp_path):
    monkeypatch.setenv("RANKINV_JAX_CACHE", "off")
    assert compile_cache_dir() is None
    monkeypatch.setenv("RANKINV_JAX_CACHE", str(tmp_path))
    assert compile_cache_dir() == Path(tmp_path)
    monkeypatch.delenv("RANKINV_JAX_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache_dir() == Path(tmp_path) / "rankinv" / "jax"


def test_run_tuned_keeps_the_rate_with_the_best_training_reward(monkeypatch):
    monkeypatch.setenv("RANKINV_JAX_CACHE", "off")
    cfg = SimConfig(**SMALL, rl_lr_grid=(0.5, 64.0))
    fixed = SimConfig(**SMALL, rl_lr=8.0)
    ladders = [[RunSpec(c, 0, d) for d in (2, 16)] for c in (cfg, fixed)]
    runner = Runner()
    res = run_tuned(runner, ladders)
    sweep = {float(k): v for k, v in res.sweep[0].items()}
    assert res.chosen_lr[0] == max(sweep, key=sweep.get) and len(sweep) == 2
    assert abs(sweep[64.0] - sweep[0.5]) > 0.01  # the rates differ: the choice is real
    assert res.chosen_lr[1] == 8.0 and list(res.sweep[1]) == ["8"]
    # the chosen rows are the runs at the chosen rate
    _, _, final = runner.run(
        [s._replace(cfg=cfg.replace(rl_lr=res.chosen_lr[0])) for s in ladders[0]]
    )
    np.testing.assert_array_equal(res.final.train_pass[:2], final.train_pass)


def test_runs_of_different_shapes_in_one_call_are_refused():
    a = SimConfig(**SMALL)
    with pytest.raises(ValueError, match="share a shape"):
        Runner().run([RunSpec(a, 0, 1), RunSpec(a.replace(group_size=8), 0, 1)])
