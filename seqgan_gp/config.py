"""The configuration every kind of training shares, and how flags change a configuration.

:class:`TrainConfig` is the schedule of any training run: its length, batch, optimizer, seed and
the intervals of the periodic work. :class:`GANConfig` adds the adversarial part (critic steps per
generator step, the objective and its constants). A kind's configuration extends one of them
(``TextConfig(GANConfig)``, ``ImageConfig(GANConfig)``, ``ToyConfig(GANConfig)``; a
maximum-likelihood language model would extend ``TrainConfig`` alone), adds its own fields
(corpus, model, widths) and redeclares the shared fields whose paper values differ; the core reads
only the shared fields. A kind's defaults are its paper values, and an error message quotes them
as the fix.

The configuration stays flat, as the flags are: ``--lambda-gp`` is ``cfg.lambda_gp`` in the
dataclass, in config.json and in every message, with no mapping in between.

Every interval (``--sample-every``, ``--eval-every``, ``--checkpoint-every``) means the same: every
N iterations and at the last one; 0 means only at the last one. A time budget (``--time-budget``)
makes the iteration that spends it the last one of the session, so runs of different kinds can be
compared at equal cost (seqgan_gp.loop).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

from seqgan_gp.choices import LOSS_DEFAULTS, LOSSES
from seqgan_gp.configfile import check_at_least_one, check_finite, check_seed, check_zero_or_more
from seqgan_gp.errors import UserError
from seqgan_gp.choices import RMSPROP

C = TypeVar("C")

RESUMABLE = ("iters", "log_every", "sample_every", "eval_every", "checkpoint_every", "keep_checkpoints", "time_budget",
             "budget_clock")
"""Fields of the schedule that a resumed run may change (what it learns stays as it started)."""
BUDGET_CLOCKS = ("cpu", "wall")


def paper_value(cfg, name: str):
    """The default of field ``name`` in ``cfg``'s class: the paper's value for that kind of run."""
    return type(cfg).__dataclass_fields__[name].default


@dataclass(frozen=True)
class TrainConfig:
    """The schedule of a training run (defaults: the paper's language model, gan_language.py)."""

    iters: int = 200_000  # generator iterations to reach (paper: 200,000 text; 100,000 toy and ResNet CIFAR)
    batch_size: int = 64  # examples per step (paper: 64)
    lr: float = 1e-4  # learning rate of every network (paper: Adam 1e-4; ResNet CIFAR 2e-4)
    betas: tuple[float, float] = (0.5, 0.9)  # Adam (β1, β2) (paper: 0.5, 0.9; ResNets 0, 0.9)
    lr_decay: bool = False  # linear decay of the learning rate to 0 at `iters` (paper: ResNet CIFAR only)
    seed: int = 0  # seeds weights, noise, ε and batch order
    log_every: int = 10  # iterations between metrics records and progress updates
    sample_every: int = 100  # iterations between samples in samples/ (paper: 100; 0: only at the end)
    eval_every: int = 100  # iterations between evaluations (paper: 100; 0: only at the end)
    checkpoint_every: int = 1000  # iterations between checkpoints (0: only at the end, where one is always written)
    keep_checkpoints: int = 3  # newest checkpoints kept in checkpoints/ (0: all)
    time_budget: float = 0.0  # seconds of training steps after which a session ends at that iteration (0: none)
    budget_clock: str = "cpu"  # what --time-budget counts: cpu (the process's CPU time, all threads) | wall

    def __post_init__(self):
        check_at_least_one(self, ["iters", "batch_size", "log_every"])
        if not self.time_budget >= 0:
            raise UserError(f"--time-budget {self.time_budget:g}: must be 0 (no budget) or a number of seconds; "
                            f"pass e.g. --time-budget 300")
        if self.budget_clock not in BUDGET_CLOCKS:
            raise UserError(f"--budget-clock {self.budget_clock}: choose {' or '.join(BUDGET_CLOCKS)}")
        check_zero_or_more(self, ["sample_every", "eval_every", "checkpoint_every"], zero="only at the end")
        check_zero_or_more(self, ["keep_checkpoints"], zero="all")
        check_seed(self.seed)
        if not self.lr > 0:
            raise UserError(f"--lr {self.lr:g}: the learning rate must be positive; "
                            f"pass e.g. --lr {paper_value(self, 'lr'):g} (the paper's)")
        check_finite(self.lr, "--lr", example=paper_value(self, "lr"))
        b1, b2 = self.betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            p1, p2 = paper_value(self, "betas")
            raise UserError(f"--betas {b1:g},{b2:g}: Adam's betas must lie in [0, 1); "
                            f"pass e.g. --betas {p1:g},{p2:g} (the paper's)")

    def implied(self, given: dict) -> dict:
        """What the flags ``given`` bring along besides themselves (a kind adds its own): nothing here."""
        return {}


@dataclass(frozen=True)
class GANConfig(TrainConfig):
    """The schedule of an adversarial run plus its critic and objective (defaults: Algorithm 1)."""

    critic_iters: int = 5  # critic steps per generator step, n_critic (paper: 5; language model 10)
    loss: str = "wgan-gp"  # wgan-gp | wgan-gp-one-sided | wgan | dcgan | lsgan (paper: wgan-gp)
    lambda_gp: float = 10.0  # gradient penalty weight λ (paper: 10; toy script 0.1)
    clip: float = 0.01  # weight clipping bound c for --loss wgan (paper: 0.01)
    rmsprop: str = "tf"  # RMSProp of --loss wgan / lsgan: tf (TF1's, the paper's) | torch (torch.optim.RMSprop)
    ema_decay: float = 0.0  # average of G's weights kept as G_ema, decay per generator step (0: off, the paper's)

    def __post_init__(self):
        super().__post_init__()
        check_at_least_one(self, ["critic_iters"])
        if self.loss not in LOSSES:
            raise UserError(f"--loss {self.loss}: unknown loss; choose one of {', '.join(LOSSES)}")
        if self.rmsprop not in RMSPROP:
            raise UserError(f"--rmsprop {self.rmsprop}: unknown RMSProp; choose tf (TensorFlow 1's, the paper's) "
                            f"or torch (torch.optim.RMSprop)")
        if not self.lambda_gp > 0:
            raise UserError(f"--lambda-gp {self.lambda_gp:g}: the penalty weight must be positive; "
                            f"pass e.g. --lambda-gp {paper_value(self, 'lambda_gp'):g} (the paper's)")
        if not self.clip > 0:
            raise UserError(f"--clip {self.clip:g}: the clipping bound must be positive; "
                            f"pass e.g. --clip {paper_value(self, 'clip'):g} (the paper's)")
        check_finite(self.lambda_gp, "--lambda-gp", example=paper_value(self, "lambda_gp"))
        check_finite(self.clip, "--clip", example=paper_value(self, "clip"))
        if not 0 <= self.ema_decay < 1:
            raise UserError(f"--ema-decay {self.ema_decay:g}: must lie in [0, 1) (0: no average); "
                            f"pass e.g. --ema-decay 0.999, or 0 for none (the paper's)")

    def implied(self, given: dict) -> dict:
        """What the flags ``given`` bring along: a loss other than this one brings its paper optimizer
        and schedule (learning rate, betas, critic steps; SPEC.md). A kind adds its own (the image
        critic's norm follows the model and the loss)."""
        if given.get("loss", self.loss) == self.loss or given["loss"] not in LOSS_DEFAULTS:
            return super().implied(given)
        defaults = LOSS_DEFAULTS[given["loss"]]
        implied = {"lr": defaults.lr, "betas": defaults.betas, "critic_iters": defaults.n_critic}
        return {k: v for k, v in implied.items() if v is not None}

    @classmethod
    def older_defaults(cls, doc: dict) -> dict:
        """Values of the fields that a config.json written before they existed lacks: what such a
        run ran with, so that it resumes exactly (seqgan_gp.configfile.config_from_dict)."""
        return {"rmsprop": "torch"}  # the only RMSProp before --rmsprop


def with_overrides(base: C, **overrides) -> C:
    """``base`` with every non-None override applied (the command line passes None for flags not given),
    and what those flags imply (``base.implied``) unless the implied flags are given too.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    implied = base.implied(given)
    return dataclasses.replace(base, **{**implied, **given})


def pick_preset(presets: dict, name: str):
    """``presets[name]``, or a UserError naming the choices."""
    if name not in presets:
        raise UserError(f"--preset {name!r}: unknown preset; choose one of {', '.join(presets)}")
    return presets[name]
