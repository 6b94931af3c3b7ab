"""``train-toy``: the paper's 2-D toy GANs, one picture per --plot-every iterations."""

from __future__ import annotations


import click
from rich.table import Table

from seqgan_gp.cli.options import (console, device_option, exit_if_stopped, hyperparameter_options, training_options,
                                   user_errors)
from seqgan_gp.rundir import RunDir
from seqgan_gp.toy.config import DATASETS, PRESETS, preset

TOY_HELP = {
    "--iters": "Generator iterations to train to (paper: 100000).",
    "--batch-size": "Points per critic and generator step (paper: 256).",
    "--critic-iters": "Critic steps per generator step (paper: 5).",
    "--lambda-gp": "Gradient penalty weight λ (toy paper: 0.1).",
    "--lr": "Learning rate of both networks (paper: Adam 1e-4; wgan: RMSProp 5e-5).",
    "--betas": "Adam betas as B1,B2 (paper: 0.5,0.9).",
    "--eval-every": "Iterations between W1 and mode evaluations (paper: 100; 0: only at the end).",
    "--eval-samples": "Generated and real points for W1 and the mode counts (1000).",
    "--lr-decay/--no-lr-decay": "Decay the learning rate linearly to 0 at --iters (paper: off) [preset: demo on].",
}


@click.command("train-toy")
@click.option("--preset", "preset_name", default="demo", show_default=True, type=click.Choice(sorted(PRESETS)),
              help="Base hyperparameters: demo (under a minute on 2 CPU cores: width 128, lr 1e-3 decayed to 0, "
                   "600 iterations), paper (gan_toy.py: width 512, Adam 1e-4, 100000 iterations), tiny (tests). "
                   "Flags override it.")
@click.option("--dataset", type=click.Choice(DATASETS), default=None,
              help="Toy distribution, as the paper's gan_toy.py [preset: 8gaussians].")
@click.option("--dim", type=int, help="Width of the three hidden ReLU layers of G and D (paper: 512).")
@click.option("--plot-every", "--sample-every", "sample_every", type=int,
              help="Iterations between PNG frames in samples/ (paper: 100; 0: only at the end).")
@hyperparameter_options(help=TOY_HELP, skip=("--sample-every",))
@device_option
@user_errors
@training_options
def train_toy_cmd(preset_name, device, run, **overrides):
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
    from seqgan_gp.device import resolve_device
    from seqgan_gp.runner import run_task
    from seqgan_gp.toy.task import ToyTask  # torch, matplotlib and scipy load only when a toy is trained

    con = console()
    done = run_task(ToyTask(), base=preset(preset_name), overrides=overrides, device=resolve_device(device),
                    console=con, **run.run_task_arguments())
    exit_if_stopped(con, done)
    evals = [r for r in RunDir(done.run_dir).metrics() if "w1" in r]
    table = Table(title=f"train-toy: {done.run_dir}")
    table.add_column("iteration", justify="right")
    table.add_column("W1 (1,000 vs 1,000 points)", justify="right")
    if evals and "modes" in evals[-1]:
        table.add_column("modes covered", justify="right")
        table.add_column("high-quality share (≤ 3σ)", justify="right")
    for rec in evals[:1] + evals[1:][-1:]:  # the first and the last evaluation
        row = [str(rec["iteration"]), f"{rec['w1']:.4f}"]
        if "modes" in rec:
            row += [str(rec["modes"]), f"{rec['high_quality']:.3f}"]
        table.add_row(*row)
    con.print(table)
    frame = done.last_sample.name if done.last_sample else "-"
    con.print(f"[bold]done[/]: iteration {done.result.iteration}; frames in {done.run_dir / 'samples'} "
              f"(last {frame}), loss curves {done.run_dir / 'losses.png'}")
