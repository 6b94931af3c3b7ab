"""Configuration of a maximum-likelihood language model run (``train-lm``) and its presets.

The baseline a text GAN is judged against (Caccia et al. 2018, "Language GANs Falling Short"): the
same corpus, tokenizer and rows as ``train-text`` (:class:`seqgan_gp.text.config.CorpusConfig`),
the shared schedule (:class:`seqgan_gp.config.TrainConfig`; no critic), and a causal model:
``conv``, the paper's 1-D conv ResNet made causal so that GAN and MLE share a backbone of the same
width and depth, or ``lstm``, a 2-layer LSTM.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqgan_gp.config import TrainConfig, pick_preset
from seqgan_gp.configfile import check_at_least_one
from seqgan_gp.errors import UserError
from seqgan_gp.text.config import CorpusConfig

KIND = "lm"  # config.json's and checkpoints' kind; trained by train-lm
MODELS = ("conv", "lstm")


@dataclass(frozen=True)
class LMConfig(CorpusConfig, TrainConfig):
    """A language model run: the schedule, the corpus (as train-text's) and the model."""

    model: str = "conv"  # conv (the GAN generator's causal backbone) | lstm
    dim: int = 512  # conv: channels of every residual block; lstm: hidden and embedding size (GAN paper: 512)
    blocks: int = 5  # conv: residual blocks (GAN paper: 5)
    kernel: int = 5  # conv: convolution width, causal (GAN paper: 5)
    layers: int = 2  # lstm: stacked layers
    grad_clip: float = 1.0  # clip the gradient's global norm to this (0: no clipping)
    eval_samples: int = 640  # samples per evaluation, drawn at eval_temperature (GAN paper: 640 argmax samples)
    eval_temperature: float = 1.0  # temperature of those samples (1: the model's own distribution)
    eval_rows: int = 10_000  # held-out rows whose NLL each evaluation reports
    # the shared settings where a language model's usual values differ from the GAN's
    iters: int = 200_000  # optimizer steps (the GAN paper's generator iterations)
    lr: float = 1e-3  # Adam learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam (β1, β2): the usual language-model values
    lr_decay: bool = True  # linear decay of the learning rate to 0 at --iters

    def __post_init__(self):
        super().__post_init__()
        check_at_least_one(self, ["dim", "blocks", "kernel", "layers", "eval_samples", "eval_rows"])
        if self.model not in MODELS:
            raise UserError(f"--model {self.model}: unknown model; choose one of {', '.join(MODELS)}")
        if not self.grad_clip >= 0:
            raise UserError(f"--grad-clip {self.grad_clip:g}: must be 0 (no clipping) or positive; pass e.g. "
                            f"--grad-clip 1")
        if not self.eval_temperature >= 0:
            raise UserError(f"--eval-temperature {self.eval_temperature:g}: must be 0 (greedy) or positive; "
                            f"pass e.g. --eval-temperature 1")


PRESETS: dict[str, LMConfig] = {
    # The GAN paper's sizes (DIM 512, 5 blocks, kernel 5, 32 characters, batch 64, 200,000 iterations)
    # with a language model's optimizer: Adam 1e-3 (0.9, 0.999) decayed linearly to 0, clipping at 1.
    "paper": LMConfig(),
    # The demo GAN's sizes (DIM 64, 2 blocks, 32 characters, its 50,000 embedded sentences); 20,000 steps
    # cost about the CPU time of the demo GAN's 2,000 iterations (13 vs 136 ms on one thread), minutes.
    "demo": LMConfig(iters=20_000, batch_size=64, dim=64, blocks=2, seq_len=32, log_every=50, sample_every=2000,
                     eval_every=2000, eval_samples=640, eval_rows=2000, checkpoint_every=2000, embedded_size=50_000),
    # Tiny, for tests and smoke checks: seconds on a CPU.
    "tiny": LMConfig(iters=20, batch_size=16, dim=16, blocks=1, seq_len=16, log_every=5, sample_every=10,
                     eval_every=10, eval_samples=64, eval_rows=200, checkpoint_every=10, embedded_size=2000,
                     max_examples=2000),
}


def preset(name: str) -> LMConfig:
    return pick_preset(PRESETS, name)
