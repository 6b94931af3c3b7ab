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

from typing import Optional

import numpy as np

CHUNK_ROWS = 65_536  # rows coded and counted at once

def sorted_counts(codes: np.ndarray, bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their counts, as ``np.unique(return_counts=True)``.

    With ``bins`` (values lie in [0, bins)) up to 2^22, one ``bincount``; otherwise one sort and
    a diff, several times faster than numpy's own ``unique`` on tens of millions of codes.
    """
    if bins is not None and bins <= 1 << 22:
        counts = np.bincount(codes, minlength=bins)
        uniq = np.flatnonzero(counts)
        return uniq, counts[uniq]
    s = np.sort(codes)
    if not s.size:
        return s, np.zeros(0, np.int64)
    first = np.empty(s.size, dtype=bool)
    first[0] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return s[starts], np.diff(starts, append=s.size)


class NgramCounts:
    """Sorted unique n-gram codes and their counts for one set of rows."""

    def __init__(self, codes: np.ndarray, counts: np.ndarray):
        self.codes, self.counts = codes, counts
        self.total = int(counts.sum())

    @classmethod
    def from_ids(cls, ids: np.ndarray, n: int, vocab_size: int) -> "NgramCounts":
        """Counts of every contiguous n-gram of every row of ``ids`` (N, L).

        The code of an n-gram is Σ_k id_k·V^(n−1−k) with V = ``vocab_size`` (comparable across
        sets of rows). To count fast, the ids present are first ranked densely (U of them) and
        coded with base U, in 32 bits when U^n allows it; the distinct compact codes are then
        turned back into V-codes (the ranking keeps their order).
        """
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError("ids must be (N, L)")
        if vocab_size ** n >= 2 ** 63:
            raise ValueError(f"{n}-grams over {vocab_size} ids do not fit in int64 codes")
        if len(ids) > CHUNK_ROWS:  # cache-sized blocks, merged: faster than one huge sort
            return cls.from_rows(ids, n, vocab_size)
        N, L = ids.shape
        if L < n or N == 0:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))
        used = np.flatnonzero(np.bincount(ids.ravel(), minlength=vocab_size))  # ids present, sorted
        U = len(used)
        rank = np.zeros(max(vocab_size, int(used[-1]) + 1), dtype=np.int64)
        rank[used] = np.arange(U)
        dtype = np.uint32 if U ** n < 2 ** 32 else np.int64
        dense = rank.astype(dtype)[ids]
        W = L - n + 1
        codes = dense[:, 0:W].copy()
        for k in range(1, n):
            codes *= dtype(U)
            codes += dense[:, k : W + k]
        compact, counts = sorted_counts(codes.ravel(), bins=U ** n)
        digits = np.zeros(len(compact), dtype=np.int64)  # back to V-codes, digit by digit
        rest = compact.astype(np.int64)
        place = 1
        for _ in range(n):
            digits += used[rest % U] * place
            rest //= U
            place *= vocab_size
        return cls(digits, counts)

    @classmethod
    def from_rows(cls, rows, n: int, vocab_size: int, chunk_rows: int = None) -> "NgramCounts":
        """Counts over an (N, L) array too large to code at once (e.g. a memory map), chunk by chunk.

        Chunk counts wait in a list and are merged when they outnumber the running total, so each
        n-gram is merged O(log N) times and memory stays near twice the distinct n-grams.
        """
        chunk_rows = chunk_rows or CHUNK_ROWS
        total = cls(np.zeros(0, np.int64), np.zeros(0, np.int64))
        pending: list[NgramCounts] = []
        for start in range(0, len(rows), chunk_rows):
            pending.append(cls.from_ids(np.asarray(rows[start : start + chunk_rows]), n, vocab_size))
            if sum(len(p.codes) for p in pending) >= len(total.codes):
                total, pending = merge_counts([total, *pending]), []
        return merge_counts([total, *pending])

    def merge(self, other: "NgramCounts") -> "NgramCounts":
        """The counts of both sets of rows together."""
        return merge_counts([self, other])


def merge_counts(parts: list[NgramCounts]) -> NgramCounts:
    """Counts of several sets of rows together."""
    parts = [p for p in parts if len(p.codes)]
    if len(parts) <= 1:
        return parts[0] if parts else NgramCounts(np.zeros(0, np.int64), np.zeros(0, np.int64))
    codes = np.concatenate([p.codes for p in parts])
    counts = np.concatenate([p.counts for p in parts])
    order = np.argsort(codes, kind="stable")
    codes, counts = codes[order], counts[order]
    starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
    return NgramCounts(codes[starts], np.add.reduceat(counts, starts))


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
    """JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, in bits, as the paper's ``js_with``.

    It lies in [0, 1]; the sum of floating-point terms can land an ulp or two outside (1.0000000000000004
    for disjoint supports), so the value is clamped to that range here, where it is made.
    """
    value = 0.5 * (_kl_to_mixture(p, q) + _kl_to_mixture(q, p)) / np.log(2.0)
    return float(min(max(value, 0.0), 1.0))


def js_n(samples: np.ndarray, reference: dict[int, NgramCounts] | np.ndarray, vocab_size: int,
         orders=(1, 2, 3, 4)) -> dict[str, Optional[float]]:
    """``{"js1": ..., "js4": ...}`` of sample rows against reference rows (or their counts); None where the
    samples or the reference hold no n-gram of that order (rows shorter than n): the divergence is undefined."""
    out: dict[str, Optional[float]] = {}
    for n in orders:
        ref = reference[n] if isinstance(reference, dict) else NgramCounts.from_ids(reference, n, vocab_size)
        mine = NgramCounts.from_ids(samples, n, vocab_size)
        out[f"js{n}"] = js_divergence(mine, ref) if mine.total and ref.total else None
    return out
