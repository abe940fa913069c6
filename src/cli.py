"""The `rankinv` console script: thin typer commands over the library, --json everywhere.

Errors in user input exit with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Predict and check rank inversion of SFT checkpoints under GRPO.",
)
console = Console()


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def _emit_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=_json_default))


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# ---------------------------------------------------------------- threshold
def threshold_payload(group_size: int, level: float, n_outcomes: int) -> dict:
    from rankinv import theory

    ps = theory.p_star(group_size, level)
    low, high = theory.entropy_threshold(group_size, n_outcomes, level)
    return {
        "group_size": group_size,
        "level": level,
        "p_star": ps,
        "p_star_upper": theory.p_star_upper(group_size, level),
        "p_star_ln2_over_g": float(__import__("math").log(2) / group_size),
        "advantage_variance_at_p_star": theory.advantage_variance(ps, group_size),
        "entropy_low_nats": low,
        "entropy_high_nats": high,
        "n_outcomes": n_outcomes,
    }


@app.command()
def threshold(
    group_size: int = typer.Option(..., "--group-size", "-g", help="GRPO group size g (>= 2)."),
    level: float = typer.Option(0.5, help="Degenerate-group share defining p* (0 < L < 1)."),
    n_outcomes: int = typer.Option(32, "--n-outcomes", help="K, answers per prompt (Fano)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Critical success probability p*(g), E[sigma^2] at p*, entropy thresholds."""
    payload = threshold_payload(group_size, level, n_outcomes)
    if as_json:
        _emit_json(payload)
        return
    table = Table(title=f"GRPO dead-zone thresholds, g = {group_size}, level = {level}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in payload.items():
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    console.print(table)


def thresholds_table(group_sizes, level: float = 0.5, n_outcomes: int = 32) -> list[dict]:
    return [threshold_payload(g, level, n_outcomes) for g in group_sizes]


# ---------------------------------------------------------------- simulate
def _sim_table(result: dict) -> Table:
    bd = result["by_depth"]
    table = Table(
        title=f"Simulated SFT depth sweep ({result['config']['name']}), "
        f"g = {result['work']['group_size']}, mean over seeds"
    )
    for col in [
        "SFT epochs",
        "H pre (nats)",
        "pass@1 pre",
        f"pass@{result['k']} pre",
        f"peak pass@{result['k']} post",
        "all-fail",
        "all-pass",
    ]:
        table.add_column(col, justify="right")
    for i, d in enumerate(bd["depth"]):
        table.add_row(
            f"{d:g}",
            f"{bd['pre_entropy'][i]:.3f}",
            f"{bd['pre_pass_at_1'][i]:.3f}",
            f"{bd['pre_pass_at_k'][i]:.3f}",
            f"{bd['post_peak'][i]:.3f}",
            f"{bd['all_fail_pre'][i]:.2f}",
            f"{bd['all_pass_pre'][i]:.2f}",
        )
    return table


def _rho_line(name: str, r: dict) -> str:
    if r.get("rho") is None:
        return f"{name}: undefined ({r.get('error', 'constant input')})"
    return (
        f"{name}: rho = {r['rho']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}], "
        f"p = {r['p_value']:.3g}"
    )


def print_simulation(result: dict) -> None:
    console.print(_sim_table(result))
    console.print(
        _rho_line("pre-RL pass@1 vs post (seed-demeaned)", result["spearman_pre_pass1_vs_post"])
    )
    console.print(
        _rho_line("pre-RL entropy vs post (seed-demeaned)", result["spearman_entropy_vs_post"])
    )
    console.print(
        f"inversion: {'yes' if result['inversion'] else 'no'};  p*(g) Monte Carlo "
        f"{result['p_star_numeric']:.4f} +- {result['p_star_numeric_se']:.4f} vs exact "
        f"{result['p_star_analytic']:.4f};  {result['elapsed_s']:.1f} s "
        f"(compile {result['compile_s']:.1f} s)"
    )


@app.command()
def simulate(
    preset: str = typer.Option("quick", help="quick | paper | high-base"),
    out: str = typer.Option(None, "--out", help="Directory for simulate.json and per-run logs."),
    derive: bool = typer.Option(
        False,
        "--derive",
        help="Also derive p*(g) two ways, the entropy threshold and the mitigation table (~1 min).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """JAX sweep over SFT depths x seeds, then GRPO: the inversion and rho."""
    from rankinv.simulate import config as sim_config
    from rankinv.simulate import run_sweep

    cfg = sim_config.preset(preset)
    with (
        console.status(
            f"simulating {cfg.n_runs} runs x {cfg.rl_steps} GRPO steps...", spinner="dots"
        )
        if not as_json
        else _nullcontext()
    ):
        result = run_sweep(cfg, out)
        if derive:
            from rankinv.simulate.derive import derive as derive_fn

            result["derive"] = derive_fn(cfg, out)
    payload = {k: v for k, v in result.items() if k != "trajectories"}
    if as_json:
        _emit_json(payload)
        return
    print_simulation(result)
    if derive:
        _print_derive(result["derive"])
    if out:
        console.print(f"artifacts in {out}")


def _print_derive(d: dict) -> None:
    t = Table(title="p*(g): analytic vs numeric")
    for col in ["g", "exact", "Monte Carlo", "z", "dynamic (T steps)", "first signal 1/2"]:
        t.add_column(col, justify="right")
    for r in d["p_star"]:
        t.add_row(
            str(r["g"]),
            f"{r['p_star_analytic']:.4f}",
            f"{r['p_star_monte_carlo']:.4f}",
            f"{r['monte_carlo_z']:+.1f}",
            f"{r['p_star_dynamic']:.4f} ({r['dynamic_steps']})",
            f"{r['p_first_signal_half']:.4f}",
        )
    console.print(t)
    e = d["entropy_threshold"]
    onset = "none" if e["onset_nats"] is None else f"{e['onset_nats']:.3f}"
    console.print(
        f"entropy: inversion onset at {onset} nats (mean token entropy); theory per "
        f"token H_low {e['theory_low_per_token']:.3f}, H_high "
        f"{e['theory_high_per_token']:.3f}"
    )
    m = Table(title="Mitigations on the deepest checkpoint (peak pass@k after RL)")
    for col in ["mitigation", "shallow", "deep", "deep vs none", "rescues"]:
        m.add_column(col, justify="right")
    for r in d["mitigations"]:
        m.add_row(
            r["mitigation"],
            f"{r['shallow_post_peak']:.3f}",
            f"{r['deep_post_peak']:.3f}",
            f"{r['deep_gain_vs_none']:+.3f}",
            "yes" if r["rescues"] else "no",
        )
    console.print(m)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ---------------------------------------------------------------- demo
DEMO_GROUP_SIZES = [2, 4, 8, 16, 32, 64]


@app.command()
def demo(
    out: str = typer.Option(None, "--out", help="Directory for artifacts and the report."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """The main job on built-in defaults: thresholds, the paper example, a quick simulation."""
    rows = thresholds_table(DEMO_GROUP_SIZES)
    payload: dict[str, Any] = {"thresholds": rows}
    if as_json:
        _emit_json(payload)
        return
    table = Table(title="Dead zone of GRPO with binary rewards (level 1/2, K = 32)")
    for col in ["g", "p*(g)", "ln2/g", "1-p*", "E\\[s2] at p*", "H_low", "H_high"]:
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["group_size"]),
            f"{r['p_star']:.4f}",
            f"{r['p_star_ln2_over_g']:.4f}",
            f"{r['p_star_upper']:.4f}",
            f"{r['advantage_variance_at_p_star']:.4f}",
            f"{r['entropy_low_nats']:.4f}",
            f"{r['entropy_high_nats']:.4f}",
        )
    console.print(table)


# ---------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> None:
    """Console-script entry: one-line errors, exit 2 on bad input."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="rankinv", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("rankinv: interrupted; results written so far are kept", file=sys.stderr)
        sys.exit(130)
    except (UserError, ValueError, FileNotFoundError, NotADirectoryError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"rankinv: error: {msg}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        # click/typer usage errors (typer vendors click in recent releases): duck-typed
        if not hasattr(exc, "format_message"):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            ctx = getattr(exc, "ctx", None)
            print(ctx.get_help() if ctx is not None else "", file=sys.stderr)
            sys.exit(0)
        line = exc.format_message().splitlines()[0]
        print(f"rankinv: error: {line}", file=sys.stderr)
        sys.exit(2)
    if isinstance(rv, int) and rv:
        sys.exit(rv)


if __name__ == "__main__":
    main()
