"""The byte tokenizer against the reference's preprocessing as it ran under Python 2.

``language_helpers.load_dataset`` (igul222/improved_wgan_training) read each shard with
``for line in f: line = line[:-1]; line = tuple(line)``; a Python 2 ``str`` is bytes, so the
"characters" were UTF-8 bytes. :func:`reference_load_dataset` re-implements that loop here on
Python 3 ``bytes`` (without the shuffle, so frequency ties go to the byte seen first, which is the
order the Counter meets them in) and the tests compare vocabulary, ids and the window with ours.
"""

import collections
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpora import billion_word
from corpora.cache import prepare
from corpora.encode import EncodeSpec, Progress, encode_rows, fit_tokenizer
from corpora.sources import billion_word_source, open_source
from corpora.tokenizers import ByteTokenizer, tokenizer_from_json

SHARD = ("Café au lait .\n"
         "Ünïcödé ist schön , 東京 is Tokyo and a line much longer than thirty-two bytes .\n"
         "\n"
         + "x" * 30 + "€ tail\n"  # the euro sign's three bytes straddle the 32-byte window
         "emoji 😀 ok .\n"
         "`backtick` inside\n").encode("utf-8") + b"bad \xff byte\ncarriage\rreturn\n"


def reference_load_dataset(shards, max_length, max_vocab_size):
    """language_helpers.load_dataset(tokenize=False) on bytes, minus np.random.shuffle."""
    lines = []
    for path in shards:
        with open(path, "rb") as f:
            for line in f:
                line = line[:-1]
                line = tuple(line[i : i + 1] for i in range(len(line)))  # Python 2 tuple(str): one byte each
                if len(line) > max_length:
                    line = line[:max_length]
                lines.append(line + ((b"`",) * (max_length - len(line))))
    counts = collections.Counter(char for line in lines for char in line)
    charmap = {"unk": 0}
    inv_charmap = ["unk"]
    for char, count in counts.most_common(max_vocab_size - 1):
        if char not in charmap:
            charmap[char] = len(inv_charmap)
            inv_charmap.append(char)
    ids = [[charmap.get(char, 0) for char in line] for line in lines]
    return ids, charmap, inv_charmap


def write_shards(root, *shards):
    train = root / billion_word.TRAIN_DIR
    train.mkdir(parents=True)
    for i, data in enumerate(shards, start=1):
        (train / f"news.en-{i:05d}-of-00100").write_bytes(data)
    return sorted(train.iterdir())


@pytest.mark.parametrize("vocab_size", [2048, 12])
def test_byte_tokenizer_reproduces_the_reference_preprocessing(tmp_path, vocab_size):
    shards = write_shards(tmp_path / "bw", SHARD, "second shard: naïve café .\n".encode())
    ids, charmap, inv_charmap = reference_load_dataset(shards, 32, vocab_size)
    spec = EncodeSpec(tokenizer="byte", seq_len=32, vocab_size=vocab_size)
    enc = prepare(billion_word_source(tmp_path / "bw"), spec, tmp_path / "cache")
    tok = enc.tokenizer
    assert isinstance(tok, ByteTokenizer) and tok.kind == "byte"
    assert tok.vocab_size == len(inv_charmap)
    assert [bytes([b]) for b in tok.byte_values] == inv_charmap[1:]
    assert np.asarray(enc.train).tolist() == ids  # every id of every row, the window counted in bytes
    assert enc.train.shape == (9, 32) and enc.stats["lines"] == 9
    if vocab_size == 2048:
        lines = SHARD.split(b"\n")[:-1] + ["second shard: naïve café .".encode()]
        windows = set(b"".join(line[:32] for line in lines)) | {ord("`")}  # every line is padded or cut
        assert tok.vocab_size == len(windows) + 1 <= 257
        # the window holds 32 bytes: 30 x's and the first two of the euro sign's three, shown as U+FFFD
        assert tok.decode(np.asarray(enc.train[3:4])) == ["x" * 30 + "\ufffd"]
        assert tok.decode(np.asarray(enc.train[[0, 6, 7]])) == ["Café au lait .", "bad \ufffd byte",
                                                                 "carriage\rreturn"]  # raw bytes, as Python 2
        assert enc.stats["truncated"] == 2 and enc.stats["unknown"] == 0 and enc.stats["replaced"] == 0
    else:
        counts = collections.Counter(b for row in ids for b in row)
        assert enc.stats["unknown"] == counts[0] > 0


