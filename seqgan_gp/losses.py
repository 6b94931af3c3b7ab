"""WGAN-GP losses and the gradient penalty (Gulrajani et al. 2017, Section 4, Algorithm 1).

Critic loss      L_D = E[D(x̃)] − E[D(x)] + λ · E[(‖∇_x̂ D(x̂)‖₂ − 1)²]
Generator loss   L_G = −E[D(x̃)]
Interpolates     x̂ = ε·x + (1 − ε)·x̃,  ε ~ U[0, 1], one ε per example.

The norm is taken per example over *every* non-batch dimension (``flatten(1)``): the PyTorch port
of the language model took it over the sequence axis only (SPEC.md, pitfall 1); we do not.

For speed the critic sees real and fake inputs in one forward pass over their concatenation
(valid because WGAN-GP critics have no batch statistics, SPEC.md pitfall 6) and the interpolates
in a second pass, whose input gradient ``torch.autograd.grad(create_graph=True)`` gives the penalty;
one ordinary ``backward`` of the total loss then updates the critic (two passes, not the PyTorch
port's three). A single pass over cat(real, fake, x̂) would issue fewer operations but runs the
penalty's gradient and its double backward over all 3B rows instead of the B interpolates: on CPU
it is 1.6x slower per generator iteration at DIM 64, batch 16 and 1.9x at DIM 128, batch 64
(measured, issue 7).

Every objective is split into ``critic_noise`` (the random numbers it needs, drawn from the run's
generator) and ``critic_objective`` (a pure function of its inputs), so the step can draw noise
for a global batch across data-parallel ranks and ``--compile`` can trace the objective;
``critic_loss`` is the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from seqgan_gp.activations import penalty_pass


def interpolate(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """x̂ = ε·real + (1 − ε)·fake with ``eps`` of shape (B,) broadcast over all other dims.

    Computed as ``lerp(fake, real, ε)`` = fake + ε·(real − fake): one operation instead of four.
    """
    eps = eps.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    return torch.lerp(fake.to(real.dtype), real, eps)


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


def critic_scores(critic, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
    """The critic's scalar score per example as float32, (B,). Critics may return (B,) or (B, 1);
    conditional critics are called as ``critic(x, labels=labels)``."""
    out = critic(x) if labels is None else critic(x, labels=labels)
    return out.reshape(out.shape[0]).float()


def autograd_input_grad(critic, x_hat: Tensor, labels: Optional[Tensor] = None) -> Tensor:
    """∂ Σ_i D(x̂_i) / ∂x̂, kept differentiable in the critic's parameters (create_graph).

    The pass runs inside :func:`seqgan_gp.activations.penalty_pass`, so critics built on those
    activations skip a useless backward pass in the double backward."""
    x_hat = x_hat.detach().requires_grad_(True)
    with penalty_pass():
        scores = critic_scores(critic, x_hat, labels)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return grad


def func_input_grad(critic, x_hat: Tensor, labels: Optional[Tensor] = None) -> Tensor:
    """The same gradient through ``torch.func.grad``, which ``torch.compile`` can trace inside an
    outer ``torch.func.grad`` (it cannot trace a double backward through ``autograd.grad``)."""
    def total(x):
        with penalty_pass():
            return critic_scores(critic, x, labels).sum()

    return torch.func.grad(total)(x_hat)


def _scores(critic, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None):
    """D(real), D(fake) from one pass over their concatenation (fakes get the real batch's labels)."""
    b = real.shape[0]
    both = None if labels is None else torch.cat([labels, labels])
    scores = critic_scores(critic, torch.cat([real, fake.to(real.dtype)]), both)
    return scores[:b], scores[b:]


class _NoNoise:
    """Objectives that draw no random numbers."""

    def critic_noise(self, n: int, *, rng: torch.Generator, device: torch.device) -> None:
        return None

    def critic_loss(self, critic, real: Tensor, fake: Tensor, *, rng: torch.Generator,
                    labels: Optional[Tensor] = None):
        """One critic objective on a real and a fake batch; returns (loss, stats of tensors)."""
        noise = self.critic_noise(real.shape[0], rng=rng, device=real.device)
        return self.critic_objective(critic, real, fake, noise, labels=labels)


@dataclass
class WGANGP(_NoNoise):
    """The WGAN-GP objective. ``lambda_gp`` is λ (paper: 10; toy script: 0.1)."""

    lambda_gp: float = 10.0
    one_sided: bool = False

    def critic_noise(self, n: int, *, rng: torch.Generator, device: torch.device) -> Tensor:
        """ε ~ U[0, 1], one per example, (n,)."""
        return torch.rand(n, device=device, generator=rng)

    def critic_objective(self, critic, real: Tensor, fake: Tensor, eps: Tensor, *,
                         labels: Optional[Tensor] = None, input_grad=autograd_input_grad):
        """L_D at interpolation weights ``eps``; returns (loss, stats of detached tensors).

        The interpolates go first so that a critic wrapper remembering its last call (the AC-GAN
        view) sees the pass over cat(real, fake).
        """
        grad = input_grad(critic, interpolate(real, fake, eps), labels)  # ∂D/∂x̂, (B, ...)
        penalty = gradient_penalty(grad.float(), one_sided=self.one_sided)  # float32 (SPEC pitfall 5)
        d_real, d_fake = _scores(critic, real, fake, labels)
        wasserstein = d_real.mean() - d_fake.mean()
        loss = penalty * self.lambda_gp - wasserstein
        return loss, {"critic_loss": loss.detach(), "wasserstein": wasserstein.detach(),
                      "penalty": penalty.detach()}

    def generator_loss(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None):
        """L_G = −E[D(G(z))]; returns (loss, stats)."""
        loss = -critic_scores(critic, fake, labels).mean()
        return loss, {"gen_loss": loss.detach()}

    def after_critic_step(self, critic) -> None:
        """Nothing to do after a WGAN-GP critic step (weight clipping would go here)."""


@dataclass
class WGANClip(_NoNoise):
    """The original WGAN (Arjovsky et al. 2017): no penalty; after every critic step every critic
    parameter is clipped to [−c, c] (paper's baseline: c = 0.01, RMSProp 5e-5, n_critic 5)."""

    clip: float = 0.01

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise=None, *,
                         labels: Optional[Tensor] = None, input_grad=None):
        d_real, d_fake = _scores(critic, real, fake, labels)
        wasserstein = d_real.mean() - d_fake.mean()
        loss = -wasserstein
        return loss, {"critic_loss": loss.detach(), "wasserstein": wasserstein.detach()}

    def generator_loss(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None):
        loss = -critic_scores(critic, fake, labels).mean()
        return loss, {"gen_loss": loss.detach()}

    @torch.no_grad()
    def after_critic_step(self, critic) -> None:
        for p in critic.parameters():
            p.clamp_(-self.clip, self.clip)


