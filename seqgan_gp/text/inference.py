"""Using a trained text checkpoint: its generator and tokenizer (and a conditional run's label
vocabulary), and decoded samples from it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from corpora.labels import LabelSet
from corpora.tokenizers import tokenizer_from_json
from seqgan_gp.checkpoint import load_checkpoint, module_from_flat
from seqgan_gp.configfile import config_from_dict
from seqgan_gp.errors import UserError
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.conditional import build_conditional_networks, generate_per_class, grouped_lines
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
    classes = checkpoint_classes(meta, cfg, path)
    if classes is None:
        G, _ = build_networks(cfg, tok.vocab_size, device)
    else:
        G, _ = build_conditional_networks(cfg, tok.vocab_size, len(classes), device)
    module_from_flat("G", G, tensors, path)
    return G, tok, cfg, meta


def checkpoint_classes(meta: dict, cfg: TextConfig, path: Path) -> Optional[LabelSet]:
    """The label vocabulary of a conditional run's checkpoint (None: an unconditional run)."""
    if cfg.label_column is None:
        return None
    try:
        return LabelSet.from_json(meta.get("labels"))
    except ValueError as exc:
        raise UserError(f"{path}: a conditional checkpoint (--label-column {cfg.label_column}) without a usable "
                        f"label vocabulary ({exc}); use another checkpoint of the run") from None


def class_of(label: str, classes: Optional[LabelSet], path: Path) -> int:
    """The class id ``--label`` names (a label name, or an id); a UserError when the checkpoint has no such class."""
    if classes is None:
        raise UserError(f"--label {label}: {path} is an unconditional run (trained without --label-column) and "
                        f"takes no label; drop --label")
    k = classes.find(label)
    if k is None:
        raise UserError(f"--label {label}: not a label of {path}; its labels are {classes.describe(20)}: pass one "
                        f"of these names or ids")
    return k


def sample_text(target: Path, *, n: int, seed: int, temperature: float, device: torch.device,
                label: Optional[str] = None) -> list[str]:
    """``n`` decoded sentences from a text checkpoint (argmax unless ``temperature`` > 0). A conditional
    checkpoint gives ``n`` of class ``label``, or without it ``n`` of every class in turn, each class
    under a header line and from the same noise."""
    if n < 1:
        raise UserError(f"-n {n}: ask for at least one sample")
    if temperature < 0:
        raise UserError(f"--temperature {temperature}: must be 0 (argmax, the paper's) or positive")
    path = resolve_checkpoint(Path(target))
    G, tok, cfg, meta = load_generator(path, device)
    classes = checkpoint_classes(meta, cfg, path)
    if label is not None:
        k = class_of(label, classes, path)
        return tok.decode(generate_ids(G, n, seed=seed, temperature=temperature, labels=np.full(n, k)))
    if classes is None:
        return tok.decode(generate_ids(G, n, seed=seed, temperature=temperature))
    ids, labels = generate_per_class(G, [n] * len(classes), seed=seed, temperature=temperature)
    return grouped_lines(tok.decode(ids), labels, classes.names)
