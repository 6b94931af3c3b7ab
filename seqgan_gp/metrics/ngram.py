"""Jensen–Shannon divergence between n-gram distributions (the paper's JS-n; SPEC.md).

As ``language_helpers.NgramLanguageModel``: the n-gram model of a set of token rows counts every
contiguous n-gram of every row (no begin/end markers; padding counts), p(g) = count(g) / total.

    JS(p, q) = ½ [KL(p ‖ m) + KL(q ‖ m)] / ln 2,   m = (p + q) / 2        (bits, in [0, 1])

with each KL summed over the n-grams its first argument assigns mass to. Instead of Python tuples
and dictionaries we encode an n-gram of ids below V as the integer Σ_k id_k·V^k and count codes
with ``numpy.unique``; the two count tables are merged with ``searchsorted``. The reference
model of a large corpus is counted in chunks of rows and merged (:meth:`NgramCounts.from_rows`),
so memory follows the number of distinct n-grams, not the corpus size.
"""

from __future__ import annotations

import numpy as np


class NgramCounts:
    """Sorted unique n-gram codes and their counts for one set of rows."""

    def __init__(self, codes: np.ndarray, counts: np.ndarray):
        self.codes, self.counts = codes, counts
        self.total = int(counts.sum())

    @classmethod
    def from_ids(cls, ids: np.ndarray, n: int, vocab_size: int) -> "NgramCounts":
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 2:
            raise ValueError("ids must be (N, L)")
        if vocab_size ** n >= 2 ** 63:
            raise ValueError(f"{n}-grams over {vocab_size} ids do not fit in int64 codes")
        L = ids.shape[1]
        if L < n:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))
        codes = np.zeros((ids.shape[0], L - n + 1), dtype=np.int64)
        for k in range(n):
            codes = codes * vocab_size + ids[:, k : L - n + 1 + k]
        uniq, counts = np.unique(codes.ravel(), return_counts=True)
        return cls(uniq, counts)

    @classmethod
    def from_rows(cls, rows, n: int, vocab_size: int, chunk_rows: int = 250_000) -> "NgramCounts":
        """Counts over an (N, L) array too large to code at once (e.g. a memory map), chunk by chunk."""
        total = cls(np.zeros(0, np.int64), np.zeros(0, np.int64))
        for start in range(0, len(rows), chunk_rows):
            total = total.merge(cls.from_ids(np.asarray(rows[start : start + chunk_rows]), n, vocab_size))
        return total

    def merge(self, other: "NgramCounts") -> "NgramCounts":
        """The counts of both sets of rows together."""
        if not len(self.codes):
            return other
        if not len(other.codes):
            return self
        uniq, inverse = np.unique(np.concatenate([self.codes, other.codes]), return_inverse=True)
        weights = np.concatenate([self.counts, other.counts]).astype(np.float64)  # exact below 2**53
        return NgramCounts(uniq, np.bincount(inverse, weights, minlength=len(uniq)).astype(np.int64))


def _kl_to_mixture(p: NgramCounts, q: NgramCounts) -> float:
    """KL(p ‖ (p+q)/2) in nats, summed over p's n-grams."""
    if p.total == 0:
        return 0.0
    log_p = np.log(p.counts) - np.log(p.total)
    pos = np.searchsorted(q.codes, p.codes)
    pos_c = pos.clip(0, max(len(q.codes) - 1, 0))
    hit = (pos < len(q.codes)) & (q.codes[pos_c] == p.codes) if len(q.codes) else np.zeros(len(p.codes), bool)
    log_q = np.full(len(p.codes), -np.inf)
    if q.total:
        log_q[hit] = np.log(q.counts[pos_c[hit]]) - np.log(q.total)
    log_m = np.logaddexp(log_p, log_q) - np.log(2.0)
    return float(np.sum(np.exp(log_p) * (log_p - log_m)))


def js_divergence(p: NgramCounts, q: NgramCounts) -> float:
    """JS(p, q) in bits, as the paper's ``js_with``."""
    return 0.5 * (_kl_to_mixture(p, q) + _kl_to_mixture(q, p)) / np.log(2.0)


def js_n(samples: np.ndarray, reference: dict[int, NgramCounts] | np.ndarray, vocab_size: int,
         orders=(1, 2, 3, 4)) -> dict[str, float]:
    """``{"js1": ..., "js4": ...}`` of sample rows against reference rows (or their counts)."""
    out = {}
    for n in orders:
        ref = reference[n] if isinstance(reference, dict) else NgramCounts.from_ids(reference, n, vocab_size)
        out[f"js{n}"] = js_divergence(NgramCounts.from_ids(samples, n, vocab_size), ref)
    return out
