"""The corpus of a text run: ``--corpus`` through the encoded-corpus cache to memory-mapped ids.

:func:`open_text_data` turns a :class:`TextConfig` into a source (corpora.sources), an encoding
spec and a cache entry (corpora.cache), showing progress while a corpus is encoded for the first
time (a rich bar on a terminal, occasional plain lines elsewhere). Every problem a user can fix arrives as a ``UserError`` naming the flag.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from rich.console import Console

from corpora import CorpusError
from corpora.cache import EncodedCorpus, EncodeSpec, default_cache_dir, find_entry, prepare
from corpora.sources import open_source
from seqgan_gp.errors import UserError
from seqgan_gp.messages import option
from seqgan_gp.progress import PLAIN_EVERY_S
from seqgan_gp.text.config import TextConfig

HELDOUT_MAX = 10_000  # validation sentences encoded (BLEU references)


def encode_spec(cfg: TextConfig) -> EncodeSpec:
    return EncodeSpec(tokenizer=cfg.tokenizer, vocab_size=cfg.vocab_size, seq_len=cfg.seq_len,
                      max_examples=cfg.max_examples if cfg.corpus != "embedded" else None,
                      model_type=cfg.sp_model_type, long_lines=cfg.long_lines, min_tokens=cfg.min_tokens,
                      heldout_max=HELDOUT_MAX, seed=cfg.seed, label_column=cfg.label_column)


def source_of(cfg: TextConfig):
    try:
        return open_source(cfg.corpus, data_dir=cfg.data_dir, text_column=cfg.text_column,
                           embedded_size=min(cfg.embedded_size, cfg.max_examples), seed=cfg.seed,
                           label_column=cfg.label_column)
    except CorpusError as exc:
        raise UserError(str(exc)) from None


def corpus_name(corpus: str) -> str:
    """Short name of a corpus for run directories."""
    if corpus in ("embedded", "billion_word"):
        return corpus
    if corpus.startswith("hf:"):
        return corpus[3:].split(":")[0].rstrip("/").split("/")[-1]
    return Path(corpus).stem or Path(corpus).name


def _size(nbytes: int) -> str:
    """``40.7 kB``, ``133.0 MB``, ``1.2 GB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes / 1e3:,.1f} kB"


class RichProgress:
    """corpora.cache.Progress on a console: on a terminal one rich bar per stage, in bytes of raw text;
    elsewhere (a pipe, a log file) a plain line per stage when it ends and one every
    :data:`seqgan_gp.progress.PLAIN_EVERY_S` seconds while it runs."""

    def __init__(self, console: Console, enabled: bool = True):
        self.console, self.enabled = console, enabled
        self.progress = None  # the rich bars (terminal)
        self.task = None
        self.plain: Optional[dict] = None  # the running stage's name, totals and clocks (elsewhere)

    def stage(self, name, total_bytes):
        if not self.enabled:
            return
        if not self.console.is_terminal:
            self._end_plain()
            now = time.perf_counter()
            self.plain = {"name": name, "total": total_bytes, "bytes": 0, "lines": 0, "t0": now, "shown": now}
            return
        if self.progress is None:
            from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TransferSpeedColumn)

            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                                     TransferSpeedColumn(), TextColumn("{task.fields[lines]:,} lines"),
                                     TimeElapsedColumn(), console=self.console)
            self.progress.start()
        elif self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[self.task].completed,
                                 total=self.progress.tasks[self.task].completed)
        self.task = self.progress.add_task(name, total=total_bytes, lines=0)

    def advance(self, nbytes, nlines):
        if self.plain is not None:
            self.plain["bytes"] += nbytes
            self.plain["lines"] += nlines
            if time.perf_counter() - self.plain["shown"] >= PLAIN_EVERY_S:
                self._plain_line(done=False)
        elif self.progress is not None and self.task is not None:
            lines = self.progress.tasks[self.task].fields["lines"] + nlines
            self.progress.update(self.task, advance=nbytes, lines=lines)

    def _plain_line(self, *, done: bool) -> None:
        p = self.plain
        p["shown"] = time.perf_counter()
        seconds = p["shown"] - p["t0"]
        of = f" of {_size(p['total'])}" if p["total"] and not done else ""
        self.console.print(f"{p['name']}: {_size(p['bytes'])}{of}, {p['lines']:,} lines, "
                           f"{'done in' if done else 'after'} {seconds:.1f} s", markup=False, highlight=False)

    def _end_plain(self) -> None:
        if self.plain is not None:
            self._plain_line(done=True)
            self.plain = None

    def note(self, message):
        self.console.print(f"[yellow]{message}", markup=True, highlight=False)

    def close(self):
        self._end_plain()
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def open_text_data(cfg: TextConfig, *, console: Console, cache_dir: Optional[Path] = None,
                   show_progress: bool = True, force: bool = False) -> EncodedCorpus:
    """Encode (or open from the cache) the corpus of ``cfg``."""
    source = source_of(cfg)
    progress = RichProgress(console, enabled=show_progress)
    try:
        encoded = prepare(source, encode_spec(cfg), cache_dir, force=force, progress=progress)
    except CorpusError as exc:
        message = str(exc)
        raise UserError(message if message.startswith("--") else f"--corpus {cfg.corpus}: {message}") from None
    except OSError as exc:
        where = cache_dir or default_cache_dir()
        raise UserError(f"--cache-dir {where}: cannot write the encoded corpus ({exc.strerror or exc}); "
                        f"free disk space or choose another --cache-dir") from None
    finally:
        progress.close()
    if encoded.built and encoded.stats.get("replaced"):
        console.print(f"[yellow]{cfg.corpus}: {encoded.stats['replaced']} undecodable byte sequences "
                      f"replaced by U+FFFD")
    return encoded


