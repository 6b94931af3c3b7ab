"""BLEU-n and self-BLEU-n as the text-GAN benchmark defines them, vectorised.

Texygen (Zhu et al. 2018, utils/metrics/Bleu.py and SelfBleu.py) scores generated sentences with
NLTK's ``sentence_bleu(references, hypothesis, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)`` and averages over the hypotheses:

* BLEU-n: every sample against the whole reference set (held-out sentences);
* self-BLEU-n: every sample against all the *other* samples (higher = less diverse).

For one hypothesis h with references R (Papineni et al. 2002, as NLTK computes it):

    p_k  = Σ_g min(c_h(g), max_{r∈R} c_r(g)) / max(1, Σ_g c_h(g))        over k-grams g of h
    p_k  = 0.1 / max(1, Σ_g c_h(g))        when the numerator is 0 (method1, ε = 0.1)
    BP   = 1 if |h| > r else exp(1 − r/|h|) (0 if |h| = 0),  r = the reference length closest
           to |h| (ties: the shorter)
    BLEU-n = BP · exp(Σ_{k≤n} log(p_k) / n),   and 0 when no unigram matches at all.

NLTK loops over every reference for every hypothesis (O(|H|·|R|) Python work per order; minutes
for 6,400 samples). Here n-grams become dense integer ids (rank of (id of its (k−1)-gram prefix,
last word)), the per-n-gram maximum count over references is computed once with ``np.maximum.at``,
and self-BLEU's "all others" uses the largest and second-largest count of each n-gram. The
result equals NLTK's to rounding; tests/test_text_metrics.py checks it on random cases.
Sentences are lists of tokens (we split decoded text on whitespace).
"""

from __future__ import annotations

from itertools import chain
from typing import Optional, Sequence

import numpy as np

EPSILON = 0.1  # SmoothingFunction().method1's epsilon


