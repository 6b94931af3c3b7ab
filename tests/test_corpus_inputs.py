"""Hostile and unusual corpora: every outcome is a correct encoding or one CorpusError naming the
file and the fix, never a hang, a traceback, a blamed cache or a half-written cache entry."""

import collections
import errno
import io
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="hf_home_"))

from corpora import CorpusError, billion_word, textfile  # noqa: E402
from corpora.cache import prepare  # noqa: E402
from corpora.encode import EncodeSpec  # noqa: E402
from corpora.sources import billion_word_source, open_source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def encode(path, cache, **spec):
    return prepare(open_source(str(path)), EncodeSpec(**{"seq_len": 8, **spec}), cache)


def refused(path, cache, **spec) -> str:
    with pytest.raises(CorpusError) as info:
        encode(path, cache, **spec)
    assert not list(Path(cache).glob("*")) if Path(cache).exists() else True, "a refusal left cache files"
    return str(info.value)


def decoded(enc) -> list[str]:
    return enc.tokenizer.decode(np.asarray(enc.train))


def within(seconds, fn):
    """fn()'s result or exception, failing the test if it takes longer (a hang)."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


# -- paths that are not files ------------------------------------------------------------------------

def test_a_named_pipe_is_refused_at_once_not_read(tmp_path):
    fifo = tmp_path / "corpus.txt"
    os.mkfifo(fifo)  # no writer: opening it would block forever
    with pytest.raises(CorpusError) as info:
        within(10, lambda: open_source(str(fifo)))
    assert str(info.value) == (
        f"--corpus {fifo}: is a named pipe (a FIFO, or a shell's process substitution like <(cat file)), not a "
        f"file: it can be read only once, but the corpus cache must hash the corpus before encoding it and may "
        f"read it twice; copy it to a file first (cat {fifo} > corpus.txt, or redirect the command that writes "
        f"it) and pass that file")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "folder" / "part.txt")  # inside a folder of corpus files too
    with pytest.raises(CorpusError, match=r"folder/part\.txt: is a named pipe"):
        within(10, lambda: open_source(str(tmp_path / "folder")))


def test_process_substitution_is_refused_with_the_fix(tmp_path):
    (tmp_path / "c.txt").write_text("a sentence\n")
    code = ("import sys; sys.path.insert(0, %r)\nfrom corpora import CorpusError\n"
            "from corpora.sources import open_source\ntry:\n    open_source(sys.argv[1])\n"
            "except CorpusError as e:\n    print(e)\n") % str(ROOT)
    out = subprocess.run(["bash", "-c", f'"{sys.executable}" -c "$0" <(cat {tmp_path}/c.txt)', code],
                         capture_output=True, text=True, timeout=60)
    assert re.fullmatch(r"--corpus /dev/fd/\d+: is a named pipe .*; write the command's output to a file instead "
                        r"\(some_command > corpus\.txt, not <\(some_command\)\) and pass that file\n", out.stdout), \
        out.stdout + out.stderr


@pytest.mark.parametrize("device, what", [("/dev/zero", "a character device"), ("/dev/null", "a character device")])
def test_devices_are_refused(device, what):
    with pytest.raises(CorpusError, match=rf"--corpus {device}: is {what} .*, not a file: it can be read only once "
                                          r"or never ends; save the text to a file first"):
        within(10, lambda: open_source(device))


def test_symlink_loops_and_dangling_links_are_named(tmp_path):
    os.symlink("b.txt", tmp_path / "a.txt")
    os.symlink("a.txt", tmp_path / "b.txt")
    os.symlink("gone.txt", tmp_path / "dangling.txt")
    with pytest.raises(CorpusError) as info:
        open_source(str(tmp_path / "a.txt"))
    assert str(info.value) == (f"--corpus {tmp_path}/a.txt: is a symbolic link loop ({tmp_path}/a.txt -> b.txt -> "
                               f"a.txt); point the link at the real file or pass the file itself")
    with pytest.raises(CorpusError) as info:
        open_source(str(tmp_path / "dangling.txt"))
    assert str(info.value) == (f"--corpus {tmp_path}/dangling.txt: is a dangling symbolic link (it points to "
                               f"gone.txt, which does not exist); point the link at the real file or pass the file "
                               f"itself")
    with pytest.raises(CorpusError, match="no such file; give a UTF-8 text file"):
        open_source(str(tmp_path / "missing.txt"))
    with pytest.raises(CorpusError, match=r"no such file; give an existing \.jsonl file"):
        open_source(str(tmp_path / "missing.jsonl"))
    with pytest.raises(CorpusError, match=r"--corpus '': empty; give embedded, billion_word, hf:NAME or a file"):
        open_source("")


def test_billion_word_shards_that_are_not_files_are_refused_not_skipped(tmp_path):
    train = tmp_path / "bw" / billion_word.TRAIN_DIR
    train.mkdir(parents=True)
    (train / "news.en-00001-of-00100").write_text("one .\n")
    (train / "news.en-00002-of-00100").mkdir()
    with pytest.raises(CorpusError, match=r"--data-dir \S+news\.en-00002-of-00100: is a directory, not a shard"):
        billion_word_source(tmp_path / "bw")
    (train / "news.en-00002-of-00100").rmdir()
    os.mkfifo(train / "news.en-00003-of-00100")
    with pytest.raises(CorpusError, match=r"--data-dir \S+news\.en-00003-of-00100: is a named pipe"):
        within(10, lambda: billion_word_source(tmp_path / "bw"))
    (train / "news.en-00003-of-00100").unlink()
    assert billion_word_source(tmp_path / "bw").paths == [train / "news.en-00001-of-00100"]  # missing: skipped


# -- read errors are read errors; cache errors name --cache-dir ---------------------------------------

class FailingFile(io.FileIO):
    """A file whose reads fail with ``error`` once ``after`` bytes have been read."""

    after, error, failed_at = 0, OSError(errno.EIO, os.strerror(errno.EIO)), None

    def read(self, n=-1):
        if self.tell() >= self.after:
            type(self).failed_at = self.tell()
            raise self.error
        return super().read(n)


def test_an_io_error_while_reading_names_the_file_not_the_cache(tmp_path, monkeypatch):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"sentence {i}\n" for i in range(200)))
    source = open_source(str(corpus))
    monkeypatch.setattr(textfile, "BLOCK_BYTES", 256)
    monkeypatch.setattr(FailingFile, "after", 512)
    monkeypatch.setattr(textfile, "open", lambda path, mode: FailingFile(path, mode.replace("b", "")),
                        raising=False)
    with pytest.raises(CorpusError) as info:
        prepare(source, EncodeSpec(seq_len=8), tmp_path / "cache")
    assert FailingFile.failed_at >= 512
    assert str(info.value) == (f"read error on {corpus} after {FailingFile.failed_at:,} bytes (Input/output error, "
                               f"EIO); the file or its disk has a problem: check it (e.g. copy it elsewhere) and run "
                               f"again")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-written
    monkeypatch.setattr(FailingFile, "error", PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
    with pytest.raises(CorpusError, match=r"read error on \S+c\.txt after \d+ bytes \(Permission denied, EACCES\); "
                                          r"make it readable"):
        prepare(source, EncodeSpec(seq_len=8), tmp_path / "cache")


def test_a_file_that_cannot_be_read_at_all_says_so():
    # /proc/self/mem is a regular file whose first page is unmapped: reading it fails with EIO, for root too
    with pytest.raises(CorpusError, match=r"--corpus /proc/self/mem: cannot be read \(Input/output error\); make it "
                                          r"readable"):
        open_source("/proc/self/mem")


def test_a_corpus_that_vanishes_or_changes_meanwhile_is_a_read_error(tmp_path, monkeypatch):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a sentence\n" * 50)
    source = open_source(str(corpus))
    corpus.unlink()
    with pytest.raises(CorpusError, match=r"read error on \S+c\.txt \(No such file or directory, ENOENT\); it was "
                                          r"there when the command started: was it moved or deleted meanwhile"):
        prepare(source, EncodeSpec(seq_len=8), tmp_path / "cache")
    corpus.write_text("a sentence\n" * 50)
    source = open_source(str(corpus))
    real_train = type(source).train

    def train_then_append(self, max_lines):  # another process appends while we encode
        yield from real_train(self, max_lines)
        with open(corpus, "a") as f:
            f.write("one more\n")
    monkeypatch.setattr(type(source), "train", train_then_append)
    with pytest.raises(CorpusError, match="the corpus changed while it was being encoded"):
        prepare(source, EncodeSpec(seq_len=8), tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_write_errors_name_the_cache_dir(tmp_path, monkeypatch):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a sentence\n" * 50)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(CorpusError) as info:
        encode(corpus, tmp_path / "a_file" / "cache")
    assert str(info.value).startswith(f"--cache-dir {tmp_path}/a_file/cache: cannot write the encoded corpus there (")
    assert str(info.value).endswith("; make it writable or choose another --cache-dir")

    import corpora.one_pass

    class FullDisk(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(corpora.one_pass, "open", lambda path, mode: FullDisk(path, mode.replace("b", "")),
                        raising=False)
    with pytest.raises(CorpusError) as info:
        encode(corpus, tmp_path / "cache")
    assert str(info.value) == (f"--cache-dir {tmp_path}/cache: cannot write the encoded corpus there (No space left "
                               f"on device); free disk space or choose another --cache-dir")
    assert list((tmp_path / "cache").iterdir()) == []  # the temporary build is gone


# -- encodings, line endings, NUL bytes, padding ------------------------------------------------------

@pytest.mark.parametrize("encoding, named, iconv", [
    ("utf-16", "UTF-16 little-endian, byte-order mark FF FE", "UTF-16"),
    ("utf-32", "UTF-32 little-endian, byte-order mark FF FE 00 00", "UTF-32"),
    ("utf-16-be", "UTF-16BE without a byte-order mark (NUL bytes in a regular pattern)", "UTF-16BE"),
    ("utf-16-le", "UTF-16LE without a byte-order mark (NUL bytes in a regular pattern)", "UTF-16LE"),
])
def test_utf16_and_utf32_are_named_with_the_command_that_converts_them(tmp_path, encoding, named, iconv):
    text = "héllo wörld\nsecond line\n" * 20
    corpus = tmp_path / "wide.txt"
    corpus.write_bytes(text.encode(encoding))  # Python's utf-16 and utf-32 write a byte-order mark
    message = refused(corpus, tmp_path / "cache")
    command = f"iconv -f {iconv} -t UTF-8 {corpus} > {tmp_path}/wide.utf8.txt"
    assert message == f"--corpus {corpus}: is {named}, not UTF-8; convert it first: {command}"
    subprocess.run(command, shell=True, check=True)  # the command we print really converts it
    assert decoded(encode(tmp_path / "wide.utf8.txt", tmp_path / "cache", seq_len=12))[:2] == ["héllo wörld",
                                                                                               "second line"]


def test_line_endings_of_every_kind_and_a_byte_order_mark(tmp_path, monkeypatch):
    monkeypatch.setattr(textfile, "BLOCK_BYTES", 5)  # "\r\n" pairs cut in two by the blocks
    for name, data in [("mac", b"one\rtwo\rthree\r"), ("dos", b"one\r\ntwo\r\nthree\r\n"),
                       ("mixed", b"\xef\xbb\xbfone\ntwo\r\n\r\nthree"), ("unix", b"one\ntwo\n\nthree\n")]:
        (tmp_path / f"{name}.txt").write_bytes(data)
        enc = encode(tmp_path / f"{name}.txt", tmp_path / "cache")
        assert decoded(enc) == ["one", "two", "three"], name
        assert "\ufeff" not in enc.tokenizer.chars and "\r" not in enc.tokenizer.chars


@pytest.mark.parametrize("where", [10, 70_000, 5_000_000])
def test_nul_bytes_anywhere_are_refused_with_their_place(tmp_path, where):
    line = b"a line of text .\n"  # 17 bytes
    before = line * (where // len(line))
    corpus = tmp_path / "nul.txt"
    corpus.write_bytes(before + b"bad \x00 line\n" + line * 10)
    offset, number = len(before) + 4, len(before) // len(line) + 1
    message = refused(corpus, tmp_path / "cache") if where > 65536 else str(
        pytest.raises(CorpusError, open_source, str(corpus)).value)
    assert f"a NUL byte at byte {offset:,} (line {number:,}) of {corpus}; text files have none" in message
    # the paper's reading of One Billion Word refuses them too
    train = tmp_path / "bw" / billion_word.TRAIN_DIR
    train.mkdir(parents=True)
    (train / "news.en-00001-of-00100").write_bytes(corpus.read_bytes())
    with pytest.raises(CorpusError, match=f"a NUL byte at byte {offset:,} \\(line {number:,}\\)"):
        prepare(billion_word_source(tmp_path / "bw"), EncodeSpec(), tmp_path / "cache")


@pytest.mark.parametrize("tokenizer", ["char", "byte"])
def test_a_corpus_of_padding_only_is_refused(tmp_path, tokenizer):
    (tmp_path / "pad.txt").write_text("```\n`\n \n``\n")  # the blank line is skipped
    assert refused(tmp_path / "pad.txt", tmp_path / "cache", tokenizer=tokenizer) == (
        'no token but padding: its 3 lines are blank or hold only the padding character "`", so every row would '
        'be padding only; give a corpus with text in it')
    train = tmp_path / "bw" / billion_word.TRAIN_DIR  # the paper's reading keeps blank lines
    train.mkdir(parents=True)
    (train / "news.en-00001-of-00100").write_text("\n\n\n")
    with pytest.raises(CorpusError, match="no token but padding: its 3 lines are blank"):
        prepare(billion_word_source(tmp_path / "bw"), EncodeSpec(tokenizer=tokenizer), tmp_path / "cache")
    (tmp_path / "ok.txt").write_text("```\nx\n")  # one real character is enough
    assert decoded(encode(tmp_path / "ok.txt", tmp_path / "cache", tokenizer=tokenizer)) == ["", "x"]


# -- datasets-backed files: our one line only ------------------------------------------------------

def test_a_malformed_json_line_is_named_and_the_library_stays_quiet(tmp_path, capfd, caplog):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "one"}\n{"text": "two"}\n\n{"text": "thr\n{"text": "four"}\n')
    message = refused(corpus, tmp_path / "cache")
    assert message == (f"--corpus {corpus}: line 4 of {corpus} is not valid JSON (Invalid control character, "
                       f"column 14); fix or remove that line")
    (tmp_path / "list.jsonl").write_text('{"text": "one"}\n["two"]\n')
    assert "line 2 of" in refused(tmp_path / "list.jsonl", tmp_path / "cache") and "a JSON list, not an object" \
        in refused(tmp_path / "list.jsonl", tmp_path / "cache")
    out = capfd.readouterr()
    assert out.out == "" and out.err == "", out  # no log lines of datasets or pyarrow before ours
    assert not [r for r in caplog.records if r.name.startswith(("datasets", "fsspec"))]


def test_a_truncated_or_damaged_parquet_file_is_one_line(tmp_path, capfd):
    import pandas as pd

    pd.DataFrame({"text": [f"sentence number {i} " * 8 for i in range(5000)]}).to_parquet(
        tmp_path / "good.parquet", row_group_size=500)
    data = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    assert refused(tmp_path / "cut.parquet", tmp_path / "cache") == (
        f"--corpus {tmp_path}/cut.parquet: is an incomplete Parquet file (its footer is missing: truncated, or "
        f"still being written); write it again")
    damaged = bytearray(data)
    damaged[len(data) // 2 : len(data) // 2 + 4000] = bytes(4000)
    (tmp_path / "damaged.parquet").write_bytes(bytes(damaged))
    message = refused(tmp_path / "damaged.parquet", tmp_path / "cache")
    assert message.startswith(f"--corpus {tmp_path}/damaged.parquet: the datasets library could not read it (")
    assert "\n" not in message
    out = capfd.readouterr()
    assert out.out == "" and out.err == "", out


def test_nul_and_carriage_returns_inside_dataset_values(tmp_path):
    (tmp_path / "c.jsonl").write_text('{"text": "one\\r\\ntwo\\rthree"}\n{"text": "bad \\u0000 value"}\n')
    assert refused(tmp_path / "c.jsonl", tmp_path / "cache") == (
        f"--corpus {tmp_path}/c.jsonl: row 2 of column text holds a NUL character; text has none: clean that value")
    (tmp_path / "d.jsonl").write_text('{"text": "one\\r\\ntwo\\rthree"}\n')
    assert decoded(encode(tmp_path / "d.jsonl", tmp_path / "cache")) == ["one", "two", "three"]


# -- bounded memory ------------------------------------------------------------------------------

def test_huge_lines_are_cut_and_memory_stays_bounded(tmp_path):
    """A 48 MB line (and lines over the cut, anywhere in a block) in a fresh interpreter."""
    code = """
