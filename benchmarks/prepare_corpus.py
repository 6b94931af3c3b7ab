"""Corpus preparation: our streaming encoder vs the paper's list-of-tuples pipeline.

Generates a corpus in the real One Billion Word layout (training-monolingual.tokenized.shuffled/
news.en-000NN-of-00100, tokenized English-like news sentences, a few non-ASCII characters) in a
temporary directory, then prepares it twice, each in its own subprocess so that peak RSS
(VmHWM of that process) is measured alone:

* ``ours``: corpora.cache.prepare with the paper's character tokenizer (two streaming passes,
  memory-mapped uint16 ids on disk);
* ``baseline``: the reference code's ``language_helpers.load_dataset`` written out plainly
  (every line a tuple of characters padded to 32 in a Python list, shuffled, a Counter over all
  characters, every line rewritten through the vocabulary), as the paper's pipeline does.

Throughput is megabytes of raw text per second of the preparation call (interpreter start-up
excluded for both); each pipeline runs ``--repeat`` times (fresh process each time) and the best
time is kept, as ``timeit`` does, so a busy machine does not decide the ratio. Prints a rich
table and the same numbers as JSON.

    python benchmarks/prepare_corpus.py                 # 1,000,000 lines (the issue's minimum)
    python benchmarks/prepare_corpus.py --lines 200000  # quicker
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SHARDS = 10  # the corpus is spread over the first SHARDS training shards, as the real one is


def generate_corpus(root: Path, lines: int, seed: int = 0) -> int:
    """``lines`` tokenized sentences over ``SHARDS`` shards in the 1B Word layout; returns bytes."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    freq = 1.0 / np.arange(1, 27) ** 0.9
    vocab = ["".join(rng.choice(letters, size=int(rng.integers(1, 11)), p=freq / freq.sum())) for _ in range(20_000)]
    vocab[:12] = ["the", ",", ".", "of", "to", "and", "a", "in", '"', "'s", "that", "for"]
    vocab[100:104] = ["café", "naïve", "€", "Zürich"]  # 1B Word has a little non-ASCII text
    vocab = np.array(vocab, dtype=object)
    zipf = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    zipf /= zipf.sum()
    folder = root / "training-monolingual.tokenized.shuffled"
    folder.mkdir(parents=True)
    total = 0
    per_shard = -(-lines // SHARDS)
    for shard in range(SHARDS):
        n = min(per_shard, lines - shard * per_shard)
        lengths = np.clip(rng.normal(25, 11, size=n).astype(int), 3, 120)
        words = vocab[rng.choice(len(vocab), size=int(lengths.sum()), p=zipf)]
        ends = np.cumsum(lengths)
        text = "\n".join(" ".join(words[e - k : e]).capitalize() for e, k in zip(ends, lengths)) + "\n"
        data = text.encode("utf-8")
        (folder / f"news.en-{shard + 1:05d}-of-00100").write_bytes(data)
        total += len(data)
    return total


# Peak RSS of this process: VmHWM of /proc/self/status (Linux). ru_maxrss is not used where
# VmHWM exists, because Linux carries the parent's resident size over fork+exec into it.
PEAK = r"""
def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

OURS = PEAK + r"""
import json, sys, time
sys.path.insert(0, {root!r})
from corpora.cache import EncodeSpec, prepare
from corpora.sources import billion_word_source
t0 = time.perf_counter()
enc = prepare(billion_word_source({data!r}), EncodeSpec(tokenizer="char", vocab_size=2048, seq_len=32,
              max_examples=10_000_000), {cache!r}, force=True)
seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds, "rows": int(enc.train.shape[0]), "vocab": enc.tokenizer.vocab_size,
                  "crc32": enc.meta["arrays"]["train"]["crc32"], "peak_rss_mb": peak_rss_mb()}}))