def open_cached_text_data(encoding_digest: Optional[str], cache_dir: Optional[Path] = None) -> Optional[EncodedCorpus]:
    """The cached encoding with this digest (what a checkpoint records as ``corpus_fingerprint``), found
    without reading the corpus (which may be gone); None if the cache does not hold it."""
    return find_entry(cache_dir or default_cache_dir(), encoding_digest) if encoding_digest else None


def corpus_flags(cfg: TextConfig) -> str:
    """The flags that name ``cfg``'s corpus, shell-quoted: ``--corpus news.txt``."""
    flags = option("--corpus", cfg.corpus)
    return flags + (f" {option('--data-dir', cfg.data_dir)}" if cfg.data_dir else "")


def recorded_corpus(cfg: TextConfig, meta: dict, cache_dir: Optional[Path]) -> EncodedCorpus:
    """A resumed run's corpus from the cache entry its checkpoint ``meta`` records, without reading
    the corpus that config.json names (which may be anything: a network name, any file); a
    UserError naming the flags to pass when the cache no longer holds it."""
    digest = meta.get("corpus_fingerprint")
    data = open_cached_text_data(digest if isinstance(digest, str) else None, cache_dir)
    if data is None:
        where = cache_dir or default_cache_dir()
        raise UserError(f"--resume: the run's encoded corpus is not in the cache ({where}), and a corpus named in a "
                        f"run's files is read only when you name it: add {corpus_flags(cfg)} (the run's) to the "
                        f"command, or --cache-dir with the cache that holds it")
    return data


def check_batch(cfg: TextConfig, data: EncodedCorpus) -> None:
    if len(data.train) < cfg.batch_size:
        raise UserError(f"--corpus {cfg.corpus}: only {len(data.train)} usable sentences, fewer than one batch of "
                        f"--batch-size {cfg.batch_size}; lower --batch-size or use a larger corpus")


def check_same_corpus(where: Path, cfg: TextConfig, meta: dict, data: EncodedCorpus) -> None:
    """A resumed run must train on the corpus and vocabulary it started with."""
    if meta.get("corpus_fingerprint") != data.encoding_digest:
        raise UserError(f"--resume {where}: the corpus {cfg.corpus!r} has changed since the run started "
                        f"(encoding digest {data.encoding_digest} vs {meta.get('corpus_fingerprint')}); restore it or "
                        f"start a new run")
    check_tokenizer(where, cfg, meta, data)


def check_tokenizer(where: Path, cfg: TextConfig, meta: dict, data: EncodedCorpus) -> None:
    """The checkpoint's tokenizer must be the one the corpus gives, or ids would mean other tokens."""
    saved = meta.get("tokenizer") or {}
    current = data.tokenizer.to_json()
    if saved != current:
        ours, theirs = describe_tokenizer(saved), describe_tokenizer(current)
        if ours == theirs:  # same kind and size: say which ids changed meaning
            ours += f" {first_difference(saved, current)}"
        raise UserError(f"{where}: tokenizer/vocabulary mismatch between checkpoint and corpus: the checkpoint's "
                        f"{ours} differs from the {theirs} that --corpus {cfg.corpus} gives now; restore the "
                        f"corpus the run was trained on")


def first_difference(saved: dict, current: dict) -> str:
    """Where two tokenizer documents of the same size differ, e.g. "(id 2 is 'a' there, 'e' now)"."""
    if not isinstance(saved, dict):
        return f"(a JSON {type(saved).__name__} there)"
    for key in ("chars", "words", "bytes"):
        a, b = (d.get(key) if isinstance(d.get(key), list) else [] for d in (saved, current))
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if diff:
            def show(v):  # bytes are ints in the document
                return f"byte 0x{v:02x}" if key == "bytes" and isinstance(v, int) and 0 <= v < 256 else repr(v)
            return (f"({len(diff)} tokens moved; list position {diff[0]} is {show(a[diff[0]])} there, "
                    f"{show(b[diff[0]])} now)")
    keys = sorted(str(k) for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    return f"(differs in {', '.join(keys)})"


# ids of each tokenizer document: its list of tokens plus the unknown id (and the word tokenizer's pad)
_SIZE = {"char": ("chars", 1), "byte": ("bytes", 1), "word": ("words", 2)}


def describe_tokenizer(doc: dict) -> str:
    if not isinstance(doc, dict):
        return f"tokenizer (a JSON {type(doc).__name__}, not a tokenizer document)"
    kind = doc.get("kind")
    if kind not in _SIZE:
        return f"{kind} tokenizer"
    key, extra = _SIZE[kind]
    tokens = doc.get(key)
    n = len(tokens) + extra if isinstance(tokens, list) else "?"
    return f"{kind} tokenizer ({n} ids, seq_len {doc.get('seq_len')})"
