"""``evaluate`` of a text checkpoint: the metrics of seqgan_gp.text.metrics for ``n`` argmax samples,
as the metrics.json document (the command line renders it as a table).

By default ``n`` is the paper's protocol, 640 samples (gan_language.py scores JS-1..4 of 10 batches of
64 every 100 iterations); BLEU and the other metrics use the same samples. Every metric's name
carries ``n`` (``js4_640``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from rich.console import Console

from seqgan_gp.errors import UserError
from seqgan_gp.provenance import versions
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.data import check_tokenizer, open_cached_text_data, open_text_data
from seqgan_gp.text.inference import load_generator
from seqgan_gp.text.metrics import BLEU_PROTOCOL, TextMetrics
from seqgan_gp.text.sampling import generate_ids

EVAL_PACKAGES = ("seqgan_gp", "numpy", "torch", "sentencepiece", "datasets", "nltk")  # nltk: what the BLEU tests compare with
PAPER_SAMPLES = 640  # gan_language.py: JS-n of 10 x 64 argmax samples


def evaluate_text(target: Path, *, n: Optional[int] = None, seed: int, device: torch.device, console: Console,
                  cache_dir: Optional[Path] = None, show_progress: bool = True) -> dict:
    """Metrics of ``n`` argmax samples (None: the paper's 640) of a text checkpoint; returns the
    metrics.json document."""
    protocol = "the paper's: JS-n of 640 argmax samples (gan_language.py)" if n is None else f"-n {n}"
    n = PAPER_SAMPLES if n is None else n
    if n < 2:
        raise UserError(f"-n {n}: self-BLEU needs at least 2 samples; pass -n 2 or more (the paper's protocol: "
                        f"{PAPER_SAMPLES}, the default)")
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
    ids = generate_ids(G, n, seed=seed)
    values = metrics(ids)
    doc = {
        "kind": "text", "checkpoint": str(path), "iteration": meta.get("iteration"), "corpus": cfg.corpus,
        "tokenizer": tok.kind, "samples": n, "counts": {"samples": n}, "protocol": protocol, "seed": seed,
        "decoding": "argmax (the paper's)",
        "references": {"source": metrics.ref_source, "sentences": metrics.n_references},
        "metrics": values, "bleu_protocol": BLEU_PROTOCOL,
        "js_protocol": "paper's NgramLanguageModel.js_with over token n-grams (padding counts), samples vs all "
                       "training rows, bits",
        "versions": versions(EVAL_PACKAGES), "notes": notes,
    }
    return doc
