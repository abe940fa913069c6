"""One frozen, validated configuration for the simulator, and the named presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from rankinv.errors import UserError
from rankinv.theory import paper

POLICIES = ("tabular", "shared", "sequence", "family")
ADVANTAGES = ("mean", "std")


@dataclass(frozen=True)
class SimConfig:
    """Synthetic tasks, SFT to a depth, then GRPO. Shape-defining fields are static.

    Policies (all share one parametrisation, logits[n, t, v] = base[n, t, v] + update):
      * ``tabular``: one softmax over ``n_answers`` answers per prompt (seq_len = 1);
        the update is a free table theta[n, 0, v].
      * ``shared``: logits = base + features @ theta, features [N, F] fixed, theta [F, L, V]
        trained: learning on one prompt moves the others.
      * ``sequence``: answers are ``seq_len`` tokens from a vocabulary of ``n_answers``,
        one softmax per position (free table theta[n, t, v]); an answer is correct when
        every token lies in that position's correct set, so p = prod_t pi_t(correct_t) and
        the mean token entropy is the rollout (answer-token) entropy; the paper's stage 1
        measures prompt-token entropy, which a synthetic policy without prompts lacks.
      * ``family`` (the generalising policy, the default of new work): prompts belong to
        ``n_families`` task families that share their correct tokens; logits = base +
        features @ theta with features = [family one-hot x ``family_scale``, ``n_features``
        private Gaussian features], so SFT on a family's wrong demonstrations also hurts its
        unseen prompts and RL on one prompt lifts its neighbours. ``n_heldout`` prompts of
        the same families are never trained on (outcomes are measured on them). Its losses
        are means over prompts (SFT: over the N training prompts; RL: over the batch).
        With ``n_modes`` > 0 a family solves its prompts by competing strategies: the first
        answer token picks one of n_modes strategy tokens, and each prompt accepts only its
        own (mode 0 for a ``majority_share`` of prompts, else a minority mode), while the
        strategy logits are shared in the family. Sharpening toward the strategy that works
        on most prompts strands the others (held-out pass@k can fall while pass@1 rises;
        the reward is capped by the entropy left at that token) unless the prompt carries a
        cue to its strategy (``mode_cue``: a feature column per mode, on held-out prompts
        too). Demonstrations use the prompt's own strategy with probability
        ``demo_mode_fidelity``, else the majority one (a wrong demonstration).

    Prompt batches: each GRPO step trains on ``batch_size`` (B) of the ``n_prompts`` (N)
    training prompts drawn without replacement (0: all N, the legacy presets). Advantages:
    ``std`` divides by the sample (unbiased, ddof = 1) std plus ``std_eps``, as TRL and verl.
    ``dynamic_sampling`` with a batch is DAPO as its paper defines it: draw up to
    ``ds_budget`` x B prompts, drop the groups whose rewards are all equal, fill the batch
    with the first B that remain (fewer when the cap runs out); without a batch (legacy
    presets and derive's mitigation table) it retries each prompt up to ``ds_budget`` groups.
    """

    policy: str = "sequence"
    n_prompts: int = 96
    n_answers: int = 8  # K answers (tabular) or vocabulary V per position
    seq_len: int = 4
    n_correct: int = 1  # correct answers (tabular) / tokens per position
    n_features: int = 24  # shared policy only
    base_beta: tuple[float, float] = (1.5, 4.0)  # base success probability ~ Beta(a, b)
    base_noise: float = 1.0  # std of the random base logits
    demo_correct_fraction: float = 0.55  # share of prompts whose demonstration is correct
    sft_depths: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)  # epochs
    sft_steps_per_epoch: int = 4
    sft_lr: float = 2.0
    label_smoothing: float = 0.0
    seeds: int = 3
    group_size: int = paper.GROUP_SIZE
    rl_steps: int = 150
    rl_lr: float = 0.5
    advantage: str = "mean"  # "mean" (Dr. GRPO) or "std" (GRPO: (r - mean) / (std + eps))
    std_eps: float = 1e-6
    clip_low: float = 0.2
    clip_high: float = 0.28
    ppo_epochs: int = 1
    kl_beta: float = 0.0
    entropy_coef: float = 0.0
    dynamic_sampling: bool = False  # DAPO: drop degenerate groups, resample up to a budget
    ds_budget: int = 4
    eval_every: int = 10
    ks: tuple[int, ...] = (1, 10)
    task_seed: int = 0
    # the generalising policy, prompt batches, held-out prompts (0 = off: legacy behaviour)
    n_families: int = 0
    n_heldout: int = 0
    batch_size: int = 0
    wrong_families: int = 0  # families whose demonstrations are all wrong (same error)
    family_scale: float = 1.0
    family_concentration: float = 8.0  # prompt p ~ Beta(c m_f, c (1 - m_f)), m_f ~ base_beta
    # competing solution modes (family policy; 0 = off): the first answer token picks one of
    # n_modes strategies of the family, and only the prompt's own strategy is correct there
    n_modes: int = 0
    majority_share: float = 0.6  # share of prompts whose strategy is the family's mode 0
    mode_cue: float = 0.0  # scale of the feature that reveals a prompt's strategy (0: none)
    demo_mode_fidelity: float = 1.0  # demonstrations using the prompt's own strategy
    minority_p_scale: float = 1.0  # base success of minority-strategy prompts, relative
    # RL tuned as a practitioner tunes it: when given, every ladder (a seed's runs over the
    # depths) is run at each of these learning rates and keeps the one with the best final
    # training reward (batch.run_tuned); rl_lr is then unused
    rl_lr_grid: tuple[float, ...] = ()
    name: str = field(default="custom", compare=False)

    def __post_init__(self):
        def bad(msg):
            raise UserError(f"SimConfig: {msg}")

        for name in ("base_beta", "sft_depths", "ks", "rl_lr_grid"):  # lists (JSON) hash too
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))

        if self.policy not in POLICIES:
            bad(f"policy must be one of {POLICIES}, got {self.policy!r}")
        if self.advantage not in ADVANTAGES:
            bad(f"advantage must be one of {ADVANTAGES}, got {self.advantage!r}")
        ints = {
            "n_prompts": 1,
            "n_answers": 2,
            "seq_len": 1,
            "n_correct": 1,
            "n_features": 1,
            "sft_steps_per_epoch": 1,
            "seeds": 1,
            "group_size": 2,
            "rl_steps": 1,
            "ppo_epochs": 1,
            "ds_budget": 1,
            "eval_every": 1,
            "n_families": 0,
            "n_heldout": 0,
            "batch_size": 0,
            "wrong_families": 0,
            "n_modes": 0,
        }
        for name, lo in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                bad(f"{name} must be an integer >= {lo}, got {v!r}")
        if self.policy in ("tabular", "shared") and self.seq_len != 1:
            bad(f"seq_len must be 1 for the {self.policy} policy, got {self.seq_len}")
        if self.policy == "family" and self.n_families < 1:
            bad(f"n_families must be >= 1 for the family policy, got {self.n_families}")
        if self.policy != "family" and (self.n_families or self.n_heldout or self.wrong_families):
            bad("n_families, n_heldout and wrong_families need policy='family'")
        if self.n_families > self.n_prompts:
            bad(f"n_families ({self.n_families}) must be <= n_prompts ({self.n_prompts})")
        if self.wrong_families > self.n_families:
            bad(f"wrong_families ({self.wrong_families}) must be <= n_families ({self.n_families})")
        if self.batch_size > self.n_prompts:
            bad(f"batch_size ({self.batch_size}) must be <= n_prompts ({self.n_prompts})")
        if self.n_modes and self.policy != "family":
            bad("n_modes needs policy='family'")
        if self.n_modes == 1 or self.n_modes > self.n_answers:
            bad(f"n_modes must be 0 or in [2, n_answers={self.n_answers}], got {self.n_modes}")
        for name in ("majority_share", "demo_mode_fidelity"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                bad(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if not 0 < self.minority_p_scale <= 1:
            bad(f"minority_p_scale must be in (0, 1], got {self.minority_p_scale!r}")
        if not self.mode_cue >= 0:
            bad(f"mode_cue must be >= 0, got {self.mode_cue!r}")
        for name in ("family_scale", "family_concentration"):
            if not getattr(self, name) > 0:
                bad(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.n_correct >= self.n_answers:
            bad(f"n_correct must be < n_answers ({self.n_answers}), got {self.n_correct}")
        a, b = self.base_beta
        if not (a > 0 and b > 0):
            bad(f"base_beta must be two positive numbers, got {self.base_beta!r}")
        if not 0.0 <= self.demo_correct_fraction <= 1.0:
            bad(f"demo_correct_fraction must be in [0, 1], got {self.demo_correct_fraction!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            bad(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if not self.sft_depths or any(d < 0 for d in self.sft_depths):
            bad(f"sft_depths must be non-empty and >= 0, got {self.sft_depths!r}")
        for name in ("sft_lr", "rl_lr", "std_eps"):
            if not getattr(self, name) > 0:
                bad(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("clip_low", "clip_high", "kl_beta", "entropy_coef", "base_noise"):
            if not getattr(self, name) >= 0:
                bad(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.clip_low >= 1.0:
            bad(f"clip_low must be < 1, got {self.clip_low!r}")
        if any(not (isinstance(x, (int, float)) and x > 0) for x in self.rl_lr_grid):
            bad(f"rl_lr_grid must hold positive numbers, got {self.rl_lr_grid!r}")
        if not self.ks or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.ks
        ):
            bad(f"ks must be positive integers, got {self.ks!r}")
        if self.eval_every > self.rl_steps:
            bad(f"eval_every ({self.eval_every}) must be <= rl_steps ({self.rl_steps})")

    @property
    def sft_step_counts(self) -> tuple[int, ...]:
        return tuple(int(round(d * self.sft_steps_per_epoch)) for d in self.sft_depths)

    @property
    def batch(self) -> int:
        """Prompts trained on per GRPO step (B; N when batch_size is 0)."""
        return self.batch_size or self.n_prompts

    @property
    def candidates(self) -> int:
        """Prompts sampled per GRPO step: B, or min(ds_budget x B, N) under DAPO."""
        if self.dynamic_sampling and self.batch_size:
            return min(self.ds_budget * self.batch_size, self.n_prompts)
        return self.batch

    @property
    def n_runs(self) -> int:
        return len(self.sft_depths) * self.seeds

    def replace(self, **changes) -> SimConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS: dict[str, SimConfig] = {
    # 5 depths x 3 seeds, g = 8: under a minute on 2 CPU cores with compilation
    "quick": SimConfig(name="quick"),
    # the paper's grid: 5 depths x 3 seeds, g = 8, 400 GRPO steps
    "paper": SimConfig(
        name="paper",
        n_prompts=256,
        rl_steps=400,
        eval_every=50,
        sft_depths=(1.0, 1.9, 2.9, 3.8, 5.8),
        sft_steps_per_epoch=10,
        rl_lr=0.25,
    ),
    # a strong base whose SFT data lies within its reach (like DeepSeek-Coder in the
    # paper: high base p, demonstrations right): deeper SFT sharpens, strands nothing
    "high-base": SimConfig(name="high-base", base_beta=(6.0, 2.0), demo_correct_fraction=1.0),
    # the generalising policy (the population's base setting, population.base_setting):
    # 8 task families, 64 training + 64 held-out prompts, batches of 16, demonstrations 80%
    # right with one family wholly wrong, GRPO with sample-std advantages, 2 PPO epochs
    "family": SimConfig(
        name="family",
        policy="family",
        n_families=8,
        n_prompts=64,
        n_heldout=64,
        batch_size=16,
        n_features=16,
        n_answers=8,
        seq_len=4,
        base_beta=(1.0, 1.5),
        demo_correct_fraction=0.8,
        wrong_families=1,
        sft_depths=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
        sft_steps_per_epoch=4,
        sft_lr=30.0,
        rl_lr=1.0,
        ppo_epochs=2,
        advantage="std",
        clip_low=0.2,
        clip_high=0.2,
        rl_steps=150,
        seeds=3,
    ),
}


#: Learning rates every tuned ladder is swept over (the family policy's loss is a mean over
#: B x g x L tokens, so one update at lr 1 moves a logit by about |advantage| / (B g L)).
LR_SWEEP = (16.0, 64.0, 256.0)

#: SFT depths of every population ladder and regime preset, in epochs.
LADDER_DEPTHS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)

#: The regimes the real ladders sit in, as changes to the family preset (competing
#: strategies on). qwen-like: a weak, low-capacity base (pre-RL pass@1 0.10-0.25, pass@10
#: 0.55-0.75 in the paper's Table 5) whose minority-strategy prompts are harder and half of
#: whose demonstrations show the majority strategy; deepseek-like: a strong base (pass@1
#: 0.4+, pass@10 ~0.85) whose prompts reveal their strategy, on clean demonstrations.
REGIMES: dict[str, dict] = {
    "qwen-like": dict(
        base_beta=(1.0, 8.0),
        n_modes=3,
        majority_share=0.6,
        minority_p_scale=0.5,
        demo_mode_fidelity=0.5,
        demo_correct_fraction=1.0,
        wrong_families=0,
        n_features=4,
        sft_lr=3.0,
    ),
    "deepseek-like": dict(
        base_beta=(2.0, 3.0),
        sft_lr=8.0,
        n_modes=3,
        majority_share=0.7,
        mode_cue=2.0,
        demo_mode_fidelity=1.0,
        demo_correct_fraction=1.0,
        wrong_families=0,
    ),
}

for _name, _changes in REGIMES.items():
    PRESETS[_name] = PRESETS["family"].replace(
        name=_name, seeds=4, sft_depths=LADDER_DEPTHS, rl_lr_grid=LR_SWEEP, **_changes
    )


def preset(name: str) -> SimConfig:
    if name not in PRESETS:
        raise UserError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]
