"""The AC-GAN objective of the paper's conditional CIFAR-10 ResNet (gan_cifar_resnet.py, SPEC.md),
for every conditional kind: images (image.task) and text (seqgan_gp.text.conditional).

It wraps any objective of :mod:`seqgan_gp.objectives` (WGAN-GP by default) for a critic that
returns ``(score, class_logits)``:

    L_D = L_base(D) + s_D · CE(logits(x), y)              (real examples only; s_D = 1.0)
    L_G = L_base(G) + s_G · CE(logits(G(z, y')), y')      (s_G = 0.1)

The critic's fakes are generated with the real batch's labels y (the step does this), the
generator's labels y' come from the task's ``sample_labels`` (the paper's: uniform over the ten
CIFAR classes; text: the classes' shares of the corpus). This objective asks the critic for both outputs
on real and fake itself (one pass over cat(real, fake), or two for a critic with batch statistics:
seqgan_gp.objectives.critic_on_real_and_fake) and hands the scores to the base objective; the base
objective's penalty pass over the interpolates sees the score only, so the penalty is on the score
alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqgan_gp.objectives import ScoreObjective, critic_on_real_and_fake
from seqgan_gp.penalty import as_scores, autograd_input_grad


def score_only(critic):
    """The critic as a score function: D(x)[0] (for the penalty's pass over the interpolates)."""
    def score(x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        return critic(x)[0]
    return score


@dataclass
class ACGAN:
    base: ScoreObjective  # the adversarial objective (WGANGP, WGANClip, DCGANLoss, LSGANLoss)
    scale_d: float = 1.0  # ACGAN_SCALE: weight of the critic's cross-entropy on real examples
    scale_g: float = 0.1  # ACGAN_SCALE_G: weight of the generator's cross-entropy

    def critic_noise(self, n: int, *, rng: torch.Generator, device: torch.device) -> Optional[Tensor]:
        """The base objective's noise (WGAN-GP: ε)."""
        return self.base.critic_noise(n, rng=rng, device=device)

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise: Optional[Tensor], *,
                         labels: Optional[Tensor] = None, input_grad=autograd_input_grad):
        """L_D; ``labels`` are the real batch's classes (the fakes were generated with them)."""
        if labels is None:
            raise ValueError("the AC-GAN objective needs the real batch's labels")
        (s_real, logits_real), (s_fake, logits_fake) = critic_on_real_and_fake(critic, real, fake)  # (B, 1), (B, K)
        base_loss, stats = self.base.critic_objective(score_only(critic), real, fake, noise, input_grad=input_grad,
                                                      scores=(as_scores(s_real), as_scores(s_fake)))
        ce = F.cross_entropy(logits_real, labels)  # real examples only
        loss = base_loss + self.scale_d * ce
        acc_real = (logits_real.argmax(1) == labels).float().mean()
        acc_fake = (logits_fake.argmax(1) == labels).float().mean()
        return loss, {**stats, "critic_loss": loss.detach(), "wgan_loss": base_loss.detach(),
                      "acgan": ce.detach(), "acc_real": acc_real, "acc_fake": acc_fake}

    def generator_objective(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None):
        """L_G; ``labels`` are the classes the fakes were generated for."""
        if labels is None:
            raise ValueError("the AC-GAN objective needs the generated batch's labels")
        score, logits = critic(fake)
        base_loss, stats = self.base.generator_objective(score_only(critic), fake, score=as_scores(score))
        ce = F.cross_entropy(logits, labels)
        loss = base_loss + self.scale_g * ce
        return loss, {**stats, "gen_loss": loss.detach(), "acgan_g": ce.detach()}

    def after_critic_step(self, critic: nn.Module) -> None:
        self.base.after_critic_step(critic)
