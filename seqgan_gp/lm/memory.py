"""How much memory a language-model configuration needs (seqgan_gp.memory), before a corpus is
encoded or a model allocated.

Parameters are counted exactly on a model built on the ``meta`` device (no memory). Values one
row keeps for the backward pass, with L = seq_len, V = vocabulary, n = blocks or layers: the conv
model L·DIM·(1 + 5n) (block inputs, convolutions, ReLUs and sums, as the GAN generator's count in
seqgan_gp.text.memory), the LSTM L·DIM·10n (its four gates, cell and hidden states, with room);
both 3·L·V for the logits, their log-softmax and the loss. Evaluations hold samples as a GAN's do.
"""

from __future__ import annotations

import torch

from seqgan_gp.config import paper_value
from seqgan_gp.memory import Need, refuse_if_too_big, step_bytes
from seqgan_gp.messages import flag
from seqgan_gp.text.memory import evaluation


def parameters(cfg, vocab_size: int) -> int:
    """Exact parameter count of the model ``cfg`` describes over ``vocab_size`` ids."""
    from seqgan_gp.lm.models import build_lm

    with torch.device("meta"):
        model = build_lm(cfg, vocab_size, torch.device("meta"))
    return sum(p.numel() for p in model.parameters())


def activations(cfg, vocab_size: int) -> int:
    """Float32 values one row keeps for the backward pass (see the module docstring)."""
    body = cfg.seq_len * cfg.dim * (10 * cfg.layers if cfg.model == "lstm" else 1 + 5 * cfg.blocks)
    return body + 3 * cfg.seq_len * vocab_size


def check_training(cfg, device: torch.device) -> None:
    """Refuse a language-model configuration whose training does not fit in memory (the vocabulary is
    taken at its largest, --vocab-size: the corpus is not read yet)."""
    from dataclasses import replace

    def need(*, dim: int, batch_size: int, eval_samples: int) -> Need:
        sized = replace(cfg, dim=dim)
        step = step_bytes(parameters(sized, cfg.vocab_size), activations(sized, cfg.vocab_size), batch_size)
        return Need(device=step, host=evaluation(eval_samples, cfg.seq_len))

    names = ("dim", "batch_size", "eval_samples")
    refuse_if_too_big("training this model", need, {flag(n): getattr(cfg, n) for n in names}, device,
                      usual={flag(n): paper_value(cfg, n) for n in names})
