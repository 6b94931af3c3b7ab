"""The gradient penalty of WGAN-GP (Gulrajani et al. 2017, Section 4, Algorithm 1 lines 6-8).

    x̂ = ε·x + (1 − ε)·x̃,  ε ~ U[0, 1], one ε per example
    GP = E[(‖∇_x̂ D(x̂)‖₂ − 1)²]

The norm is taken per example over *every* non-batch dimension (``flatten(1)``): the PyTorch port
of the language model took it over the sequence axis only (SPEC.md, pitfall 1); we do not.

The input gradient ∇_x̂ D(x̂) must stay differentiable in the critic's parameters (the critic's
backward differentiates it again): :func:`autograd_input_grad` for eager steps,
:func:`func_input_grad` for ``--compile``, which can trace ``torch.func.grad`` but not
``autograd.grad(create_graph=True)``.
"""

from __future__ import annotations

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
    return as_scores(out)


def as_scores(out: Tensor) -> Tensor:
    """A critic's output (B,) or (B, 1) as float32 scores (B,)."""
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
