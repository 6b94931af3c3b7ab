"""BLEU/self-BLEU against NLTK, distinct-n, n-gram counting at scale, and the grammar metrics."""

import math

import numpy as np
import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from rich.console import Console

from corpora import grammar
from seqgan_gp.metrics.bleu import bleu, distinct_n, self_bleu
from seqgan_gp.metrics.ngram import NgramCounts, js_divergence, merge_counts
from seqgan_gp.config import with_overrides
from seqgan_gp.text.config import PRESETS
from seqgan_gp.text.data import open_text_data
from seqgan_gp.text.metrics import TextMetrics

SMOOTH = SmoothingFunction().method1


def random_sentences(rng, k, vocab, max_len):
    return [[f"w{x}" for x in rng.integers(0, vocab, size=int(rng.integers(0, max_len)))] for _ in range(k)]


@pytest.mark.parametrize("seed", range(12))
def test_bleu_equals_nltk_sentence_bleu_method1(seed):
    rng = np.random.default_rng(seed)
    V = int(rng.integers(2, 9))
    hyps, refs = random_sentences(rng, int(rng.integers(1, 20)), V, 11), random_sentences(rng, int(rng.integers(1, 20)), V, 11)
    ours = bleu(hyps, refs, orders=(2, 3, 4, 5))
    for n in (2, 3, 4, 5):
        expected = [sentence_bleu(refs, h, tuple([1 / n] * n), smoothing_function=SMOOTH) for h in hyps]
        np.testing.assert_allclose(ours[n], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_self_bleu_equals_nltk_against_all_other_samples(seed):
    rng = np.random.default_rng(100 + seed)
    samples = random_sentences(rng, int(rng.integers(2, 20)), int(rng.integers(2, 7)), 10)
    ours = self_bleu(samples, orders=(2, 3, 4, 5))
    for n in (2, 3, 4, 5):
        expected = [sentence_bleu(samples[:i] + samples[i + 1 :], h, tuple([1 / n] * n), smoothing_function=SMOOTH)
                    for i, h in enumerate(samples)]
        np.testing.assert_allclose(ours[n], expected, rtol=0, atol=1e-12)


def test_bleu_by_hand():
    same = "the cat sat on the mat".split()
    assert bleu([same], [same], orders=(2, 4))[4][0] == pytest.approx(1.0)
    assert bleu([["x", "y"]], [same], orders=(2,))[2][0] == 0.0  # no unigram matches at all
    # hyp a b c vs ref a b d e: p1 = 2/3, p2 = 1/2, p3 = 0 -> ε/1 = 0.1; BP = exp(1 - 4/3)
    got = bleu([["a", "b", "c"]], [["a", "b", "d", "e"]], orders=(2, 3))
    bp = math.exp(1 - 4 / 3)
    assert got[2][0] == pytest.approx(bp * math.sqrt(2 / 3 * 1 / 2))
    assert got[3][0] == pytest.approx(bp * (2 / 3 * 1 / 2 * 0.1) ** (1 / 3))
    # self-BLEU: "a b" vs {"a b", "c"} = 1 (twice); "c" vs {"a b", "a b"} = 0
    assert self_bleu([["a", "b"], ["a", "b"], ["c"]], orders=(2,))[2].tolist() == [1.0, 1.0, 0.0]


def test_distinct_n_by_hand():
    d = distinct_n([["a", "b", "a"], ["a"], []], orders=(1, 2, 3))
    assert d == {1: 0.5, 2: 1.0, 3: 1.0}  # unigrams a,b,a,a: 2/4; bigrams ab, ba: 2/2; trigram aba: 1/1
    assert distinct_n([["a", "b"], ["b"]], orders=(1, 2, 3)) == {1: 2 / 3, 2: 1.0, 3: None}  # no trigram: undefined


def test_chunked_and_merged_counts_equal_one_count():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 50, size=(70_001, 7)) * 3 % 97  # sparse ids, more rows than one chunk
    whole = NgramCounts.from_ids(rows[:500], 3, 97)
    again = merge_counts([NgramCounts.from_ids(rows[:200], 3, 97), NgramCounts.from_ids(rows[200:500], 3, 97)])
    assert (whole.codes == again.codes).all() and (whole.counts == again.counts).all()
    big = NgramCounts.from_ids(rows, 4, 97)  # goes through from_rows
    assert big.total == 70_001 * 4
    codes = np.zeros((70_001, 4), np.int64)
    for k in range(4):
        codes = codes * 97 + rows[:, k : 4 + k]
    u, c = np.unique(codes, return_counts=True)
    assert (big.codes == u).all() and (big.counts == c).all()
    assert js_divergence(big, big) == pytest.approx(0.0, abs=1e-12)


def test_grammar_probability_of_cut_samples_by_hand():
    # "The ca" (cut): P(Det = the) · [P(NP -> Det Noun) · P(noun starts "ca": cat, car)] = 1/4 · 1/2 · 2/8
    assert grammar.sample_log_prob("The ca", truncated=True) == pytest.approx(math.log(0.25 * 0.5 * 2 / 8))
    # "A cat ran " (cut after a space): the verb phrase must go on, with an adverb
    assert grammar.sample_log_prob("A cat ran ", truncated=True) == pytest.approx(
        math.log(0.25 * 0.5 * 0.125 * 0.3 * 0.2))
    assert grammar.sample_log_prob("A cat ran", truncated=False) == -math.inf  # complete but no full stop
    assert grammar.sample_log_prob("A cat ran.", truncated=True) == grammar.log_prob("A cat ran.")


def test_text_metrics_on_real_and_broken_rows(tmp_path):
    cfg = with_overrides(PRESETS["tiny"], embedded_size=3000, seed=4)
    data = open_text_data(cfg, console=Console(quiet=True), cache_dir=tmp_path, show_progress=False)
    tok = data.tokenizer
    metrics = TextMetrics(tok, data, grammar_corpus=True)
    real = np.asarray(data.train[:400])
    out = metrics(real)
    assert out["valid400"] == 1.0 and out["js1_400"] < 0.01 and out["bleu2_400"] > 0.5  # named with the count
    texts, full = tok.decode(real), real[:, -1] != tok.pad_id
    nll = -np.mean([grammar.sample_log_prob(t, truncated=bool(f)) for t, f in zip(texts, full)])
    assert out["nll400"] == pytest.approx(nll) and out["nll_data"] == pytest.approx(metrics.nll_data)
    assert metrics.ref_source == "heldout" and metrics.n_references == 2000
    broken = np.random.default_rng(0).integers(0, tok.vocab_size, size=(200, real.shape[1]))
    bad = metrics(broken)
    assert bad["valid200"] < 0.05 and bad["js2_200"] > out["js2_400"] + 0.3 and bad["bleu2_200"] < out["bleu2_400"]
    assert 0 <= bad["self_bleu2_200"] <= 1 and 0 < bad["distinct1_200"] <= 1
    assert set(out) >= {f"{m}{n}_400" for m in ("bleu", "self_bleu") for n in (2, 3, 4, 5)} | {
        "js4_400", "distinct4_400", "unique_samples400"}