@dataclass
class DCGANLoss(_NoNoise):
    """Non-saturating GAN (the paper's ``dcgan`` mode): with logits s = D(x),
    L_D = ½[BCE(s_fake, 0) + BCE(s_real, 1)],  L_G = BCE(s_fake, 1)."""

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise=None, *,
                         labels: Optional[Tensor] = None, input_grad=None):
        d_real, d_fake = _scores(critic, real, fake, labels)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        loss = 0.5 * (bce(d_fake, torch.zeros_like(d_fake)) + bce(d_real, torch.ones_like(d_real)))
        return loss, {"critic_loss": loss.detach(), "wasserstein": (d_real.mean() - d_fake.mean()).detach()}

    def generator_loss(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None):
        d_fake = critic_scores(critic, fake, labels)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        return loss, {"gen_loss": loss.detach()}

    def after_critic_step(self, critic) -> None:
        pass


@dataclass
class LSGANLoss(_NoNoise):
    """Least squares GAN (the paper's ``lsgan`` mode, gan_64x64.py):
    L_D = ½[E(D(x) − 1)² + E D(x̃)²],  L_G = E(D(x̃) − 1)²."""

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise=None, *,
                         labels: Optional[Tensor] = None, input_grad=None):
        d_real, d_fake = _scores(critic, real, fake, labels)
        loss = 0.5 * ((d_real - 1).pow(2).mean() + d_fake.pow(2).mean())
        return loss, {"critic_loss": loss.detach(), "wasserstein": (d_real.mean() - d_fake.mean()).detach()}

    def generator_loss(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None):
        loss = (critic_scores(critic, fake, labels) - 1).pow(2).mean()
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


def _fused_ok(params: list) -> bool:
    """Fused optimizer kernels exist for float parameters on CPU and CUDA (PyTorch ≥ 2.4)."""
    return bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)


def make_optimizer(name: str, params, *, lr: float, betas=(0.5, 0.9)) -> torch.optim.Optimizer:
    """Adam or RMSProp as the reference code uses them (TF RMSProp: decay 0.9, ε 1e-10).

    Adam uses the fused kernel where the device has one: one operation per step for all
    parameters (on CPU ``foreach`` still loops over the tensors: 600 operations per critic step
    of the paper's critic, against 170 fused, issue 7). RMSProp has no fused kernel: ``foreach``.
    """
    params = list(params)
    if name == "adam":
        fast = {"fused": True} if _fused_ok(params) else {"foreach": True}
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), **fast)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-10, foreach=True)
    raise ValueError(f"unknown optimizer {name!r}")
