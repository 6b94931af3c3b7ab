"""The paper's text generator and critic (gan_language.py; SPEC.md "gan_language.py").

Both are 1-D convolutional ResNets over the sequence axis with no normalisation anywhere:

    ResBlock(x) = x + 0.3 · Conv_k(ReLU(Conv_k(ReLU(x))))            k = 5, 'same' padding

    G: z ∈ R^128 → Linear(128 → L·DIM) → (B, DIM, L) → blocks → Conv1×1(DIM → V) → softmax over V
    D: (B, L, V) → Conv1×1(V → DIM) → blocks → flatten (B, L·DIM) → Linear(→ 1)

The generator emits a probability vector per position (no sampling, no Gumbel); the critic reads
one-hot real sentences or those probability vectors. Initialisation follows tflib (uniform, He for
convolutions, Glorot for linear layers).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqgan_gp.activations import relu
from seqgan_gp.init import tflib_conv_, tflib_linear_


class ResBlock(nn.Module):
    """x + 0.3·Conv(ReLU(Conv(ReLU(x)))), both convolutions DIM→DIM with kernel ``kernel``."""

    def __init__(self, dim: int, kernel: int = 5):
        super().__init__()
        self.conv1 = tflib_conv_(nn.Conv1d(dim, dim, kernel, padding=kernel // 2))
        self.conv2 = tflib_conv_(nn.Conv1d(dim, dim, kernel, padding=kernel // 2))

    def forward(self, x: Tensor) -> Tensor:  # (B, DIM, L) -> (B, DIM, L)
        # relu with a cheap double backward (seqgan_gp.activations); x + 0.3·h as one fused add
        h = self.conv2(relu(self.conv1(relu(x))))
        return torch.add(x, h, alpha=0.3)


class TextGenerator(nn.Module):
    """z (B, z_dim) → per-position distributions over the vocabulary (B, L, V); rows sum to one."""

    def __init__(self, *, vocab_size: int, seq_len: int, dim: int = 512, blocks: int = 5,
                 kernel: int = 5, z_dim: int = 128):
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError("kernel must be odd for 'same' padding")
        self.seq_len, self.dim, self.z_dim = seq_len, dim, z_dim
        self.fc = tflib_linear_(nn.Linear(z_dim, seq_len * dim))
        self.blocks = nn.Sequential(*[ResBlock(dim, kernel) for _ in range(blocks)])
        self.out = tflib_conv_(nn.Conv1d(dim, vocab_size, 1))

    def logits(self, z: Tensor) -> Tensor:
        h = self.fc(z).view(-1, self.dim, self.seq_len)  # (B, DIM, L)
        return self.out(self.blocks(h)).transpose(1, 2)  # (B, L, V)

    def forward(self, z: Tensor) -> Tensor:
        return torch.softmax(self.logits(z), dim=-1)  # (B, L, V)


class TextCritic(nn.Module):
    """(B, L, V) one-hot or softmax rows → one unbounded score per sentence (B,)."""

    def __init__(self, *, vocab_size: int, seq_len: int, dim: int = 512, blocks: int = 5,
                 kernel: int = 5):
        super().__init__()
        self.seq_len, self.dim = seq_len, dim
        self.inp = tflib_conv_(nn.Conv1d(vocab_size, dim, 1))
        self.blocks = nn.Sequential(*[ResBlock(dim, kernel) for _ in range(blocks)])
        self.fc = tflib_linear_(nn.Linear(seq_len * dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        h = self.blocks(self.inp(x.transpose(1, 2)))  # (B, DIM, L)
        return self.fc(h.flatten(1)).squeeze(1)  # (B,)


def build_networks(cfg, vocab_size: int, device: torch.device) -> tuple[TextGenerator, TextCritic]:
    """G and D of a :class:`seqgan_gp.text.config.TextConfig` over ``vocab_size`` ids, on ``device``."""
    G = TextGenerator(vocab_size=vocab_size, seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks,
                      kernel=cfg.kernel, z_dim=cfg.z_dim).to(device)
    D = TextCritic(vocab_size=vocab_size, seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks,
                   kernel=cfg.kernel).to(device)
    return G, D
