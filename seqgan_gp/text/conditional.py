"""The class-conditional language GAN: AC-GAN (Odena et al. 2017) on the paper's text models.

Built on seqgan_gp.text.models as the paper's conditional CIFAR-10 model is built on its ResNet
(image/models/resnet.py), with the same objective (seqgan_gp.acgan, loss scales 1.0 and 0.1):

    G(z, y): the paper's generator, the class y entering as learned vectors (``--condition``):
        blocks   h_b ← h_b + e_b[y] before residual block b, e_b ∈ R^{K×DIM}, zero at the start
                 (the shift of the image generator's conditional batch norm, at every block,
                 without the normalisation a norm-free text generator has no place for)
        input    h_0 = Linear(z) + E[y], E ∈ R^{K×(L·DIM)}: Linear([z, onehot(y)]), the classic
                 conditional-GAN input, initialised as that Linear would be (Glorot)
    D(x) = (score, logits): the paper's critic, plus Linear(L·DIM → K) on the same flattened
        features as the score; the penalty sees the score only (seqgan_gp.acgan.score_only).

Class k's output depends on z and on class k's own vectors alone (rows of an embedding), never on
another class's. The generator's labels are drawn with the classes' shares of the training rows
(:func:`class_sampler`): the critic's fakes carry the real batch's labels, so the generator is
trained on the class mixture the critic sees; for a balanced corpus this is the paper's uniform draw.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch
from torch import Tensor, nn

from seqgan_gp.init import tflib_linear_, uniform_std_
from seqgan_gp.text.models import TextCritic, TextGenerator
from seqgan_gp.text.sampling import generate_ids


class ConditionalTextGenerator(TextGenerator):
    """(z (B, z_dim), labels (B,)) → per-position distributions over the vocabulary (B, L, V)."""

    def __init__(self, *, n_classes: int, condition: str = "blocks", **kw):
        super().__init__(**kw)
        if condition not in ("blocks", "input"):
            raise ValueError(f"unknown condition {condition!r}")
        self.n_classes, self.condition = n_classes, condition
        if condition == "input":
            self.embed = nn.Embedding(n_classes, self.seq_len * self.dim)
            # the one-hot rows of Linear(z_dim + K → L·DIM) under tflib's Glorot uniform
            uniform_std_(self.embed.weight, math.sqrt(2.0 / (self.z_dim + n_classes + self.seq_len * self.dim)))
        else:
            self.embed = nn.ModuleList(nn.Embedding(n_classes, self.dim) for _ in self.blocks)
            for e in self.embed:
                nn.init.zeros_(e.weight)  # starts as the unconditional generator, as conditional BN's offset

    def logits(self, z: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        if labels is None:
            raise ValueError("a conditional generator needs labels")
        h = self.fc(z)  # (B, L·DIM)
        if self.condition == "input":
            h = h + self.embed(labels)
        h = h.view(-1, self.dim, self.seq_len)  # (B, DIM, L)
        if self.condition == "input":
            h = self.blocks(h)
        else:
            for block, embed in zip(self.blocks, self.embed):
                h = block(h + embed(labels).unsqueeze(2))  # the class vector on every position
        return self.out(h).transpose(1, 2)  # (B, L, V)

    def forward(self, z: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        return torch.softmax(self.logits(z, labels), dim=-1)  # (B, L, V)


class ConditionalTextCritic(TextCritic):
    """(B, L, V) rows → (score (B,), class logits (B, K)): the AC-GAN critic."""

    def __init__(self, *, n_classes: int, **kw):
        super().__init__(**kw)
        self.n_classes = n_classes
        self.classifier = tflib_linear_(nn.Linear(self.seq_len * self.dim, n_classes))

    def forward(self, x: Tensor, labels: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        h = self.blocks(self.inp(x.transpose(1, 2))).flatten(1)  # (B, L·DIM)
        return self.fc(h).squeeze(1), self.classifier(h)  # (B,), (B, K)


def build_conditional_networks(cfg, vocab_size: int, n_classes: int, device: torch.device):
    """G and D of a conditional :class:`seqgan_gp.text.config.TextConfig` over ``n_classes`` classes."""
    shape = dict(vocab_size=vocab_size, seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks, kernel=cfg.kernel)
    G = ConditionalTextGenerator(n_classes=n_classes, condition=cfg.condition, z_dim=cfg.z_dim, **shape).to(device)
    D = ConditionalTextCritic(n_classes=n_classes, **shape).to(device)
    return G, D


def class_sampler(shares: np.ndarray, device: torch.device) -> Callable[[int, torch.Generator], Tensor]:
    """``sample_labels(n, rng)``: n class ids drawn with probabilities ``shares`` (K,) on ``device``."""
    probs = torch.as_tensor(np.asarray(shares, dtype=np.float64), dtype=torch.float32, device=device)

    def sample_labels(n: int, rng: torch.Generator) -> Tensor:
        return torch.multinomial(probs, n, replacement=True, generator=rng)

    return sample_labels


def proportional_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """``n`` split over classes in proportion to ``shares`` (largest remainders; sums to n exactly)."""
    exact = np.asarray(shares, dtype=np.float64) * n
    counts = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(len(exact)), -(exact - counts)))  # largest remainder first, ties by id
    counts[order[: n - counts.sum()]] += 1
    return counts


def generate_per_class(G: nn.Module, counts, *, seed: int, temperature: float = 0.0, top_k: int = 0,
                       shared_noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(ids (N, L), labels (N,))``: counts[k] rows of class k, in class order. With ``shared_noise``
    every class starts from the same noise (the seed's), so class k's rows differ from class j's by
    the class alone (samples to look at); without it class k's noise comes from seed + k (metrics)."""
    ids, labels = [], []
    for k, n in enumerate(counts):
        if n:
            ids.append(generate_ids(G, int(n), seed=seed if shared_noise else seed + k, temperature=temperature,
                                    top_k=top_k, labels=np.full(int(n), k)))
            labels.append(np.full(int(n), k, dtype=np.int64))
    if not ids:
        return np.zeros((0, G.seq_len), np.int32), np.zeros(0, np.int64)
    return np.concatenate(ids), np.concatenate(labels)


