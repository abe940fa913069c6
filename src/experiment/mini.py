"""The miniature end-to-end experiment: the paper's pipeline on a model trained here.

1. Tokenizer (BPE, trained offline on the task corpus) and a small Qwen2ForCausalLM built
   from a Qwen2Config, pretrained on a broad 50/50 mix of correct answers (in equivalent
   forms) and plausible wrong ones to the synthetic benchmark's training programs, so that
   the base policy is diverse. Pretrained once and shipped in the package
   (:mod:`rankinv.experiment.base`); ``MiniConfig.pretrain`` pretrains afresh.
2. SFT on demonstrations in one canonical style to several depths x seeds, every
   checkpoint saved with save_pretrained (so `rankinv validate --model` runs on it). The
   "teacher" writes the line through f(0), f(1): right on linear programs, plausibly wrong
   on nonlinear ones. A control uses clean (always correct) demonstrations. Depths may be
   fractions of an epoch; a recipe ladder holds the depth and varies the SFT recipe
   (:data:`RECIPES`); with ``probe_samples`` every checkpoint is probed as `rankinv
   validate` probes it.
3. GRPO written here: group size g, binary reward from the sandboxed executor, mean-centred
   advantage, clipped ratio (clip-higher), no KL; per-step JSONL logs in the monitor's
   format; held-out pass@k every N steps.
4. Stage 1 on every checkpoint (prompt and rollout entropy, pass@1, the theory's verdict),
   stage 2 on every run (the monitor), `compare` of predicted against observed, and the
   simulator's prediction for the same depths side by side.

Resumable: finished checkpoints (a ``done`` marker) and runs (their result JSON) are reused.
"""

from rankinv.experiment.config import PRESETS, RECIPES, MiniConfig, preset
from rankinv.experiment.data import (
    correct_forms,
    programs,
    task_of,
    teacher_answer,
    wrong_forms,
)
from rankinv.experiment.ladders import Ladder, sft
from rankinv.experiment.model import (
    Encoder,
    build_model,
    build_tokenizer,
    load_checkpoint,
    token_logprobs,
    train_bpe_tokenizer,
)
from rankinv.experiment.run import run_mini
from rankinv.experiment.train import evaluate, grpo, grpo_loss, pretrain

__all__ = [
    "PRESETS",
    "RECIPES",
    "Encoder",
    "Ladder",
    "MiniConfig",
    "build_model",
    "build_tokenizer",
    "correct_forms",
    "evaluate",
    "grpo",
    "grpo_loss",
    "load_checkpoint",
    "pretrain",
    "preset",
    "programs",
    "run_mini",
    "sft",
    "task_of",
    "teacher_answer",
    "token_logprobs",
    "train_bpe_tokenizer",
    "wrong_forms",
]
