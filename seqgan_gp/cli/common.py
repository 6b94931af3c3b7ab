"""Options and helpers shared by every command."""

from __future__ import annotations

import contextlib
import functools
import sys

import click
from rich.console import Console
from rich.markup import escape

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


def runtime_options(f):
    """--compile, --amp, --cuda-graphs, --tf32: how the training steps execute, not what they learn.

    The command receives them as one ``runtime`` argument (:class:`seqgan_gp.step.RuntimeOptions`);
    they may change when a run is resumed. Put it below ``@user_errors``.
    """
    from seqgan_gp.step import RuntimeOptions  # the CLI imports torch lazily through the library

    @functools.wraps(f)
    def wrapper(*args, compile, amp, cuda_graphs, tf32, deterministic, **kwargs):
        return f(*args, runtime=RuntimeOptions(compile=compile, amp=amp, cuda_graphs=cuda_graphs, tf32=tf32,
                                               deterministic=deterministic), **kwargs)

    opts = [
        click.option("--compile", "compile", is_flag=True,
                     help="torch.compile the critic and generator steps (the first iterations compile; "
                          "tens of seconds on a CPU)."),
        click.option("--amp", type=click.Choice(["off", "bf16", "auto"]), default="off", show_default=True,
                     help="bf16 autocast for the networks; the penalty's norm and the optimizers stay float32. "
                          "auto: bf16 only on hardware that runs it fast (CUDA compute capability 8+, CPUs with "
                          "AMX or AVX-512 BF16). off: float32, as the paper."),
        click.option("--cuda-graphs", is_flag=True,
                     help="CUDA only: capture the critic step once and replay it (no per-kernel launch cost)."),
        click.option("--tf32/--no-tf32", default=True, show_default=True,
                     help="CUDA only: TF32 matrix products and convolutions when --amp is off."),
        click.option("--deterministic", is_flag=True,
                     help="Bit-reproducible runs on CUDA too (deterministic kernels, no cuDNN autotuning, no TF32; "
                          "slower). CPU runs are bit-reproducible without it."),
    ]
    for opt in reversed(opts):
        wrapper = opt(wrapper)
    return wrapper


def distributed_device(device_spec: str):
    """``(DistContext, torch.device)`` for this process: under torchrun it joins the process group
    and takes ``cuda:LOCAL_RANK`` (or the CPU with gloo); otherwise ``--device`` as usual."""
    from seqgan_gp.device import resolve_device
    from seqgan_gp.distributed import init_from_env

    dist, device = init_from_env(device_spec)
    return dist, device or resolve_device(device_spec)


@contextlib.contextmanager
def data_parallel(device_spec: str):
    """:func:`distributed_device` for a command's whole run: yields ``(dist, device)``; on the way out
    the ranks meet at a barrier (one tearing down gloo while rank 0 still samples aborts it) and
    the process group is closed."""
    dist, device = distributed_device(device_spec)
    try:
        yield dist, device
        dist.barrier()
    finally:
        dist.close()


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


LOOP_OPTIONS = {  # flag -> (type, help)
    "--iters": (int, "Generator iterations to train to (text paper: 200000)."),
    "--batch-size": (int, "Examples per critic and generator step (paper: 64)."),
    "--critic-iters": (int, "Critic steps per generator step (paper text: 10, images: 5)."),
    "--lambda-gp": (float, "Gradient penalty weight λ (paper: 10)."),
    "--lr": (float, "Adam learning rate for both networks (paper text: 1e-4)."),
    "--betas": (Betas(), "Adam betas as B1,B2 (paper text: 0.5,0.9)."),
    "--log-every": (int, "Iterations between metrics records (preset value)."),
    "--sample-every": (int, "Iterations between samples written to samples/ (0: never)."),
    "--eval-every": (int, "Iterations between evaluations (0: never)."),
    "--checkpoint-every": (int, "Iterations between checkpoints; one is always written at the end."),
    "--keep-checkpoints": (int, "Newest checkpoints to keep (0: all)."),
}


def loop_options(f=None, *, help: dict | None = None, skip: tuple = ()):
    """Hyperparameters of the adversarial loop shared by text, image and toy training.

    Use as ``@loop_options``, or ``@loop_options(help={"--lambda-gp": "..."}, skip=("--sample-every",))``
    to quote another model's paper values in the help or leave an option out.
    """
    if f is None:
        return functools.partial(loop_options, help=help, skip=skip)
    for name, (kind, text) in reversed(LOOP_OPTIONS.items()):
        if name not in skip:
            f = click.option(name, type=kind, help=(help or {}).get(name, text))(f)
    return f


def tensorboard_option(f):
    """--tensorboard: also log every metrics record to RUN_DIR/tensorboard/ (optional dependency)."""
    return click.option("--tensorboard", is_flag=True,
                        help='Also log every metrics record to RUN_DIR/tensorboard/ '
                             '(needs: pip install "seqgan_gp[tensorboard]").')(f)


def fault_options(f):
    """--on-nan and --nan-lr-factor: what a run does when a loss or a weight stops being finite.

    The command receives them as one ``faults`` argument (:class:`seqgan_gp.trainer.FaultPolicy`);
    like the runtime options they may change when a run is resumed. Put it below ``@user_errors``.
    """
    from seqgan_gp.trainer import ON_NAN, FaultPolicy

    @functools.wraps(f)
    def wrapper(*args, on_nan, nan_lr_factor, **kwargs):
        return f(*args, faults=FaultPolicy(on_nan=on_nan, lr_factor=nan_lr_factor), **kwargs)

    wrapper = click.option("--nan-lr-factor", type=float, default=0.5, show_default=True,
                           help="--on-nan rollback multiplies both learning rates by this.")(wrapper)
    return click.option("--on-nan", type=click.Choice(ON_NAN), default="stop", show_default=True,
                        help="A NaN or infinite loss or weight (checked at every --log-every and before every "
                             "checkpoint, so checkpoints are always finite): stop naming the last good checkpoint "
                             "(exit 3), or rollback to it with lower learning rates and go on (at most 5 times).")(wrapper)


def exit_if_stopped(con: Console, command: str, run_dir, result, *, quiet: bool = False) -> None:
    """After SIGINT/SIGTERM: say where the run stopped and the exact command that resumes it, exit 128+signal
    (``quiet``: just exit, as data-parallel ranks other than 0 do)."""
    if result.stopped_by is None:
        return
    if quiet:
        sys.exit(128 + result.stopped_by)
    if result.hard_stop:
        how = "stopped at once (second signal); the newest checkpoint on disk is intact"
    else:
        how = f"stopped at iteration {result.iteration}"
    con.print(f"[yellow]{how}: {result.last_checkpoint}[/]")
    if result.last_checkpoint is not None:
        con.print(f"resume with: python cli.py {command} --resume {run_dir}", markup=False, soft_wrap=True)
    sys.exit(128 + result.stopped_by)


def user_errors(f):
    """Turn UserError into a one-line red message and exit code 2 (3 for a diverged run; no traceback)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except UserError as exc:
            Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(str(exc))}", markup=True,
                                                        soft_wrap=True)  # escape: messages may hold [brackets]
            sys.exit(exc.exit_code)

    return wrapper
