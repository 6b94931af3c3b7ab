"""The adversarial objectives: WGAN-GP (Gulrajani et al. 2017, Section 4, Algorithm 1) and the
paper's baselines (the original WGAN with weight clipping, DCGAN, LSGAN).

Critic loss      L_D = E[D(x̃)] − E[D(x)] + λ · E[(‖∇_x̂ D(x̂)‖₂ − 1)²]     (seqgan_gp.penalty)
Generator loss   L_G = −E[D(x̃)]

Every objective implements :class:`Objective` in full: ``critic_noise`` (the random numbers one
critic objective needs, drawn from the run's generator), ``critic_objective`` (a pure function of
its inputs), ``generator_objective`` and ``after_critic_step``. Noise and objective are apart so
that the step can draw noise for a global batch across data-parallel ranks and ``--compile`` can
trace the objective; :func:`critic_loss` is the two together.

Real and fake batches: a critic without batch statistics scores them in one pass over
cat(real, fake) (valid because WGAN-GP critics have no batch norm, SPEC.md pitfall 6); a critic
with batch norm in training mode (the reference's DCGAN / LSGAN / WGAN-clipping critics) scores
them in two passes, or the fakes would be normalised with the real batch's statistics:
:func:`critic_on_real_and_fake` makes that choice, in one place. The interpolates of the penalty
always get a pass of their own, whose input gradient ``autograd.grad(create_graph=True)`` gives the
penalty; one ordinary ``backward`` of the total loss then updates the critic (two passes, not the
PyTorch port's three). A single pass over cat(real, fake, x̂) would issue fewer operations but runs
the penalty's gradient and its double backward over all 3B rows instead of the B interpolates: on
CPU it is 1.6x slower per generator iteration at DIM 64, batch 16 and 1.9x at DIM 128, batch 64
(measured, issue 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol

import torch
from torch import Tensor, nn

from seqgan_gp.choices import LOSSES
from seqgan_gp.penalty import as_scores, autograd_input_grad, critic_scores, gradient_penalty, interpolate


class Objective(Protocol):
    """What a training step asks of an adversarial loss. ``critic`` is the critic network (or its
    functional form under ``--compile``), called as ``critic(x)`` or ``critic(x, labels=labels)``;
    every method returns ``(loss, stats)`` with stats as detached tensors (the loop reads them once
    per log interval)."""

    def critic_noise(self, n: int, *, rng: torch.Generator, device: torch.device) -> Optional[Tensor]:
        """The random numbers one critic objective needs for ``n`` examples (WGAN-GP: ε), or None."""

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise: Optional[Tensor], *,
                         labels: Optional[Tensor] = None, input_grad=autograd_input_grad) -> tuple[Tensor, dict]:
        """L_D on a real and a fake batch with ``noise`` from :meth:`critic_noise`; ``input_grad``
        is how the penalty's input gradient is taken (seqgan_gp.penalty)."""

    def generator_objective(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None) -> tuple[Tensor, dict]:
        """L_G on a fake batch."""

    def after_critic_step(self, critic: nn.Module) -> None:
        """Whatever follows an optimizer step of the critic (weight clipping)."""


class ScoreObjective(Objective, Protocol):
    """An objective that also takes the critic's scores from its caller: a wrapper whose critic
    returns more than a score (the AC-GAN objective, seqgan_gp.acgan) computes the pass itself and
    hands the scores in; ``critic`` then returns the score only and serves the penalty alone."""

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise: Optional[Tensor], *,
                         labels: Optional[Tensor] = None, input_grad=autograd_input_grad,
                         scores: Optional[tuple[Tensor, Tensor]] = None) -> tuple[Tensor, dict]: ...

    def generator_objective(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None,
                            score: Optional[Tensor] = None) -> tuple[Tensor, dict]: ...


