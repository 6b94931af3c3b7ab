"""The AC-GAN objective of the paper's conditional CIFAR-10 ResNet (gan_cifar_resnet.py, SPEC.md).

It wraps any loss of :mod:`seqgan_gp.losses` (WGAN-GP by default) for a critic that returns
``(score, class_logits)``:

    L_D = L_base(D) + s_D · CE(logits(x), y)              (real images only; s_D = 1.0)
    L_G = L_base(G) + s_G · CE(logits(G(z, y')), y')      (s_G = 0.1)

The critic's fakes are generated with the real batch's labels y (the loop does this), the
generator's labels y' are uniform over the classes. The penalty is taken on the score only: the base
loss sees a view of the critic that returns the score and remembers the logits of the same
forward pass, so the fused single pass over cat(real, fake, x̂) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


class _ScoreView:
    """Calls the critic, returns its score and keeps the class logits of that call."""

    def __init__(self, critic):
        self.critic = critic
        self.logits: Tensor | None = None

    def __call__(self, x: Tensor) -> Tensor:
        score, self.logits = self.critic(x)
        return score


@dataclass
class ACGAN:
    base: object  # the adversarial loss (WGANGP, WGANClip, DCGANLoss, LSGANLoss)
    scale_d: float = 1.0  # ACGAN_SCALE: weight of the critic's cross-entropy on real images
    scale_g: float = 0.1  # ACGAN_SCALE_G: weight of the generator's cross-entropy

    def critic_loss(self, critic, real: Tensor, fake: Tensor, *, rng: torch.Generator, labels: Tensor):
        view = _ScoreView(critic)
        base_loss, stats = self.base.critic_loss(view, real, fake, rng=rng)
        b = real.shape[0]
        logits = view.logits  # (k·B, K): real rows first, then fakes (then interpolates)
        ce = F.cross_entropy(logits[:b], labels)
        loss = base_loss + self.scale_d * ce
        acc_real = (logits[:b].argmax(1) == labels).float().mean()
        acc_fake = (logits[b : 2 * b].argmax(1) == labels).float().mean()
        return loss, {**stats, "critic_loss": loss.detach(), "wgan_loss": base_loss.detach(),
                      "acgan": ce.detach(), "acc_real": acc_real, "acc_fake": acc_fake}

    def generator_loss(self, critic, fake: Tensor, *, labels: Tensor):
        view = _ScoreView(critic)
        base_loss, stats = self.base.generator_loss(view, fake)
        ce = F.cross_entropy(view.logits, labels)
        loss = base_loss + self.scale_g * ce
        return loss, {**stats, "gen_loss": loss.detach(), "acgan_g": ce.detach()}

    def after_critic_step(self, critic) -> None:
        self.base.after_critic_step(critic)
