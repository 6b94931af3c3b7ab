"""``train-text``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commands.common import console, device_option, loop_options, run_options, seed_option, user_errors
from seqgan_gp.device import resolve_device
from seqgan_gp.losses import LOSSES
from seqgan_gp.text.config import PRESETS, preset
from seqgan_gp.text.train import train_text


@click.command("train-text")
@click.option("--preset", "preset_name", default="paper", show_default=True,
              type=click.Choice(sorted(PRESETS)),
              help="Base hyperparameters: paper (gan_language.py), demo (minutes on a CPU), tiny (tests). Flags override it.")
@click.option("--corpus", default=None,
              help="embedded (generated English-like grammar, no download), billion_word (with --data-dir), "
                   "or PATH to a UTF-8 text file with one sentence a line [preset: embedded].")
@click.option("--data-dir", type=click.Path(path_type=str), default=None,
              help="billion_word: folder holding training-monolingual.tokenized.shuffled/.")
@click.option("--seq-len", type=int, help="Characters per sentence after truncation/padding (paper: 32).")
@click.option("--dim", type=int, help="Channels of the residual blocks (paper: 512).")
@click.option("--blocks", type=int, help="Residual blocks in generator and critic (paper: 5).")
@click.option("--vocab-size", type=int, help="Most ids in the character vocabulary, unknown included (paper: 2048).")
@click.option("--max-examples", type=int, help="Sentences read from the corpus (paper: 10000000).")
@click.option("--loss", type=click.Choice(LOSSES), default=None,
              help="Objective [preset: wgan-gp]. Others bring their paper optimizer defaults: wgan (clipping, "
                   "RMSProp 5e-5, 5 critic steps), dcgan (Adam 2e-4, 1 step), lsgan (RMSProp 1e-4, 1 step).")
@click.option("--clip", type=float, help="Weight clipping bound c for --loss wgan (paper: 0.01).")
@click.option("--eval-samples", type=int, help="Argmax samples per JS-n evaluation (paper: 640).")
@loop_options
@seed_option
@device_option
@run_options
@user_errors
def train_text_cmd(preset_name, device, out, resume, overwrite, **overrides):
    """Train the paper's character-level WGAN-GP language model.

    \b
    Examples:
      python cli.py train-text --preset demo
      python cli.py train-text --corpus billion_word --data-dir ~/data/1-billion-word
      python cli.py train-text --corpus sentences.txt --preset demo --iters 5000
      python cli.py train-text --resume runs/00000-text-embedded --iters 4000
    """
    con = console()
    run = train_text(preset_cfg=preset(preset_name), overrides=overrides, device=resolve_device(device),
                     console=con, out=Path(out) if out else None, resume=Path(resume) if resume else None,
                     overwrite=overwrite, command=sys.argv)
    res = run.result
    if res.stopped_by is not None:
        con.print(f"[yellow]stopped at iteration {res.iteration}; checkpoint {res.last_checkpoint}\n"
                  f"resume with: python cli.py train-text --resume {run.run_dir}")
        sys.exit(128 + res.stopped_by)
    con.print(f"[bold]done[/]: iteration {res.iteration}, run directory {run.run_dir}")
    con.print("samples (argmax, fixed noise):")
    for text in run.samples[:8]:
        con.print(f"  {text}", markup=False)