def has_batch_statistics(critic) -> bool:
    """Whether ``critic`` normalises by statistics of its batch: a batch-norm layer in training mode, or
    one without running statistics (the image models' batch norms, which always use the batch's)."""
    return isinstance(critic, nn.Module) and any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) and (m.training or m.running_mean is None)
        for m in critic.modules())


def critic_on_real_and_fake(critic, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None):
    """The critic's outputs on ``real`` and on ``fake`` (the fakes get the real batch's labels).

    One pass over cat(real, fake), split back, unless the critic has batch statistics: then two
    passes, so that each batch is normalised by its own statistics. Outputs are whatever the critic
    returns, a score or a tuple such as (score, class logits)."""
    fake = fake.to(real.dtype)
    if has_batch_statistics(critic):
        return _call(critic, real, labels), _call(critic, fake, labels)
    both = _call(critic, torch.cat([real, fake]), None if labels is None else torch.cat([labels, labels]))
    b = real.shape[0]
    if isinstance(both, tuple):
        return tuple(t[:b] for t in both), tuple(t[b:] for t in both)
    return both[:b], both[b:]


def _call(critic, x: Tensor, labels: Optional[Tensor]):
    return critic(x) if labels is None else critic(x, labels=labels)


def real_and_fake_scores(critic, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    """D(real), D(fake) as float32 (B,) each (:func:`critic_on_real_and_fake`)."""
    d_real, d_fake = critic_on_real_and_fake(critic, real, fake, labels)
    return as_scores(d_real), as_scores(d_fake)


def critic_loss(objective: Objective, critic, real: Tensor, fake: Tensor, *, rng: torch.Generator,
                labels: Optional[Tensor] = None) -> tuple[Tensor, dict]:
    """One critic objective with its noise drawn from ``rng`` (outside training steps: tests, studies)."""
    noise = objective.critic_noise(real.shape[0], rng=rng, device=real.device)
    return objective.critic_objective(critic, real, fake, noise, labels=labels)


def _minus_mean_score(critic, fake: Tensor, labels: Optional[Tensor], score: Optional[Tensor]):
    """L_G = −E[D(G(z))] of the Wasserstein objectives."""
    d_fake = score if score is not None else critic_scores(critic, fake, labels)
    loss = -d_fake.mean()
    return loss, {"gen_loss": loss.detach()}


@dataclass
class WGANGP:
    """The WGAN-GP objective. ``lambda_gp`` is λ (paper: 10; toy script: 0.1)."""

    lambda_gp: float = 10.0
    one_sided: bool = False

    def critic_noise(self, n: int, *, rng: torch.Generator, device: torch.device) -> Tensor:
        """ε ~ U[0, 1], one per example, (n,)."""
        return torch.rand(n, device=device, generator=rng)

    def critic_objective(self, critic, real: Tensor, fake: Tensor, eps: Tensor, *,
                         labels: Optional[Tensor] = None, input_grad=autograd_input_grad,
                         scores: Optional[tuple[Tensor, Tensor]] = None):
        """L_D at interpolation weights ``eps``; returns (loss, stats of detached tensors)."""
        grad = input_grad(critic, interpolate(real, fake, eps), labels)  # ∂D/∂x̂, (B, ...)
        penalty = gradient_penalty(grad.float(), one_sided=self.one_sided)  # float32 (SPEC pitfall 5)
        d_real, d_fake = scores if scores is not None else real_and_fake_scores(critic, real, fake, labels)
        wasserstein = d_real.mean() - d_fake.mean()
        loss = penalty * self.lambda_gp - wasserstein
        return loss, {"critic_loss": loss.detach(), "wasserstein": wasserstein.detach(),
                      "penalty": penalty.detach()}

    def generator_objective(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None,
                            score: Optional[Tensor] = None):
        """L_G = −E[D(G(z))]; returns (loss, stats)."""
        return _minus_mean_score(critic, fake, labels, score)

    def after_critic_step(self, critic: nn.Module) -> None:
        """Nothing to do after a WGAN-GP critic step (the penalty replaces weight clipping)."""


@dataclass
class WGANClip:
    """The original WGAN (Arjovsky et al. 2017): no penalty; after every critic step every critic
    parameter is clipped to [−c, c] (paper's baseline: c = 0.01, RMSProp 5e-5, n_critic 5)."""

    clip: float = 0.01

    def critic_noise(self, n: int, *, rng: torch.Generator, device: torch.device) -> None:
        """No random numbers."""

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise: None = None, *,
                         labels: Optional[Tensor] = None, input_grad=None,
                         scores: Optional[tuple[Tensor, Tensor]] = None):
        """L_D = E[D(x̃)] − E[D(x)]."""
        d_real, d_fake = scores if scores is not None else real_and_fake_scores(critic, real, fake, labels)
        wasserstein = d_real.mean() - d_fake.mean()
        loss = -wasserstein
        return loss, {"critic_loss": loss.detach(), "wasserstein": wasserstein.detach()}

    def generator_objective(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None,
                            score: Optional[Tensor] = None):
        """L_G = −E[D(G(z))]."""
        return _minus_mean_score(critic, fake, labels, score)

    @torch.no_grad()
    def after_critic_step(self, critic: nn.Module) -> None:
        """Clip every critic parameter to [−c, c]."""
        for p in critic.parameters():
            p.clamp_(-self.clip, self.clip)


