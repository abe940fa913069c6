"""Recipe ladders: rungs that share one SFT depth and differ in the SFT recipe, so that SFT
depth cannot order them (the choice a practitioner faces between learning rates, label
smoothing or demonstration sets at a fixed number of epochs).

Every rung of a recipe ladder starts from the same base and task (the task does not depend
on any field a recipe changes: tasks.make_family_task reads the task seed, families, base
difficulty, strategies and features only), is fine-tuned for RECIPE_DEPTH epochs under its
recipe, then runs GRPO as every rung does. Capacity and data size are not recipe axes here:
both change the task's prompts or features, so the rungs would not share a task.
"""

from __future__ import annotations

from collections.abc import Callable

from rankinv.simulate.config import SimConfig

#: Epochs of SFT every rung of a recipe ladder gets.
RECIPE_DEPTH = 4.0

#: The rungs of a recipe ladder: a name and the change it makes to the setting's config.
RECIPES: dict[str, Callable[[SimConfig], dict]] = {
    "as-set": lambda c: {},
    "sft-lr-x0.25": lambda c: {"sft_lr": c.sft_lr * 0.25},
    "sft-lr-x2": lambda c: {"sft_lr": c.sft_lr * 2.0},
    "label-smoothing-0.1": lambda c: {"label_smoothing": 0.1},
    "noisier-demos": lambda c: {"demo_correct_fraction": c.demo_correct_fraction * 0.75},
    "cleaner-demos": lambda c: {
        "demo_correct_fraction": 1.0,
        "wrong_families": 0,
        "demo_mode_fidelity": 1.0,
    },
}


def is_recipe(setting: dict) -> bool:
    """A setting whose ladder varies the recipe at one depth (``kind`` = "recipe")."""
    return setting.get("kind") == "recipe"


def recipe_configs(cfg: SimConfig) -> list[tuple[str, SimConfig]]:
    """(recipe name, config) of every rung of a recipe ladder on ``cfg``."""
    return [(name, cfg.replace(**change(cfg))) for name, change in RECIPES.items()]
