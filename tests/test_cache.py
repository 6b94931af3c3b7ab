"""The encoded-corpus cache: exact encodings, reuse, invalidation, damage, and bad corpora."""

import json
import os
import random
import time

import numpy as np
import pytest

from corpora import CorpusError, billion_word
from corpora.cache import CACHE_VERSION, _clean_stale_builds, find_entry, prepare, verify
from corpora.encode import EncodeSpec, Progress, encode_rows, fit_tokenizer
from corpora.sources import TextFilesSource, billion_word_source, open_source
from corpora.tokenizers import CharCounts, WordTokenizer


class Notes(Progress):
    def __init__(self):
        self.notes, self.stages = [], []

    def note(self, message):
        self.notes.append(message)

    def stage(self, name, total_bytes):
        self.stages.append(name)


def write_billion_word(root, shards, heldout=("held out one .", "held out two .")):
    train = root / billion_word.TRAIN_DIR
    train.mkdir(parents=True)
    for i, data in enumerate(shards, start=1):
        (train / f"news.en-{i:05d}-of-00100").write_bytes(data)
    held = root / billion_word.HELDOUT_DIR
    held.mkdir()
    (held / "news.en.heldout-00000-of-00050").write_text("".join(h + "\n" for h in heldout), encoding="utf-8")
    return root


def test_billion_word_cache_is_the_papers_preprocessing(tmp_path):
    shard1 = "The cat sat on the mat .\nA long line that is much longer than sixteen characters\n\nzz\n".encode()
    shard2 = b"caf\xc3\xa9 cr\xc3\xa8me\nbad \xff byte\n"  # UTF-8, then one undecodable byte
    root = write_billion_word(tmp_path / "bw", [shard1, shard2])
    spec = EncodeSpec(tokenizer="char", vocab_size=12, seq_len=16, max_examples=None)
    enc = prepare(billion_word_source(root), spec, tmp_path / "cache")
    # the paper's reading: blank line kept, "\xff" -> U+FFFD
    lines = [line for chunk in billion_word_source(root).train(None) for line in chunk.lines]
    assert lines[2] == "" and lines[-1] == "bad \ufffd byte"
    counts = CharCounts(16)
    counts.add(lines)
    expected = counts.tokenizer(12)
    assert enc.tokenizer.chars == expected.chars
    assert enc.train.dtype == np.uint16 and enc.train.shape == (6, 16)
    assert (np.asarray(enc.train) == expected.encode(lines)).all()
    s = enc.stats
    assert s["rows"] == 6 and s["lines"] == 6 and s["replaced"] == 1
    assert s["tokens"] == sum(min(len(l), 16) for l in lines)
    assert s["truncated"] == sum(len(l) > 16 for l in lines) == 2
    in_vocab = set(expected.chars)
    assert s["unknown"] == sum(c not in in_vocab for l in lines for c in l[:16])
    # the held-out shards are the validation set, encoded with the same vocabulary
    assert enc.heldout.shape == (2, 16)
    assert expected.decode(np.asarray(enc.heldout)) == expected.decode(expected.encode(["held out one .", "held out two ."]))


def test_one_pass_char_encoding_equals_counting_then_encoding(tmp_path):
    rng = random.Random(5)
    alphabet = b"aabbc `\r\t" + bytes([0xC3, 0xA9, 0xFF, 0xE2, 0x82, 0xAC])
    for trial in range(12):
        lines = [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(rng.randint(5, 200))]
        path = tmp_path / f"c{trial}.txt"
        path.write_bytes(b"\n".join(lines) + b"\n")
        for keep_blank in (True, False):
            source = TextFilesSource([path], "t", keep_blank=keep_blank)
            spec = EncodeSpec(vocab_size=rng.randint(2, 10), seq_len=rng.randint(2, 24), max_examples=rng.choice([None, 40]))
            enc = prepare(source, spec, tmp_path / "cache", force=True)
            tok = fit_tokenizer(source, spec, Progress())
            stats = encode_rows(source.train(spec.max_examples), tok, spec, tmp_path / "two.ids", np.dtype("<u2"), Progress())
            assert enc.tokenizer.chars == tok.chars
            assert (np.asarray(enc.train) == np.fromfile(tmp_path / "two.ids", "<u2").reshape(-1, spec.seq_len)).all()
            assert {k: enc.stats[k] for k in ("rows", "tokens", "unknown", "truncated", "replaced")} == \
                   {k: stats[k] for k in ("rows", "tokens", "unknown", "truncated", "replaced")}


def test_second_use_opens_the_cache_and_a_changed_corpus_is_encoded_again(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"sentence {i}\n" for i in range(500)), encoding="utf-8")
    spec = EncodeSpec(seq_len=12, vocab_size=30)
    first = prepare(open_source(str(corpus)), spec, tmp_path / "cache")
    assert first.built
    t0 = time.perf_counter()
    again = prepare(open_source(str(corpus)), spec, tmp_path / "cache")
    assert not again.built and time.perf_counter() - t0 < 0.5
    assert again.path == first.path and (np.asarray(again.train) == np.asarray(first.train)).all()
    assert again.encoding_digest == first.encoding_digest
    assert find_entry(tmp_path / "cache", first.encoding_digest).path == first.path  # without the corpus
    with open(corpus, "a", encoding="utf-8") as f:
        f.write("one more sentence\n")
    notes = Notes()
    changed = prepare(open_source(str(corpus)), spec, tmp_path / "cache", progress=notes)
    assert changed.built and changed.train.shape[0] == 501 and changed.encoding_digest != first.encoding_digest
    assert any("changed since it was encoded" in n for n in notes.notes)
    # another tokenizer or length is another entry, next to this one
    words = prepare(open_source(str(corpus)), EncodeSpec(tokenizer="word", seq_len=4, vocab_size=100), tmp_path / "cache")
    assert words.path != changed.path and isinstance(words.tokenizer, WordTokenizer)
    assert words.tokenizer.decode(np.asarray(words.train[:2])) == ["sentence 0", "sentence 1"]


