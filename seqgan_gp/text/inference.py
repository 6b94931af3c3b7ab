"""Using a trained text checkpoint: its generator and tokenizer (and a conditional run's label
vocabulary), and decoded samples from it.

A checkpoint is input: its configuration and tokenizer are checked, and the size of the generator
they describe is compared with its tensors before the generator is built, so a file whose metadata
claims a huge model is refused in milliseconds instead of allocating it. A run trained with
``--ema-decay`` keeps the average of its generator's weights (G_ema, seqgan_gp.ema); it is what
these functions load unless ``ema`` is false (``--raw``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from corpora.labels import LabelSet
from corpora.tokenizers import tokenizer_from_json
from seqgan_gp.checkpoint import check_module_shapes, check_parameter_count, load_checkpoint
from seqgan_gp.configfile import check_seed, config_from_dict
from seqgan_gp.ema import load_generator_weights
from seqgan_gp.errors import UserError
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.conditional import build_conditional_networks, generate_per_class, grouped_lines
from seqgan_gp.text.config import KIND, TextConfig
from seqgan_gp.text.memory import check_sampling, parameters
from seqgan_gp.text.models import build_networks
from seqgan_gp.text.sampling import BATCH, check_decoding, generate_ids


def config_and_tokenizer(cls, meta: dict, path: Path):
    """The run configuration (of dataclass ``cls``) and the tokenizer a text checkpoint's metadata
    records, checked against each other."""
    cfg = config_from_dict(cls, meta.get("config"), str(path))
    try:
        tok = tokenizer_from_json(meta.get("tokenizer"))
    except ValueError as exc:
        raise UserError(f"{path}: the checkpoint's tokenizer is damaged ({exc}); use an intact checkpoint of the "
                        f"run") from None
    if tok.seq_len != cfg.seq_len:
        raise UserError(f"{path}: the checkpoint's tokenizer makes rows of {tok.seq_len} tokens, its configuration "
                        f"{cfg.seq_len}; the metadata was modified; use an intact checkpoint of the run")
    return cfg, tok


def load_generator(target: Path, device: torch.device, *, ema: bool = True):
    """``(G, tokenizer, config, metadata)`` of a run directory (its newest checkpoint) or checkpoint file;
    the metadata's ``weights`` says which generator was loaded (``G_ema`` or ``G``)."""
    path = resolve_checkpoint(Path(target))
    tensors, meta = load_checkpoint(path, kind=KIND)
    cfg, tok = config_and_tokenizer(TextConfig, meta, path)
    classes = checkpoint_classes(meta, cfg, path)
    if classes is None:
        expected, _ = parameters(seq_len=cfg.seq_len, dim=cfg.dim, blocks=cfg.blocks, kernel=cfg.kernel,
                                 z_dim=cfg.z_dim, vocab_size=tok.vocab_size)
        check_parameter_count(path, "G", expected, tensors, f"dim {cfg.dim}, {cfg.blocks} blocks, kernel "
                                                            f"{cfg.kernel}, seq_len {cfg.seq_len}, {tok.vocab_size} ids")
        G, _ = build_networks(cfg, tok.vocab_size, device)
    else:
        with torch.device("meta"):  # the metadata's generator, never allocated, against the tensors first
            shape, _ = build_conditional_networks(cfg, tok.vocab_size, len(classes), torch.device("meta"))
        check_module_shapes("G", shape, tensors, path)
        G, _ = build_conditional_networks(cfg, tok.vocab_size, len(classes), device)
    weights = load_generator_weights(G, tensors, path, ema=ema)
    return G, tok, cfg, {**meta, "weights": weights}


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


def sample_text(target: Path, *, n: int, seed: int, temperature: Optional[float], device: torch.device,
                top_k: int = 0, ema: bool = True, progress: Optional[Callable[[int], None]] = None,
                label: Optional[str] = None) -> list[str]:
    """``n`` decoded sentences from a text checkpoint (argmax unless ``temperature`` > 0, then among the
    ``top_k`` likeliest tokens when ``top_k`` > 0); ``progress(done)`` hears after every batch of samples.
    A conditional checkpoint gives ``n`` of class ``label``, or without it ``n`` of every class in turn,
    each class under a header line and from the same noise."""
    check_decoding(n, temperature, top_k)
    check_seed(seed)
    path = resolve_checkpoint(Path(target))
    G, tok, cfg, meta = load_generator(path, device, ema=ema)
    classes = checkpoint_classes(meta, cfg, path)
    t = temperature or 0.0
    if label is not None:
        k = class_of(label, classes, path)
        check_sampling(cfg, tok.vocab_size, n, device, batch=BATCH, metrics=False)
        return tok.decode(generate_ids(G, n, seed=seed, temperature=t, top_k=top_k, progress=progress,
                                       labels=np.full(n, k)))
    if classes is None:
        check_sampling(cfg, tok.vocab_size, n, device, batch=BATCH, metrics=False)
        return tok.decode(generate_ids(G, n, seed=seed, temperature=t, top_k=top_k, progress=progress))
    check_sampling(cfg, tok.vocab_size, n * len(classes), device, batch=BATCH, metrics=False)
    ids, labels = generate_per_class(G, [n] * len(classes), seed=seed, temperature=t, top_k=top_k)
    return grouped_lines(tok.decode(ids), labels, classes.names)
