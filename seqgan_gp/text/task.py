"""``train-text`` as a task of the core (seqgan_gp.task): the paper's character-level language GAN.

The corpus is encoded once into the cache (corpora.cache) and read from there as memory-mapped
ids; batches arrive one-hot on the device (seqgan_gp.batches). Samples are argmax decodings of a
fixed noise batch (watch one batch improve); evaluations are the metrics of seqgan_gp.text.metrics.
Both use the average of G's weights when the run keeps one (``--ema-decay``, seqgan_gp.ema).
With ``--label-column`` the run is conditional (seqgan_gp.text.conditional): labelled batches, the
AC-GAN objective, samples grouped by class and ``class_acc`` in every evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from rich.console import Console

from corpora.cache import EncodedCorpus
from seqgan_gp.batches import TokenBatches
from seqgan_gp.distributed import DistContext
from seqgan_gp.ema import label_evaluations, sampling_generator
from seqgan_gp.errors import UserError
from seqgan_gp.gan import gan_trainable
from seqgan_gp.rundir import RunDir
from seqgan_gp.task import Trainable
from seqgan_gp.text import conditional
from seqgan_gp.text.config import KIND, TextConfig
from seqgan_gp.text.data import check_batch, check_same_corpus, corpus_name, open_text_data, recorded_corpus
from seqgan_gp.text.memory import check_training
from seqgan_gp.text.metrics import TextEvaluator
from seqgan_gp.text.models import build_networks
from seqgan_gp.text.relax import critic_view, real_rows
from seqgan_gp.text.sampling import generate_ids

SAMPLES = 64  # argmax samples in each samples_<iteration>.txt


@dataclass
class TextTask:
    """A text run; one task object serves one command (it knows the corpus cache to use)."""

    cache_dir: Optional[Path] = None  # the encoded-corpus cache (default: corpora.cache.default_cache_dir)

    kind = KIND
    config = TextConfig
    data_flags = ("corpus", "data_dir")
    resumable = ("eval_samples", *data_flags)  # a moved corpus: its encoding digest must still be the run's

    def run_name(self, cfg: TextConfig) -> str:
        by = f"-{cfg.label_column}" if cfg.label_column else ""
        return f"text-{corpus_name(cfg.corpus)}{by}"

    def check_fits(self, cfg: TextConfig, device: torch.device) -> None:
        check_training(cfg, device)

    def open_data(self, cfg: TextConfig, *, console: Console, show_progress: bool,
                  recorded: Optional[dict] = None) -> EncodedCorpus:
        if recorded is not None and cfg.corpus != "embedded":  # never read a corpus the run's files name
            data = recorded_corpus(cfg, recorded, self.cache_dir)
        else:
            data = open_text_data(cfg, console=console, cache_dir=self.cache_dir, show_progress=show_progress)
        check_batch(cfg, data)
        if data.classes is not None:
            conditional.note_rare_classes(cfg, data, console)
        return data

    def metadata(self, cfg: TextConfig, data: EncodedCorpus) -> dict:
        stats = {k: data.stats[k] for k in ("tokens", "unknown", "truncated", "replaced")}
        meta = {"tokenizer": data.tokenizer.to_json(), "corpus_fingerprint": data.encoding_digest,  # the key of older runs
                "corpus_stats": {"sentences": len(data.train), "vocab_size": data.tokenizer.vocab_size,
                                 "heldout": len(data.heldout) if data.heldout is not None else 0,
                                 "cache": str(data.path), **stats}}
        if data.classes is not None:
            meta["labels"] = data.classes.to_json()  # the label vocabulary travels like the tokenizer
        return meta

    def check_resume(self, cfg: TextConfig, data: EncodedCorpus, meta: dict, where: Path) -> None:
        check_same_corpus(where, cfg, meta, data)
        current = data.classes.to_json() if data.classes is not None else None
        if meta.get("labels") != current:  # the digest covers them; this names what changed
            raise UserError(f"--resume {where}: the class labels of --corpus {cfg.corpus} differ from the "
                            f"checkpoint's; restore the corpus the run was trained on or start a new run")

    def build(self, cfg: TextConfig, data: EncodedCorpus, device: torch.device, dist: DistContext) -> Trainable:
        if data.classes is not None:
            return conditional.conditional_trainable(cfg, data, device, dist)
        G, D = build_networks(cfg, data.tokenizer.vocab_size, device)
        batches = TokenBatches(data.train, data.tokenizer.vocab_size, cfg.batch_size, cfg.seed, device,
                               rank=dist.rank, world=dist.world)
        return gan_trainable(cfg, G, D, real_rows(cfg, batches), device, view=critic_view(cfg))

    def header(self, cfg: TextConfig, data: EncodedCorpus) -> str:
        classes = ""
        if data.classes is not None:
            classes = (f", conditional AC-GAN on {len(data.classes)} classes of {cfg.label_column} "
                       f"({data.classes.describe(4)}), class input: {cfg.condition}")
        return (f"{cfg.corpus}: {len(data.train):,} sentences, vocabulary {data.tokenizer.vocab_size}, DIM {cfg.dim}, "
                f"{cfg.blocks} blocks, {cfg.critic_iters} critic steps{classes}"
                + (f", EMA of G (decay {cfg.ema_decay:g})" if cfg.ema_decay else "") + _view(cfg))

    def sampler(self, cfg: TextConfig, trainable: Trainable, data: EncodedCorpus, folder: Path):
        G, tok = sampling_generator(trainable.state.modules), data.tokenizer

        def sample(iteration: int) -> list[str]:
            if data.classes is None:
                texts = tok.decode(generate_ids(G, SAMPLES, seed=cfg.seed))  # fixed z: watch one batch improve
            else:  # the same z for every class: the rows of two classes differ by the class alone
                K = len(data.classes)
                counts = [max(1, SAMPLES // K) if k < SAMPLES else 0 for k in range(K)]
                ids, labels = conditional.generate_per_class(G, counts, seed=cfg.seed)
                texts = conditional.grouped_lines(tok.decode(ids), labels, data.classes.names)
            (folder / f"samples_{iteration:08d}.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
            return texts

        return sample

    def evaluator(self, cfg: TextConfig, trainable: Trainable, data: EncodedCorpus, *, device: torch.device,
                  console: Console):
        modules = trainable.state.modules
        if data.classes is not None:
            from seqgan_gp.text.class_metrics import ConditionalEvaluator

            return label_evaluations(ConditionalEvaluator(cfg, sampling_generator(modules), data, console), modules)
        return label_evaluations(TextEvaluator(cfg, sampling_generator(modules), data, console), modules)

    def finish(self, cfg: TextConfig, run: RunDir) -> None:
        """Nothing beyond the samples, metrics and checkpoints."""


def _view(cfg: TextConfig) -> str:
    """The header's note of a critic view other than the paper's (seqgan_gp.text.relax)."""
    parts = []
    if cfg.relaxation != "softmax":
        parts.append(f"relaxation {cfg.relaxation} (τ {cfg.gumbel_tau:g})")
    elif cfg.output_tau != 1:
        parts.append(f"softmax(logits / {cfg.output_tau:g})")
    if cfg.real_noise:
        parts.append(f"real rows smoothed by {cfg.real_noise:g}")
    return "".join(", " + p for p in parts)
