"""Held-out coverage during TRL training: a TrainerCallback that every N steps samples n
completions per held-out prompt with the model in training, checks them in the sandbox and
logs pass@k with its standard error (``rankinv.validate.heldout``) to the trainer's trackers.

    cb = HeldOutCoverageCallback("humaneval", every=50, samples=16, ks=(1, 8), budget=0.2)
    cb.attach(trainer)          # before trainer.train()
    trainer.train()             # then: rankinv monitor OUTPUT_DIR/checkpoint-*/trainer_state.json

Names. The metrics are logged as ``eval_pass_at_1``, ``eval_pass_at_8``, ``eval_pass_at_8_se``,
``eval_informative_fraction``, ``eval_all_fail_fraction``, ``eval_all_pass_fraction``,
``eval_seconds``, ``eval_cost_fraction``: transformers' trackers (W&B, TensorBoard, Trackio,
Comet, SwanLab) rename an ``eval_`` key to ``eval/...`` and any other key to ``train/...``, so
the trackers show ``eval/pass_at_8`` and its ``_se``; ``trainer_state.json`` holds the
``eval_`` names, which ``rankinv monitor`` maps onto ``eval/pass_at_<k>[_se]``
(``rankinv.verdicts.logs.EVAL_ALIASES``) and judges with its coverage rule.

How it logs. ``attach(trainer)`` keeps the trainer; an evaluation is logged through
``transformers.Trainer.log`` (the base class: the entry goes to ``log_history`` at the
evaluation's step and every callback's ``on_log`` sends it to its tracker). GRPOTrainer's
own ``log`` is not used: it would also flush the training metrics it averages over
``logging_steps``, cutting their window short.

Cost. ``seconds`` is all the time the callback spends; training time is the wall time since
training began less that. After each evaluation ``eval_cost_fraction`` = callback seconds /
training seconds is logged. With ``budget`` (a fraction, say 0.2) an evaluation that falls
due runs only when the seconds spent so far plus the last evaluation's stay within budget x
training seconds so far; otherwise it is skipped (``skipped`` lists the steps; a warning
names the first). The first evaluation (at step 0 with ``at_start``) always runs, since its
cost is unknown before: the fraction stays within the budget but for that evaluation and
the error of predicting one evaluation's time by the last one's.

Scope: sampling runs on the model object the trainer trains (dropout off while it samples;
the training mode is restored), one process; with several processes only the main one
evaluates and logs, and under sharded weights (ZeRO-3, FSDP) the model cannot sample alone,
which this callback does not handle.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace

from rankinv.errors import UserError
from rankinv.validate.heldout import PREFIX, HeldOutConfig, evaluate, load_tasks

try:
    from transformers import Trainer, TrainerCallback
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "rankinv.integrations.trl needs transformers (and trl for GRPO): "
        "pip install 'rankinv[validate,trl]'"
    ) from exc

#: The trackers' prefix for evaluation metrics (they show it as "eval/").
TRACKER_PREFIX = "eval_"


class HeldOutCoverageCallback(TrainerCallback):
    """Held-out pass@k every ``every`` optimizer steps (module docstring).

    tasks: a benchmark name or path ("humaneval", "synthetic", a JSONL file) or a list of
    ``rankinv.sandbox.tasks.Task``; samples, ks, max_new_tokens, temperature, stop,
    chat_template, timeout_s, limit, seed: :class:`rankinv.validate.heldout.HeldOutConfig`;
    group_size: g of the group shares (None: the trainer's num_generations); at_start:
    evaluate the starting checkpoint too (step 0); budget: the largest share of training
    time spent evaluating (None: no limit); stop_on_fall: stop training when the coverage
    rule (``rankinv.verdicts.coverage``, the monitor's) finds held-out pass@k fallen beyond
    its noise (one process only; with ``save_steps`` = ``every`` the checkpoint to keep,
    ``coverage.keep_step``, is on disk); workers: sandbox workers (None: one per CPU);
    batch_size: rows the sampler decodes at once (None: the engine's choice).
    """

    def __init__(
        self,
        tasks,
        every: int = 50,
        samples: int = 16,
        ks: tuple[int, ...] = (1, 8),
        group_size: int | None = None,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        stop: tuple[str, ...] | None = None,
        chat_template: bool = False,
        at_start: bool = True,
        budget: float | None = None,
        stop_on_fall: bool = False,
        timeout_s: float = 3.0,
        limit: int | None = None,
        seed: int = 0,
        workers: int | None = None,
        batch_size: int | None = None,
    ):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise UserError(f"every must be an integer >= 1 (optimizer steps), got {every!r}")
        if budget is not None and not 0 < budget:
            raise UserError(f"budget must be a fraction of training time > 0, got {budget!r}")
        self.tasks = load_tasks(tasks, limit)
        self.config = HeldOutConfig(
            samples=samples, ks=tuple(ks), group_size=group_size, temperature=temperature,
            max_new_tokens=max_new_tokens, stop=stop, chat_template=chat_template,
            seed=seed, timeout_s=timeout_s,
        )  # fmt: skip
        self.every, self.at_start, self.budget = every, at_start, budget
        self.stop_on_fall, self.workers, self.batch_size = stop_on_fall, workers, batch_size
        self.trainer = None
        self.history: list[dict] = []  # {"step": s, "eval/pass_at_1": ..., ...} per evaluation
        self.skipped: list[int] = []
        self.seconds = 0.0  # all the time spent in the callback
        self.coverage = None  # the coverage rule's last result (rankinv.verdicts.coverage)
        self.stopped_at: int | None = None
        self._t0: float | None = None
        self._sandbox = self._engine = None

    def attach(self, trainer):
        """Keep the trainer (its ``log`` reaches the trackers) and add this callback first."""
        self.trainer = trainer
        trainer.callback_handler.callbacks.insert(0, self)
        return trainer

    def training_seconds(self) -> float:
        """Wall time since training began, less the time spent in this callback."""
        return 0.0 if self._t0 is None else time.perf_counter() - self._t0 - self.seconds

    def cost_fraction(self) -> float | None:
        train = self.training_seconds()
        return self.seconds / train if train > 0 else None

    # ------------------------------------------------------------ trainer events
    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kw):
        if self.trainer is None:
            raise UserError(
                "HeldOutCoverageCallback logs through the trainer: add it with "
                "callback.attach(trainer), not in callbacks=[...]"
            )
        if self.stop_on_fall and getattr(args, "world_size", 1) > 1:
            raise UserError("stop_on_fall needs one process (every rank must stop alike)")
        self._t0 = time.perf_counter()
        if self.config.group_size is None and getattr(args, "num_generations", None):
            g = min(int(args.num_generations), self.config.samples)
            self.config = replace(self.config, group_size=g if g >= 2 else None)
        if self.at_start and state.is_world_process_zero:
            self._evaluate(args, state, control, model, processing_class)
        return control

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kw):
        step = state.global_step
        if step % self.every or not state.is_world_process_zero:
            return control
        if any(h["step"] == step for h in self.history):
            return control
        if not self._within_budget():
            self.skipped.append(step)
            if len(self.skipped) == 1:
                warnings.warn(
                    f"rankinv: held-out evaluation at step {step} skipped: it would take the "
                    f"evaluation time past the budget of {self.budget:.0%} of training time "
                    f"(last evaluation {self.history[-1][PREFIX + 'seconds']:.2f} s)",
                    stacklevel=2,
                )
            return control
        self._evaluate(args, state, control, model, processing_class)
        return control

    def on_train_end(self, args, state, control, **kw):
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        self._engine = None
        return control

    # ------------------------------------------------------------ the evaluation
    def _within_budget(self) -> bool:
        if self.budget is None or not self.history:
            return True
        last = self.history[-1][PREFIX + "seconds"]
        return self.seconds + last <= self.budget * self.training_seconds()

    def _engine_for(self, model, tokenizer):
        from rankinv.validate.engines.hf import HFEngine

        if self._engine is None or self._engine.model is not model:
            if tokenizer is None:
                raise UserError("the trainer has no tokenizer (processing_class) to sample with")
            tok = getattr(tokenizer, "tokenizer", tokenizer)  # a processor's text tokenizer
            self._engine = HFEngine.from_model(model, tok, batch_size=self.batch_size)
        return self._engine

    def _evaluate(self, args, state, control, model, tokenizer) -> None:
        from rankinv.sandbox.executor import Sandbox

        t0 = time.perf_counter()
        try:
            if self._sandbox is None:
                self._sandbox = Sandbox(self.workers)
            engine = self._engine_for(model, tokenizer)
            was_training = model.training
            model.eval()
            try:
                seed = self.config.seed * 1_000_003 + state.global_step
                metrics = evaluate(engine, self.tasks, self.config, self._sandbox, seed)
            finally:
                model.train(was_training)
        finally:
            self.seconds += time.perf_counter() - t0
        if state.global_step > 0:
            metrics[PREFIX + "cost_fraction"] = self.cost_fraction()
        self.history.append({"step": state.global_step, **metrics})
        logged = {TRACKER_PREFIX + k[len(PREFIX) :]: v for k, v in metrics.items() if v is not None}
        if getattr(args, "num_generations", None):  # so that `rankinv monitor` reads g
            logged["rankinv/group_size"] = int(args.num_generations)
        Trainer.log(self.trainer, logged)  # log_history and trackers (module docstring)
        if self.stop_on_fall:
            self._judge(args, state, control)

    def _judge(self, args, state, control) -> None:
        from rankinv.verdicts import coverage
        from rankinv.verdicts.words.monitor import coverage_words

        self.coverage = coverage.coverage(self.history, max(1, int(state.max_steps or 0)))
        if self.coverage is not None and self.coverage.fell and self.stopped_at is None:
            self.stopped_at = state.global_step
            control.should_training_stop = True
            warnings.warn(f"rankinv: {coverage_words(self.coverage)}", stacklevel=2)
