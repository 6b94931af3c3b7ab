"""Configuration of a toy run, its validation, and the named presets.

The ``paper`` preset is gan_toy.py (SPEC.md): an MLP of width 512 with three hidden ReLU layers in
G and D, λ = 0.1, batch 256, Adam 1e-4 with betas (0.5, 0.9), 5 critic steps, 100,000 generator
iterations. On two CPU cores one such iteration takes about half a second, so the paper's networks
cannot get anywhere in a minute; the default ``demo`` preset keeps everything but the width (128),
the learning rate (1e-3, decayed linearly to 0) and the length (600 iterations), and finishes in
under a minute. On 8gaussians it then covers all 8 modes, where the paper's networks at the paper's
learning rate are still at none after a minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqgan_gp.configfile import (
    check_at_least_one,
    check_optimizer,
    check_zero_or_more,
    config_from_dict,
)
from seqgan_gp.errors import UserError
from seqgan_gp.text.config import with_overrides
from seqgan_gp.toy.data import DATASETS


@dataclass(frozen=True)
class ToyConfig:
    dataset: str = "8gaussians"  # 8gaussians | 25gaussians | swissroll (paper: 8gaussians)
    iters: int = 100_000  # generator iterations (paper: 100,000)
    batch_size: int = 256  # points per critic and generator step (paper: 256)
    dim: int = 512  # width of the hidden layers of G and D (paper: 512)
    critic_iters: int = 5  # critic steps per generator step (paper: 5)
    loss: str = "wgan-gp"  # wgan-gp | wgan-gp-one-sided | wgan | dcgan | lsgan (paper: wgan-gp or wgan)
    lambda_gp: float = 0.1  # gradient penalty weight λ (toy paper: 0.1)
    clip: float = 0.01  # weight clipping bound c for --loss wgan (paper: 0.01)
    lr: float = 1e-4  # learning rate of G and D (paper: Adam 1e-4; wgan: RMSProp 5e-5)
    betas: tuple[float, float] = (0.5, 0.9)  # Adam (β1, β2) (paper: 0.5, 0.9)
    lr_decay: bool = False  # linear learning-rate decay to 0 at the last iteration (paper: off)
    seed: int = 0  # seeds weights, noise, ε and the data
    log_every: int = 10  # iterations between metrics records and progress updates
    plot_every: int = 100  # iterations between PNG frames in samples/ (paper: 100; 0: only at the end)
    eval_every: int = 100  # iterations between W1 / mode evaluations (0: only at the end)
    eval_samples: int = 1000  # generated and real points for W1 and the mode counts
    checkpoint_every: int = 1000  # iterations between checkpoints (always one at the end)
    keep_checkpoints: int = 3  # newest checkpoints kept in checkpoints/

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise UserError(f"--dataset {self.dataset}: unknown toy dataset; choose one of {', '.join(DATASETS)}")
        check_at_least_one(self, ["iters", "batch_size", "dim", "critic_iters", "log_every", "eval_samples"])
        check_zero_or_more(self, ["plot_every", "eval_every", "checkpoint_every", "keep_checkpoints"])
        check_optimizer(self, lambda_gp="0.1 (the toy paper's)", lr="1e-4 (the paper's)", betas="0.5,0.9 (the paper's)")
        if self.eval_samples < 2:
            raise UserError(f"--eval-samples {self.eval_samples}: W1 needs at least 2 points; pass --eval-samples 2 "
                            f"or more (paper: 1000)")

    @classmethod
    def from_dict(cls, doc: dict, source: str) -> "ToyConfig":
        return config_from_dict(cls, doc, source)


PRESETS: dict[str, ToyConfig] = {
    # gan_toy.py exactly: hours on a CPU, minutes on a GPU.
    "paper": ToyConfig(),
    # Under a minute on 2 CPU cores: narrower networks, a larger decaying step, 600 iterations.
    "demo": ToyConfig(dim=128, lr=1e-3, lr_decay=True, iters=600, plot_every=100, eval_every=100,
                      checkpoint_every=300),
    # Seconds, for tests and smoke checks.
    "tiny": ToyConfig(dim=32, batch_size=64, iters=20, critic_iters=2, log_every=5, plot_every=10,
                      eval_every=10, eval_samples=200, checkpoint_every=10),
}


def preset(name: str) -> ToyConfig:
    if name not in PRESETS:
        raise UserError(f"--preset {name!r}: unknown preset; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def toy_config(base: ToyConfig, **overrides) -> ToyConfig:
    """``base`` with every non-None override applied; a loss other than the base's brings its paper
    optimizer defaults (learning rate, betas, critic steps; SPEC.md) unless those flags are given."""
    return with_overrides(base, **overrides)

