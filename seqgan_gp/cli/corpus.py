"""``prepare-corpus``: encode a corpus into the cache (the step ``train-text`` does on first use)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from seqgan_gp.cli.common import console, user_errors
from corpora.cache import verify
from seqgan_gp.errors import UserError
from seqgan_gp.text.config import PRESETS, TOKENIZERS, preset, with_overrides
from seqgan_gp.text.data import open_text_data


def summary_table(data, seconds_open: float) -> Table:
    s = data.stats
    rows = max(s["rows"], 1)
    table = Table(title=f"{data.corpus} → {data.tokenizer.kind} ids, {data.ids.shape[1]} tokens a row")
    table.add_column("")
    table.add_column("value", justify="right")
    mb = s["raw_bytes"] / 1e6
    table.add_row("sentences", f"{s['rows']:,}")
    table.add_row("lines read", f"{s['lines']:,}")
    table.add_row("tokens (before padding)", f"{s['tokens']:,}")
    table.add_row("vocabulary", f"{s['vocab_size']:,} ids")
    table.add_row("unknown rate", f"{s['unknown'] / max(s['tokens'], 1):.4%}")
    table.add_row("truncation rate", f"{s['truncated'] / rows:.2%}")
    table.add_row("dropped (short / long)", f"{s['too_short']:,} / {s['too_long']:,}")
    table.add_row("undecodable bytes replaced", f"{s['replaced']:,}")
    table.add_row("validation sentences", f"{s['heldout_rows']:,}")
    table.add_row("raw text", f"{mb:,.1f} MB")
    table.add_row("bytes on disk", f"{s['bytes_on_disk'] / 1e6:,.1f} MB")
    table.add_row("encoding time", f"{s['seconds']:.1f} s ({mb / max(s['seconds'], 1e-9):,.1f} MB/s, two passes)")
    table.add_row("this call", ("encoded" if data.encoded.built else "opened from the cache") +
                  f" in {seconds_open:.3f} s")
    table.add_row("cache entry", str(data.encoded.path))
    return table


@click.command("prepare-corpus")
@click.option("--preset", "preset_name", default="paper", show_default=True, type=click.Choice(sorted(PRESETS)),
              help="Take --seq-len, --vocab-size, --max-examples (and the embedded corpus size) from this "
                   "train-text preset, so train-text with the same preset finds the cache ready.")
@click.option("--corpus", default=None,
              help="embedded, billion_word (with --data-dir), a .txt/.jsonl/.csv/.parquet file, a folder of them, "
                   "a save_to_disk dataset, or hf:NAME[:CONFIG][:SPLIT] [preset: embedded].")
@click.option("--data-dir", type=click.Path(path_type=str), default=None,
              help="billion_word: folder holding training-monolingual.tokenized.shuffled/.")
@click.option("--text-column", default=None, help="Column holding the text (datasets corpora).")
@click.option("--tokenizer", type=click.Choice(TOKENIZERS), default=None, help="char, word or sentencepiece [preset: char].")
@click.option("--sp-model-type", type=click.Choice(["unigram", "bpe"]), default=None, help="sentencepiece model [preset: unigram].")
@click.option("--vocab-size", type=int, help="Most ids in the vocabulary, unknown and pad included (paper: 2048).")
@click.option("--seq-len", type=int, help="Tokens a row (paper: 32).")
@click.option("--max-examples", type=int, help="Lines read from the corpus (paper: 10000000).")
@click.option("--long-lines", type=click.Choice(["cut", "drop"]), default=None, help="cut (the paper's) or drop long lines.")
@click.option("--min-tokens", type=int, help="Drop lines with fewer tokens (paper: 0).")
@click.option("--seed", type=int, default=None, help="Seed of the embedded corpus and of sentencepiece's sampling (preset: 0).")
@click.option("--cache-dir", type=click.Path(path_type=str), default=None,
              help="Cache folder [default: $SEQGAN_GP_CACHE, else $XDG_CACHE_HOME/seqgan_gp, else ~/.cache/seqgan_gp].")
@click.option("--force", is_flag=True, help="Encode again even when a valid cache entry exists.")
@click.option("--verify", "check", is_flag=True, help="Also check the CRC-32 of every cached file in full (reads them once).")
@user_errors
def prepare_corpus_cmd(preset_name, cache_dir, force, check, **overrides):
    """Encode a corpus once into memory-mapped token ids (train-text does this on first use).

    \b
    Examples:
      python cli.py prepare-corpus --preset demo
      python cli.py prepare-corpus --corpus billion_word --data-dir ~/data/1-billion-word
      python cli.py prepare-corpus --corpus news.jsonl --text-column body --tokenizer sentencepiece --vocab-size 8000
    """
    con = console()
    cfg = with_overrides(preset(preset_name), **overrides)
    t0 = time.perf_counter()
    data = open_text_data(cfg, console=con, cache_dir=Path(cache_dir) if cache_dir else None, force=force)
    seconds = time.perf_counter() - t0
    con.print(summary_table(data, seconds))
    if check:
        bad = verify(data.encoded)
        if bad:
            raise UserError(f"{data.encoded.path}: {', '.join(bad)} damaged (checksum mismatch); run "
                            f"prepare-corpus again with --force")
        con.print("[green]verified[/]: every cached file matches its CRC-32")
