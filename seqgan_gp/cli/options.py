"""Options and helpers shared by the commands: option groups, the program name, errors and stops."""

from __future__ import annotations

import contextlib
import functools
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import click
from rich.console import Console
from rich.markup import escape

from seqgan_gp.choices import AMP_CHOICES, LOSSES, ON_NAN
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
    """The command's console: a RunConsole, so that a training run's output also lands in its log.txt
    (the log is closed when the command's context closes, whatever way it ends)."""
    from seqgan_gp.runlog import RunConsole

    con = RunConsole(highlight=False)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(con.close_log)
    return con


def device_option(f):
    return click.option("--device", default="auto", show_default=True,
                        help="auto (CUDA when present, else CPU), cpu, cuda or cuda:K.")(f)


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


HYPERPARAMETERS = {  # flag -> click.option keywords: the flags of seqgan_gp.config.GANConfig, and --eval-samples
    "--iters": dict(type=int, help="Generator iterations to train to (text paper: 200000)."),
    "--batch-size": dict(type=int, help="Examples per critic and generator step (paper: 64)."),
    "--critic-iters": dict(type=int, help="Critic steps per generator step (paper text: 10, images: 5)."),
    "--loss": dict(type=click.Choice(LOSSES), help="Objective [preset: wgan-gp]. Others bring their paper optimizer defaults: "
                   "wgan (clipping, RMSProp 5e-5, 5 critic steps), dcgan (Adam 2e-4, 1 step), lsgan (RMSProp 1e-4, "
                   "1 step)."),
    "--lambda-gp": dict(type=float, help="Gradient penalty weight λ (paper: 10)."),
    "--clip": dict(type=float, help="Weight clipping bound c for --loss wgan (paper: 0.01)."),
    "--rmsprop": dict(type=click.Choice(["tf", "torch"]),
                      help="RMSProp of --loss wgan and lsgan: tf (TensorFlow 1's RMSPropOptimizer, the paper's: mean "
                           "square starts at 1, ε inside the root) or torch (torch.optim.RMSprop: starts at 0, so "
                           "its first steps are about 3x larger) [tf]."),
    "--ema-decay": dict(type=float, help="Keep G_ema, a bias-corrected exponential moving average of the generator's "
                        "weights (decay per generator step, e.g. 0.999); samples, evaluations, sample and evaluate "
                        "use it (their --raw: the last weights). 0: off, the paper's [preset: 0]."),
    "--lr": dict(type=float, help="Adam learning rate for both networks (paper text: 1e-4)."),
    "--betas": dict(type=Betas(), help="Adam betas as B1,B2 (paper text: 0.5,0.9)."),
    "--lr-decay/--no-lr-decay": dict(default=None, help="Decay the learning rate linearly to 0 at --iters "
                                     "(paper: ResNet CIFAR only) [preset value]."),
    "--seed": dict(type=int, help="Seeds weights, noise, the penalty's ε and batch order (preset: 0)."),
    "--log-every": dict(type=int, help="Iterations between metrics records (preset value)."),
    "--sample-every": dict(type=int, help="Iterations between samples written to samples/ (0: only at the end)."),
    "--eval-every": dict(type=int, help="Iterations between evaluations (0: only at the end)."),
    "--eval-samples": dict(type=int, help="Samples per evaluation (preset value)."),
    "--checkpoint-every": dict(type=int, help="Iterations between checkpoints (0: only at the end, where one is "
                               "always written)."),
    "--keep-checkpoints": dict(type=int, help="Newest checkpoints to keep (0: all)."),
    "--time-budget": dict(type=float, help="Seconds of training steps (on --budget-clock) after which the run ends at "
                          "that iteration, evaluated and checkpointed as if it were the last: compare kinds at equal "
                          "cost (0: no budget; a resumed session gets its own) [preset: 0]."),
    "--budget-clock": dict(type=click.Choice(["cpu", "wall"]), default=None,
                           help="What --time-budget counts: cpu (the process's CPU time over all threads; fair on a "
                                "shared machine) or wall [preset: cpu]."),
}


def hyperparameter_options(f=None, *, help: dict | None = None, skip: tuple = (), only: tuple = ()):
    """The training hyperparameters every kind shares (:data:`HYPERPARAMETERS`).

    Use as ``@hyperparameter_options``, or ``@hyperparameter_options(help={"--lambda-gp": "..."},
    skip=("--sample-every",))`` to quote a kind's paper values in the help or leave an option out
    (``only``: just these).
    """
    if f is None:
        return functools.partial(hyperparameter_options, help=help, skip=skip, only=only)
    for name, keywords in reversed(HYPERPARAMETERS.items()):
        if name not in skip and (not only or name in only):
            f = click.option(name, **{**keywords, "help": (help or {}).get(name, keywords["help"])})(f)
    return f


def program() -> str:
    """The program the user ran (``seqgan-gp``, ``python cli.py``): the name of the root command."""
    return click.get_current_context().find_root().info_name


