"""What the critic sees of a text GAN: the generator's relaxed output and noisy real one-hot rows.

The paper's critic reads the generator's softmax rows and one-hot real rows (gan_language.py). A
critic can then tell a fake from a real row by its entropy alone (a softmax row is never exactly
one-hot), a shortcut that teaches the generator little about text. The levers here change what
the critic sees, never the generator's logits or how samples are decoded (seqgan_gp.text.sampling
reads ``G.logits``):

``--relaxation`` (the generator's rows, ``x̃``; logits ``ℓ`` (B, L, V), Gumbel noise ``g``):
    softmax     x̃ = softmax(ℓ / τ_out)                      the paper's (τ_out = ``--output-tau`` = 1)
    gumbel      x̃ = softmax((ℓ + g) / τ)                    Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017)
    st          x̃ = onehot(argmax(ℓ + g)), ∂x̃ := ∂ softmax((ℓ + g) / τ)    straight-through Gumbel
    st-argmax   x̃ = onehot(argmax ℓ),      ∂x̃ := ∂ softmax(ℓ / τ)          straight-through of the argmax

with τ = ``--gumbel-tau``. ``gumbel`` and ``st`` give the critic a sample of each position's
distribution (as decoding at temperature 1 does); ``st`` and ``st-argmax`` give it exact one-hot
rows, as real rows are, so entropy cannot tell them apart.

``--real-noise ε`` (the real rows): label smoothing, x = (1 − ε)·onehot + ε/V (:func:`smooth_one_hot`).

The penalty interpolates between exactly these two tensors (seqgan_gp.penalty.interpolate): the
step builds x̂ from the real batch and the fakes it gets from here.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqgan_gp.text.config import RELAXATIONS


def gumbel_noise(shape, *, rng: torch.Generator, device: torch.device) -> Tensor:
    """g = −log(−log U), U ~ U(0, 1) elementwise: standard Gumbel noise of ``shape``, float32.

    U is kept inside [tiny, 1 − eps/2] so that neither logarithm sees 0 (g stays finite)."""
    u = torch.rand(shape, device=device, generator=rng)
    tiny = torch.finfo(u.dtype).tiny
    u = u.clamp(tiny, 1.0 - torch.finfo(u.dtype).eps / 2)
    return -torch.log(-torch.log(u))


def gumbel_softmax(logits: Tensor, gumbel: Tensor, tau: float) -> Tensor:
    """softmax((ℓ + g) / τ) over the last axis: a relaxed sample of Categorical(softmax ℓ).

    As τ → 0 the rows approach onehot(argmax(ℓ + g)), an exact sample (the Gumbel-max trick); for
    τ > 0 they are differentiable in ℓ. Shapes: ``logits``, ``gumbel`` (..., V) → (..., V)."""
    return torch.softmax((logits + gumbel) / tau, dim=-1)


def straight_through(soft: Tensor, index: Tensor) -> Tensor:
    """onehot(index) in the forward pass, the gradient of ``soft`` in the backward pass:

        x = onehot(i) + soft − stop_gradient(soft)

    ``soft`` (..., V), ``index`` (...) long. soft − stop_gradient(soft) is exactly 0.0 in floating
    point, so the forward value is exactly one-hot (Bengio et al. 2013; Jang et al. 2017, §2.2)."""
    hard = torch.zeros_like(soft).scatter_(-1, index.unsqueeze(-1), 1.0)
    return hard + (soft - soft.detach())


def relax(logits: Tensor, relaxation: str, *, tau: float = 1.0, output_tau: float = 1.0,
          gumbel: Tensor | None = None) -> Tensor:
    """The rows the critic sees for ``logits`` (B, L, V) under ``relaxation`` (module docstring);
    ``gumbel`` (B, L, V) is the noise of ``gumbel`` and ``st``."""
    if relaxation == "softmax":
        return torch.softmax(logits / output_tau if output_tau != 1 else logits, dim=-1)
    if relaxation == "st-argmax":
        return straight_through(torch.softmax(logits / tau, dim=-1), logits.argmax(dim=-1))
    if gumbel is None:
        raise ValueError(f"relaxation {relaxation!r} needs Gumbel noise")
    soft = gumbel_softmax(logits.float(), gumbel, tau)
    if relaxation == "gumbel":
        return soft
    if relaxation == "st":
        return straight_through(soft, (logits.float() + gumbel).argmax(dim=-1))
    raise ValueError(f"unknown relaxation {relaxation!r}; choose one of {', '.join(RELAXATIONS)}")


def smooth_one_hot(onehot: Tensor, eps: float) -> Tensor:
    """Label smoothing of real rows: x = (1 − ε)·onehot + ε/V, with V = ``onehot.shape[-1]``.

    Every row still sums to one (1 − ε + V·ε/V) and keeps its token as the argmax for ε < 1 − 1/V;
    ε = 0 returns ``onehot`` itself. A softmax row can equal a smoothed row exactly, which it can
    never do for a one-hot row."""
    if eps == 0:
        return onehot
    return onehot * (1.0 - eps) + eps / onehot.shape[-1]


class RelaxedGenerator(nn.Module):
    """The generator as the training step calls it: ``G``'s logits through :func:`relax`.

    Shares G's parameters (it holds G itself), so the step's optimizer, gradient averaging and
    checkpoints see G unchanged; samples and evaluations keep reading ``G.logits``. Gumbel noise is
    drawn from the run's generator ``rng``, so a resumed run draws what the uninterrupted one would."""

    def __init__(self, G: nn.Module, *, relaxation: str, tau: float, output_tau: float, rng: torch.Generator):
        super().__init__()
        if relaxation not in RELAXATIONS:
            raise ValueError(f"unknown relaxation {relaxation!r}")
        self.G, self.relaxation, self.tau, self.output_tau, self.rng = G, relaxation, tau, output_tau, rng
        self.z_dim = G.z_dim

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        logits = self.G.logits(z) if labels is None else self.G.logits(z, labels)  # (B, L, V)
        gumbel = None
        if self.relaxation in ("gumbel", "st"):
            gumbel = gumbel_noise(logits.shape, rng=self.rng, device=logits.device)
        return relax(logits, self.relaxation, tau=self.tau, output_tau=self.output_tau, gumbel=gumbel)


class SmoothedBatches:
    """A batch source whose one-hot rows (or the rows of ``(rows, labels)``) arrive smoothed by
    :func:`smooth_one_hot`; its position is the wrapped source's."""

    def __init__(self, batches, eps: float):
        self.batches, self.eps = batches, eps

    def next(self):
        batch = self.batches.next()
        if isinstance(batch, tuple):
            return (smooth_one_hot(batch[0], self.eps), *batch[1:])
        return smooth_one_hot(batch, self.eps)

    def state_dict(self) -> dict:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.batches.load_state_dict(state)


def critic_view(cfg):
    """``view(G, rng)`` for seqgan_gp.gan.gan_trainable when a :class:`seqgan_gp.text.config.TextConfig`
    changes what the critic sees of G, else None (the paper's path: G itself, untouched)."""
    if cfg.relaxation == "softmax" and cfg.output_tau == 1:
        return None
    return lambda G, rng: RelaxedGenerator(G, relaxation=cfg.relaxation, tau=cfg.gumbel_tau,
                                           output_tau=cfg.output_tau, rng=rng)


def real_rows(cfg, batches):
    """``batches`` with ``cfg.real_noise`` smoothing (the source itself when it is 0)."""
    return SmoothedBatches(batches, cfg.real_noise) if cfg.real_noise > 0 else batches
