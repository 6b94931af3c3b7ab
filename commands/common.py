"""Options and helpers shared by every command."""

from __future__ import annotations

import functools
import sys

import click
from rich.console import Console

from seqgan_gp.errors import UserError


class Betas(click.ParamType):
    """Two floats separated by a comma, e.g. ``0.5,0.9``."""

    name = "B1,B2"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            b1, b2 = (float(x) for x in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not two numbers like 0.5,0.9", param, ctx)
        return (b1, b2)


def console() -> Console:
    return Console(highlight=False)


def device_option(f):
    return click.option("--device", default="auto", show_default=True,
                        help="auto (CUDA when present, else CPU), cpu, cuda or cuda:K.")(f)


def seed_option(f):
    return click.option("--seed", type=int, default=None,
                        help="Seeds weights, noise, the penalty's ε and batch order (preset: 0).")(f)


def run_options(f):
    """--out, --resume and --overwrite: where a training run lives."""
    f = click.option("--overwrite", is_flag=True, help="Replace an existing run directory at --out.")(f)
    f = click.option("--resume", type=click.Path(path_type=str), default=None,
                     help="Continue the run in this directory from its newest checkpoint (bit-exact on CPU).")(f)
    f = click.option("--out", type=click.Path(path_type=str), default=None,
                     help="Run directory to create [default: runs/NNNNN-<kind>-<data>].")(f)
    return f


def loop_options(f):
    """Hyperparameters of the adversarial loop shared by text, image and toy training."""
    opts = [
        click.option("--iters", type=int, help="Generator iterations to train to (text paper: 200000)."),
        click.option("--batch-size", type=int, help="Examples per critic and generator step (paper: 64)."),
        click.option("--critic-iters", type=int, help="Critic steps per generator step (paper text: 10, images: 5)."),
        click.option("--lambda-gp", type=float, help="Gradient penalty weight λ (paper: 10)."),
        click.option("--lr", type=float, help="Adam learning rate for both networks (paper text: 1e-4)."),
        click.option("--betas", type=Betas(), help="Adam betas as B1,B2 (paper text: 0.5,0.9)."),
        click.option("--log-every", type=int, help="Iterations between metrics records (preset value)."),
        click.option("--sample-every", type=int, help="Iterations between samples written to samples/ (0: never)."),
        click.option("--eval-every", type=int, help="Iterations between evaluations (0: never)."),
        click.option("--checkpoint-every", type=int, help="Iterations between checkpoints; one is always written at the end."),
        click.option("--keep-checkpoints", type=int, help="Newest checkpoints to keep (0: all)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def user_errors(f):
    """Turn UserError into a one-line red message and exit code 2 (no traceback)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except UserError as exc:
            Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
            sys.exit(2)

    return wrapper
