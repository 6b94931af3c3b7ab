"""Using a trained text checkpoint: its generator and tokenizer, and decoded samples from it.

A checkpoint is input: its configuration and tokenizer are checked, and the size of the generator
they describe is compared with its tensors before the generator is built, so a file whose metadata
claims a huge model is refused in milliseconds instead of allocating it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

import torch

from corpora.tokenizers import tokenizer_from_json
from seqgan_gp.checkpoint import check_parameter_count, load_checkpoint, module_from_flat
from seqgan_gp.configfile import check_seed, config_from_dict
from seqgan_gp.errors import UserError
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.config import KIND, TextConfig
from seqgan_gp.text.memory import check_sampling, parameters
from seqgan_gp.text.models import build_networks
from seqgan_gp.text.sampling import BATCH, generate_ids


def load_generator(target: Path, device: torch.device):
    """``(G, tokenizer, config, metadata)`` of a run directory (its newest checkpoint) or checkpoint file."""
    path = resolve_checkpoint(Path(target))
    tensors, meta = load_checkpoint(path, kind=KIND)
    cfg = config_from_dict(TextConfig, meta.get("config"), str(path))
    try:
        tok = tokenizer_from_json(meta.get("tokenizer"))
    except ValueError as exc:
        raise UserError(f"{path}: the checkpoint's tokenizer is damaged ({exc}); use an intact checkpoint of the "
                        f"run") from None
    if tok.seq_len != cfg.seq_len:
        raise UserError(f"{path}: the checkpoint's tokenizer makes rows of {tok.seq_len} tokens, its configuration "
                        f"{cfg.seq_len}; the metadata was modified; use an intact checkpoint of the run")
    expected, _ = parameters(seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks, kernel=cfg.kernel, z_dim=cfg.z_dim,
                             vocab_size=tok.vocab_size)
    check_parameter_count(path, "G", expected, tensors, f"dim {cfg.dim}, {cfg.blocks} blocks, kernel {cfg.kernel}, "
                                                        f"seq_len {cfg.seq_len}, {tok.vocab_size} ids")
    G, _ = build_networks(cfg, tok.vocab_size, device)
    module_from_flat("G", G, tensors, path)
    return G, tok, cfg, meta


def check_temperature(temperature: float) -> None:
    """0 (argmax, the paper's) or a finite positive number: softmax(logits / T) of an infinite or NaN
    T is not a distribution (and T < 0 samples the least likely tokens)."""
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise UserError(f"--temperature {temperature}: must be 0 (argmax, the paper's) or a finite positive number, "
                        f"e.g. --temperature 0.7")


def sample_text(target: Path, *, n: int, seed: int, temperature: float, device: torch.device,
                progress: Optional[Callable[[int], None]] = None) -> list[str]:
    """``n`` decoded sentences from a text checkpoint (argmax unless ``temperature`` > 0);
    ``progress(done)`` hears after every batch of samples."""
    if n < 1:
        raise UserError(f"-n {n}: ask for at least one sample")
    check_temperature(temperature)
    check_seed(seed)
    G, tok, cfg, _ = load_generator(target, device)
    check_sampling(cfg, tok.vocab_size, n, device, batch=BATCH, metrics=False)
    return tok.decode(generate_ids(G, n, seed=seed, temperature=temperature, progress=progress))
