"""The simulator's one batch driver: runs stacked on a run axis, one compiled, vmapped call
per shape (grpo.make_train), sharded over every local JAX device.

A run is a configuration, a seed (the demonstrations' seed and the RL stream's, folded into
the task seed's key by grpo.run_key: the one key derivation) and an SFT step count. Runs
whose shapes agree share a compilation; the run axis is split over a one-axis device mesh
named ``runs`` (padded to a multiple of the device count), so a host with several devices
runs a population without code changes and gives the same numbers as one device.

Compilations persist across processes in JAX's compilation cache, under
``$RANKINV_JAX_CACHE`` (default: the user cache dir, ~/.cache/rankinv/jax); set
``RANKINV_JAX_CACHE=off`` to turn it off.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rankinv.simulate.config import SimConfig
from rankinv.simulate.tasks import PromptSet, make_task

#: Mesh axis name of the run axis.
RUN_AXIS = "runs"


class RunSpec(NamedTuple):
    cfg: SimConfig
    seed: int  # demonstrations and the RL stream (grpo.run_key(cfg.task_seed, seed))
    sft_steps: int


def compile_cache_dir() -> Path | None:
    """Where compilations persist (None: off, by RANKINV_JAX_CACHE=off|0|none)."""
    value = os.environ.get("RANKINV_JAX_CACHE")
    if value is not None and value.strip().lower() in ("off", "0", "none", "false", ""):
        return None
    if value:
        return Path(value).expanduser()
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "rankinv" / "jax"


_CACHE_SET = False


def use_compile_cache() -> Path | None:
    """Point JAX's persistent compilation cache at compile_cache_dir() (once a process)."""
    global _CACHE_SET
    path = compile_cache_dir()
    if path is None or _CACHE_SET:
        return path
    import jax

    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _CACHE_SET = True
    return path


class Runner:
    """Compiled calls, one per (shape, padded run count), reused across calls.

    ``n_feat`` pads every run's features to that many columns, so that capacity does not
    change a compiled shape. ``compile_s`` sums the seconds spent compiling (or loading a
    compilation from the persistent cache)."""

    def __init__(self, n_feat: int | None = None, devices=None, penalties: bool | None = None):
        self.n_feat = n_feat
        self.penalties = penalties  # None: compiled with KL / entropy terms when a run has one
        self.devices = devices
        self.compiled: dict[tuple, object] = {}
        self.compile_s = 0.0
        self.run_s = 0.0
        self._tasks: dict[SimConfig, PromptSet] = {}

    def task(self, cfg: SimConfig) -> PromptSet:
        key = cfg.replace(rl_lr=1.0, rl_lr_grid=())  # RL settings do not change the task
        if key not in self._tasks:
            self._tasks[key] = make_task(cfg)
        return self._tasks[key]

    def run(self, specs: list[RunSpec]):
        """(start, per_step, final) as numpy arrays with a leading run axis, in spec order."""
        import jax
        import jax.numpy as jnp
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        from rankinv.simulate.grpo import arrays_of, hyper_of, make_train, run_key, shapes_of
        from rankinv.simulate.sampling import COMPILER_OPTIONS

        use_compile_cache()
        ftype = jnp.zeros(()).dtype  # float32 unless x64 is on
        shapes = {shapes_of(s.cfg, self.n_feat)._replace(penalties=False) for s in specs}
        if len(shapes) != 1:
            raise ValueError(f"runs of one call must share a shape, got {len(shapes)}")
        pen = self.penalties
        if pen is None:
            pen = any(shapes_of(s.cfg).penalties for s in specs)
        shp = shapes.pop()._replace(penalties=pen)
        devices = self.devices or jax.local_devices()
        n = len(specs)
        padded = list(specs) + [specs[-1]] * (-n % len(devices))
        arrays, hypers, keys = [], [], []
        for s in padded:
            a = arrays_of(s.cfg, self.task(s.cfg), s.seed, self.n_feat)
            arrays.append(
                a._replace(
                    base_logits=a.base_logits.astype(ftype), features=a.features.astype(ftype)
                )
            )
            hypers.append(hyper_of(s.cfg))
            keys.append(np.asarray(run_key(s.cfg.task_seed, s.seed)))
        stack = jax.tree_util.tree_map(lambda *xs: np.stack(xs), *arrays)
        hyp = jax.tree_util.tree_map(lambda *xs: np.asarray(xs, dtype=ftype), *hypers)
        steps = np.asarray([s.sft_steps for s in padded], np.int32)
        args = (np.stack(keys), steps, stack, hyp)
        ck = (shp, len(padded), tuple(d.id for d in devices))
        if ck not in self.compiled:
            t0 = time.perf_counter()
            mesh = Mesh(np.asarray(devices), (RUN_AXIS,))
            sharding = NamedSharding(mesh, PartitionSpec(RUN_AXIS))
            fn = jax.jit(jax.vmap(make_train(shp)), in_shardings=sharding, out_shardings=sharding)
            self.compiled[ck] = fn.lower(*args).compile(compiler_options=COMPILER_OPTIONS)
            self.compile_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        out = jax.block_until_ready(self.compiled[ck](*args))
        self.run_s += time.perf_counter() - t0
        return jax.tree_util.tree_map(lambda x: np.asarray(x)[:n], out)


class Tuned(NamedTuple):
    """run_tuned's result: the chosen runs' outputs (ladder-major, then depth), each
    ladder's chosen rate and its sweep (final training pass@1 per rate)."""

    start: object
    per_step: object
    final: object
    chosen_lr: list[float]
    sweep: list[dict[str, float]]


def run_tuned(runner: Runner, ladders: list[list[RunSpec]]) -> Tuned:
    """Run ladders (each a list of runs: one setting and seed over the depths) with their
    learning rate chosen as a practitioner chooses it: every ladder whose config has an
    ``rl_lr_grid`` runs at each rate of it, in one call, and keeps the rate with the best
    mean final *training* pass@1 over its rungs (the expected training reward; never a
    held-out number). Ladders without a grid run at their own rl_lr."""
    import jax

    specs, where = [], []  # where[i][j] = row of ladder i at rate j
    for lad in ladders:
        grid = lad[0].cfg.rl_lr_grid or (lad[0].cfg.rl_lr,)
        rows = []
        for lr in grid:
            rows.append(len(specs))
            specs.extend(s._replace(cfg=s.cfg.replace(rl_lr=float(lr))) for s in lad)
        where.append((grid, rows))
    start, per_step, final = runner.run(specs)
    pick, chosen, sweeps = [], [], []
    for lad, (grid, rows) in zip(ladders, where, strict=True):
        n = len(lad)
        score = [float(np.mean(final.train_pass[r : r + n, 0])) for r in rows]
        j = int(np.argmax(score))
        pick.extend(range(rows[j], rows[j] + n))
        chosen.append(float(grid[j]))
        sweeps.append({f"{lr:g}": round(x, 5) for lr, x in zip(grid, score, strict=True)})
    idx = np.asarray(pick)
    take = lambda tree: jax.tree_util.tree_map(lambda x: x[idx], tree)  # noqa: E731
    return Tuned(take(start), take(per_step), take(final), chosen, sweeps)
