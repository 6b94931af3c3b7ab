"""JS-n against a direct dictionary implementation of the paper's NgramLanguageModel."""

import collections
import math

import numpy as np
import pytest

from seqgan_gp.metrics.ngram import NgramCounts, js_divergence, js_n


def direct_js(samples_a, samples_b, n):
    """language_helpers.NgramLanguageModel.js_with, written as the 2017 code does it."""

    def model(rows):
        c = collections.Counter()
        for row in rows:
            for i in range(len(row) - n + 1):
                c[tuple(row[i : i + n])] += 1
        total = sum(c.values())
        return {k: math.log(v / total) for k, v in c.items()}

    p, q = model(samples_a), model(samples_b)

    def kl(x, y):
        s = 0.0
        for g, lx in x.items():
            ly = y.get(g, -math.inf)
            lm = np.logaddexp(lx, ly) - math.log(2)
            s += math.exp(lx) * (lx - lm)
        return s

    return 0.5 * (kl(p, q) + kl(q, p)) / math.log(2)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_js_matches_dictionary_implementation(seed, n):
    rng = np.random.default_rng(seed)
    V = int(rng.integers(2, 9))
    a = rng.integers(0, V, size=(int(rng.integers(1, 40)), 9))
    b = rng.integers(0, V, size=(int(rng.integers(1, 40)), 9))
    got = js_divergence(NgramCounts.from_ids(a, n, V), NgramCounts.from_ids(b, n, V))
    assert got == pytest.approx(direct_js(a.tolist(), b.tolist(), n), abs=1e-9)


def test_js_limits():
    a = np.array([[0, 1, 2, 3]])
    assert js_n(a, a, 4)["js4"] == pytest.approx(0.0, abs=1e-12)
    b = np.array([[3, 2, 1, 0]])
    assert js_n(a, b, 4)["js4"] == pytest.approx(1.0)  # disjoint supports: 1 bit


def test_js_stays_within_its_range_and_is_undefined_without_ngrams():
    rng = np.random.default_rng(0)  # disjoint supports: the float sum gave 1.0000000000000004 before the clamp
    a, b = rng.integers(0, 25, size=(34, 32)), rng.integers(25, 50, size=(25, 32))
    assert js_n(a, b, 50) == {"js1": 1.0, "js2": 1.0, "js3": 1.0, "js4": 1.0}
    short = np.array([[0, 1, 2], [2, 1, 0]])  # three tokens a row: no 4-grams
    out = js_n(short, short, 3)
    assert out["js4"] is None and out["js3"] == pytest.approx(0.0, abs=1e-12)


def test_counts_are_those_of_contiguous_ngrams():
    c = NgramCounts.from_ids(np.array([[1, 2, 1, 2]]), 2, 3)
    # bigrams (1,2) x2 and (2,1) x1 -> codes 1*3+2=5, 2*3+1=7
    assert c.codes.tolist() == [5, 7] and c.counts.tolist() == [2, 1]
