"""Any trained text model as a sampler of token rows: a GAN generator (``train-text``) or a language
model (``train-lm``), with the same temperature knob (seqgan_gp.text.sampling.pick_tokens).

:func:`load_text_sampler` is what ``sample``, ``evaluate`` and the frontier use to draw rows from a
run directory or checkpoint, whatever kind trained it; a GAN run that kept the average of its
generator's weights gives G_ema unless ``ema`` is false (``--raw``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from seqgan_gp.checkpoint import check_module_shapes, load_checkpoint, module_from_flat
from seqgan_gp.configfile import check_seed
from seqgan_gp.errors import UserError
from seqgan_gp.memory import Need, refuse_if_too_big
from seqgan_gp.lm.config import KIND, LMConfig
from seqgan_gp.lm.models import build_lm
from seqgan_gp.lm.sampling import generate_lm_ids
from seqgan_gp.lm.task import NAME
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.config import KIND as GAN_KIND
from seqgan_gp.text.inference import config_and_tokenizer, load_generator
from seqgan_gp.text.memory import SAMPLE_BYTES_PER_SAMPLE, SAMPLE_BYTES_PER_TOKEN, evaluation
from seqgan_gp.text.sampling import check_decoding, generate_ids

def load_lm(target: Path, device: torch.device):
    """``(model, tokenizer, config, metadata)`` of a language-model run directory (its newest checkpoint) or
    checkpoint file."""
    path = resolve_checkpoint(Path(target))
    tensors, meta = load_checkpoint(path, kind=KIND)
    cfg, tok = config_and_tokenizer(LMConfig, meta, path)
    with torch.device("meta"):  # the metadata's model, never allocated, against the tensors first
        check_module_shapes(NAME, build_lm(cfg, tok.vocab_size, torch.device("meta")), tensors, path)
    model = build_lm(cfg, tok.vocab_size, device)
    module_from_flat(NAME, model, tensors, path)
    return model, tok, cfg, {**meta, "weights": NAME}


@dataclass
class TextSampler:
    """A trained text model ready to draw rows of token ids."""

    kind: str  # "text" (a GAN generator) or "lm" (a language model)
    path: Path  # the checkpoint file
    model: torch.nn.Module
    tokenizer: object
    cfg: object  # its TextConfig or LMConfig
    meta: dict  # the checkpoint's metadata, with "weights": the network that draws (G, G_ema or LM)

    @property
    def default_temperature(self) -> float:
        """0 (argmax, the paper's decoding) for a GAN; 1 (the model's own distribution) for a language model."""
        return 1.0 if self.kind == KIND else 0.0

    @property
    def weights(self) -> str:
        return self.meta["weights"]

    def generate(self, n: int, *, temperature: Optional[float] = None, top_k: int = 0, seed: int = 0) -> np.ndarray:
        """(n, L) ids at ``temperature`` (None: :attr:`default_temperature`), among the ``top_k`` likeliest
        tokens when ``top_k`` > 0."""
        t = self.default_temperature if temperature is None else temperature
        if self.kind == KIND:
            return generate_lm_ids(self.model, n, seq_len=self.cfg.seq_len, pad_id=self.tokenizer.pad_id, seed=seed,
                                   temperature=t, top_k=top_k)
        return generate_ids(self.model, n, seed=seed, temperature=t, top_k=top_k)


def decoding(temperature: float, top_k: int = 0) -> str:
    """How rows were drawn, for metrics documents: ``argmax`` or ``softmax(logits/0.7), top-40``."""
    if temperature == 0:
        return "argmax"
    return f"softmax(logits/{temperature:g})" + (f", top-{top_k}" if top_k else "")


def load_text_sampler(target: Path, device: torch.device, *, ema: bool = True) -> TextSampler:
    """The model of a text or language-model run directory (its newest checkpoint) or checkpoint file."""
    path = resolve_checkpoint(Path(target))
    kind = load_checkpoint(path)[1].get("kind")
    if kind == GAN_KIND:
        model, tok, cfg, meta = load_generator(path, device, ema=ema)
    elif kind == KIND:
        model, tok, cfg, meta = load_lm(path, device)
    else:
        raise UserError(f"{path}: {kind!r} checkpoint; pass the run directory or checkpoint of a text GAN "
                        f"(train-text) or a language model (train-lm)")
    return TextSampler(kind, path, model, tok, cfg, meta)


def check_rows(cfg, n: int, device: torch.device, *, metrics: bool) -> None:
    """Refuse ``n`` sampled rows of a language model (with ``metrics``: and their evaluation) that do
    not fit in memory; the model itself was checked against its checkpoint when it was loaded."""
    per = evaluation(1, cfg.seq_len) if metrics else SAMPLE_BYTES_PER_SAMPLE + SAMPLE_BYTES_PER_TOKEN * cfg.seq_len
    refuse_if_too_big("the samples" + (" and their metrics" if metrics else ""),
                      lambda *, n: Need(host=n * per), {"-n": n}, device)


def sample_lm(target: Path, *, n: int, seed: int, temperature: Optional[float], device: torch.device, top_k: int = 0,
              ) -> list[str]:
    """``n`` decoded sentences from a language-model checkpoint (``temperature`` None: 1)."""
    check_decoding(n, temperature, top_k)
    check_seed(seed)
    sampler = load_text_sampler(target, device)
    check_rows(sampler.cfg, n, device, metrics=False)
    return sampler.tokenizer.decode(sampler.generate(n, temperature=temperature, top_k=top_k, seed=seed))
