"""How much memory a text configuration needs (seqgan_gp.memory), from the architecture of
seqgan_gp.text.models, before a corpus is encoded or a network built.

Parameters of G and D, with L = seq_len, V = vocabulary, k = kernel, n = blocks:

    G: z_dim·L·DIM + L·DIM (fc) + n·2·(DIM²·k + DIM) + DIM·V + V
    D: V·DIM + DIM + n·2·(DIM²·k + DIM) + L·DIM + 1

Values one example keeps for the backward passes: a G pass L·DIM·(1 + 5n) + 2·L·V (the block
inputs, convolutions, ReLUs and sums; logits and softmax), a critic pass L·V + L·DIM·(1 + 5n). A
critic step runs the critic over real and fake and over the interpolates with a double backward
(counted as 6 critic passes), a generator step G and the critic once (G counted twice for safety).
The evaluation's and ``sample``'s host memory per sample were measured with tracemalloc on
word-dense samples (one word every two characters: about 130 bytes per token) and rounded up.
"""

from __future__ import annotations

import torch

from seqgan_gp.config import paper_value
from seqgan_gp.memory import FLOAT, Need, refuse_if_too_big, step_bytes
from seqgan_gp.messages import flag

EVAL_BYTES_PER_SAMPLE = 1024  # decoded text, word lists and n-gram arrays, besides ...
EVAL_BYTES_PER_TOKEN = 256  # ... this much per token of each sample
SAMPLE_BYTES_PER_SAMPLE = 128  # ids and one decoded string per sample, besides ...
SAMPLE_BYTES_PER_TOKEN = 32  # ... this much per token


def parameters(*, seq_len: int, dim: int, blocks: int, kernel: int, z_dim: int, vocab_size: int) -> tuple[int, int]:
    """Exact parameter counts ``(G, D)`` of seqgan_gp.text.models (see the module docstring)."""
    body = blocks * 2 * (dim * dim * kernel + dim)
    G = z_dim * seq_len * dim + seq_len * dim + body + dim * vocab_size + vocab_size
    D = vocab_size * dim + dim + body + seq_len * dim + 1
    return G, D


def activations(*, seq_len: int, dim: int, blocks: int, vocab_size: int) -> tuple[int, int]:
    """Float32 values one example keeps in a pass of G and of the critic."""
    body = seq_len * dim * (1 + 5 * blocks)
    return body + 2 * seq_len * vocab_size, body + seq_len * vocab_size


def training(*, seq_len, dim, blocks, kernel, z_dim, vocab_size, batch_size, eval_samples) -> Need:
    """A training run: networks, optimizer and one step on the device; an evaluation on the host."""
    G, D = parameters(seq_len=seq_len, dim=dim, blocks=blocks, kernel=kernel, z_dim=z_dim, vocab_size=vocab_size)
    aG, aD = activations(seq_len=seq_len, dim=dim, blocks=blocks, vocab_size=vocab_size)
    step = step_bytes(G + D, 2 * aG + 6 * aD, batch_size)
    return Need(device=step, host=evaluation(eval_samples, seq_len))


def evaluation(n: int, seq_len: int) -> int:
    """Host bytes of the metrics of ``n`` samples."""
    return n * (EVAL_BYTES_PER_SAMPLE + EVAL_BYTES_PER_TOKEN * seq_len)


def generator_need(G_params: int, G_activations: int, batch: int) -> int:
    """Device bytes of G's weights and one no-grad batch of samples."""
    return FLOAT * (G_params + G_activations * batch)


def check_training(cfg, device: torch.device) -> None:
    """Refuse a text configuration whose run does not fit in memory (before its corpus is read;
    the vocabulary is taken at its most, ``--vocab-size``)."""
    fixed = dict(kernel=cfg.kernel, z_dim=cfg.z_dim, vocab_size=cfg.vocab_size)
    names = ("dim", "blocks", "seq_len", "batch_size", "eval_samples")
    refuse_if_too_big("training this model", lambda **v: training(**fixed, **v),
                      {flag(n): getattr(cfg, n) for n in names}, device,
                      usual={flag(n): paper_value(cfg, n) for n in names})


def check_sampling(cfg, vocab_size: int, n: int, device: torch.device, *, batch: int, metrics: bool) -> None:
    """Refuse ``n`` samples (with ``metrics``: and their evaluation) that do not fit in memory."""
    G, _ = parameters(seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks, kernel=cfg.kernel, z_dim=cfg.z_dim,
                      vocab_size=vocab_size)
    aG, _ = activations(seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks, vocab_size=vocab_size)

    def need(n: int) -> Need:
        per = evaluation(1, cfg.seq_len) if metrics else SAMPLE_BYTES_PER_SAMPLE + SAMPLE_BYTES_PER_TOKEN * cfg.seq_len
        return Need(device=generator_need(G, aG, min(batch, n)), host=n * per)

    refuse_if_too_big("the samples" + (" and their metrics" if metrics else ""), need, {"-n": n}, device)
