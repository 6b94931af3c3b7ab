"""Using a trained text checkpoint: its generator and tokenizer, and decoded samples from it."""

from __future__ import annotations

from pathlib import Path

import torch

from corpora.tokenizers import tokenizer_from_json
from seqgan_gp.checkpoint import load_checkpoint, module_from_flat
from seqgan_gp.configfile import config_from_dict
from seqgan_gp.errors import UserError
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.config import KIND, TextConfig
from seqgan_gp.text.models import build_networks
from seqgan_gp.text.sampling import generate_ids


def load_generator(target: Path, device: torch.device):
    """``(G, tokenizer, config, metadata)`` of a run directory (its newest checkpoint) or checkpoint file."""
    path = resolve_checkpoint(Path(target))
    tensors, meta = load_checkpoint(path, kind=KIND)
    try:
        cfg = config_from_dict(TextConfig, meta["config"], str(path))
        tok = tokenizer_from_json(meta["tokenizer"])
    except (KeyError, ValueError) as exc:
        raise UserError(f"{path}: checkpoint metadata lacks a usable config or tokenizer ({exc})") from None
    G, _ = build_networks(cfg, tok.vocab_size, device)
    module_from_flat("G", G, tensors, path)
    return G, tok, cfg, meta


def sample_text(target: Path, *, n: int, seed: int, temperature: float, device: torch.device) -> list[str]:
    """``n`` decoded sentences from a text checkpoint (argmax unless ``temperature`` > 0)."""
    if n < 1:
        raise UserError(f"-n {n}: ask for at least one sample")
    if temperature < 0:
        raise UserError(f"--temperature {temperature}: must be 0 (argmax, the paper's) or positive")
    G, tok, _, _ = load_generator(target, device)
    return tok.decode(generate_ids(G, n, seed=seed, temperature=temperature))