class NgramIndex:
    """Dense n-gram ids, n = 1..max_n, of every position of a list of token sequences."""

    def __init__(self, sentences: Sequence[Sequence], max_n: int):
        vocab: dict = {}
        flat = np.fromiter((vocab.setdefault(w, len(vocab)) for w in chain.from_iterable(sentences)),
                           dtype=np.int64)
        self.lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
        self.n_sentences = len(sentences)
        sent = np.repeat(np.arange(len(sentences)), self.lengths)
        pos = np.arange(flat.size) - np.repeat(np.cumsum(self.lengths) - self.lengths, self.lengths)
        remaining = self.lengths[sent] - pos  # tokens from this position to the end of its sentence
        W = max(len(vocab), 1)
        self.grams = {}  # n -> (sentence of each n-gram occurrence, dense n-gram id, number of ids)
        prev_full = flat
        for n in range(1, max_n + 1):
            at = np.flatnonzero(remaining >= n)
            if n == 1:
                gid, size = flat, W
            else:
                uniq, gid = np.unique(prev_full[at] * W + flat[at + n - 1], return_inverse=True)
                size = len(uniq)
            prev_full = np.full(flat.size, -1, dtype=np.int64)
            prev_full[at] = gid
            self.grams[n] = (sent[at], gid, max(size, 1))

    def sentence_counts(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sentence, n-gram id, count) for each n-gram type of each sentence."""
        sent, gid, size = self.grams[n]
        uniq, counts = np.unique(sent * size + gid, return_counts=True)
        return uniq // size, uniq % size, counts


def _closest_lengths(hyp_len: np.ndarray, ref_lens: np.ndarray) -> np.ndarray:
    """For each hypothesis length, the closest reference length (ties: the shorter)."""
    u = np.unique(ref_lens)
    i = np.searchsorted(u, hyp_len)
    above = u[np.minimum(i, len(u) - 1)]
    below = u[np.maximum(i - 1, 0)]
    has_below = i > 0
    has_above = i < len(u)
    take_below = has_below & (~has_above | (hyp_len - below <= above - hyp_len))
    return np.where(take_below, below, above)


def _closest_other_lengths(lengths: np.ndarray) -> np.ndarray:
    """Self-BLEU: for each sentence, the closest length among the *other* sentences."""
    u, counts = np.unique(lengths, return_counts=True)
    i = np.searchsorted(u, lengths)  # u[i] == lengths
    shared = counts[i] > 1
    below = np.where(i > 0, u[np.maximum(i - 1, 0)], -1)
    above = np.where(i + 1 < len(u), u[np.minimum(i + 1, len(u) - 1)], -1)
    d_below = np.where(below >= 0, lengths - below, np.iinfo(np.int64).max)
    d_above = np.where(above >= 0, above - lengths, np.iinfo(np.int64).max)
    nearest = np.where(d_below <= d_above, below, above)
    return np.where(shared, lengths, nearest)


def _scores(numer: np.ndarray, denom: np.ndarray, hyp_len: np.ndarray, ref_len: np.ndarray,
            orders: Sequence[int]) -> dict[int, np.ndarray]:
    """Per-hypothesis BLEU-n for each n in ``orders`` from the clipped counts (H, max_n)."""
    with np.errstate(divide="ignore"):
        bp = np.where(hyp_len > ref_len, 1.0,
                      np.where(hyp_len == 0, 0.0, np.exp(1.0 - ref_len / np.maximum(hyp_len, 1))))
    p = np.where(numer > 0, numer, EPSILON) / denom
    log_p = np.log(p)
    out = {}
    for n in orders:
        s = bp * np.exp(log_p[:, :n].sum(axis=1) / n)
        out[n] = np.where(numer[:, 0] > 0, s, 0.0)
    return out


def _clipped(index: NgramIndex, hyps: np.ndarray, max_ref_count, max_n: int):
    """Clipped n-gram matches and totals of the hypotheses (rows ``hyps`` of ``index``)."""
    H = len(hyps)
    numer = np.zeros((H, max_n))
    denom = np.zeros((H, max_n))
    row_of = np.full(index.n_sentences, -1, dtype=np.int64)
    row_of[hyps] = np.arange(H)
    for n in range(1, max_n + 1):
        sent, gid, count = index.sentence_counts(n)
        row = row_of[sent]
        mine = row >= 0
        clip = np.minimum(count[mine], max_ref_count(n, sent[mine], gid[mine]))
        numer[:, n - 1] = np.bincount(row[mine], weights=clip, minlength=H)
        denom[:, n - 1] = np.maximum(1, index.lengths[hyps] - n + 1)
    return numer, denom


def bleu(hypotheses: Sequence[Sequence], references: Sequence[Sequence], orders=(2, 3, 4, 5)) -> dict[int, np.ndarray]:
    """Per-hypothesis BLEU-n of every hypothesis against all ``references`` (NLTK method1)."""
    if not references:
        raise ValueError("BLEU needs at least one reference sentence")
    max_n = max(orders)
    index = NgramIndex(list(hypotheses) + list(references), max_n)
    H = len(hypotheses)
    best = {}
    for n in range(1, max_n + 1):
        sent, gid, count = index.sentence_counts(n)
        ref = sent >= H
        table = np.zeros(index.grams[n][2], dtype=np.int64)
        np.maximum.at(table, gid[ref], count[ref])
        best[n] = table
    numer, denom = _clipped(index, np.arange(H), lambda n, s, g: best[n][g], max_n)
    hyp_len = index.lengths[:H]
    return _scores(numer, denom, hyp_len, _closest_lengths(hyp_len, index.lengths[H:]), orders)


def self_bleu(samples: Sequence[Sequence], orders=(2, 3, 4, 5)) -> dict[int, np.ndarray]:
    """Per-sample BLEU-n of every sample against all the other samples (NLTK method1)."""
    if len(samples) < 2:
        raise ValueError("self-BLEU needs at least two samples")
    max_n = max(orders)
    index = NgramIndex(list(samples), max_n)
    top = {}
    for n in range(1, max_n + 1):
        sent, gid, count = index.sentence_counts(n)
        size = index.grams[n][2]
        order = np.lexsort((-count, gid))  # by n-gram, largest count first
        g_sorted, c_sorted, s_sorted = gid[order], count[order], sent[order]
        first = np.ones(len(order), bool)
        first[1:] = g_sorted[1:] != g_sorted[:-1]
        second = np.zeros(len(order), bool)
        second[1:] = first[:-1] & ~first[1:]
        top1 = np.zeros(size, np.int64)
        owner = np.full(size, -1, np.int64)
        top2 = np.zeros(size, np.int64)
        top1[g_sorted[first]], owner[g_sorted[first]] = c_sorted[first], s_sorted[first]
        top2[g_sorted[second]] = c_sorted[second]
        top[n] = (top1, owner, top2)

    def others(n, s, g):
        top1, owner, top2 = top[n]
        return np.where(owner[g] == s, top2[g], top1[g])

    numer, denom = _clipped(index, np.arange(len(samples)), others, max_n)
    return _scores(numer, denom, index.lengths, _closest_other_lengths(index.lengths), orders)


def distinct_n(sentences: Sequence[Sequence], orders=(1, 2, 3, 4)) -> dict[int, Optional[float]]:
    """Distinct-n (Li et al. 2016): distinct n-grams / all n-grams over the sentences; None (undefined, not 0)
    when the sentences hold no n-gram of that order."""
    index = NgramIndex(list(sentences), max(orders))
    out: dict[int, Optional[float]] = {}
    for n in orders:
        _, gid, _ = index.grams[n]
        out[n] = float(len(np.unique(gid)) / len(gid)) if len(gid) else None
    return out