@pytest.mark.parametrize("damage, reason", [
    (lambda e: e.joinpath("meta.json").write_text("{not json"), "meta.json is damaged"),
    (lambda e: e.joinpath("meta.json").unlink(), "meta.json is missing"),
    (lambda e: _set_meta(e, version=CACHE_VERSION - 1), f"cache format v{CACHE_VERSION - 1}"),
    (lambda e: _truncate(e / "train.ids"), "wrong size"),
    (lambda e: _flip_byte(e / "train.ids"), "does not match its checksum"),
    (lambda e: _set_meta(e, tokenizer={"kind": "bytes"}), "meta.json is damaged"),
])
def test_damaged_or_foreign_cache_is_rebuilt_not_trusted(tmp_path, damage, reason):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"line number {i} here\n" for i in range(300)), encoding="utf-8")
    spec = EncodeSpec(seq_len=10)
    good = prepare(open_source(str(corpus)), spec, tmp_path / "cache")
    expected = np.array(good.train)
    damage(good.path)
    notes = Notes()
    rebuilt = prepare(open_source(str(corpus)), spec, tmp_path / "cache", progress=notes)
    assert rebuilt.built and (np.asarray(rebuilt.train) == expected).all()
    assert any(reason in n and "encoding again" in n for n in notes.notes), notes.notes
    assert verify(rebuilt) == []


def test_verify_reads_every_byte(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"{i} abc\n" for i in range(40_000)), encoding="utf-8")
    enc = prepare(open_source(str(corpus)), EncodeSpec(seq_len=8), tmp_path / "cache")
    assert verify(enc) == []
    path = enc.path / "train.ids"
    data = bytearray(path.read_bytes())
    data[len(data) // 2 + 4097] ^= 1  # between the sampled blocks
    path.write_bytes(bytes(data))
    assert verify(enc) == ["train.ids"]


def test_bad_corpora_get_clear_errors(tmp_path):
    (tmp_path / "blank.txt").write_text("\n  \n\n")
    with pytest.raises(CorpusError, match="empty"):
        prepare(open_source(str(tmp_path / "blank.txt")), EncodeSpec(), tmp_path / "cache")
    (tmp_path / "long.txt").write_text("a" * 50 + "\n" + "b\n")
    spec = EncodeSpec(seq_len=10, long_lines="drop", min_tokens=2)
    with pytest.raises(CorpusError, match=r"no line of usable length: of 2 lines, 1 have fewer than --min-tokens 2 "
                                          r"tokens and 1 are longer than --seq-len 10"):
        prepare(open_source(str(tmp_path / "long.txt")), spec, tmp_path / "cache")
    for tok in ("word", "sentencepiece"):
        with pytest.raises(CorpusError, match="empty"):
            prepare(open_source(str(tmp_path / "blank.txt")), EncodeSpec(tokenizer=tok), tmp_path / "cache")
    assert not [p for p in (tmp_path / "cache").iterdir()]  # failed builds leave nothing behind


def test_long_and_short_lines_can_be_dropped(tmp_path):
    (tmp_path / "c.txt").write_text("a b c d e f\na b\na\na b c\n")
    enc = prepare(open_source(str(tmp_path / "c.txt")), EncodeSpec(tokenizer="word", seq_len=3, vocab_size=20,
                                                                   long_lines="drop", min_tokens=2), tmp_path / "cache")
    assert enc.tokenizer.decode(np.asarray(enc.train)) == ["a b", "a b c"]
    assert (enc.stats["too_long"], enc.stats["too_short"], enc.stats["truncated"]) == (1, 1, 0)


def test_max_examples_cuts_the_papers_reading_exactly(tmp_path):
    root = write_billion_word(tmp_path / "bw", ["".join(f"line {i}\n" for i in range(100)).encode()] * 3)
    enc = prepare(billion_word_source(root), EncodeSpec(seq_len=8, max_examples=150), tmp_path / "cache")
    assert enc.train.shape == (150, 8)
    assert enc.tokenizer.decode(np.asarray(enc.train[[0, 99, 100, 149]])) == ["line 0", "line 99", "line 0", "line 49"]


def test_interrupted_builds_of_dead_processes_are_cleaned(tmp_path):
    (tmp_path / ".entry.tmp-999999999-abcd").mkdir()
    (tmp_path / f".entry.tmp-{os.getpid()}-abcd").mkdir()
    _clean_stale_builds(tmp_path, "entry")
    assert [p.name for p in tmp_path.iterdir()] == [f".entry.tmp-{os.getpid()}-abcd"]


def _set_meta(entry, **changes):
    meta = json.loads((entry / "meta.json").read_text())
    meta.update(changes)
    (entry / "meta.json").write_text(json.dumps(meta))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-7])


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
