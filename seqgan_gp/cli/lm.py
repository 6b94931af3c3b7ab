"""``train-lm``: the maximum-likelihood baseline on train-text's corpora."""

from __future__ import annotations

from pathlib import Path

import click

from seqgan_gp.cli.options import device_option, hyperparameter_options, training_options, user_errors
from seqgan_gp.cli.presets import preset_help
from seqgan_gp.cli.text import corpus_options, train_on_text
from seqgan_gp.errors import UserError
from seqgan_gp.lm.config import PRESETS, preset

GAN_ONLY = ("--critic-iters", "--loss", "--lambda-gp", "--clip", "--rmsprop", "--ema-decay")


@click.command("train-lm")
@click.option("--preset", "preset_name", default=None, type=click.Choice(sorted(PRESETS)),
              help=preset_help("lm", "Base hyperparameters: paper (the GAN paper's sizes, DIM 512, 5 blocks, with "
                                     "Adam 1e-3 decayed to 0 over 200000 steps), demo (the demo GAN's sizes, minutes "
                                     "on a CPU), tiny (tests)."))
@corpus_options
@click.option("--model", type=click.Choice(["conv", "lstm"]), default=None,
              help="conv: the GAN generator's 1-D conv ResNet made causal (same DIM, blocks, kernel); lstm: a "
                   "stacked LSTM of width --dim [preset: conv].")
@click.option("--dim", type=int, help="conv: channels of the residual blocks; lstm: its width (GAN paper: 512).")
@click.option("--blocks", type=int, help="conv: residual blocks (GAN paper: 5).")
@click.option("--kernel", type=int, help="conv: width of the causal convolutions (GAN paper: 5).")
@click.option("--layers", type=int, help="lstm: stacked layers [preset: 2].")
@click.option("--grad-clip", type=float, help="Clip the gradient's global norm to this (0: off) [preset: 1].")
@click.option("--eval-temperature", type=float,
              help="Temperature of the samples each evaluation scores and samples/ shows (1: the model's own "
                   "distribution; 0: greedy) [preset: 1].")
@click.option("--eval-rows", type=int, help="Held-out rows whose NLL per token each evaluation reports.")
@hyperparameter_options(skip=GAN_ONLY, help={
    "--iters": "Optimizer steps to train to (paper preset: 200000).",
    "--batch-size": "Rows per step (paper preset: 64).",
    "--lr": "Adam learning rate (paper preset: 1e-3).",
    "--betas": "Adam betas as B1,B2 (paper preset: 0.9,0.999).",
    "--lr-decay/--no-lr-decay": "Decay the learning rate linearly to 0 at --iters [preset: on].",
    "--eval-samples": "Samples per evaluation of JS-n, BLEU and self-BLEU (GAN paper: 640).",
    "--seed": "Seeds the weights, the batch order and the samples' draws (preset: 0)."})
@device_option
@user_errors
@training_options
def train_lm_cmd(preset_name, device, cache_dir, run, **overrides):
    """Train a maximum-likelihood language model on the corpus of a train-text run: the baseline a
    text GAN must beat at matched diversity (compare them with evaluate --temperatures).

    \b
    Examples:
      python cli.py train-lm --preset demo
      python cli.py train-lm --preset demo --model lstm --corpus sentences.txt
      python cli.py train-lm --preset demo --time-budget 300        # 300 CPU seconds of training steps
      python cli.py train-lm --resume runs/00001-lm-embedded-conv --iters 6000
      python cli.py evaluate --temperatures 0.5,0.75,1 runs/00000-text-embedded runs/00001-lm-embedded-conv
    """
    from seqgan_gp.lm.task import LMTask

    if run.runtime.cuda_graphs:
        raise UserError("--cuda-graphs: train-lm does not capture its step in a CUDA graph; drop --cuda-graphs "
                        "(--compile works)")
    task = LMTask(cache_dir=Path(cache_dir) if cache_dir else None)
    con, done = train_on_text(task, preset, preset_name, device, run, overrides)
    if done is None:
        return
    last = next((r for r in reversed(done.result.metrics) if "heldout_nll" in r), {})
    nll = f", held-out NLL {last['heldout_nll']:.4f} nats/token (perplexity {last['heldout_ppl']:.3f})" if last else ""
    con.print(f"[bold]done[/]: iteration {done.result.iteration}{nll}, run directory {done.run_dir}")
    con.print("samples:")
    for text in (done.last_sample or [])[:8]:
        con.print(f"  {text}", markup=False)
