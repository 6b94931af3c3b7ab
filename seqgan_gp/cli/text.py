"""``train-text``."""

from __future__ import annotations

from pathlib import Path

import click

from seqgan_gp.cli.options import (console, data_parallel, device_option, exit_if_stopped, hyperparameter_options,
                                   program, training_options, user_errors)
from seqgan_gp.cli.presets import chosen_preset, preset_help
from seqgan_gp.text.config import PRESETS, RELAXATION_HELP, RELAXATIONS, TOKENIZER_HELP, TOKENIZERS, preset


def corpus_options(f):
    """The corpus, tokenizer and cache options of every command that trains on text (train-text, train-lm)."""
    options = [
        click.option("--corpus", default=None,
                     help="embedded (generated English-like grammar, no download), billion_word (with --data-dir), "
                          "PATH to a .txt (one sentence a line), .jsonl, .csv or .parquet file, a folder of them or "
                          "a save_to_disk dataset, or hf:NAME[:CONFIG][:SPLIT] (Hugging Face Hub) [preset: embedded]."),
        click.option("--data-dir", type=click.Path(path_type=str), default=None,
                     help="billion_word: folder holding training-monolingual.tokenized.shuffled/."),
        click.option("--text-column", default=None,
                     help="Column holding the text in .jsonl/.csv/.parquet/datasets corpora [default: 'text' or the "
                          "only text column]."),
        click.option("--max-examples", type=int, help="Sentences read from the corpus (paper: 10000000)."),
        click.option("--tokenizer", type=click.Choice(TOKENIZERS), default=None, help=TOKENIZER_HELP),
        click.option("--vocab-size", type=int,
                     help="Most ids in the vocabulary, unknown and pad included (paper: 2048 characters)."),
        click.option("--sp-model-type", type=click.Choice(["unigram", "bpe"]), default=None,
                     help="sentencepiece model [preset: unigram]."),
        click.option("--seq-len", type=int,
                     help="Tokens per sentence after truncation/padding (paper: 32 characters)."),
        click.option("--long-lines", type=click.Choice(["cut", "drop"]), default=None,
                     help="Lines longer than --seq-len tokens: cut (the paper's) or drop [preset: cut]."),
        click.option("--min-tokens", type=int, help="Drop lines with fewer tokens (paper: 0)."),
        click.option("--cache-dir", type=click.Path(path_type=str), default=None,
                     help="Where encoded corpora are cached [default: $SEQGAN_GP_CACHE, else "
                          "$XDG_CACHE_HOME/seqgan_gp, else ~/.cache/seqgan_gp]."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def train_on_text(task, presets, preset_name, device: str, run, overrides: dict):
    """Run ``task`` (train-text's or train-lm's) from the preset ``presets(name)`` with the command's
    flags (no --preset: the paper's, refused on a CPU: seqgan_gp.cli.presets); returns ``(console,
    TaskRun)``, or ``(console, None)`` on a data-parallel rank other than 0 (rank 0 reports)."""
    from seqgan_gp.runner import run_task

    con = console()
    with data_parallel(device) as (dist, dev):
        name = chosen_preset(preset_name, kind=task.kind, device=dev, resuming=run.resume is not None,
                             program=program())
        done = run_task(task, base=presets(name), overrides=overrides, device=dev, console=con, dist=dist,
                        **run.run_task_arguments())
    exit_if_stopped(con, done, quiet=not dist.is_main)
    return con, (done if dist.is_main else None)


def shown_samples(lines: list[str], per_class: int = 4, classes: int = 4) -> list[str]:
    """The summary's samples: the first 8, or of a conditional run (grouped under ``== NAME (label K) ==``
    headers) the first ``per_class`` of the first ``classes`` classes, under their headers."""
    if not lines or not (lines[0].startswith("== ") and lines[0].endswith(") ==")):
        return lines[:8]
    out, groups, left = [], 0, 0
    for line in lines:
        if line.startswith("== ") and line.endswith(") =="):
            groups += 1
            if groups > classes:
                break
            out.append(line)
            left = per_class
        elif left:
            out.append(line)
            left -= 1
    return out


@click.command("train-text")
@click.option("--preset", "preset_name", default=None, type=click.Choice(sorted(PRESETS)),
              help=preset_help("text", "Base hyperparameters: paper (gan_language.py; on --corpus billion_word with "
                                       "the reference's byte characters), demo (minutes on a CPU), cpu (demo's sizes "
                                       "tuned for a CPU budget: 2 critic steps, st-argmax, EMA), tiny (tests)."))
@corpus_options
@click.option("--label-column", default=None,
              help="Train a class-conditional model (AC-GAN) on these labels: a column of a .jsonl/.csv/.parquet/"
                   "datasets corpus, tab for .txt lines LABEL<TAB>SENTENCE, type for the embedded corpus's "
                   "sentence types [default: unconditional, the paper's].")
@click.option("--condition", type=click.Choice(["blocks", "input"]), default=None,
              help="Conditional: where the class enters the generator: blocks (a class vector added before every "
                   "residual block) or input (added to Linear(z), as concatenating one-hot y to z) [preset: blocks].")
@click.option("--acgan-scale", type=float, help="Conditional: weight of the critic's class cross-entropy on real "
              "rows (paper's AC-GAN: 1.0).")
@click.option("--acgan-scale-g", type=float, help="Conditional: weight of the generator's class cross-entropy "
              "(paper's AC-GAN: 0.1).")
@click.option("--dim", type=int, help="Channels of the residual blocks (paper: 512).")
@click.option("--blocks", type=int, help="Residual blocks in generator and critic (paper: 5).")
@click.option("--relaxation", type=click.Choice(RELAXATIONS), default=None, help=RELAXATION_HELP + " [preset: softmax]")
@click.option("--gumbel-tau", type=float, help="Temperature of --relaxation gumbel / st (the Gumbel-softmax) and of "
              "st-argmax's backward softmax [preset: 1].")
@click.option("--output-tau", type=float, help="--relaxation softmax: the critic sees softmax(logits / T); below 1 "
              "sharpens the generator's rows towards one-hot (paper: 1).")
@click.option("--real-noise", type=float, help="Label smoothing of the real one-hot rows the critic sees: "
              "(1 - eps)*onehot + eps/V (paper: 0).")
@hyperparameter_options(help={"--eval-samples": "Argmax samples per JS-n evaluation (paper: 640)."})
@device_option
@user_errors
@training_options
def train_text_cmd(preset_name, device, cache_dir, run, **overrides):
    """Train the paper's WGAN-GP language model (character level as the paper; word or subword on request).

    Without --preset this is the paper's full run, about a month on a CPU: there a bare command is
    refused and --preset must be named (demo: minutes). Every run prints its estimated duration
    after its first iterations.

    \b
    Examples:
      python cli.py train-text --preset demo                                     # minutes on a CPU
      python cli.py train-text --corpus billion_word --data-dir ~/data/1-billion-word   # the paper's run (bytes), on a GPU
      python cli.py train-text --corpus sentences.txt --preset demo --iters 5000
      python cli.py train-text --preset demo --tokenizer word
      python cli.py train-text --corpus hf:wikitext:wikitext-2-raw-v1 --tokenizer sentencepiece --vocab-size 4000
      python cli.py train-text --resume runs/00000-text-embedded --iters 4000
      python cli.py train-text --preset demo --label-column type          # conditional on sentence types
      python cli.py train-text --corpus reviews.jsonl --label-column sentiment --preset demo
      python cli.py train-text --preset demo --amp auto --compile
      python cli.py train-text --preset demo --relaxation st --real-noise 0.1   # what the critic sees
      torchrun --nproc_per_node 4 cli.py train-text --corpus billion_word --data-dir DIR   # data-parallel
    """
    from seqgan_gp.text.task import TextTask

    task = TextTask(cache_dir=Path(cache_dir) if cache_dir else None)
    con, done = train_on_text(task, preset, preset_name, device, run, overrides)
    if done is None:
        return
    con.print(f"[bold]done[/]: iteration {done.result.iteration}, run directory {done.run_dir}")
    con.print("samples (argmax, fixed noise):")
    for text in shown_samples(done.last_sample or []):
        con.print(f"  {text}", markup=False)
