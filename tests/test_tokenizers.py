"""Word and sentencepiece tokenizers, and the vectorised character paths against the plain ones."""

import json
import random

import numpy as np
import pytest

from corpora import grammar
from corpora.rows import PAD, pad_joined, pad_raw, pad_rows
from corpora.tokenizers import CharCounts, SentencePieceTokenizer, WordCounts, tokenizer_from_json


def word_vocab(lines, *, seq_len, vocab_size):
    """The vocabulary pass of the word tokenizer (corpora.encode.fit_tokenizer), on a list."""
    counts = WordCounts(seq_len)
    counts.add(lines)
    return counts.tokenizer(vocab_size)


def test_word_vocabulary_is_most_frequent_words_with_unk_and_pad():
    lines = ["b a b", "c a b", "d"]  # b:3, a:2, then c and d tie at 1: first seen (c) wins
    tok = word_vocab(lines, seq_len=3, vocab_size=5)
    assert tok.words == ["b", "a", "c"] and tok.vocab_size == 5
    ids, lengths = tok.encode_lengths(["a b c d e", "d", ""])
    # <unk> = 0, <pad> = 1, b = 2, a = 3, c = 4; rows cut at 3 tokens, padded with 1
    assert ids.tolist() == [[3, 2, 4], [0, 1, 1], [1, 1, 1]] and lengths.tolist() == [5, 1, 0]
    assert tok.decode(ids) == ["a b c", "<unk>", ""]
    again = tokenizer_from_json(json.loads(json.dumps(tok.to_json())))
    assert again.words == tok.words and again.decode(ids) == tok.decode(ids)


def test_word_tokens_named_like_special_tokens_do_not_collide():
    tok = word_vocab(["<pad> x x", "<unk> y"], seq_len=2, vocab_size=10)
    assert "<pad>" not in tok.words and "<unk>" not in tok.words
    assert tok.encode(["<pad> x"]).tolist() == [[0, 2]]


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_sentencepiece_trains_round_trips_and_travels_in_json(model_type):
    lines = grammar.generate(800, seed=3)
    tok = SentencePieceTokenizer.train(lines, seq_len=24, vocab_size=60, model_type=model_type)
    assert 10 < tok.vocab_size <= 60  # --vocab-size is an upper bound
    assert tok.sp.id_to_piece(0) == "<unk>" and tok.sp.id_to_piece(1) == "<pad>"
    ids, lengths = tok.encode_lengths(lines[:50])
    assert ids.shape == (50, 24) and ids.dtype == np.int32
    short = lengths <= 24
    assert short.any() and tok.decode(ids[short]) == [l for l, s in zip(lines[:50], short) if s]  # exact text back
    assert all((row[n:] == 1).all() for row, n in zip(ids, np.minimum(lengths, 24)))  # padded with <pad>
    doc = json.loads(json.dumps(tok.to_json()))  # the model's bytes, base64, nothing else needed
    again = tokenizer_from_json(doc)
    assert again.vocab_size == tok.vocab_size and (again.encode(lines[:50]) == ids).all()
    assert again.decode(ids) == tok.decode(ids)


def test_sentencepiece_training_failure_is_a_value_error():
    with pytest.raises(ValueError):
        SentencePieceTokenizer.train(iter(()), seq_len=8, vocab_size=50)


def test_streaming_char_counts_equal_one_pass_over_all_lines():
    rng = random.Random(0)
    lines = ["".join(rng.choice("aab c`é€") for _ in range(rng.randint(0, 12))) for _ in range(300)]
    all_at_once = CharCounts(8)
    all_at_once.add(lines)
    whole = all_at_once.tokenizer(6)
    counts = CharCounts(8)
    for i in range(0, 300, 7):  # uneven chunks
        counts.add(lines[i : i + 7])
    assert counts.tokenizer(6).chars == whole.chars
    # by hand: counts over padded rows, ties by first appearance
    padded = "".join(l[:8].ljust(8, PAD) for l in lines)
    freq = {}
    for i, c in enumerate(padded):
        n, first = freq.get(c, (0, i))
        freq[c] = (n + 1, first)
    assert whole.chars == sorted(freq, key=lambda c: (-freq[c][0], freq[c][1]))[:5]


def test_vectorised_rows_equal_the_plain_ones_on_random_bytes():
    rng = random.Random(1)
    alphabet = b"ab `\r\t" + bytes([0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xFF, 0xF0, 0x9F, 0x98, 0x80])
    for _ in range(150):
        parts = [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(rng.randint(1, 8))]
        raw = b"\n".join(parts) + rng.choice([b"\n", b""])
        L = rng.randint(1, 36)
        text = raw.decode("utf-8", errors="replace")
        text = text[:-1] if text.endswith("\n") else text
        lines = text.split("\n")
        plain = np.array([[ord(c) for c in l[:L].ljust(L, PAD)] for l in lines], dtype=np.uint32)
        rows, lengths = pad_joined(text, L)
        assert (rows == plain).all() and lengths.tolist() == [len(l) for l in lines]
        rows_raw, lengths_raw = pad_raw(raw, L)
        assert (rows_raw == plain).all()
        exact = np.array([len(l) for l in lines])
        assert ((lengths_raw == exact) | ((lengths_raw > L) & (exact > L))).all()
        assert (pad_rows(lines, L) == plain).all()


def test_unknown_tokenizer_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown tokenizer kind 'bytes'; expected one of char, byte, word"):
        tokenizer_from_json({"kind": "bytes"})


@pytest.mark.parametrize("doc, message", [
    ({"kind": "char", "chars": 5, "seq_len": 8}, "'chars' must be a list of single characters"),
    ({"kind": "char", "chars": ["a", "bc"], "seq_len": 8}, "'chars' must be a list of single characters"),
    ({"kind": "char", "chars": ["a", "a"], "seq_len": 8}, "holds a character twice"),
    ({"kind": "char", "chars": ["a"], "seq_len": "abc"}, "'seq_len' must be a whole number"),
    ({"kind": "char", "chars": ["a"], "seq_len": 0}, "'seq_len' must be a whole number"),
    ({"kind": "char", "chars": ["a"], "seq_len": 8, "pad": ""}, "'pad' must be one character"),
    ({"kind": "byte", "bytes": [97, 256], "seq_len": 8}, "'bytes' must be a list of byte values"),
    ({"kind": "byte", "bytes": [97, 97], "seq_len": 8}, "distinct bytes"),
    ({"kind": "word", "words": [1, 2], "seq_len": 8}, "'words' must be a list of words"),
    ({"kind": "sentencepiece", "model": "not base64!", "seq_len": 8}, "not a sentencepiece model"),
    ({"kind": "sentencepiece", "model": "AAAA", "seq_len": 8}, "not a sentencepiece model"),
    ([1, 2], "unknown tokenizer kind 'list'"),
])
def test_tampered_tokenizer_documents_are_value_errors(doc, message):
    with pytest.raises(ValueError, match=message):
        tokenizer_from_json(doc)
