"""``train-text``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from seqgan_gp.cli.common import (console, data_parallel, device_option, exit_if_stopped, fault_options, loop_options,
                             run_options, runtime_options, seed_option, tensorboard_option, user_errors)
from seqgan_gp.losses import LOSSES
from seqgan_gp.text.config import PRESETS, preset
from seqgan_gp.text.train import train_text


@click.command("train-text")
@click.option("--preset", "preset_name", default="paper", show_default=True,
              type=click.Choice(sorted(PRESETS)),
              help="Base hyperparameters: paper (gan_language.py), demo (minutes on a CPU), tiny (tests). Flags override it.")
@click.option("--corpus", default=None,
              help="embedded (generated English-like grammar, no download), billion_word (with --data-dir), "
                   "PATH to a .txt (one sentence a line), .jsonl, .csv or .parquet file, a folder of them or a "
                   "save_to_disk dataset, or hf:NAME[:CONFIG][:SPLIT] (Hugging Face Hub) [preset: embedded].")
@click.option("--data-dir", type=click.Path(path_type=str), default=None,
              help="billion_word: folder holding training-monolingual.tokenized.shuffled/.")
@click.option("--text-column", default=None,
              help="Column holding the text in .jsonl/.csv/.parquet/datasets corpora [default: 'text' or the only text column].")
@click.option("--tokenizer", type=click.Choice(["char", "word", "sentencepiece"]), default=None,
              help="char (the paper's: most frequent characters), word (most frequent words) or sentencepiece "
                   "(trained on the corpus with --vocab-size) [preset: char].")
@click.option("--sp-model-type", type=click.Choice(["unigram", "bpe"]), default=None,
              help="sentencepiece model [preset: unigram].")
@click.option("--long-lines", type=click.Choice(["cut", "drop"]), default=None,
              help="Lines longer than --seq-len tokens: cut (the paper's) or drop [preset: cut].")
@click.option("--min-tokens", type=int, help="Drop lines with fewer tokens (paper: 0).")
@click.option("--cache-dir", type=click.Path(path_type=str), default=None,
              help="Where encoded corpora are cached [default: $SEQGAN_GP_CACHE, else $XDG_CACHE_HOME/seqgan_gp, "
                   "else ~/.cache/seqgan_gp].")
@click.option("--seq-len", type=int, help="Tokens per sentence after truncation/padding (paper: 32 characters).")
@click.option("--dim", type=int, help="Channels of the residual blocks (paper: 512).")
@click.option("--blocks", type=int, help="Residual blocks in generator and critic (paper: 5).")
@click.option("--vocab-size", type=int, help="Most ids in the vocabulary, unknown and pad included (paper: 2048 characters).")
@click.option("--max-examples", type=int, help="Sentences read from the corpus (paper: 10000000).")
@click.option("--loss", type=click.Choice(LOSSES), default=None,
              help="Objective [preset: wgan-gp]. Others bring their paper optimizer defaults: wgan (clipping, "
                   "RMSProp 5e-5, 5 critic steps), dcgan (Adam 2e-4, 1 step), lsgan (RMSProp 1e-4, 1 step).")
@click.option("--clip", type=float, help="Weight clipping bound c for --loss wgan (paper: 0.01).")
@click.option("--eval-samples", type=int, help="Argmax samples per JS-n evaluation (paper: 640).")
@loop_options
@seed_option
@device_option
@tensorboard_option
@run_options
@user_errors
@runtime_options
@fault_options
def train_text_cmd(preset_name, device, out, resume, overwrite, cache_dir, runtime, faults, tensorboard, **overrides):
    """Train the paper's WGAN-GP language model (character level as the paper; word or subword on request).

    \b
    Examples:
      python cli.py train-text --preset demo
      python cli.py train-text --corpus billion_word --data-dir ~/data/1-billion-word
      python cli.py train-text --corpus sentences.txt --preset demo --iters 5000
      python cli.py train-text --preset demo --tokenizer word
      python cli.py train-text --corpus hf:wikitext:wikitext-2-raw-v1 --tokenizer sentencepiece --vocab-size 4000
      python cli.py train-text --resume runs/00000-text-embedded --iters 4000
      python cli.py train-text --preset demo --amp auto --compile
      torchrun --nproc_per_node 4 cli.py train-text --corpus billion_word --data-dir DIR   # data-parallel
    """
    con = console()
    with data_parallel(device) as (dist, dev):
        run = train_text(preset_cfg=preset(preset_name), overrides=overrides, device=dev,
                         console=con, out=Path(out) if out else None, resume=Path(resume) if resume else None,
                         overwrite=overwrite, command=sys.argv, cache_dir=Path(cache_dir) if cache_dir else None,
                         runtime=runtime, dist=dist, tensorboard=tensorboard, faults=faults)
    res = run.result
    exit_if_stopped(con, "train-text", run.run_dir, res, quiet=not dist.is_main)
    if not dist.is_main:  # rank 0 reports
        return
    con.print(f"[bold]done[/]: iteration {res.iteration}, run directory {run.run_dir}")
    con.print("samples (argmax, fixed noise):")
    for text in run.samples[:8]:
        con.print(f"  {text}", markup=False)
