"""``evaluate`` of a text checkpoint: the metrics of seqgan_gp.text.metrics for ``n`` argmax samples,
as the metrics.json document (the command line renders it as a table); :func:`open_eval_data` finds
the corpus a checkpoint's samples are scored against (also for language models, seqgan_gp.lm)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from rich.console import Console

from corpora.cache import EncodedCorpus
from seqgan_gp.errors import UserError
from seqgan_gp.provenance import versions
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.data import check_tokenizer, open_cached_text_data, open_text_data
from seqgan_gp.text.inference import load_generator
from seqgan_gp.text.metrics import BLEU_PROTOCOL, TextMetrics
from seqgan_gp.text.sampling import generate_ids

EVAL_PACKAGES = ("seqgan_gp", "numpy", "torch", "sentencepiece", "datasets", "nltk")  # nltk: what the BLEU tests compare with
JS_PROTOCOL = ("paper's NgramLanguageModel.js_with over token n-grams (padding counts), samples vs all training rows, "
               "bits")


def open_eval_data(path: Path, cfg, meta: dict, tok, *, console: Console, cache_dir: Optional[Path] = None,
                   show_progress: bool = True) -> tuple[Optional[EncodedCorpus], list[str]]:
    """The corpus a checkpoint was trained on, to score its samples against, and notes on how it was found:
    the corpus itself, else its cached encoding (the checkpoint's digest), else None (metrics that need it
    are left out). A corpus whose tokenizer changed is refused."""
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
    return data, notes


def evaluate_text(target: Path, *, n: int, seed: int, device: torch.device, console: Console,
                  cache_dir: Optional[Path] = None, show_progress: bool = True, ema: bool = True) -> dict:
    """Metrics of ``n`` argmax samples of a text checkpoint (of G_ema when the run kept it and ``ema``);
    returns the metrics.json document."""
    if n < 2:
        raise UserError(f"-n {n}: self-BLEU needs at least 2 samples; pass -n 2 or more (the benchmark uses 6400)")
    path = resolve_checkpoint(Path(target))
    G, tok, cfg, meta = load_generator(path, device, ema=ema)
    data, notes = open_eval_data(path, cfg, meta, tok, console=console, cache_dir=cache_dir,
                                 show_progress=show_progress)
    metrics = TextMetrics(tok, data, grammar_corpus=cfg.corpus == "embedded", console=console)
    ids = generate_ids(G, n, seed=seed)
    values = metrics(ids)
    doc = {
        "kind": "text", "checkpoint": str(path), "iteration": meta.get("iteration"), "corpus": cfg.corpus,
        "tokenizer": tok.kind, "samples": n, "seed": seed, "decoding": "argmax (the paper's)",
        "weights": meta["weights"], "references": {"source": metrics.ref_source, "sentences": metrics.n_references},
        "metrics": values, "bleu_protocol": BLEU_PROTOCOL, "js_protocol": JS_PROTOCOL,
        "versions": versions(EVAL_PACKAGES), "notes": notes,
    }
    return doc
