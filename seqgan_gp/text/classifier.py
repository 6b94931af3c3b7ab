"""A small classifier of token rows, trained on a labelled corpus to judge conditional samples.

The accuracy of a conditional generator's samples under a classifier trained on the real data is
a critic-independent measure of how well each class is rendered (the critic's own class head is
trained together with the generator and can be fooled by it). The classifier is a multinomial
logistic regression on the bag of token n-grams (n = 1, 2, 3) of a row, so it works for any
tokenizer:

    p(y | x) = softmax(b + (1/F) Σ_f W[g_f])        g_1..g_F: every contiguous n-gram of the row

over the :data:`MAX_FEATURES` most frequent n-grams of its training rows (n-grams it never saw
weigh nothing). Padding counts like any token, so a row's length is a feature too. It is trained
by full-batch Adam from zero weights for a fixed number of steps (the loss is convex) on rows
drawn from the corpus's training rows with a fixed seed, and tested on other training rows: the
same rows, features and weights on every run, in a few seconds for 20,000 rows (scipy sparse
products; the gradient is written out, X^T (softmax − onehot) / N).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ORDERS = (1, 2, 3)
TRAIN_ROWS = 20_000  # training rows the classifier learns from (at most)
TEST_ROWS = 5_000  # other training rows its accuracy on real data is measured on (at most)
STEPS = 150  # full-batch Adam steps
LR = 0.5  # Adam's learning rate
BETAS = (0.9, 0.999)
WEIGHT_DECAY = 1e-6  # L2 penalty λ·‖W‖² in the loss
MAX_WEIGHTS = 1 << 22  # n-grams x classes: 32 MB of float64 weights at most


def ngram_codes(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """(N, F) uint64 codes of every contiguous n-gram (n in :data:`ORDERS`) of every row of ``ids`` (N, L).

    An n-gram's code is n·V^n + Σ_k id_k·V^(n−1−k): the order in front, so that n-grams of
    different orders never share a code (below 2^64 for V ≤ 55,108, the text models' cap).
    """
    ids = np.asarray(ids).astype(np.uint64)
    N, L = ids.shape
    V = np.uint64(vocab_size)
    cols = []
    for n in ORDERS:
        W = L - n + 1
        if W < 1:
            continue
        code = np.full((N, W), n, dtype=np.uint64)
        for k in range(n):
            code = code * V + ids[:, k : k + W]
        cols.append(code)
    return np.concatenate(cols, axis=1)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class NgramClassifier:
    """Logistic regression on the n-grams of token rows, over ``n_classes`` classes."""

    vocab_size: int
    n_classes: int
    features: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # sorted n-gram codes
    weight: np.ndarray = None  # (len(features) + 1, K); the last row is the unseen n-grams' (zero)
    bias: np.ndarray = None  # (K,)

    def _design(self, ids: np.ndarray):
        """The sparse (N, len(features) + 1) matrix of n-gram shares of the rows of ``ids``."""
        from scipy import sparse

        codes = ngram_codes(ids, self.vocab_size)
        N, F = codes.shape
        col = np.searchsorted(self.features, codes.ravel())
        col = np.minimum(col, len(self.features) - 1) if len(self.features) else np.zeros_like(col)
        seen = (self.features[col] == codes.ravel()) if len(self.features) else np.zeros(col.shape, bool)
        col = np.where(seen, col, len(self.features))
        X = sparse.csr_matrix((np.full(N * F, 1.0 / F), (np.repeat(np.arange(N), F), col)),
                              shape=(N, len(self.features) + 1))
        X.sum_duplicates()
        return X

    def fit(self, ids: np.ndarray, labels: np.ndarray, *, steps: int = STEPS) -> "NgramClassifier":
        """Train on rows ``ids`` (N, L) of classes ``labels`` (N,): full-batch Adam from zero weights."""
        codes = ngram_codes(ids, self.vocab_size).ravel()
        uniq, counts = np.unique(codes, return_counts=True)
        keep = max(1, MAX_WEIGHTS // self.n_classes)
        if len(uniq) > keep:  # the most frequent n-grams (ties: smaller code), in code order
            uniq = np.sort(uniq[np.lexsort((uniq, -counts))[:keep]])
        self.features = uniq
        X = self._design(ids)
        XT = X.T.tocsr()
        y = np.asarray(labels, dtype=np.int64)
        onehot = np.zeros((len(y), self.n_classes))
        onehot[np.arange(len(y)), y] = 1.0
        params = [np.zeros((X.shape[1], self.n_classes)), np.zeros(self.n_classes)]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        b1, b2 = BETAS
        for t in range(1, steps + 1):
            W, b = params
            delta = (softmax(X @ W + b) - onehot) / len(y)  # ∂ mean CE / ∂ logits, (N, K)
            grads = [XT @ delta + 2 * WEIGHT_DECAY * W, delta.sum(axis=0)]
            grads[0][-1] = 0.0  # the unseen n-grams keep weight zero
            for p, g, m_, v_ in zip(params, grads, m, v):
                m_ *= b1
                m_ += (1 - b1) * g
                v_ *= b2
                v_ += (1 - b2) * g * g
                p -= LR * (m_ / (1 - b1 ** t)) / (np.sqrt(v_ / (1 - b2 ** t)) + 1e-8)
        self.weight, self.bias = params
        return self

    def predict(self, ids: np.ndarray, batch_rows: int = 65_536) -> np.ndarray:
        """The most probable class of every row of ``ids`` (N, L), (N,) int64."""
        out = [np.asarray((self._design(np.asarray(ids[i : i + batch_rows])) @ self.weight + self.bias).argmax(1))
               for i in range(0, len(ids), batch_rows)]
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def split_rows(n: int, seed: int, train_rows: int = TRAIN_ROWS, test_rows: int = TEST_ROWS):
    """Sorted indices of the classifier's training rows and of its test rows among ``n`` rows (disjoint,
    drawn with ``seed``); a fifth of the draw is tested when the corpus is small."""
    m = min(n, train_rows + test_rows)
    picked = np.random.default_rng(seed).choice(n, size=m, replace=False)
    n_test = min(test_rows, max(1, m // 5))
    return np.sort(picked[n_test:]), np.sort(picked[:n_test])


def per_class_accuracy(predicted: np.ndarray, labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows of each class, share of them predicted as their class), (K,) each; NaN for a class without rows."""
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.bincount(labels, minlength=n_classes)
    hits = np.bincount(labels[predicted == labels], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return rows, np.where(rows > 0, hits / np.maximum(rows, 1), np.nan)