def grouped_lines(texts: list[str], labels: np.ndarray, names) -> list[str]:
    """Decoded samples under one header line per class: ``== NAME (label K) ==``."""
    out: list[str] = []
    for k in dict.fromkeys(np.asarray(labels).tolist()):
        out.append(header(names[k], k))
        out.extend(t for t, y in zip(texts, labels) if y == k)
    return out


def header(name: str, k: int) -> str:
    return f"== {name} (label {k}) =="


def note_rare_classes(cfg, data, console) -> None:
    """Say which classes have fewer rows than one batch: legal (a class is drawn with its share of the
    rows, a corpus has rare classes), but such a class is rarely trained on and rarely generated."""
    rare = [f"{name} ({count})" for name, count in zip(data.classes.names, data.classes.counts)
            if count < cfg.batch_size]
    if rare:
        shown = ", ".join(rare[:5]) + (f" and {len(rare) - 5} more" if len(rare) > 5 else "")
        console.print(f"[yellow]note: {len(rare)} of {len(data.classes)} classes have fewer rows than one batch "
                      f"of {cfg.batch_size}: {shown}; the generator will rarely see them[/]", highlight=False)


def conditional_trainable(cfg, data, device: torch.device, dist):
    """The AC-GAN of a conditional text run: conditional G and D, labelled batches, the AC-GAN objective
    around ``cfg.loss`` with the paper's scales, and labels for the generator by the classes' shares."""
    from seqgan_gp.acgan import ACGAN
    from seqgan_gp.batches import TokenBatches
    from seqgan_gp.gan import gan_trainable, objective_of
    from seqgan_gp.text.relax import critic_view, real_rows

    G, D = build_conditional_networks(cfg, data.tokenizer.vocab_size, len(data.classes), device)
    batches = TokenBatches(data.train, data.tokenizer.vocab_size, cfg.batch_size, cfg.seed, device,
                           labels=data.labels, rank=dist.rank, world=dist.world)
    objective = ACGAN(objective_of(cfg), scale_d=cfg.acgan_scale, scale_g=cfg.acgan_scale_g)
    return gan_trainable(cfg, G, D, real_rows(cfg, batches), device, objective=objective,
                         sample_labels=class_sampler(data.classes.probabilities(), device), view=critic_view(cfg))