@dataclass
class DCGANLoss:
    """Non-saturating GAN (the paper's ``dcgan`` mode): with logits s = D(x),
    L_D = ½[BCE(s_fake, 0) + BCE(s_real, 1)],  L_G = BCE(s_fake, 1)."""

    def critic_noise(self, n: int, *, rng: torch.Generator, device: torch.device) -> None:
        """No random numbers."""

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise: None = None, *,
                         labels: Optional[Tensor] = None, input_grad=None,
                         scores: Optional[tuple[Tensor, Tensor]] = None):
        d_real, d_fake = scores if scores is not None else real_and_fake_scores(critic, real, fake, labels)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        loss = 0.5 * (bce(d_fake, torch.zeros_like(d_fake)) + bce(d_real, torch.ones_like(d_real)))
        return loss, {"critic_loss": loss.detach(), "wasserstein": (d_real.mean() - d_fake.mean()).detach()}

    def generator_objective(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None,
                            score: Optional[Tensor] = None):
        d_fake = score if score is not None else critic_scores(critic, fake, labels)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        return loss, {"gen_loss": loss.detach()}

    def after_critic_step(self, critic: nn.Module) -> None:
        """Nothing to do."""


@dataclass
class LSGANLoss:
    """Least squares GAN (the paper's ``lsgan`` mode, gan_64x64.py):
    L_D = ½[E(D(x) − 1)² + E D(x̃)²],  L_G = E(D(x̃) − 1)²."""

    def critic_noise(self, n: int, *, rng: torch.Generator, device: torch.device) -> None:
        """No random numbers."""

    def critic_objective(self, critic, real: Tensor, fake: Tensor, noise: None = None, *,
                         labels: Optional[Tensor] = None, input_grad=None,
                         scores: Optional[tuple[Tensor, Tensor]] = None):
        d_real, d_fake = scores if scores is not None else real_and_fake_scores(critic, real, fake, labels)
        loss = 0.5 * ((d_real - 1).pow(2).mean() + d_fake.pow(2).mean())
        return loss, {"critic_loss": loss.detach(), "wasserstein": (d_real.mean() - d_fake.mean()).detach()}

    def generator_objective(self, critic, fake: Tensor, *, labels: Optional[Tensor] = None,
                            score: Optional[Tensor] = None):
        d_fake = score if score is not None else critic_scores(critic, fake, labels)
        loss = (d_fake - 1).pow(2).mean()
        return loss, {"gen_loss": loss.detach()}

    def after_critic_step(self, critic: nn.Module) -> None:
        """Nothing to do."""


def make_objective(name: str, *, lambda_gp: float = 10.0, clip: float = 0.01) -> ScoreObjective:
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
