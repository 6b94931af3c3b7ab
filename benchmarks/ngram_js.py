"""JS-4 between 640 samples and a 1M-sentence corpus: vectorised codes vs Python dictionaries.

The paper's evaluation (gan_language.py, SPEC.md) builds a 4-gram model of the whole corpus and
of 640 argmax samples, then their Jensen-Shannon divergence. Its ``NgramLanguageModel`` counts
tuples in a dictionary; seqgan_gp.metrics.ngram codes each n-gram as one integer and counts with
a sort. Both run here on the same data, in their own representation (the paper's: every sentence
a tuple of characters; ours: an (N, 32) array of ids), and must agree to 1e-9. Each is timed
``--repeat`` times, interleaved, and the fastest run counts.

The corpus: sentences in the One Billion Word style (benchmarks/prepare_corpus.py's generator),
encoded by the paper's character tokenizer into 32 ids a sentence; the "samples": 640 corpus
sentences with a tenth of their characters replaced at random (a model half-way there).

    python benchmarks/ngram_js.py                      # 1,000,000 sentences
    python benchmarks/ngram_js.py --sentences 200000   # quicker
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.prepare_corpus import generate_corpus  # noqa: E402
from corpora.cache import EncodeSpec, prepare  # noqa: E402
from corpora.sources import billion_word_source  # noqa: E402
from seqgan_gp.metrics.ngram import NgramCounts, js_divergence  # noqa: E402


class DictNgramModel:
    """The paper's language_helpers.NgramLanguageModel, written out: a dictionary of tuples."""

    def __init__(self, n, samples):
        self.n = n
        self.counts = collections.defaultdict(int)
        self.total = 0
        for sentence in samples:
            for i in range(len(sentence) - n + 1):
                self.counts[sentence[i : i + n]] += 1
                self.total += 1

    def log_likelihood(self, ngram):
        count = self.counts.get(ngram, 0)
        return np.log(count) - np.log(self.total) if count else -np.inf

    def js_with(self, p):
        log_p = np.array([p.log_likelihood(g) for g in p.counts])
        log_q = np.array([self.log_likelihood(g) for g in p.counts])
        log_m = np.logaddexp(log_p - np.log(2), log_q - np.log(2))
        kl_p_m = np.sum(np.exp(log_p) * (log_p - log_m))
        log_p = np.array([p.log_likelihood(g) for g in self.counts])
        log_q = np.array([self.log_likelihood(g) for g in self.counts])
        log_m = np.logaddexp(log_p - np.log(2), log_q - np.log(2))
        kl_q_m = np.sum(np.exp(log_q) * (log_q - log_m))
        return 0.5 * (kl_p_m + kl_q_m) / np.log(2)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=1_000_000, help="sentences in the reference corpus")
    ap.add_argument("--samples", type=int, default=640, help="sample sentences (paper: 640)")
    ap.add_argument("--n", type=int, default=4, help="n-gram order (paper's headline: 4)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each implementation; the fastest counts")
    ap.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    args = ap.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench_js_") as tmp:
        generate_corpus(Path(tmp) / "1b", args.sentences)
        enc = prepare(billion_word_source(Path(tmp) / "1b"), EncodeSpec(vocab_size=2048, seq_len=32), Path(tmp) / "c")
        ids = np.array(enc.train)
        tok = enc.tokenizer
    V = tok.vocab_size
    rng = np.random.default_rng(0)
    samples = ids[rng.choice(len(ids), args.samples, replace=False)].copy()
    noise = rng.random(samples.shape) < 0.1
    samples[noise] = rng.integers(0, V, size=int(noise.sum()))

    # the paper's representation: every sentence a tuple of characters (pad and 'unk' included)
    table = np.array(["unk"] + tok.chars, dtype=object)
    corpus_tuples = [tuple(table[row]) for row in ids]
    sample_tuples = [tuple(table[row]) for row in samples]

    t_ours, t_dict = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine load
        t0 = time.perf_counter()
        ref = NgramCounts.from_ids(ids, args.n, V)
        ours = js_divergence(NgramCounts.from_ids(samples, args.n, V), ref)
        t_ours.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        true_lm = DictNgramModel(args.n, corpus_tuples)
        theirs = DictNgramModel(args.n, sample_tuples).js_with(true_lm)
        t_dict.append(time.perf_counter() - t0)
        del true_lm
    console.print("vectorised: " + ", ".join(f"{t:.2f} s" for t in t_ours) +
                  "; dictionary: " + ", ".join(f"{t:.2f} s" for t in t_dict))
    t_ours, t_dict = min(t_ours), min(t_dict)

    assert abs(ours - theirs) < 1e-9, (ours, theirs)
    result = {"sentences": len(ids), "samples": args.samples, "n": args.n, "js": ours, "js_dict": float(theirs),
              "distinct_ngrams": int(len(ref.codes)), "seconds_vectorised": t_ours, "seconds_dict": t_dict,
              "speedup": t_dict / t_ours, "target_speedup": 20, "repeat": args.repeat,
              "numpy": np.__version__}
    out = Table(title=f"JS-{args.n}: {args.samples} samples vs {len(ids):,} sentences "
                      f"({len(ref.codes):,} distinct {args.n}-grams)")
    for col in ("implementation", "seconds", f"JS-{args.n}"):
        out.add_column(col, justify="left" if col == "implementation" else "right")
    out.add_row("ours: integer codes, sort-count (seqgan_gp.metrics.ngram)", f"{t_ours:.2f}", f"{ours:.12f}")
    out.add_row("paper: dictionary of tuples (NgramLanguageModel)", f"{t_dict:.2f}", f"{theirs:.12f}")
    out.add_row("speedup (target >= 20x)", f"{result['speedup']:.1f}x", "")
    console.print(out)
    console.print_json(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
