"""``evaluate`` of a text checkpoint: the metrics of seqgan_gp.text.metrics for ``n`` argmax samples,
as the metrics.json document (the command line renders it as a table). A conditional checkpoint's
samples follow the classes' shares of the corpus, and the document adds ``class_acc`` and the
per-class metrics of seqgan_gp.text.class_metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from rich.console import Console

from seqgan_gp.errors import UserError
from seqgan_gp.provenance import versions
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.data import check_tokenizer, open_cached_text_data, open_text_data
from seqgan_gp.text.class_metrics import CLASSIFIER_PROTOCOL, ClassMetrics
from seqgan_gp.text.conditional import generate_per_class, proportional_counts
from seqgan_gp.text.inference import checkpoint_classes, load_generator
from seqgan_gp.text.metrics import BLEU_PROTOCOL, TextMetrics
from seqgan_gp.text.sampling import generate_ids

EVAL_PACKAGES = ("seqgan_gp", "numpy", "torch", "sentencepiece", "datasets", "nltk")  # nltk: what the BLEU tests compare with


def evaluate_text(target: Path, *, n: int, seed: int, device: torch.device, console: Console,
                  cache_dir: Optional[Path] = None, show_progress: bool = True) -> dict:
    """Metrics of ``n`` argmax samples of a text checkpoint; returns the metrics.json document."""
    if n < 2:
        raise UserError(f"-n {n}: self-BLEU needs at least 2 samples; pass -n 2 or more (the benchmark uses 6400)")
    path = resolve_checkpoint(Path(target))
    G, tok, cfg, meta = load_generator(path, device)
    notes = []
    try:
        data = open_text_data(cfg, console=console, cache_dir=cache_dir, show_progress=show_progress)
    except UserError as exc:
        data = open_cached_text_data(meta.get("corpus_fingerprint"), cache_dir)
        notes.append(f"corpus unavailable ({exc}); " + ("using its cached encoding" if data is not None else
                     "metrics that need the corpus (JS-n, BLEU) are left out"))
    if data is not None:
        check_tokenizer(path, cfg, meta, data)
        if data.encoding_digest != meta.get("corpus_fingerprint"):
            notes.append(f"the corpus {cfg.corpus!r} changed since training (same vocabulary); "
                         f"metrics are against its current content")
    metrics = TextMetrics(tok, data, grammar_corpus=cfg.corpus == "embedded", console=console)
    classes = checkpoint_classes(meta, cfg, path)
    if classes is None:
        ids = generate_ids(G, n, seed=seed)
    else:  # each class with its share of the corpus, so that the corpus-wide metrics compare like with like
        ids, labels = generate_per_class(G, proportional_counts(classes.probabilities(), n), seed=seed,
                                         shared_noise=False)
    values = metrics(ids)
    conditional = {}
    if classes is not None:
        conditional = {"labels": classes.to_json(), "per_class": None, "classifier_protocol": CLASSIFIER_PROTOCOL}
        if data is not None and data.classes == classes:
            scores = ClassMetrics(data, seed=cfg.seed)
            values.update(scores.accuracy(ids, labels))
            conditional["per_class"] = scores.per_class(ids, labels)
        else:
            notes.append("the labelled corpus is unavailable" if data is None else
                         "the corpus's labels differ from the checkpoint's")
            notes[-1] += "; per-class metrics (class_acc, per-class JS-n) are left out"
    doc = {
        "kind": "text", "checkpoint": str(path), "iteration": meta.get("iteration"), "corpus": cfg.corpus,
        "tokenizer": tok.kind, "samples": n, "seed": seed, "decoding": "argmax (the paper's)",
        "references": {"source": metrics.ref_source, "sentences": metrics.n_references},
        "metrics": values, "bleu_protocol": BLEU_PROTOCOL,
        "js_protocol": "paper's NgramLanguageModel.js_with over token n-grams (padding counts), samples vs all "
                       "training rows, bits",
        "versions": versions(EVAL_PACKAGES), "notes": notes, **conditional,
    }
    return doc
