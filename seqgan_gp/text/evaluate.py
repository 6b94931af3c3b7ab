"""Text metrics of a generator: what training logs every ``--eval-every`` and ``evaluate`` reports.

For argmax samples (the paper's decoding) of a generator:

* ``js1``..``js4``: Jensen-Shannon divergence of token n-gram distributions, samples vs the whole
  training corpus (the paper's "true" n-gram models; seqgan_gp.metrics.ngram);
* ``bleu2``..``bleu5``: Texygen's BLEU of each sample against the reference sentences (the
  corpus's validation set, else its first training sentences), averaged; ``self_bleu2``..
  ``self_bleu5``: each sample against the other samples (seqgan_gp.metrics.bleu). Both over
  whitespace-separated words of the decoded text, whatever the tokenizer;
* ``distinct1``..``distinct4``: distinct word n-grams / all word n-grams; ``unique_samples``: the
  share of distinct sample strings;
* embedded grammar corpus only: ``valid``, the share of samples the grammar can produce (a sample
  that fills the sequence may be a cut sentence), and ``nll``, the mean exact negative
  log-likelihood in nats of the valid samples under the grammar (corpora.grammar), next to
  ``nll_data``, the same for the validation sentences encoded as training data is.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from corpora import grammar
from seqgan_gp.atomic import atomic_write_text
from seqgan_gp.errors import UserError
from seqgan_gp.metrics.bleu import bleu, distinct_n, self_bleu
from seqgan_gp.metrics.ngram import js_n
from seqgan_gp.provenance import versions
from seqgan_gp.rundir import resolve_checkpoint
from seqgan_gp.text.data import (
    TextData,
    check_tokenizer,
    open_cached_text_data,
    open_text_data,
)
from seqgan_gp.text.sampling import generate_ids

BLEU_ORDERS = (2, 3, 4, 5)
DISTINCT_ORDERS = (1, 2, 3, 4)
BLEU_PROTOCOL = ("Texygen definitions: mean over samples of NLTK-style sentence BLEU-n, weights 1/n, "
                 "SmoothingFunction().method1 (epsilon 0.1), closest reference length; self-BLEU: each sample "
                 "vs all other samples; words = whitespace split of the decoded text; vectorised "
                 "seqgan_gp.metrics.bleu, equal to nltk.translate.bleu_score.sentence_bleu to 1e-12 (tests)")

DESCRIPTIONS = {
    "js": "JS of {n}-gram distributions vs the corpus (bits, lower better)",
    "bleu": "BLEU-{n} vs references (higher: closer to the data)",
    "self_bleu": "self-BLEU-{n} among samples (lower: more diverse)",
    "distinct": "distinct / all word {n}-grams",
    "unique_samples": "share of distinct samples",
    "valid": "share of samples the grammar can produce",
    "nll": "mean exact NLL of valid samples under the grammar (nats)",
    "nll_data": "the same for validation sentences (reference)",
}


def words(texts: list[str]) -> list[list[str]]:
    return [t.split() for t in texts]


class TextMetrics:
    """Reference statistics computed once; calling it scores a batch of sample rows."""

    def __init__(self, tokenizer, data: Optional[TextData], *, grammar_corpus: bool,
                 console: Optional[Console] = None):
        self.tok, self.grammar = tokenizer, grammar_corpus
        self.ngrams = data.reference_ngrams(console) if data is not None else None
        self.ref_words, self.ref_source = None, None
        self.nll_data = None
        if data is not None:
            ref_ids, self.ref_source = data.references()
            self.ref_words = words(self.tok.decode(ref_ids))
            if grammar_corpus:
                valid, nll = self._grammar(ref_ids)
                self.nll_data = nll
        self.n_references = len(self.ref_words) if self.ref_words is not None else 0

    def _grammar(self, ids: np.ndarray) -> tuple[float, Optional[float]]:
        texts = self.tok.decode(ids)
        full = np.asarray(ids)[:, -1] != self.tok.pad_id  # filled the sequence: may be a cut sentence
        logp = np.array([grammar.sample_log_prob(t, truncated=bool(f)) for t, f in zip(texts, full)])
        ok = np.isfinite(logp)
        return float(ok.mean()), (float(-logp[ok].mean()) if ok.any() else None)

    def __call__(self, ids: np.ndarray) -> dict:
        ids = np.asarray(ids)
        out: dict = {}
        if self.ngrams is not None:
            out.update(js_n(ids, self.ngrams, self.tok.vocab_size))
        texts = self.tok.decode(ids)
        sample_words = words(texts)
        if self.ref_words:
            out.update({f"bleu{n}": float(s.mean()) for n, s in bleu(sample_words, self.ref_words, BLEU_ORDERS).items()})
        if len(sample_words) > 1:
            out.update({f"self_bleu{n}": float(s.mean()) for n, s in self_bleu(sample_words, BLEU_ORDERS).items()})
        out.update({f"distinct{n}": v for n, v in distinct_n(sample_words, DISTINCT_ORDERS).items()})
        out["unique_samples"] = len(set(texts)) / max(len(texts), 1)
        if self.grammar:
            out["valid"], out["nll"] = self._grammar(ids)
            out["nll_data"] = self.nll_data
        return out


class TextEvaluator:
    """What training calls every --eval-every: argmax samples from fresh noise, then the metrics."""

    def __init__(self, cfg, G, data: TextData, console: Optional[Console] = None):
        self.cfg, self.G = cfg, G
        self.metrics = TextMetrics(data.tokenizer, data, grammar_corpus=data.is_grammar, console=console)

    def __call__(self, iteration: int) -> dict:
        ids = generate_ids(self.G, self.cfg.eval_samples, seed=self.cfg.seed * 1_000_003 + iteration + 7)
        return self.metrics(ids)


def describe(name: str) -> str:
    for prefix in ("self_bleu", "bleu", "distinct", "js"):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return DESCRIPTIONS[prefix].format(n=name[len(prefix):])
    return DESCRIPTIONS.get(name, "")


EVAL_PACKAGES = ("seqgan_gp", "numpy", "torch", "sentencepiece", "datasets", "nltk")  # nltk: what the BLEU tests compare with


def evaluate_text(target: Path, *, n: int, seed: int, device: torch.device, console: Console,
                  cache_dir: Optional[Path] = None, show_progress: bool = True) -> dict:
    """Metrics of ``n`` argmax samples of a text checkpoint; returns the metrics.json document."""
    from seqgan_gp.text.train import load_generator  # train imports this module

    if n < 2:
        raise UserError(f"-n {n}: self-BLEU needs at least 2 samples; pass -n 2 or more (the benchmark uses 6400)")
    path = resolve_checkpoint(Path(target))
    G, tok, cfg, meta = load_generator(path, device)
    notes = []
    try:
        data = open_text_data(cfg, console=console, cache_dir=cache_dir, show_progress=show_progress)
    except UserError as exc:
        data = open_cached_text_data(cfg, meta.get("corpus_fingerprint"), cache_dir)
        notes.append(f"corpus unavailable ({exc}); " + ("using its cached encoding" if data is not None else
                     "metrics that need the corpus (JS-n, BLEU) are left out"))
    if data is not None:
        check_tokenizer(path, cfg, meta, data)
        if data.fingerprint != meta.get("corpus_fingerprint"):
            notes.append(f"the corpus {cfg.corpus!r} changed since training (same vocabulary); "
                         f"metrics are against its current content")
    metrics = TextMetrics(tok, data, grammar_corpus=cfg.corpus == "embedded", console=console)
    ids = generate_ids(G, n, seed=seed)
    values = metrics(ids)
    doc = {
        "kind": "text", "checkpoint": str(path), "iteration": meta.get("iteration"), "corpus": cfg.corpus,
        "tokenizer": tok.kind, "samples": n, "seed": seed, "decoding": "argmax (the paper's)",
        "references": {"source": metrics.ref_source, "sentences": metrics.n_references},
        "metrics": values, "bleu_protocol": BLEU_PROTOCOL,
        "js_protocol": "paper's NgramLanguageModel.js_with over token n-grams (padding counts), samples vs all "
                       "training rows, bits",
        "versions": versions(EVAL_PACKAGES), "notes": notes,
    }
    return doc


def metrics_table(doc: dict) -> Table:
    table = Table(title=f"{doc['kind']} metrics: {doc['samples']} samples of {Path(doc['checkpoint']).name} "
                        f"(iteration {doc.get('iteration')})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for name, value in doc["metrics"].items():
        shown = "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
        table.add_row(name, shown, describe(name))
    return table


def write_metrics(doc: dict, out: Path) -> None:
    atomic_write_text(Path(out), json.dumps(doc, indent=2) + "\n")
