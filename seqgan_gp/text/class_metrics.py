"""Per-class metrics of a conditional text generator (seqgan_gp.text.conditional).

* ``class_acc``: the share of samples generated for class k that a classifier trained on the real
  data (seqgan_gp.text.classifier) assigns to class k, over all samples and per class; beside it
  ``class_acc_real``, the same classifier's accuracy on real rows it was not trained on: what a
  generator that renders every class as well as the data would score;
* per class, ``js1``..``js4``: JS-n of the samples of class k against all training rows of class k
  (seqgan_gp.metrics.ngram, the paper's definition).

:class:`ConditionalEvaluator` is what a conditional run logs every ``--eval-every``: the text
metrics of samples whose classes follow the corpus's shares, and ``class_acc``.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from corpora.cache import EncodedCorpus
from seqgan_gp.metrics.ngram import CHUNK_ROWS, NgramCounts, js_divergence, merge_counts
from seqgan_gp.text.classifier import NgramClassifier, per_class_accuracy, split_rows
from seqgan_gp.text.conditional import generate_per_class, proportional_counts
from seqgan_gp.text.metrics import NGRAM_ORDERS, TextMetrics

CLASSIFIER_PROTOCOL = ("multinomial logistic regression on the bag of token 1-3-grams (padding included), "
                       "full-batch Adam from zero weights, trained on up to 20,000 training rows and tested on up "
                       "to 5,000 other training rows drawn with the seed; class_acc: share of samples generated "
                       "for class k classified as k")


class ClassMetrics:
    """The classifier of a labelled corpus, trained once; calling it scores generated rows of known classes."""

    def __init__(self, data: EncodedCorpus, *, seed: int = 0):
        if data.labels is None:
            raise ValueError("per-class metrics need a labelled corpus")
        self.data, self.classes = data, data.classes
        K, V = len(self.classes), data.tokenizer.vocab_size
        train, test = split_rows(len(data.train), seed)  # sorted indices: kind reads of the memory maps
        self.classifier = NgramClassifier(V, K).fit(np.asarray(data.train[train]),
                                                    np.asarray(data.labels[train], dtype=np.int64))
        truth = np.asarray(data.labels[test], dtype=np.int64)
        predicted = self.classifier.predict(np.asarray(data.train[test]))
        self.real_rows, self.real_acc = per_class_accuracy(predicted, truth, K)
        self.real_overall = float((predicted == truth).mean())
        self.trained_on = len(train)
        self._ngrams: Optional[list[dict[int, NgramCounts]]] = None

    def accuracy(self, ids: np.ndarray, labels: np.ndarray) -> dict:
        """``class_acc`` of generated rows ``ids`` (N, L) of classes ``labels`` (N,), and ``class_acc_real``."""
        predicted = self.classifier.predict(ids)
        return {"class_acc": float((predicted == np.asarray(labels)).mean()), "class_acc_real": self.real_overall}

    def per_class(self, ids: np.ndarray, labels: np.ndarray) -> dict:
        """``{name: {samples, class_acc, class_acc_real, real_rows_tested, rows, js1..js4}}`` per class."""
        labels = np.asarray(labels, dtype=np.int64)
        K, V = len(self.classes), self.data.tokenizer.vocab_size
        rows, acc = per_class_accuracy(self.classifier.predict(ids), labels, K)
        references = self.class_ngrams()
        out = {}
        for k, name in enumerate(self.classes.names):
            mine = ids[labels == k]
            entry = {"samples": int(rows[k]), "class_acc": _float(acc[k]), "class_acc_real": _float(self.real_acc[k]),
                     "real_rows_tested": int(self.real_rows[k]), "rows": int(self.classes.counts[k])}
            for n in NGRAM_ORDERS:
                entry[f"js{n}"] = (js_divergence(NgramCounts.from_ids(mine, n, V), references[k][n])
                                   if len(mine) else None)
            out[name] = entry
        return out

    def class_ngrams(self) -> list[dict[int, NgramCounts]]:
        """Each class's n-gram counts over all its training rows, counted in chunks of rows."""
        if self._ngrams is None:
            K, V = len(self.classes), self.data.tokenizer.vocab_size
            parts: list[dict[int, list[NgramCounts]]] = [{n: [] for n in NGRAM_ORDERS} for _ in range(K)]
            for start in range(0, len(self.data.train), CHUNK_ROWS):
                rows = np.asarray(self.data.train[start : start + CHUNK_ROWS])
                labels = np.asarray(self.data.labels[start : start + CHUNK_ROWS])
                for k in np.unique(labels).tolist():
                    for n in NGRAM_ORDERS:
                        parts[k][n].append(NgramCounts.from_ids(rows[labels == k], n, V))
                        if len(parts[k][n]) > 8:  # merge as it goes: memory follows the distinct n-grams
                            parts[k][n] = [merge_counts(parts[k][n])]
            self._ngrams = [{n: merge_counts(p[n]) for n in NGRAM_ORDERS} for p in parts]
        return self._ngrams


def _float(x) -> Optional[float]:
    return None if x is None or np.isnan(x) else float(x)


class ConditionalEvaluator:
    """Training's evaluation of a conditional run: ``eval_samples`` argmax samples, class k's share of
    them as its share of the corpus, scored by seqgan_gp.text.metrics and :meth:`ClassMetrics.accuracy`."""

    def __init__(self, cfg, G, data: EncodedCorpus, console=None):
        self.cfg, self.G = cfg, G
        self.metrics = TextMetrics(data.tokenizer, data, grammar_corpus=cfg.corpus == "embedded", console=console)
        self.classes = ClassMetrics(data, seed=cfg.seed)
        self.counts = proportional_counts(data.classes.probabilities(), cfg.eval_samples)

    def __call__(self, iteration: int) -> dict:
        ids, labels = generate_per_class(self.G, self.counts, seed=self.cfg.seed * 1_000_003 + iteration + 7,
                                         shared_noise=False)
        return {**self.metrics(ids), **self.classes.accuracy(ids, labels)}