import resource, sys
sys.path.insert(0, %r)
from pathlib import Path
import numpy as np
from corpora.cache import prepare
from corpora.encode import EncodeSpec
from corpora.sources import open_source
tmp = Path(%r)
with open(tmp / "huge.txt", "wb") as f:
    f.write(b"first line\\n")
    for _ in range(48):
        f.write(b"x" * (1 << 20))
    f.write(b" end\\nlast line\\n")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
enc = prepare(open_source(str(tmp / "huge.txt")), EncodeSpec(seq_len=12), tmp / "cache")
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(enc.tokenizer.decode(np.asarray(enc.train)), enc.stats["clipped"], enc.stats["truncated"], grown // 1024)
""" % (str(ROOT), str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows, clipped, truncated, grown_mb = out.stdout.rsplit(" ", 3)
    assert rows == "['first line', 'xxxxxxxxxxxx', 'last line']" and (clipped, truncated) == ("1", "1")
    assert int(grown_mb) < 24, f"peak memory grew by {grown_mb} MB for a 48 MB line"


def test_the_cut_of_long_lines_does_not_depend_on_block_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(textfile, "MAX_LINE_BYTES", 1001)
    long = "é" * 700  # 1400 bytes: cut after 1000 bytes, not inside the 501st character
    data = f"short\n{long}\n{'a' * 1500}\r\nend\n".encode()
    (tmp_path / "c.txt").write_bytes(data)
    results = []
    for block in (7, 64, 1000, 1001, 1002, 4096):
        monkeypatch.setattr(textfile, "BLOCK_BYTES", block)
        chunks = list(open_source(str(tmp_path / "c.txt")).train(None))
        results.append(([l for c in chunks for l in c.lines], sum(c.clipped for c in chunks)))
    assert all(r == results[0] for r in results)
    assert results[0] == (["short", "é" * 500, "a" * 1001, "end"], 2)


# -- the property: a valid encoding whose rows are the input's lines, or one CorpusError ----------

ALPHABET = list("aab  `é€😀\t") + ["\x0b", "\x85", "\u2028", "\ufeff"]


@st.composite
def corpus_files(draw):
    """Random lines with random line endings in a random encoding, sometimes with a NUL byte,
    sometimes plain random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    lines = draw(st.lists(st.text(st.sampled_from(ALPHABET), max_size=14), min_size=1, max_size=12))
    ends = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines)))
    text = "".join(line + end for line, end in zip(lines, ends))
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "utf-32", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\x00" + data[at:]
    return data