@dataclass
class RunFlags:
    """The flags of every training command that say where a run lives and how it executes; none of
    them is a hyperparameter, and the runtime and fault options may change when a run is resumed."""

    out: Optional[str]
    resume: Optional[str]
    overwrite: bool
    tensorboard: bool
    runtime: object  # seqgan_gp.runtime.RuntimeOptions
    faults: object  # seqgan_gp.faults.FaultPolicy

    def run_task_arguments(self) -> dict:
        """The keyword arguments of seqgan_gp.runner.run_task these flags give (an empty --out or --resume
        is refused: it would mean the current folder, or the default)."""
        from seqgan_gp.outputs import given_path, output_folder

        out = output_folder(self.out) if self.out is not None else None
        resume = given_path(self.resume, "--resume", "runs/00000-text-embedded") if self.resume is not None else None
        return dict(out=out, resume=resume,
                    overwrite=self.overwrite, tensorboard=self.tensorboard, runtime=self.runtime, faults=self.faults,
                    command=sys.argv, program=program())


def training_options(f):
    """--out, --resume, --overwrite, --tensorboard, the runtime options (--compile, --amp, --cuda-graphs,
    --tf32, --deterministic) and the fault options (--on-nan, --nan-lr-factor), given to the command as
    one ``run`` argument (:class:`RunFlags`). Put it below ``@user_errors``: a bad combination is a
    UserError."""
    @functools.wraps(f)
    def wrapper(*args, out, resume, overwrite, tensorboard, compile, amp, cuda_graphs, tf32, deterministic, on_nan,
                nan_lr_factor, **kwargs):
        from seqgan_gp.faults import FaultPolicy  # torch loads when a command runs, not for --help
        from seqgan_gp.runtime import RuntimeOptions

        runtime = RuntimeOptions(compile=compile, amp=amp, cuda_graphs=cuda_graphs, tf32=tf32,
                                 deterministic=deterministic)
        faults = FaultPolicy(on_nan=on_nan, lr_factor=nan_lr_factor)
        return f(*args, run=RunFlags(out, resume, overwrite, tensorboard, runtime, faults), **kwargs)

    opts = [
        click.option("--out", type=click.Path(path_type=str), default=None,
                     help="Run directory to create [default: runs/NNNNN-<kind>-<data>]."),
        click.option("--resume", type=click.Path(path_type=str), default=None,
                     help="Continue the run in this directory from its newest checkpoint (bit-exact on CPU)."),
        click.option("--overwrite", is_flag=True, help="Replace an existing run directory at --out."),
        click.option("--tensorboard", is_flag=True,
                     help='Also log every metrics record and the samples to RUN_DIR/tensorboard/ '
                          '(needs the extra: pip install -e ".[tensorboard]" in the checkout).'),
        click.option("--compile", "compile", is_flag=True,
                     help="torch.compile the critic and generator steps (the first iterations compile; "
                          "tens of seconds on a CPU)."),
        click.option("--amp", type=click.Choice(AMP_CHOICES), default="off", show_default=True,
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
        click.option("--on-nan", type=click.Choice(ON_NAN), default="stop", show_default=True,
                     help="A NaN or infinite loss or weight (checked at every --log-every and before every "
                          "checkpoint, so checkpoints are always finite): stop naming the last good checkpoint "
                          "(exit 3), or rollback to it with lower learning rates and go on (at most 5 times)."),
        click.option("--nan-lr-factor", type=float, default=0.5, show_default=True,
                     help="--on-nan rollback multiplies every learning rate by this."),
    ]
    for opt in reversed(opts):
        wrapper = opt(wrapper)
    return wrapper


def exit_if_stopped(con: Console, run, *, quiet: bool = False) -> None:
    """After SIGINT/SIGTERM: say where the run stopped and the exact command that resumes it, exit 128+signal
    (``quiet``: just exit, as data-parallel ranks other than 0 do). ``run`` is a seqgan_gp.runner.TaskRun."""
    result = run.result
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
        resume = f"{click.get_current_context().command_path} {shlex.join(['--resume', str(run.run_dir)])}"
        con.print(f"resume with: {resume}", markup=False, soft_wrap=True)
    sys.exit(128 + result.stopped_by)


LONG_SAMPLING = 2048  # samples above which sample and evaluate show a progress bar (seconds of work)


@contextlib.contextmanager
def sample_progress(total: int, description: str):
    """A progress bar on standard error for drawing ``total`` samples, when that takes a while:
    yields a callback ``progress(done)`` (None for short runs: no bar). The bar appears at the first
    call, after the command's checks: a refusal prints its one line alone."""
    if total <= LONG_SAMPLING:
        yield None
        return
    from seqgan_gp.progress import TrainingProgress

    bar = None

    def progress(done: int) -> None:
        nonlocal bar
        if bar is None:
            bar = TrainingProgress(Console(stderr=True, highlight=False), total=total, description=description)
            bar.__enter__()
        bar.advance(done)
        bar.update({"iteration": done})  # off a terminal: a plain line now and then, and one at the end

    try:
        yield progress
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


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
