"""Causal language models over token rows: the GAN generator's backbone made causal, and an LSTM.

Both read the rows shifted right behind a start token (id V, one past the vocabulary) and give,
at every position t, the logits of token t from the tokens before it:

    inputs = (START, x_0, ..., x_{L-2})      logits[:, t] = f(x_<t)       (B, L) → (B, L, V)

``conv`` (:class:`CausalConvLM`): embedding (the critic's 1×1 projection of one-hot rows, with its
tflib initialisation) → the paper's residual blocks with each convolution padded on the left only
(kernel − 1 zeros), so no position sees a later one → 1×1 convolution to V logits, as the
generator's output layer:

    CausalResBlock(x) = x + 0.3 · CConv_k(ReLU(CConv_k(ReLU(x))))

With DIM, blocks and kernel of a train-text run it has the GAN generator's width and depth (its
receptive field is 1 + 2·blocks·(kernel − 1) tokens: 41 for the paper's, 17 for the demo's).

``lstm`` (:class:`LSTMLM`): embedding → ``layers`` stacked LSTM layers of width DIM → linear to V.

Sampling goes one token at a time through ``step(tokens, state)``: the LSTM carries its (h, c);
the conv model keeps the inputs so far and recomputes its window (32 positions is cheap).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from seqgan_gp.activations import relu
from seqgan_gp.init import tflib_conv_, tflib_linear_, uniform_std_


def shift_right(ids: Tensor, start_id: int) -> Tensor:
    """(B, L) → (B, L): the start token, then every token but the last (what position t may see)."""
    start = torch.full_like(ids[:, :1], start_id)
    return torch.cat([start, ids[:, :-1]], dim=1)


def embedding(vocab_size: int, dim: int) -> nn.Embedding:
    """V ids and the start token → DIM, initialised as tflib's 1×1 convolution of one-hot rows."""
    layer = nn.Embedding(vocab_size + 1, dim)
    uniform_std_(layer.weight, math.sqrt(4.0 / (vocab_size + 1 + dim)))
    return layer


class CausalResBlock(nn.Module):
    """x + 0.3·CConv(ReLU(CConv(ReLU(x)))): the paper's block with left-only ('causal') padding."""

    def __init__(self, dim: int, kernel: int = 5):
        super().__init__()
        self.pad = kernel - 1
        self.conv1 = tflib_conv_(nn.Conv1d(dim, dim, kernel))
        self.conv2 = tflib_conv_(nn.Conv1d(dim, dim, kernel))

    def forward(self, x: Tensor) -> Tensor:  # (B, DIM, L) -> (B, DIM, L)
        h = self.conv1(F.pad(relu(x), (self.pad, 0)))
        h = self.conv2(F.pad(relu(h), (self.pad, 0)))
        return torch.add(x, h, alpha=0.3)


class CausalConvLM(nn.Module):
    """Shifted-right ids (B, L) → next-token logits (B, L, V) through causal residual blocks."""

    def __init__(self, *, vocab_size: int, dim: int = 512, blocks: int = 5, kernel: int = 5):
        super().__init__()
        self.vocab_size, self.start_id = vocab_size, vocab_size
        self.embed = embedding(vocab_size, dim)
        self.blocks = nn.Sequential(*[CausalResBlock(dim, kernel) for _ in range(blocks)])
        self.out = tflib_conv_(nn.Conv1d(dim, vocab_size, 1))
        self.window = 1 + 2 * blocks * (kernel - 1)  # receptive field in tokens

    def forward(self, inputs: Tensor) -> Tensor:
        h = self.embed(inputs).transpose(1, 2)  # (B, DIM, L)
        return self.out(self.blocks(h)).transpose(1, 2)  # (B, L, V)

    def init_state(self, batch: int, device: torch.device) -> Tensor:
        return torch.empty(batch, 0, dtype=torch.long, device=device)  # the inputs so far

    def step(self, tokens: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """Logits (B, V) of the next token after input ``tokens`` (B,); ``state`` holds the earlier inputs."""
        state = torch.cat([state, tokens[:, None]], dim=1)
        return self(state[:, -self.window:])[:, -1], state


class LSTMLM(nn.Module):
    """Shifted-right ids (B, L) → next-token logits (B, L, V) through a stacked LSTM."""

    def __init__(self, *, vocab_size: int, dim: int = 512, layers: int = 2):
        super().__init__()
        self.vocab_size, self.start_id = vocab_size, vocab_size
        self.embed = embedding(vocab_size, dim)
        self.lstm = nn.LSTM(dim, dim, num_layers=layers, batch_first=True)
        self.out = tflib_linear_(nn.Linear(dim, vocab_size))

    def forward(self, inputs: Tensor) -> Tensor:
        h, _ = self.lstm(self.embed(inputs))  # (B, L, DIM)
        return self.out(h)  # (B, L, V)

    def init_state(self, batch: int, device: torch.device):
        return None  # zeros, as nn.LSTM starts

    def step(self, tokens: Tensor, state) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Logits (B, V) of the next token after input ``tokens`` (B,); ``state`` is the LSTM's (h, c)."""
        h, state = self.lstm(self.embed(tokens[:, None]), state)
        return self.out(h[:, -1]), state


def build_lm(cfg, vocab_size: int, device: torch.device) -> nn.Module:
    """The model of a :class:`seqgan_gp.lm.config.LMConfig` over ``vocab_size`` ids, on ``device``."""
    if cfg.model == "lstm":
        return LSTMLM(vocab_size=vocab_size, dim=cfg.dim, layers=cfg.layers).to(device)
    return CausalConvLM(vocab_size=vocab_size, dim=cfg.dim, blocks=cfg.blocks, kernel=cfg.kernel).to(device)