def test_one_pass_byte_encoding_equals_counting_then_encoding(tmp_path):
    write_shards(tmp_path / "bw", SHARD * 3)
    (tmp_path / "c.txt").write_bytes(SHARD.replace(b"\r", b" ") * 3)
    for source in (billion_word_source(tmp_path / "bw"), open_source(str(tmp_path / "c.txt"))):
        for spec in (EncodeSpec(tokenizer="byte", seq_len=16, vocab_size=20),
                     EncodeSpec(tokenizer="byte", seq_len=16, vocab_size=300, long_lines="drop", min_tokens=3)):
            enc = prepare(source, spec, tmp_path / "cache", force=True)
            tok = fit_tokenizer(source, spec, Progress())
            stats = encode_rows(source.train(None), tok, spec, tmp_path / "two.ids", np.dtype("<u2"), Progress())
            assert tok.byte_values == enc.tokenizer.byte_values
            assert (np.fromfile(tmp_path / "two.ids", "<u2").reshape(-1, 16) == np.asarray(enc.train)).all()
            for key in ("rows", "tokens", "unknown", "truncated", "too_short", "too_long", "pad_tokens"):
                assert stats[key] == enc.stats[key], key


def test_byte_tokenizer_round_trips_through_json_and_lines():
    tok = ByteTokenizer(list(b"`ae \xc3\xa9\xe2\x82\xac"), seq_len=10)
    again = tokenizer_from_json(json.loads(json.dumps(tok.to_json())))
    assert again.to_json() == tok.to_json() == {"kind": "byte", "bytes": list(b"`ae \xc3\xa9\xe2\x82\xac"),
                                                "seq_len": 10, "pad": "`", "unk": "unk"}
    ids, lengths = again.encode_lengths(["a é€", "eeeeeeeeeeee", "z"])
    assert lengths.tolist() == [7, 12, 1]  # bytes, not characters (é: 2, €: 3)
    assert ids[0].tolist() == [2, 4, 5, 6, 7, 8, 9, 1, 1, 1]  # "`" is id 1, the padding
    assert again.decode(ids) == ["a é€", "eeeeeeeeee", "\ufffd"]  # "z" is unknown
    assert again.pad_id == 1 and again.vocab_size == 10


def test_the_cache_key_holds_the_tokenizer_kind(tmp_path):
    (tmp_path / "c.txt").write_text("naïve café\n" * 20, encoding="utf-8")
    chars = prepare(open_source(str(tmp_path / "c.txt")), EncodeSpec(seq_len=8), tmp_path / "cache")
    byts = prepare(open_source(str(tmp_path / "c.txt")), EncodeSpec(tokenizer="byte", seq_len=8), tmp_path / "cache")
    assert byts.path != chars.path and "-byte-L8-" in byts.path.name and byts.built
    assert byts.encoding_digest != chars.encoding_digest
    assert chars.tokenizer.decode(np.asarray(chars.train[:1])) == ["naïve ca"]  # 8 characters
    assert byts.tokenizer.decode(np.asarray(byts.train[:1])) == ["naïve c"]  # 8 bytes


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=12), st.binary(min_size=1, max_size=9))
def test_decoding_any_ids_never_fails(ids, values):
    """Any row of ids (partial multi-byte sequences, unknowns) decodes; invalid parts show U+FFFD."""
    tok = ByteTokenizer(sorted(set(values)), seq_len=len(ids))
    row = np.array([i % tok.vocab_size for i in ids])
    text = tok.decode(row[None, :], strip_pad=False)[0]
    expected = bytes(tok.byte_values[i - 1] if i else 0xFF for i in row.tolist()).decode("utf-8", "replace")
    assert text == expected
