"""Corpora in their real formats, and the paper's character preprocessing."""

import math

import numpy as np
import pytest

from corpora import CorpusError, billion_word, grammar
from corpora.cache import prepare
from corpora.encode import EncodeSpec
from corpora.sources import billion_word_source, open_source
from corpora.tokenizers import PAD, CharCounts, tokenizer_from_json


def write_billion_word(root, shards):
    """A tiny One Billion Word tree in the distributed layout."""
    train = root / billion_word.TRAIN_DIR
    train.mkdir(parents=True)
    for i, lines in enumerate(shards, start=1):
        (train / f"news.en-{i:05d}-of-00100").write_text("".join(l + "\n" for l in lines), encoding="utf-8")
    held = root / billion_word.HELDOUT_DIR
    held.mkdir()
    (held / "news.en.heldout-00000-of-00050").write_text("held out one .\nheld out two .\n", encoding="utf-8")
    return root


def lines_of(chunks):
    return [line for chunk in chunks for line in chunk.lines]


def test_billion_word_reads_shards_in_order_and_caps_examples(tmp_path):
    root = write_billion_word(tmp_path, [["first line .", "second line ."], ["third line ."]])
    source = billion_word_source(root)
    assert lines_of(source.train(None)) == ["first line .", "second line .", "third line ."]
    assert lines_of(source.train(2)) == ["first line .", "second line ."]
    assert lines_of(source.heldout(None)) == ["held out one .", "held out two ."]


def test_paper_preprocessing_truncates_pads_caps_vocab_and_marks_unknowns(tmp_path):
    root = write_billion_word(tmp_path, [["aaaa bb", "abcdefghijk", "a"]])
    enc = prepare(billion_word_source(root), EncodeSpec(seq_len=5, vocab_size=4), tmp_path / "cache")
    tok = enc.tokenizer
    # padded rows: "aaaa ", "abcde", "a````" -> counts a:6, `:4, b:1 c:1 d:1 e:1 ' ':1
    # the first 3 characters by frequency (ties: first seen) take ids 1..3, the rest are unknown (0)
    assert tok.chars == ["a", PAD, " "]
    ids = np.asarray(enc.train)
    assert ids.shape == (3, 5)
    assert ids.tolist() == [[1, 1, 1, 1, 3], [1, 0, 0, 0, 0], [1, 2, 2, 2, 2]]
    assert (tok.encode(["aaaa bb", "abcdefghijk", "a"]) == ids).all()
    assert tok.decode(ids) == ["aaaa ", "a\ufffd\ufffd\ufffd\ufffd", "a"]
    assert (enc.stats["unknown"], enc.stats["truncated"], enc.stats["tokens"]) == (4, 2, 11)


def test_tokenizer_round_trips_through_json():
    counts = CharCounts(8)
    counts.add(["hello world", "héllo"])
    tok = counts.tokenizer(50)
    again = tokenizer_from_json(tok.to_json())
    assert again.chars == tok.chars and again.seq_len == 8
    assert again.decode(again.encode(["héllo wo"])) == ["héllo wo"]


@pytest.mark.parametrize("make, expected", [
    (lambda p: None, "no such directory"),
    (lambda p: p.mkdir(), "no training-monolingual.tokenized.shuffled/"),
    (lambda p: (p / billion_word.TRAIN_DIR).mkdir(parents=True), "news.en-00001-of-00100 is missing"),
])
def test_billion_word_missing_layout_names_it(tmp_path, make, expected):
    make(tmp_path / "bw")
    with pytest.raises(CorpusError, match=expected):
        billion_word.check_layout(tmp_path / "bw")


def test_text_file_errors_and_replacement(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        open_source(str(tmp_path / "missing.txt"))
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(CorpusError, match="no non-empty lines"):
        prepare(open_source(str(tmp_path / "empty.txt")), EncodeSpec(), tmp_path / "cache")
    (tmp_path / "bin.txt").write_bytes(b"\x01\x02\x03\x04abc")
    with pytest.raises(CorpusError, match="binary"):
        open_source(str(tmp_path / "bin.txt"))
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 ok\nsecond\r\n")
    enc = prepare(open_source(str(tmp_path / "bad.txt")), EncodeSpec(seq_len=8), tmp_path / "cache")
    assert enc.tokenizer.decode(np.asarray(enc.train)) == ["caf\ufffd ok", "second"] and enc.stats["replaced"] == 1


def test_grammar_is_deterministic_and_its_sentences_are_valid():
    a, b = grammar.generate(300, seed=4), grammar.generate(300, seed=4)
    assert a == b and a != grammar.generate(300, seed=5)
    assert all(grammar.is_valid(s) for s in a)


def test_grammar_probability_is_exact():
    # S -> NP VP (1) ; NP -> Det Noun (0.5) ; VP -> IVerb (0.3); uniform words: 1/4 det, 1/8 noun, 1/5 verb
    assert grammar.log_prob("A cat ran.") == pytest.approx(math.log(0.5 * 0.25 * 0.125 * 0.3 * 0.2))
    assert grammar.log_prob("A cat ran") == -math.inf  # no full stop
    assert grammar.log_prob("Cat a ran.") == -math.inf


def test_grammar_validity_of_truncated_and_broken_samples():
    assert grammar.is_valid("The big dog saw a sm", truncated=True)
    assert not grammar.is_valid("The big dog saw a sm")  # not truncated: must be a whole sentence
    assert not grammar.is_valid("The big dgo saw", truncated=True)
    assert not grammar.is_valid("the cat ran.")  # capital letter required
    assert not grammar.is_valid("")
