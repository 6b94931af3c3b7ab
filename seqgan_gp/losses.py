"""WGAN-GP losses and the gradient penalty (Gulrajani et al. 2017, Section 4, Algorithm 1).

Critic loss      L_D = E[D(x̃)] − E[D(x)] + λ · E[(‖∇_x̂ D(x̂)‖₂ − 1)²]
Generator loss   L_G = −E[D(x̃)]
Interpolates     x̂ = ε·x + (1 − ε)·x̃,  ε ~ U[0, 1], one ε per example.

The norm is taken per example over *every* non-batch dimension (``flatten(1)``): the PyTorch port
of the language model took it over the sequence axis only (SPEC.md, pitfall 1); we do not.

For speed the critic sees real, fake and interpolated inputs in one forward pass over their
concatenation (valid because WGAN-GP critics have no batch statistics, SPEC.md pitfall 6), and the
penalty's gradient comes from ``torch.autograd.grad(create_graph=True)`` on that same pass, so one
ordinary ``backward`` of the total loss updates the critic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def interpolate(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """x̂ = ε·real + (1 − ε)·fake with ``eps`` of shape (B,) broadcast over all other dims."""
    eps = eps.view(-1, *([1] * (real.dim() - 1)))
    return eps * real + (1.0 - eps) * fake


def gradient_penalty(grad: Tensor, *, one_sided: bool = False) -> Tensor:
    """E[(‖g‖₂ − 1)²] over the batch, with ‖g‖₂ per example over all non-batch dims.

    ``one_sided`` penalises only norms above one: E[max(0, ‖g‖₂ − 1)²] (paper, Appendix of
    Section 4, "one-sided penalty").
    """
    norms = grad.flatten(1).norm(2, dim=1)  # (B,)
    gap = norms - 1.0
    if one_sided:
        gap = gap.clamp(min=0.0)
    return gap.pow(2).mean()


def critic_scores(critic, x: Tensor) -> Tensor:
    """The critic's scalar score per example, (B,). Critics may return (B,) or (B, 1)."""
    out = critic(x)
    return out.reshape(out.shape[0])


@dataclass
class WGANGP:
    """The WGAN-GP objective. ``lambda_gp`` is λ (paper: 10; toy script: 0.1)."""

    lambda_gp: float = 10.0
    one_sided: bool = False

    def critic_loss(self, critic, real: Tensor, fake: Tensor, *, rng: torch.Generator):
        """One critic objective on a real and a fake batch; returns (loss, stats of tensors)."""
        b = real.shape[0]
        eps = torch.rand(b, device=real.device, generator=rng, dtype=real.dtype)
        x_hat = interpolate(real, fake, eps).requires_grad_(True)
        scores = critic_scores(critic, torch.cat([real, fake, x_hat]))  # (3B,)
        d_real, d_fake, d_hat = scores[:b], scores[b : 2 * b], scores[2 * b :]
        (grad,) = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)
        penalty = gradient_penalty(grad, one_sided=self.one_sided)
        wasserstein = d_real.mean() - d_fake.mean()
        loss = -wasserstein + self.lambda_gp * penalty
        return loss, {"critic_loss": loss.detach(), "wasserstein": wasserstein.detach(),
                      "penalty": penalty.detach()}

    def generator_loss(self, critic, fake: Tensor):
        """L_G = −E[D(G(z))]; returns (loss, stats)."""
        loss = -critic_scores(critic, fake).mean()
        return loss, {"gen_loss": loss.detach()}

    def after_critic_step(self, critic) -> None:
        """Nothing to do after a WGAN-GP critic step (weight clipping would go here)."""
