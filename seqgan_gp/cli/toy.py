"""``train-toy``: the paper's 2-D toy GANs, one picture per --plot-every iterations."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from seqgan_gp.cli.common import (console, device_option, exit_if_stopped, fault_options, loop_options, run_options,
                             runtime_options, seed_option, tensorboard_option, user_errors)
from seqgan_gp.device import resolve_device
from seqgan_gp.losses import LOSSES
from seqgan_gp.toy.config import PRESETS, preset
from seqgan_gp.toy.data import DATASETS

TOY_HELP = {
    "--iters": "Generator iterations to train to (paper: 100000).",
    "--batch-size": "Points per critic and generator step (paper: 256).",
    "--critic-iters": "Critic steps per generator step (paper: 5).",
    "--lambda-gp": "Gradient penalty weight λ (toy paper: 0.1).",
    "--lr": "Learning rate of both networks (paper: Adam 1e-4; wgan: RMSProp 5e-5).",
    "--betas": "Adam betas as B1,B2 (paper: 0.5,0.9).",
    "--eval-every": "Iterations between W1 and mode evaluations (0: only at the end).",
}


@click.command("train-toy")
@click.option("--preset", "preset_name", default="demo", show_default=True, type=click.Choice(sorted(PRESETS)),
              help="Base hyperparameters: demo (under a minute on 2 CPU cores: width 128, lr 1e-3 decayed to 0, "
                   "600 iterations), paper (gan_toy.py: width 512, Adam 1e-4, 100000 iterations), tiny (tests). "
                   "Flags override it.")
@click.option("--dataset", type=click.Choice(DATASETS), default=None,
              help="Toy distribution, as the paper's gan_toy.py [preset: 8gaussians].")
@click.option("--dim", type=int, help="Width of the three hidden ReLU layers of G and D (paper: 512).")
@click.option("--loss", type=click.Choice(LOSSES), default=None,
              help="Objective [preset: wgan-gp]. Others bring their paper optimizer defaults: wgan (clipping, "
                   "RMSProp 5e-5, 5 critic steps), dcgan (Adam 2e-4, 1 step), lsgan (RMSProp 1e-4, 1 step).")
@click.option("--clip", type=float, help="Weight clipping bound c for --loss wgan (paper: 0.01).")
@click.option("--lr-decay/--no-lr-decay", default=None,
              help="Decay the learning rate linearly to 0 at --iters (paper: off) [preset: demo on].")
@click.option("--plot-every", type=int,
              help="Iterations between PNG frames in samples/ (paper: 100; 0: only at the end).")
@click.option("--eval-samples", type=int, help="Generated and real points for W1 and the mode counts (1000).")
@loop_options(help=TOY_HELP, skip=("--sample-every",))
@seed_option
@device_option
@tensorboard_option
@run_options
@user_errors
@runtime_options
@fault_options
def train_toy_cmd(preset_name, device, tensorboard, out, resume, overwrite, runtime, faults, **overrides):
    """Train a GAN on a 2-D toy distribution (8gaussians, 25gaussians, swissroll) as the paper's gan_toy.py.

    Writes frames (the critic's value surface with real points in orange and generated points in green)
    to RUN_DIR/samples/, the loss curves to RUN_DIR/losses.png, and logs the exact Wasserstein-1 distance
    of 1,000 generated to 1,000 real points, the modes covered and the share of high-quality samples.

    \b
    Examples:
      python cli.py train-toy                                   # 8gaussians, WGAN-GP, < 1 minute
      python cli.py train-toy --loss wgan                       # the same budget with weight clipping
      python cli.py train-toy --dataset swissroll --iters 2000
      python cli.py train-toy --preset paper --dataset 25gaussians --device cuda
      python cli.py train-toy --resume runs/00000-toy-8gaussians --iters 1200
    """
    from seqgan_gp.toy.train import train_toy  # matplotlib and POT load only when a toy is trained

    con = console()
    run = train_toy(base=preset(preset_name), overrides=overrides, device=resolve_device(device), console=con,
                    out=Path(out) if out else None, resume=Path(resume) if resume else None,
                    overwrite=overwrite, command=sys.argv, tensorboard=tensorboard, runtime=runtime, faults=faults)
    res = run.result
    exit_if_stopped(con, "train-toy", run.run_dir, res)
    table = Table(title=f"train-toy: {run.run_dir}")
    table.add_column("iteration", justify="right")
    table.add_column("W1 (1,000 vs 1,000 points)", justify="right")
    if "modes" in run.last:
        table.add_column("modes covered", justify="right")
        table.add_column("high-quality share (≤ 3σ)", justify="right")
    for rec in ([run.first] if run.first is not run.last else []) + [run.last]:
        row = [str(rec["iteration"]), f"{rec['w1']:.4f}"]
        if "modes" in rec:
            row += [str(rec["modes"]), f"{rec['high_quality']:.3f}"]
        table.add_row(*row)
    con.print(table)
    con.print(f"[bold]done[/]: iteration {res.iteration}; frames in {run.run_dir / 'samples'} "
              f"(last {run.frames[-1].name if run.frames else '-'}), loss curves {run.loss_plot}")
