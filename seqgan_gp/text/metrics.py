"""Text metrics of a generator: what training logs every ``--eval-every`` and ``evaluate`` reports.

For n argmax samples (the paper's decoding) of a generator, each name carrying n
(seqgan_gp.metrics.counts: ``js4_640`` is JS-4 of 640 samples, the paper's protocol):

* ``js1``..``js4``: Jensen-Shannon divergence of token n-gram distributions, samples vs the whole
  training corpus (the paper's "true" n-gram models; seqgan_gp.metrics.ngram);
* ``bleu2``..``bleu5``: Texygen's BLEU of each sample against the reference sentences (the
  corpus's validation set, else its first training sentences), averaged; ``self_bleu2``..
  ``self_bleu5``: each sample against the other samples (seqgan_gp.metrics.bleu). Both over
  whitespace-separated words of the decoded text, whatever the tokenizer;
* ``distinct1``..``distinct4``: distinct word n-grams / all word n-grams (null when the samples hold
  no n-gram of that order, as js``n`` for rows shorter than n); ``unique_samples``: the
  share of distinct sample strings;
* embedded grammar corpus only: ``valid``, the share of samples the grammar can produce (a sample
  that fills the sequence may be a cut sentence), and ``nll``, the mean exact negative
  log-likelihood in nats of the valid samples under the grammar (corpora.grammar), next to
  ``nll_data``, the same for the validation sentences encoded as training data is (no count: it is
  not of samples).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from typing import Optional

import numpy as np
from rich.console import Console

from corpora import grammar
from corpora.cache import EncodedCorpus
from seqgan_gp.metrics.bleu import bleu, distinct_n, self_bleu
from seqgan_gp.metrics.counts import base_name, count_of, with_count
from seqgan_gp.metrics.ngram import NgramCounts, js_n
from seqgan_gp.text.data import HELDOUT_MAX
from seqgan_gp.text.sampling import generate_ids

NGRAM_ORDERS = (1, 2, 3, 4)

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
    "class_acc": "share of samples a classifier of real rows assigns to their class",
    "class_acc_real": "the classifier's accuracy on held-out real rows (reference)",
}


def words(texts: list[str]) -> list[list[str]]:
    return [t.split() for t in texts]


class TextMetrics:
    """Reference statistics computed once; calling it scores a batch of sample rows."""

    def __init__(self, tokenizer, data: Optional[EncodedCorpus], *, grammar_corpus: bool,
                 console: Optional[Console] = None):
        self.tok, self.grammar = tokenizer, grammar_corpus
        self.ngrams = reference_ngrams(data, console) if data is not None else None
        self.ref_words, self.ref_source = None, None
        self.nll_data = None
        if data is not None:
            ref_ids, self.ref_source = references(data)
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
        """The metrics of the sample rows ``ids``, each named with their number (``js4_640``)."""
        ids = np.asarray(ids)
        n = len(ids)
        raw = self._raw(ids)
        return {k if k == "nll_data" else with_count(k, n): v for k, v in raw.items()}

    def _raw(self, ids: np.ndarray) -> dict:
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


def references(encoded: EncodedCorpus, limit: int = HELDOUT_MAX) -> tuple[np.ndarray, str]:
    """Rows to score BLEU against: the validation set, else the first training sentences."""
    if encoded.heldout is not None:
        return np.asarray(encoded.heldout[:limit]), "heldout"
    return np.asarray(encoded.train[:limit]), "train"


def reference_ngrams(encoded: EncodedCorpus, console: Optional[Console] = None) -> dict[int, NgramCounts]:
    """The paper's "true" n-gram models: counts over ALL training rows, cached in the corpus's entry."""
    path = encoded.path / "ngrams.npz"
    V = encoded.tokenizer.vocab_size
    try:
        with np.load(path) as z:
            if str(z["digest"]) == encoded.encoding_digest:
                return {n: NgramCounts(z[f"codes{n}"], z[f"counts{n}"]) for n in NGRAM_ORDERS}
    except (OSError, KeyError, ValueError, EOFError):
        pass
    t0 = time.perf_counter()
    counts = {n: NgramCounts.from_rows(encoded.train, n, V) for n in NGRAM_ORDERS}
    arrays = {"digest": np.array(encoded.encoding_digest)}
    for n, c in counts.items():
        arrays[f"codes{n}"], arrays[f"counts{n}"] = c.codes, c.counts
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    tmp = path.with_name(f".ngrams.{hashlib.sha1(str(time.time()).encode()).hexdigest()[:8]}.npz")
    try:
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only cache: counts are recomputed next time
    if console is not None and time.perf_counter() - t0 > 2:
        console.print(f"n-gram reference counts of {len(encoded.train):,} sentences: {time.perf_counter() - t0:.1f} s "
                      f"(cached in {path})")
    return counts


class TextEvaluator:
    """What training calls every --eval-every: argmax samples from fresh noise, then the metrics."""

    def __init__(self, cfg, G, data: EncodedCorpus, console: Optional[Console] = None):
        self.cfg, self.G = cfg, G
        self.metrics = TextMetrics(data.tokenizer, data, grammar_corpus=cfg.corpus == "embedded", console=console)

    def __call__(self, iteration: int) -> dict:
        ids = generate_ids(self.G, self.cfg.eval_samples, seed=(self.cfg.seed * 1_000_003 + iteration + 7) % 2**63)
        return self.metrics(ids)


def describe(name: str) -> str:
    """What a metric of :class:`TextMetrics` means, for the evaluate table."""
    base, count = base_name(name), count_of(name)
    order = re.fullmatch(r"(self_bleu|bleu|distinct|js)(\d)", base)
    text = DESCRIPTIONS[order[1]].format(n=order[2]) if order else DESCRIPTIONS.get(base, "")
    return f"{text}, {count} samples" if text and count else text
