"""The named choices of the configurations and the command line, without torch.

The objectives (``--loss``) and the optimizer and schedule each brings from the paper's code, the
NaN policies (``--on-nan``) and the precisions (``--amp``) are plain names here, so that the
configuration dataclasses, the option tables and ``--help`` load without torch; the modules that
implement them (seqgan_gp.objectives, seqgan_gp.optimizers, seqgan_gp.faults, seqgan_gp.precision)
import their names from this one.
"""

from __future__ import annotations

from dataclasses import dataclass

LOSSES = ("wgan-gp", "wgan-gp-one-sided", "wgan", "dcgan", "lsgan")
RMSPROP = ("tf", "torch")  # --rmsprop: TF1's RMSPropOptimizer (the reference's) | torch.optim.RMSprop
ON_NAN = ("stop", "rollback")  # --on-nan: end the run naming the last good checkpoint, or roll back to it
AMP_CHOICES = ("off", "bf16", "auto")  # --amp


@dataclass(frozen=True)
class LossDefaults:
    """A loss mode's optimizer and schedule in the paper's code."""

    optimizer: str  # "adam" or "rmsprop"
    lr: float | None  # None: the model's own paper default (WGAN-GP)
    betas: tuple[float, float] | None
    n_critic: int | None  # None: the model's own paper default


LOSS_DEFAULTS = {
    "wgan-gp": LossDefaults("adam", None, None, None),
    "wgan-gp-one-sided": LossDefaults("adam", None, None, None),
    "wgan": LossDefaults("rmsprop", 5e-5, None, 5),
    "dcgan": LossDefaults("adam", 2e-4, (0.5, 0.999), 1),
    "lsgan": LossDefaults("rmsprop", 1e-4, None, 1),
}
