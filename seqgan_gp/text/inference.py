"""Using a trained text checkpoint: its generator and tokenizer, and decoded samples from it.

A run trained with ``--ema-decay`` keeps the average of its generator's weights (G_ema,
seqgan_gp.ema); it is what these functions load unless ``ema`` is false (``--raw``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from corpora.tokenizers import tokenizer_from_json
from seqgan_gp.checkpoint import load_checkpoint
from seqgan_gp.configfile import config_from_dict
from seqgan_gp.ema import load_generator_weights
from seqgan_gp.errors import UserError
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.config import KIND, TextConfig
from seqgan_gp.text.models import build_networks
from seqgan_gp.text.sampling import check_sampling, generate_ids


def config_and_tokenizer(cls, meta: dict, path: Path):
    """The run configuration (of dataclass ``cls``) and the tokenizer a text checkpoint's metadata records."""
    try:
        return config_from_dict(cls, meta["config"], str(path)), tokenizer_from_json(meta["tokenizer"])
    except (KeyError, ValueError) as exc:
        raise UserError(f"{path}: checkpoint metadata lacks a usable config or tokenizer ({exc})") from None


def load_generator(target: Path, device: torch.device, *, ema: bool = True):
    """``(G, tokenizer, config, metadata)`` of a run directory (its newest checkpoint) or checkpoint file;
    the metadata's ``weights`` says which generator was loaded (``G_ema`` or ``G``)."""
    path = resolve_checkpoint(Path(target))
    tensors, meta = load_checkpoint(path, kind=KIND)
    cfg, tok = config_and_tokenizer(TextConfig, meta, path)
    G, _ = build_networks(cfg, tok.vocab_size, device)
    weights = load_generator_weights(G, tensors, path, ema=ema)
    return G, tok, cfg, {**meta, "weights": weights}


def sample_text(target: Path, *, n: int, seed: int, temperature: Optional[float], device: torch.device,
                top_k: int = 0, ema: bool = True) -> list[str]:
    """``n`` decoded sentences from a text checkpoint (argmax unless ``temperature`` > 0, then among the
    ``top_k`` likeliest tokens when ``top_k`` > 0)."""
    check_sampling(n, temperature, top_k)
    G, tok, _, _ = load_generator(target, device, ema=ema)
    return tok.decode(generate_ids(G, n, seed=seed, temperature=temperature or 0.0, top_k=top_k))