def expected_lines(data: bytes) -> list[str]:
    """The documented reading, written independently: UTF-8 (BOM dropped, U+FFFD for bad bytes),
    lines end at \\r\\n, \\r or \\n, whitespace-only lines skipped."""
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    return [line for line in re.split("\r\n|\r|\n", text) if line.strip()]


def reference_vocabulary(rows: list, vocab_size: int) -> list:
    """language_helpers.load_dataset's charmap: Counter over padded rows, ties first seen."""
    counts = collections.Counter(token for row in rows for token in row)
    return [token for token, _ in counts.most_common(vocab_size - 1)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=corpus_files(), tokenizer=st.sampled_from(["char", "byte"]), seq_len=st.integers(1, 10),
       vocab_size=st.integers(2, 12), block=st.integers(3, 64))
def test_any_text_file_is_encoded_exactly_or_refused_with_one_corpus_error(data, tokenizer, seq_len, vocab_size,
                                                                           block):
    with tempfile.TemporaryDirectory() as tmp:
        corpus, cache = Path(tmp) / "c.txt", Path(tmp) / "cache"
        corpus.write_bytes(data)
        spec = EncodeSpec(tokenizer=tokenizer, seq_len=seq_len, vocab_size=vocab_size)
        saved, textfile.BLOCK_BYTES = textfile.BLOCK_BYTES, block
        try:
            enc = prepare(open_source(str(corpus)), spec, cache)
        except CorpusError as exc:
            event(f"refused: {re.sub(r'[^a-zA-Z ]', '', str(exc).split(': ', 1)[-1])[:30]}")
            assert str(exc) and "\n" not in str(exc)
            assert not cache.exists() or not list(cache.iterdir())  # nothing half-written
            return
        finally:
            textfile.BLOCK_BYTES = saved
    event("encoded")
    assert b"\x00" not in data  # NUL bytes are never encoded
    lines = expected_lines(data)
    if tokenizer == "char":
        rows = [line[:seq_len].ljust(seq_len, "`") for line in lines]
        vocab = reference_vocabulary(rows, vocab_size)
        assert enc.tokenizer.chars == vocab
    else:
        rows = [line.encode("utf-8")[:seq_len].ljust(seq_len, b"`") for line in lines]
        vocab = reference_vocabulary(rows, vocab_size)
        assert enc.tokenizer.byte_values == vocab
    ids = {token: i + 1 for i, token in enumerate(vocab)}
    assert np.asarray(enc.train).tolist() == [[ids.get(token, 0) for token in row] for row in rows]
