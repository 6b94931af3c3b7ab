"""``prepare-corpus``: encode a corpus into the cache (the step ``train-text`` does on first use)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from seqgan_gp.cli.options import console, user_errors
from seqgan_gp.errors import UserError
from seqgan_gp.config import with_overrides
from seqgan_gp.text.config import PRESETS, TOKENIZER_HELP, TOKENIZERS, preset


def summary_table(corpus: str, data, seconds_open: float) -> Table:
    s = data.stats
    rows = max(s["rows"], 1)
    table = Table(title=f"{corpus} → {data.tokenizer.kind} ids, {data.train.shape[1]} tokens a row")
    table.add_column("")
    table.add_column("value", justify="right")
    mb, count = s["raw_bytes"] / 1e6, "{:,}".format
    for label, value in [
        ("sentences", count(s["rows"])), ("lines read", count(s["lines"])),
        ("tokens (before padding)", count(s["tokens"])), ("vocabulary", f"{count(s['vocab_size'])} ids"),
        ("unknown rate", f"{s['unknown'] / max(s['tokens'], 1):.4%}"),
        ("truncation rate", f"{s['truncated'] / rows:.2%}"),
        ("dropped (short / long)", f"{count(s['too_short'])} / {count(s['too_long'])}"),
        ("undecodable bytes replaced", count(s["replaced"])), ("validation sentences", count(s["heldout_rows"])),
        *([("classes", f"{len(data.classes)}: {data.classes.describe()}")] if data.classes is not None else []),
        ("raw text", f"{mb:,.1f} MB"), ("bytes on disk", f"{s['bytes_on_disk'] / 1e6:,.1f} MB"),
        ("encoding time", f"{s['seconds']:.1f} s ({mb / max(s['seconds'], 1e-9):,.1f} MB/s, two passes)"),
        ("this call", f"{'encoded' if data.built else 'opened from the cache'} in {seconds_open:.3f} s"),
        ("cache entry", str(data.path)),
    ]:
        table.add_row(label, value)
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
@click.option("--label-column", default=None,
              help="Also encode class labels: a datasets column, tab (.txt lines LABEL<TAB>SENTENCE) or type "
                   "(embedded); as train-text --label-column.")
@click.option("--tokenizer", type=click.Choice(TOKENIZERS), default=None, help=TOKENIZER_HELP)
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
    from corpora.cache import verify  # numpy and the corpus readers load when the command runs
    from seqgan_gp.text.data import open_text_data

    con = console()
    cfg = with_overrides(preset(preset_name), **overrides)
    t0 = time.perf_counter()
    data = open_text_data(cfg, console=con, cache_dir=Path(cache_dir) if cache_dir else None, force=force)
    seconds = time.perf_counter() - t0
    con.print(summary_table(cfg.corpus, data, seconds))
    if check:
        bad = verify(data)
        if bad:
            raise UserError(f"{data.path}: {', '.join(bad)} damaged (checksum mismatch); run "
                            f"prepare-corpus again with --force")
        con.print("[green]verified[/]: every cached file matches its CRC-32")
