"""`rankinv experiment mini`, `report` and `demo`: the end-to-end jobs."""

from __future__ import annotations

from pathlib import Path

import typer

from rankinv._io import claim_out_dir
from rankinv.cli._app import JSON_OPTION, OVERWRITE_OPTION, app, emit_json, hold_out

experiment_app = typer.Typer(
    help="End-to-end experiments on models trained here.", no_args_is_help=True
)
app.add_typer(experiment_app, name="experiment")

#: Where `rankinv demo` writes unless told otherwise (relative to the working directory).
DEMO_OUT = "rankinv-demo"


@experiment_app.command("mini")
def experiment_mini(
    preset: str = typer.Option(
        "ci",
        help="ci (CPU, from the saved base model) | ci-lr (RL lr 1e-3) | "
        "ci-nomod (teacher wrong on the modular family) | ci-shallow (depths from a quarter "
        "epoch) | ci-recipe (six SFT recipes at 4 epochs) | gpu (a larger model)",
    ),
    pretrain: bool = typer.Option(
        False,
        "--pretrain",
        help="Pretrain the base model afresh with the preset's recipe instead of starting "
        "from the one saved in the package.",
    ),
    out: str = typer.Option("runs/mini", "--out", help="Directory (resumable)."),
    sft: str = typer.Option("full", "--sft", help="full fine-tuning | lora (peft adapters)"),
    overwrite: bool = OVERWRITE_OPTION,
    as_json: bool = JSON_OPTION,
):
    """Pretrain a small Qwen2 coder, SFT to several depths, GRPO, predicted vs observed."""
    import dataclasses

    from rankinv.experiment.mini import preset as mini_preset
    from rankinv.experiment.mini import run_mini
    from rankinv.render import console
    from rankinv.render.experiment import mini_logger, print_mini

    cfg = mini_preset(preset)
    cfg = dataclasses.replace(cfg, sft_mode=sft, pretrain=cfg.pretrain or pretrain)
    hold_out(out)
    claim_out_dir(out, {"command": "experiment mini", "config": dataclasses.asdict(cfg)}, overwrite)
    if as_json:
        res = run_mini(cfg, out, log=lambda m: None)
        emit_json({k: v for k, v in res.items() if k != "runs"})
        return
    with console.status("starting", spinner="dots") as status:
        res = run_mini(cfg, out, log=mini_logger(status))
    print_mini(res, max(cfg.ks), preset, out)


@app.command()
def report(
    directory: str = typer.Argument(..., help="Directory holding rankinv artifacts."),
    as_json: bool = JSON_OPTION,
):
    """One Markdown report with PNG figures from the artifacts in DIR; the probe folders up to
    3 levels below it are grouped by folder into ladders, each ranked as `rank` ranks it."""
    from rankinv.render.experiment import print_report_paths
    from rankinv.report import write_report

    rep = write_report(directory)
    if as_json:
        search = rep.search.to_json()
        ladders = search.pop("ladders")
        emit_json(
            {"report": str(rep.path), "figures": rep.figures, "ladders": ladders, "probes": search}
        )
    else:
        print_report_paths(rep.path, rep.figures, rep.search)


@app.command()
def demo(
    out: str = typer.Option(
        DEMO_OUT,
        "--out",
        help="Directory for artifacts and the report (reused and resumed on a rerun).",
    ),
    as_json: bool = JSON_OPTION,
):
    """The main job on built-in defaults: thresholds, a simulation on the generalising policy
    with its stage-2 monitor (calibrated rule beside the paper's), the paper's example, and a
    report with figures."""
    from rankinv.experiment.demo import demo_steps
    from rankinv.render import demo_payload, print_demo_step
    from rankinv.render.experiment import print_demo_start
    from rankinv.render.simulate import simulation_status

    out_dir = Path(out or DEMO_OUT).resolve()
    payload: dict = {"out": str(out_dir)}
    steps = demo_steps(out_dir)  # refuses a bad --out before anything is printed
    hold_out(out_dir)
    if not as_json:
        print_demo_start(out_dir)
    status = simulation_status("working...", quiet=as_json)
    while True:
        with status:
            item = next(steps, None)
        if item is None:
            break
        name, result = item
        payload[name] = demo_payload(name, result)
        if not as_json:
            print_demo_step(name, result, out_dir)
    if as_json:
        paper_part = payload.pop("paper")  # the JSON keys of earlier releases
        payload["paper_qwen"] = paper_part["table1"]
        payload["paper_qwen_diagnostic"] = paper_part["diagnostic"]
        emit_json(payload)