"""

# The reference code's language_helpers.load_dataset(max_length=32, max_n_examples=1e7,
# max_vocab_size=2048), written out plainly in Python 3.
BASELINE = PEAK + r"""
import collections, json, sys, time
import numpy as np
t0 = time.perf_counter()
max_length, max_n_examples, max_vocab_size = 32, 10_000_000, 2048
lines, finished = [], False
for i in range(99):
    path = {data!r} + "/training-monolingual.tokenized.shuffled/news.en-{{}}-of-00100".format(str(i + 1).zfill(5))
    try:
        f = open(path, "r", encoding="utf-8", errors="replace", newline="\n")
    except FileNotFoundError:
        continue
    with f:
        for line in f:
            line = tuple(line[:-1])
            if len(line) > max_length:
                line = line[:max_length]
            lines.append(line + (("`",) * (max_length - len(line))))
            if len(lines) == max_n_examples:
                finished = True
                break
    if finished:
        break
np.random.shuffle(lines)
counts = collections.Counter(char for line in lines for char in line)
charmap, inv_charmap = {{"unk": 0}}, ["unk"]
for char, count in counts.most_common(max_vocab_size - 1):
    if char not in charmap:
        charmap[char] = len(inv_charmap)
        inv_charmap.append(char)
filtered_lines = []
for line in lines:
    filtered_lines.append(tuple(char if char in charmap else "unk" for char in line))
seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds, "rows": len(filtered_lines), "vocab": len(charmap),
                  "peak_rss_mb": peak_rss_mb()}}))
"""


def run_child(code: str, timeout: float) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000, help="sentences in the generated corpus")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each pipeline; the fastest counts")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed per measurement")
    ap.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    args = ap.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench_corpus_") as tmp:
        data, cache = Path(tmp) / "1b", Path(tmp) / "cache"
        t0 = time.perf_counter()
        nbytes = generate_corpus(data, args.lines)
        console.print(f"generated {args.lines:,} lines, {nbytes / 1e6:.1f} MB in the 1B Word layout "
                      f"({time.perf_counter() - t0:.1f} s)")
        runs = {"ours": [], "baseline": []}
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            runs["ours"].append(run_child(OURS.format(root=str(ROOT), data=str(data), cache=str(cache)), args.timeout))
            runs["baseline"].append(run_child(BASELINE.format(data=str(data)), args.timeout))
        ours, base = (dict(min(runs[k], key=lambda r: r["seconds"])) for k in ("ours", "baseline"))
        ours["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs["ours"])  # conservative both ways
        base["peak_rss_mb"] = min(r["peak_rss_mb"] for r in runs["baseline"])
        for k in runs:
            console.print(f"{k}: " + ", ".join(f"{r['seconds']:.2f} s / {r['peak_rss_mb']:.0f} MB" for r in runs[k]))
    for r in (ours, base):
        r["mb_per_s"] = nbytes / 1e6 / r["seconds"]
    assert ours["rows"] == base["rows"] == args.lines, (ours, base)
    result = {"lines": args.lines, "megabytes": nbytes / 1e6, "repeat": args.repeat, "ours": ours, "baseline": base,
              "speedup": base["seconds"] / ours["seconds"],
              "memory_ratio": base["peak_rss_mb"] / ours["peak_rss_mb"],
              "targets": {"speedup": 10, "memory_ratio": 5}}
    table = Table(title=f"prepare {args.lines:,} lines ({nbytes / 1e6:.0f} MB), char tokenizer, seq_len 32")
    for col in ("pipeline", "seconds", "MB/s", "peak RSS (MB)"):
        table.add_column(col, justify="right" if col != "pipeline" else "left")
    table.add_row("ours: streaming, memory-mapped ids", f"{ours['seconds']:.1f}", f"{ours['mb_per_s']:.1f}",
                  f"{ours['peak_rss_mb']:.0f}")
    table.add_row("baseline: list of tuples (paper)", f"{base['seconds']:.1f}", f"{base['mb_per_s']:.1f}",
                  f"{base['peak_rss_mb']:.0f}")
    table.add_row("ratio (target)", "", f"{result['speedup']:.1f}x (>= 10x)", f"{result['memory_ratio']:.1f}x less (>= 5x)")
    console.print(table)
    console.print_json(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
