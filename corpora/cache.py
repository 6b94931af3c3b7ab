"""The encoded-corpus cache: a corpus encoded once into memory-mapped token ids.

The first use of a (corpus, tokenizer, sequence length) streams the corpus twice: a first pass
fits the vocabulary (character or word frequencies over the whole corpus, as the paper's
vocabulary needs; or a sentencepiece model on a bounded sample), a second pass encodes each chunk
and appends its rows to a raw file. Memory is one chunk plus the vocabulary, whatever the corpus
size. Later runs open the entry in milliseconds: ``numpy.memmap`` maps the rows, nothing is read
until a batch asks for it.

Layout (``--cache-dir``; default ``$SEQGAN_GP_CACHE``, else ``$XDG_CACHE_HOME/seqgan_gp``, else
``~/.cache/seqgan_gp``)::

    CACHE/<name>-<tokenizer>-L<seq_len>-<key>/
        meta.json     cache format version, key, corpus fingerprint, tokenizer, row counts,
                      checksums, statistics (sentences, tokens, unknown and truncation rates, ...)
        train.ids     (N, seq_len) little-endian uint16 ids (int32 when the vocabulary is larger)
        heldout.ids   validation rows, when the corpus has a validation set

``key`` hashes what the entry encodes: the corpus's identity (paths, names) and every encoding
setting. On open the corpus's content fingerprint (see :mod:`corpora.sources`) must equal the
stored one, or the corpus is re-encoded. An entry is built in a temporary directory and renamed
into place when complete, so an interrupted build leaves nothing that looks finished. An entry
written by another cache format version, or whose meta.json is unreadable, whose files have the
wrong size or whose sampled blocks do not match their checksum, is rebuilt, not trusted (a CRC-32
of each whole file is stored too; :func:`verify` checks it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from corpora import CorpusError
from corpora.sources import Source
from corpora.textfile import Chunk
from corpora.tokenizers import (MAX_CODE, CharCounts, CharTokenizer, SentencePieceTokenizer, WordCounts,
                                WordTokenizer, pad_joined, pad_raw, raw_rows, tokenizer_from_json)

CACHE_VERSION = 1
ENV_VAR = "SEQGAN_GP_CACHE"
EMPTY = "the corpus is empty: it holds no non-empty lines; one sentence a line is expected"


def default_cache_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqgan_gp"


@dataclass(frozen=True)
class EncodeSpec:
    """How a corpus becomes rows of ids; every field is part of the cache key."""

    tokenizer: str = "char"  # char (the paper's) | word | sentencepiece
    vocab_size: int = 2048  # most ids, unknown and pad included
    seq_len: int = 32  # tokens per row
    max_examples: Optional[int] = None  # lines read from the source (paper: first 10M)
    model_type: str = "unigram"  # sentencepiece: unigram | bpe
    long_lines: str = "cut"  # cut (the paper's) | drop lines longer than seq_len tokens
    min_tokens: int = 0  # drop lines with fewer tokens
    heldout_max: int = 10_000  # validation lines encoded
    seed: int = 0  # sentencepiece's sampling of training sentences


class Progress:
    """What a build reports; the default reports nothing (the CLI passes a rich progress bar)."""

    def stage(self, name: str, total_bytes: Optional[int]) -> None:
        pass

    def advance(self, nbytes: int, nlines: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class EncodedCorpus:
    path: Path  # the cache entry directory
    tokenizer: object
    train: np.ndarray  # (N, seq_len) memory-mapped ids
    heldout: Optional[np.ndarray]  # (M, seq_len) or None
    stats: dict
    fingerprint: str  # corpus content + encoding settings; a resumed run must see the same
    built: bool = False  # True when this call encoded it, False when opened from the cache
    meta: dict = field(default_factory=dict)


class StaleCache(Exception):
    """A cache entry that must be rebuilt; the message says why."""


def entry_path(source: Source, spec: EncodeSpec, cache_dir: Path) -> Path:
    key = hashlib.sha256(json.dumps({"source": source.key(), "spec": asdict(spec)}, sort_keys=True,
                                    default=str).encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", source.name)[:40] or "corpus"
    return Path(cache_dir) / f"{name}-{spec.tokenizer}-L{spec.seq_len}-{key}"


def prepare(source: Source, spec: EncodeSpec, cache_dir: Optional[Path] = None, *, force: bool = False,
            progress: Optional[Progress] = None) -> EncodedCorpus:
    """The encoded corpus from the cache, encoding it first when absent, stale or damaged."""
    progress = progress or Progress()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    entry = entry_path(source, spec, cache_dir)
    fingerprint = source.fingerprint()
    if not force:
        try:
            found = open_entry(entry, fingerprint)
            if found is not None:
                return found
        except StaleCache as exc:
            progress.note(f"cache {entry}: {exc}; encoding again")
    return _build(entry, source, spec, fingerprint, progress)


def _digest(fingerprint: str, spec: EncodeSpec) -> str:
    return hashlib.sha256(f"{fingerprint}|{json.dumps(asdict(spec), sort_keys=True)}".encode()).hexdigest()[:16]


def sampled_digest(path: Path, blocks: int = 16, block_bytes: int = 4096) -> str:
    """SHA-256 of ``blocks`` evenly spaced blocks of a file: a corruption check in milliseconds."""
    size = os.path.getsize(path)
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for k in range(blocks):
            f.seek(max(0, (size - block_bytes) * k // (blocks - 1)))
            h.update(f.read(block_bytes))
    return h.hexdigest()


def _file_crc(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            crc = zlib.crc32(block, crc)
    return crc


def open_entry(entry: Path, fingerprint: Optional[str]) -> Optional[EncodedCorpus]:
    """The entry at ``entry`` (None when absent); StaleCache when it must be rebuilt.

    ``fingerprint=None`` skips the corpus check (the corpus itself is not available).
    """
    if not entry.is_dir():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StaleCache("meta.json is missing (an interrupted or damaged entry)") from None
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        raise StaleCache("meta.json is damaged") from None
    if not isinstance(meta, dict) or meta.get("version") != CACHE_VERSION:
        version = meta.get("version") if isinstance(meta, dict) else None
        raise StaleCache(f"written by cache format v{version} (another seqgan_gp version); this version "
                         f"reads v{CACHE_VERSION}")
    if fingerprint is not None and meta.get("source_fingerprint") != fingerprint:
        raise StaleCache("the corpus changed since it was encoded")
    try:
        tok = tokenizer_from_json(meta["tokenizer"])
        seq_len, dtype = int(meta["seq_len"]), np.dtype(meta["dtype"])
        arrays = {}
        for split in ("train", "heldout"):
            info = meta["arrays"].get(split)
            if info is None:
                arrays[split] = None
                continue
            path, rows = entry / info["file"], int(info["rows"])
            if not path.is_file() or path.stat().st_size != rows * seq_len * dtype.itemsize:
                raise StaleCache(f"{info['file']} is missing or has the wrong size")
            if sampled_digest(path) != info["sampled"]:
                raise StaleCache(f"{info['file']} does not match its checksum (damaged)")
            arrays[split] = np.memmap(path, dtype=dtype, mode="r", shape=(rows, seq_len)) if rows else None
        if arrays["train"] is None:
            raise StaleCache("no training rows")
    except StaleCache:
        raise
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise StaleCache(f"meta.json is damaged ({type(exc).__name__}: {exc})") from None
    return EncodedCorpus(entry, tok, arrays["train"], arrays["heldout"], meta["stats"], meta["digest"],
                         built=False, meta=meta)


def find_entry(cache_dir: Path, digest: str) -> Optional[EncodedCorpus]:
    """The valid entry under ``cache_dir`` whose digest is ``digest`` (a run's corpus fingerprint),
    found without the corpus itself; None if there is none."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return None
    for entry in sorted(cache_dir.iterdir()):
        if entry.name.startswith(".") or not (entry / "meta.json").is_file():
            continue
        try:
            if json.loads((entry / "meta.json").read_text(encoding="utf-8")).get("digest") != digest:
                continue
            return open_entry(entry, None)
        except (StaleCache, ValueError, OSError, AttributeError):
            continue
    return None


def verify(enc: EncodedCorpus) -> list[str]:
    """Files of ``enc`` whose full CRC-32 differs from the one recorded at build time."""
    bad = []
    for split, info in enc.meta["arrays"].items():
        if info is not None and _file_crc(enc.path / info["file"]) != info["crc32"]:
            bad.append(info["file"])
    return bad


# -- building ------------------------------------------------------------------------------------------

def _kept(lines: list[str], spec: EncodeSpec, count_tokens) -> list[str]:
    if spec.long_lines == "cut" and spec.min_tokens <= 0:
        return lines
    out = []
    for line in lines:
        n = count_tokens(line)
        if n >= spec.min_tokens and (spec.long_lines == "cut" or n <= spec.seq_len):
            out.append(line)
    return out


def _counted(chunks: Iterator[Chunk], progress: Progress, tally: dict) -> Iterator[Chunk]:
    for chunk in chunks:
        tally["lines"] += chunk.n
        progress.advance(chunk.nbytes, chunk.n)
        yield chunk


def fit_tokenizer(source: Source, spec: EncodeSpec, progress: Progress):
    """The vocabulary pass over the training sentences; returns the fitted tokenizer."""
    tally = {"lines": 0}
    chunks = _counted(source.train(spec.max_examples), progress, tally)
    if spec.tokenizer == "sentencepiece":
        progress.stage("training sentencepiece", source.size_bytes())
        lines = (line for chunk in chunks for line in chunk.lines)
        try:
            tok = SentencePieceTokenizer.train(lines, seq_len=spec.seq_len, vocab_size=spec.vocab_size,
                                               model_type=spec.model_type, seed=spec.seed)
        except ValueError as exc:
            if tally["lines"] == 0:
                raise CorpusError(EMPTY) from None
            raise CorpusError(f"--vocab-size {spec.vocab_size}: sentencepiece cannot build this vocabulary "
                              f"from the corpus ({exc}); lower --vocab-size") from None
        return tok
    progress.stage("counting " + ("characters" if spec.tokenizer == "char" else "words"), source.size_bytes())
    if spec.tokenizer == "char":
        counts, count_tokens = CharCounts(spec.seq_len), CharTokenizer.count_tokens
    elif spec.tokenizer == "word":
        counts, count_tokens = WordCounts(spec.seq_len), WordTokenizer.count_tokens
    else:
        raise CorpusError(f"--tokenizer {spec.tokenizer}: unknown; choose char, word or sentencepiece")
    filtering = spec.long_lines != "cut" or spec.min_tokens > 0
    for chunk in chunks:
        if filtering:
            counts.add(_kept(chunk.lines, spec, count_tokens))
        elif chunk.n:
            counts.add_joined(chunk.text)
    if tally["lines"] == 0:
        raise CorpusError(EMPTY)
    return counts.tokenizer(spec.vocab_size)


def _encode(chunks: Iterator[Chunk], tok, spec: EncodeSpec, path: Path, dtype, progress: Progress) -> dict:
    """Append the kept rows of every chunk to ``path``; returns counts and checksums."""
    L = spec.seq_len
    s = {"lines": 0, "rows": 0, "tokens": 0, "unknown": 0, "truncated": 0, "too_short": 0, "too_long": 0,
         "replaced": 0, "raw_bytes": 0}
    crc = 0
    positions = np.arange(L)
    with open(path, "wb") as f:
        for chunk in chunks:
            progress.advance(chunk.nbytes, chunk.n)
            s["lines"] += chunk.n
            s["replaced"] += chunk.replaced
            s["raw_bytes"] += chunk.nbytes
            if not chunk.n:
                continue
            ids, lengths = tok.encode_joined(chunk.text)
            if spec.min_tokens > 0 or spec.long_lines == "drop":
                short = lengths < spec.min_tokens
                long = (lengths > L) & (spec.long_lines == "drop")
                keep = ~(short | long)
                s["too_short"] += int(short.sum())
                s["too_long"] += int((long & ~short).sum())
                ids, lengths = ids[keep], lengths[keep]
            real = positions[None, :] < np.minimum(lengths, L)[:, None]
            s["rows"] += len(ids)
            s["tokens"] += int(np.minimum(lengths, L).sum())
            s["unknown"] += int(np.count_nonzero((ids == tok.unk_id) & real))
            s["truncated"] += int((lengths > L).sum())
            data = memoryview(np.ascontiguousarray(ids.astype(dtype, copy=False)))
            f.write(data)
            crc = zlib.crc32(data, crc)
    s["crc32"] = crc
    return s


class _TooManyCharacters(Exception):
    """More distinct characters than uint16 provisional ids hold: use the two-pass path."""


class _FirstSeenIds:
    """Provisional ids for code points in order of first appearance (frequency ties break so)."""

    def __init__(self):
        self.pid_of = np.full(MAX_CODE, -1, dtype=np.int32)
        self.codes = np.zeros(0, dtype=np.int64)  # code point of each provisional id
        self.counts = np.zeros(0, dtype=np.int64)
        self._pair_table, self._pair_table_size = None, -1

    def map(self, rows: np.ndarray) -> np.ndarray:
        flat = rows.ravel()
        pids = self.pid_of[flat]
        missing = np.flatnonzero(pids < 0)
        for start in range(0, missing.size, 65536):  # positions in order; new codes by first position
            pos = missing[start : start + 65536]
            pos = pos[self.pid_of[flat[pos]] < 0]
            if pos.size:
                uniq, first = np.unique(flat[pos], return_index=True)
                new = uniq[np.argsort(first)]
                self.pid_of[new] = np.arange(len(self.codes), len(self.codes) + len(new))
                self.codes = np.concatenate([self.codes, new])
        if missing.size:
            if len(self.codes) > 65536:
                raise _TooManyCharacters
            pids = self.pid_of[flat]
        self._count(np.bincount(pids, minlength=len(self.codes)))
        return pids.reshape(rows.shape)

    def _count(self, counts: np.ndarray) -> None:
        counts[: len(self.counts)] += self.counts
        self.counts = counts

    def map_raw(self, rows8: np.ndarray, slow: np.ndarray, slow_rows: np.ndarray) -> np.ndarray:
        """:meth:`map` of :func:`~corpora.tokenizers.raw_rows` output, as uint16 provisional ids.

        When every character is already known (all chunks but the first few) the ASCII rows are
        read two bytes at a time: one bincount over byte pairs gives the byte counts, and one
        gather through a 65,536-entry table of provisional-id pairs gives the ids. Otherwise the
        rows are assembled as code points and take the exact first-seen path of :meth:`map`.
        """
        flat = rows8.ravel()
        odd = flat.size % 2
        if odd:
            flat = np.append(flat, np.uint8(0))
        pairs = flat.view("<u2")
        pair_counts = np.bincount(pairs, minlength=65536).reshape(256, 256)  # [second byte, first byte]
        byte_counts = pair_counts.sum(axis=0) + pair_counts.sum(axis=1)
        byte_counts[0] -= odd
        if slow.size:
            byte_counts -= np.bincount(rows8[slow].ravel(), minlength=256)
        known = self.pid_of[:256]
        if (known[byte_counts > 0] < 0).any() or (slow.size and (self.pid_of[slow_rows] < 0).any()):
            rows = rows8.astype(np.uint32)
            rows[slow] = slow_rows
            return self.map(rows).astype(np.uint16)
        if self._pair_table is None or self._pair_table_size != len(self.codes):
            k = np.maximum(known, 0).astype(np.uint32)
            v = np.arange(65536, dtype=np.uint32)
            self._pair_table = k[v & 255] | (k[v >> 8] << 16)
            self._pair_table_size = len(self.codes)
        pids = self._pair_table[pairs].view(np.uint16)[: rows8.size].reshape(rows8.shape)
        counts = np.zeros(len(self.codes), dtype=np.int64)
        seen = byte_counts > 0
        counts[known[seen]] = byte_counts[seen]
        if slow.size:
            slow_pids = self.pid_of[slow_rows]
            pids[slow] = slow_pids
            counts += np.bincount(slow_pids.ravel(), minlength=len(self.codes))
        self._count(counts)
        return pids


def _encode_chars(chunks: Iterator[Chunk], spec: EncodeSpec, path: Path, progress: Progress):
    """The paper's character vocabulary and encoding in one pass over the raw text.

    Each chunk's rows (first ``seq_len`` code points, padded) are written at once as provisional
    ids (first-seen order) while their frequencies are counted; the vocabulary then follows from
    the counts (ties: first seen, as :class:`CharCounts`), and a pass over the id file on disk
    (not the text) rewrites provisional ids as final ones. Equal to ``CharCounts`` + ``encode``.
    """
    L = spec.seq_len
    ids = _FirstSeenIds()
    s = {"lines": 0, "rows": 0, "tokens": 0, "unknown": 0, "truncated": 0, "too_short": 0, "too_long": 0,
         "replaced": 0, "raw_bytes": 0}
    with open(path, "wb") as f:
        for chunk in chunks:
            progress.advance(chunk.nbytes, chunk.n)
            s["lines"] += chunk.n
            s["replaced"] += chunk.replaced
            s["raw_bytes"] += chunk.nbytes
            if not chunk.n:
                continue
            filtering = spec.min_tokens > 0 or spec.long_lines == "drop"
            if chunk.raw is not None and not filtering:
                rows8, lengths, slow, slow_rows = raw_rows(chunk.raw, L, newlines=chunk.newlines,
                                                            non_ascii=chunk.non_ascii())
                pids = ids.map_raw(rows8, slow, slow_rows)
            else:
                rows, lengths = pad_raw(chunk.raw, L) if chunk.raw is not None else pad_joined(chunk.text, L)
                if filtering:
                    short = lengths < spec.min_tokens
                    long = (lengths > L) & (spec.long_lines == "drop")
                    keep = ~(short | long)
                    s["too_short"] += int(short.sum())
                    s["too_long"] += int((long & ~short).sum())
                    rows, lengths = rows[keep], lengths[keep]
                pids = ids.map(rows).astype(np.uint16)
            s["rows"] += len(pids)
            s["tokens"] += int(np.minimum(lengths, L).sum())
            s["truncated"] += int((lengths > L).sum())
            f.write(memoryview(pids))
    if s["rows"] == 0:
        return None, s
    order = np.lexsort((np.arange(len(ids.codes)), -ids.counts))[: max(spec.vocab_size - 1, 0)]
    tok = CharTokenizer([chr(int(c)) for c in ids.codes[order]], L)
    final = np.zeros(len(ids.codes), dtype=np.uint16)
    final[order] = np.arange(1, len(order) + 1)
    real = ids.counts.copy()  # occurrences outside the padding
    pad_pid = ids.pid_of[ord(tok.pad)]
    if pad_pid >= 0:
        real[pad_pid] -= s["rows"] * L - s["tokens"]
    s["unknown"] = int(real[final == 0].sum())
    dtype = np.dtype("<u2") if tok.vocab_size <= 65536 else np.dtype("<i4")
    crc = 0
    progress.stage("writing ids", s["rows"] * L * 2)
    buf = np.empty(max(1, (4 << 20) // L) * L, dtype=np.uint16)
    with open(path, "r+b") as f:  # provisional -> final ids, in place, block by block
        while True:
            got = f.readinto(memoryview(buf)) // 2
            if not got:
                break
            block = final[buf[:got]]
            f.seek(-2 * got, os.SEEK_CUR)
            f.write(memoryview(block))
            crc = zlib.crc32(memoryview(block), crc)
            progress.advance(2 * got, got // L)
    s["crc32"] = crc
    return tok, s


def _clean_stale_builds(cache_dir: Path, name: str) -> None:
    for tmp in cache_dir.glob(f".{name}.*-*-*"):
        m = re.search(r"\.(?:tmp|old)-(\d+)-", tmp.name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(tmp, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _build(entry: Path, source: Source, spec: EncodeSpec, fingerprint: str, progress: Progress) -> EncodedCorpus:
    cache_dir = entry.parent
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CorpusError(f"--cache-dir {cache_dir}: cannot be created ({exc.strerror}); choose a writable "
                          f"--cache-dir") from None
    _clean_stale_builds(cache_dir, entry.name)
    tmp = cache_dir / f".{entry.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    tmp.mkdir()
    try:
        t0 = time.perf_counter()
        tok, train = None, None
        if spec.tokenizer == "char" and spec.vocab_size <= 65536:
            try:
                progress.stage("encoding characters", source.size_bytes())
                tok, train = _encode_chars(source.train(spec.max_examples), spec, tmp / "train.ids", progress)
            except _TooManyCharacters:
                progress.note("more than 65,536 distinct characters: counting and encoding in two passes")
        if train is None:
            tok = fit_tokenizer(source, spec, progress)
            progress.stage("encoding", source.size_bytes())
            train = _encode(source.train(spec.max_examples), tok, spec, tmp / "train.ids", _dtype(tok), progress)
        if train["lines"] == 0:
            raise CorpusError(EMPTY)
        if train["rows"] == 0:
            raise CorpusError(_no_usable_lines(train, spec))
        dtype = _dtype(tok)
        heldout = None
        if source.has_heldout:
            progress.stage("encoding validation set", None)
            heldout = _encode(source.heldout(spec.heldout_max), tok, spec, tmp / "heldout.ids", dtype, progress)
        seconds = time.perf_counter() - t0
        arrays = {"train": _array_info(tmp, "train.ids", train),
                  "heldout": _array_info(tmp, "heldout.ids", heldout) if heldout and heldout["rows"] else None}
        if heldout is not None and not heldout["rows"]:
            (tmp / "heldout.ids").unlink()
        stats = {k: train[k] for k in ("lines", "rows", "tokens", "unknown", "truncated", "too_short", "too_long",
                                       "replaced", "raw_bytes")}
        stats.update(vocab_size=tok.vocab_size, heldout_rows=heldout["rows"] if heldout else 0, seconds=seconds,
                     bytes_on_disk=sum(p.stat().st_size for p in tmp.iterdir()))
        meta = {"version": CACHE_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "key": {"source": source.key(), "spec": asdict(spec)}, "source_fingerprint": fingerprint,
                "digest": _digest(fingerprint, spec), "seq_len": spec.seq_len, "dtype": dtype.str,
                "arrays": arrays, "stats": stats, "tokenizer": tok.to_json()}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        _install(tmp, entry)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    found = open_entry(entry, fingerprint)
    found.built = True
    return found


def _dtype(tok) -> np.dtype:
    return np.dtype("<u2") if tok.vocab_size <= 65536 else np.dtype("<i4")


def _array_info(folder: Path, name: str, s: dict) -> dict:
    return {"file": name, "rows": s["rows"], "crc32": s["crc32"], "sampled": sampled_digest(folder / name)}


def _install(tmp: Path, entry: Path) -> None:
    """Move a finished build into place, replacing an old entry; a concurrent twin build may win."""
    old = None
    if entry.exists():
        old = entry.with_name(f".{entry.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            os.rename(entry, old)
        except OSError:
            old = None
    try:
        os.rename(tmp, entry)
    except OSError:
        if not (entry / "meta.json").is_file():
            raise
        # another process installed the same entry first; ours is identical, drop it
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _no_usable_lines(s: dict, spec: EncodeSpec) -> str:
    parts = []
    if s["too_short"]:
        parts.append(f"{s['too_short']} have fewer than --min-tokens {spec.min_tokens} tokens")
    if s["too_long"]:
        parts.append(f"{s['too_long']} are longer than --seq-len {spec.seq_len} tokens (--long-lines drop)")
    return (f"no line of usable length: of {s['lines']} lines, " + " and ".join(parts) +
            "; adjust --min-tokens, --seq-len or --long-lines cut")
