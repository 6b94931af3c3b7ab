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

from seqgan_gp.config import GANConfig, pick_preset
from seqgan_gp.configfile import check_at_least_one
from seqgan_gp.errors import UserError

KIND = "toy"  # config.json's and checkpoints' kind; trained by train-toy
DATASETS = ("8gaussians", "25gaussians", "swissroll")  # gan_toy.py's distributions (seqgan_gp.toy.data)
EXPERIMENTS = ("clipping-vs-penalty", "gradient-norms", "weight-histograms")  # Section 3 studies (seqgan_gp.toy.experiments)


@dataclass(frozen=True)
class ToyConfig(GANConfig):
    """A toy run: the shared schedule and adversarial settings (seqgan_gp.config), the distribution and
    the width of the MLPs. Samples are PNG frames (``--plot-every`` is ``--sample-every``)."""

    dataset: str = "8gaussians"  # 8gaussians | 25gaussians | swissroll (paper: 8gaussians)
    dim: int = 512  # width of the hidden layers of G and D (paper: 512)
    eval_samples: int = 1000  # generated and real points for W1 and the mode counts
    # the shared settings where gan_toy.py's values differ from the defaults
    iters: int = 100_000  # generator iterations (paper: 100,000)
    batch_size: int = 256  # points per critic and generator step (paper: 256)
    lambda_gp: float = 0.1  # gradient penalty weight λ (toy paper: 0.1)

    def __post_init__(self):
        super().__post_init__()
        if self.dataset not in DATASETS:
            raise UserError(f"--dataset {self.dataset}: unknown toy dataset; choose one of {', '.join(DATASETS)}")
        check_at_least_one(self, ["dim", "eval_samples"])
        if self.eval_samples < 2:
            raise UserError(f"--eval-samples {self.eval_samples}: W1 needs at least 2 points; pass --eval-samples 2 "
                            f"or more (paper: 1000)")


PRESETS: dict[str, ToyConfig] = {
    # gan_toy.py exactly: hours on a CPU, minutes on a GPU.
    "paper": ToyConfig(),
    # Under a minute on 2 CPU cores: narrower networks, a larger decaying step, 600 iterations.
    "demo": ToyConfig(dim=128, lr=1e-3, lr_decay=True, iters=600, sample_every=100, eval_every=100,
                      checkpoint_every=300),
    # Seconds, for tests and smoke checks.
    "tiny": ToyConfig(dim=32, batch_size=64, iters=20, critic_iters=2, log_every=5, sample_every=10,
                      eval_every=10, eval_samples=200, checkpoint_every=10),
}


def preset(name: str) -> ToyConfig:
    return pick_preset(PRESETS, name)
