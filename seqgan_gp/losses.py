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


def _scores(critic, real: Tensor, fake: Tensor):
    b = real.shape[0]
    scores = critic_scores(critic, torch.cat([real, fake]))
    return scores[:b], scores[b:]


@dataclass
class WGANClip:
    """The original WGAN (Arjovsky et al. 2017): no penalty; after every critic step every critic
    parameter is clipped to [−c, c] (paper's baseline: c = 0.01, RMSProp 5e-5, n_critic 5)."""

    clip: float = 0.01

    def critic_loss(self, critic, real: Tensor, fake: Tensor, *, rng: torch.Generator):
        d_real, d_fake = _scores(critic, real, fake)
        wasserstein = d_real.mean() - d_fake.mean()
        loss = -wasserstein
        return loss, {"critic_loss": loss.detach(), "wasserstein": wasserstein.detach()}

    def generator_loss(self, critic, fake: Tensor):
        loss = -critic_scores(critic, fake).mean()
        return loss, {"gen_loss": loss.detach()}

    @torch.no_grad()
    def after_critic_step(self, critic) -> None:
        for p in critic.parameters():
            p.clamp_(-self.clip, self.clip)


@dataclass
class DCGANLoss:
    """Non-saturating GAN (the paper's ``dcgan`` mode): with logits s = D(x),
    L_D = ½[BCE(s_fake, 0) + BCE(s_real, 1)],  L_G = BCE(s_fake, 1)."""

    def critic_loss(self, critic, real: Tensor, fake: Tensor, *, rng: torch.Generator):
        d_real, d_fake = _scores(critic, real, fake)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        loss = 0.5 * (bce(d_fake, torch.zeros_like(d_fake)) + bce(d_real, torch.ones_like(d_real)))
        return loss, {"critic_loss": loss.detach(), "wasserstein": (d_real.mean() - d_fake.mean()).detach()}

    def generator_loss(self, critic, fake: Tensor):
        d_fake = critic_scores(critic, fake)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        return loss, {"gen_loss": loss.detach()}

    def after_critic_step(self, critic) -> None:
        pass


@dataclass
class LSGANLoss:
    """Least squares GAN (the paper's ``lsgan`` mode, gan_64x64.py):
    L_D = ½[E(D(x) − 1)² + E D(x̃)²],  L_G = E(D(x̃) − 1)²."""

    def critic_loss(self, critic, real: Tensor, fake: Tensor, *, rng: torch.Generator):
        d_real, d_fake = _scores(critic, real, fake)
        loss = 0.5 * ((d_real - 1).pow(2).mean() + d_fake.pow(2).mean())
        return loss, {"critic_loss": loss.detach(), "wasserstein": (d_real.mean() - d_fake.mean()).detach()}

    def generator_loss(self, critic, fake: Tensor):
        loss = (critic_scores(critic, fake) - 1).pow(2).mean()
        return loss, {"gen_loss": loss.detach()}

    def after_critic_step(self, critic) -> None:
        pass


@dataclass(frozen=True)
class LossDefaults:
    """A loss mode's optimizer and schedule in the paper's code (SPEC.md tables)."""

    optimizer: str  # "adam" or "rmsprop"
    lr: float | None  # None: the model's own paper default (WGAN-GP)
    betas: tuple[float, float] | None
    n_critic: int | None  # None: the model's own paper default


LOSSES = ("wgan-gp", "wgan-gp-one-sided", "wgan", "dcgan", "lsgan")
LOSS_DEFAULTS = {
    "wgan-gp": LossDefaults("adam", None, None, None),
    "wgan-gp-one-sided": LossDefaults("adam", None, None, None),
    "wgan": LossDefaults("rmsprop", 5e-5, None, 5),
    "dcgan": LossDefaults("adam", 2e-4, (0.5, 0.999), 1),
    "lsgan": LossDefaults("rmsprop", 1e-4, None, 1),
}


def make_loss(name: str, *, lambda_gp: float = 10.0, clip: float = 0.01):
    """The objective called ``name`` (one of :data:`LOSSES`)."""
    if name == "wgan-gp":
        return WGANGP(lambda_gp=lambda_gp)
    if name == "wgan-gp-one-sided":
        return WGANGP(lambda_gp=lambda_gp, one_sided=True)
    if name == "wgan":
        return WGANClip(clip=clip)
    if name == "dcgan":
        return DCGANLoss()
    if name == "lsgan":
        return LSGANLoss()
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


def make_optimizer(name: str, params, *, lr: float, betas=(0.5, 0.9)) -> torch.optim.Optimizer:
    """Adam or RMSProp as the reference code uses them (TF RMSProp: decay 0.9, ε 1e-10)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), foreach=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-10, foreach=True)
    raise ValueError(f"unknown optimizer {name!r}")
