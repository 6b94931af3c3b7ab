"""Wiring a training run around the loop: run directory, checkpoints, resume, progress, signals.

Text, image and toy commands build their networks, optimizers, batch source and loss, then call
:func:`fit`. Everything that makes a run a reproducible artefact lives here once: the checkpoint
layout (weights, optimizer state, RNG state, batch position), exact resume, the metrics log, the
progress bar, and a clean stop on SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from rich.console import Console

from seqgan_gp.checkpoint import (
    load_checkpoint,
    module_from_flat,
    module_to_flat,
    optimizer_from_flat,
    optimizer_to_flat,
    rng_state_tensor,
    save_checkpoint,
    set_rng_state,
)
from seqgan_gp.messages import with_article
from seqgan_gp.distributed import SINGLE, DistContext
from seqgan_gp.errors import Diverged, UserError
from seqgan_gp.loop import Callbacks, LoopConfig, NonFinite, train
from seqgan_gp.progress import TrainingProgress
from seqgan_gp.rundir import RunDir, latest_checkpoint, list_checkpoints, next_run_dir
from seqgan_gp.step import Runtime
from seqgan_gp.tensorboard_log import close_loggers, make_loggers


@dataclass
class Parts:
    """What the loop trains: networks, their optimizers, the batch source and the objective."""

    G: torch.nn.Module
    D: torch.nn.Module
    g_opt: torch.optim.Optimizer
    d_opt: torch.optim.Optimizer
    batches: object  # next(), state_dict(), load_state_dict()
    loss: object  # critic_loss, generator_loss, after_critic_step
    z_dim: int
    rng: torch.Generator  # drives z and the penalty's ε


def state_tensors(parts: Parts) -> dict[str, torch.Tensor]:
    """Everything a checkpoint holds as tensors, plus the optimizers' JSON parts."""
    tensors = {**module_to_flat("G", parts.G), **module_to_flat("D", parts.D)}
    tensors["rng.train"] = rng_state_tensor(parts.rng)
    return tensors


def save_state(path: Path, parts: Parts, *, iteration: int, kind: str, meta: dict) -> None:
    """Write a checkpoint of ``parts`` at ``iteration`` atomically."""
    tensors = state_tensors(parts)
    g_t, g_meta = optimizer_to_flat("opt_G", parts.g_opt)
    d_t, d_meta = optimizer_to_flat("opt_D", parts.d_opt)
    tensors.update(g_t), tensors.update(d_t)
    doc = {"kind": kind, "iteration": iteration, **meta,
           "optim": {"G": g_meta, "D": d_meta}, "batches": parts.batches.state_dict()}
    save_checkpoint(path, tensors, doc)


def load_state(path: Path, parts: Parts, *, kind: str) -> dict:
    """Restore ``parts`` in place from a checkpoint; returns the checkpoint's metadata."""
    tensors, meta = load_checkpoint(path, kind=kind)
    module_from_flat("G", parts.G, tensors, path)
    module_from_flat("D", parts.D, tensors, path)
    try:
        optimizer_from_flat("opt_G", parts.g_opt, tensors, meta["optim"]["G"])
        optimizer_from_flat("opt_D", parts.d_opt, tensors, meta["optim"]["D"])
        set_rng_state(parts.rng, tensors["rng.train"])
        parts.batches.load_state_dict(meta["batches"])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise UserError(f"{path}: checkpoint is missing or has damaged training state ({exc}); "
                        f"resume from an earlier checkpoint") from None
    return meta


def open_run(*, kind: str, base, overrides: dict, out: Optional[Path], resume: Optional[Path], overwrite: bool,
             configure: Callable, from_dict: Callable, default_name: Callable, resumable: Sequence[str]):
    """``(config, run directory, checkpoint to start from or None)`` for a fresh or a resumed run.

    Fresh: ``configure(base, **overrides)`` and a new run directory at ``out`` (default
    ``runs/NNNNN-<default_name(config)>``). Resumed: the run's config.json, where only the flags in
    ``resumable`` may change; any refusal releases the run's lock and leaves its files untouched.
    """
    if resume is None:
        cfg = configure(base, **overrides)
        out = Path(out) if out is not None else next_run_dir(Path("runs"), default_name(cfg))
        return cfg, RunDir.create(out, overwrite=overwrite), None
    run = RunDir.open_existing(Path(resume))
    try:
        doc = run.read_config()
        if doc.get("kind") != kind:
            found = str(doc.get("kind"))
            raise UserError(f"--resume {resume}: this is {with_article(found)} run, not {with_article(kind)} run; "
                            f"resume it with python cli.py train-{doc.get('kind')}")
        saved = from_dict(doc.get("config", {}), str(run.config_path))
        fixed = [k for k, v in overrides.items() if v is not None and k not in resumable and getattr(saved, k) != v]
        if fixed:
            flags = ", ".join("--" + k.replace("_", "-") for k in fixed)
            allowed = ", ".join("--" + k.replace("_", "-") for k in resumable)
            raise UserError(f"--resume {resume}: {flags} {'differs' if len(fixed) == 1 else 'differ'} from the "
                            f"run's config.json; a resumed run keeps "
                            f"its hyperparameters (only {allowed} may change); drop {flags} or start a new run")
        cfg = configure(saved, **{k: v for k, v in overrides.items() if k in resumable})
        return cfg, run, latest_checkpoint(run.path)
    except BaseException:
        run.unlock()
        raise


@contextlib.contextmanager
def session(open_fn: Callable[[], tuple], *, dist: DistContext = SINGLE, tensorboard: bool = False):
    """Open a run for one training session: yields ``(config, run, checkpoint, loggers)``.

    ``open_fn()`` (usually :func:`open_run`) runs on rank 0 only, which alone holds the run
    directory (``run`` is None on the other ranks; a UserError reaches every rank); the extra
    loggers are closed and the run's lock released on the way out, whatever happens.
    """
    opened: dict = {}

    def on_main():
        cfg, opened["run"], ckpt = open_fn()
        return cfg, ckpt

    cfg, ckpt = dist.on_main(on_main)
    run = opened.get("run")
    loggers = []
    try:
        loggers = make_loggers(run.path, tensorboard=tensorboard) if run is not None else []
        yield cfg, run, ckpt, loggers
    finally:
        close_loggers(loggers)
        if run is not None:
            run.unlock()


class StopFlag:
    """Set by SIGINT/SIGTERM: the loop finishes its generator iteration, checkpoints and stops.

    A second signal raises KeyboardInterrupt at once (``fit`` turns it into a hard stop);
    checkpoint writes are atomic, so nothing already on disk is damaged.
    """

    def __init__(self):
        self.signum: Optional[int] = None
        self.second: Optional[int] = None  # the signal that cut the stop short
        self._old = {}

    def __call__(self) -> bool:
        return self.signum is not None

    def _handle(self, signum, frame):
        if self.signum is not None:
            self.second = signum
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


@dataclass(frozen=True)
class FaultPolicy:
    """What ``fit`` does when a loss or a weight stops being finite (``--on-nan``)."""

    on_nan: str = "stop"  # stop: end the run naming the last good checkpoint; rollback: reload it and go on
    lr_factor: float = 0.5  # rollback multiplies both learning rates by this
    max_rollbacks: int = 5  # then stop: the run keeps diverging

    def __post_init__(self):
        if self.on_nan not in ON_NAN:
            raise UserError(f"--on-nan {self.on_nan}: choose one of {', '.join(ON_NAN)}")
        if not 0 < self.lr_factor < 1:
            raise UserError(f"--nan-lr-factor {self.lr_factor}: must be between 0 and 1 (exclusive), e.g. 0.5")


ON_NAN = ("stop", "rollback")


def disk_safe(run: Optional[RunDir], write: Callable[[int], None]) -> Callable[[int], None]:
    """``write(iteration)`` (samples, frames) with a full or read-only disk turned into a one-line UserError,
    as a failed checkpoint write is."""
    def wrapped(iteration: int) -> None:
        try:
            write(iteration)
        except OSError as exc:
            where = exc.filename or (run.samples if run is not None else "samples")
            resume = f", then --resume {run.path}" if run is not None else ""
            raise UserError(f"{where}: could not write samples ({exc.strerror}); free disk space or fix "
                            f"permissions{resume}") from None
    return wrapped


KEEP_RECORDS = 1000  # records a FitResult keeps in memory: a 200k-iteration run must not grow by logging


@dataclass
class FitResult:
    iteration: int  # last completed iteration
    stopped_by: Optional[int]  # signal number when interrupted, else None
    last_checkpoint: Optional[Path]
    metrics: deque = field(default_factory=lambda: deque(maxlen=KEEP_RECORDS))  # the newest records; all in metrics.jsonl
    hard_stop: bool = False  # a second signal: stopped at once, without a checkpoint of `iteration`
    rollbacks: list = field(default_factory=list)  # {"iteration", "to", "what", "lr"} per --on-nan rollback


def fit(*, run: RunDir, parts: Parts, loop_cfg: LoopConfig, kind: str, meta: dict,
        console: Console, start: int = 0, keep_checkpoints: int = 3,
        sample: Optional[Callable[[int], None]] = None,
        evaluate: Optional[Callable[[int], dict]] = None,
        show_progress: bool = True, loggers: Sequence[Callable[[dict], None]] = (),
        runtime: Optional[Runtime] = None, faults: FaultPolicy = FaultPolicy()) -> FitResult:
    """Train ``parts`` in ``run`` from ``start`` to ``loop_cfg.iters`` with checkpoints and logs.

    ``meta`` (configuration, tokenizer, ...) goes into every checkpoint so that a checkpoint file
    alone is enough to sample from. ``loggers`` receive every metrics record after metrics.jsonl
    (e.g. :class:`seqgan_gp.tensorboard_log.TensorBoardLogger`). ``runtime`` says how the steps
    execute (:mod:`seqgan_gp.step`); in a data-parallel run only rank 0 writes (``run`` may be
    None on the other ranks) and only rank 0 samples and evaluates.

    Faults: a fresh run writes a checkpoint of iteration 0 before its first step, so a run killed
    at any moment has one to resume from; records after the resumed checkpoint are dropped from
    metrics.jsonl (the loop writes them again). A non-finite loss or weight (caught at log
    intervals and before checkpoints, so every checkpoint is finite) ends the run with
    :class:`seqgan_gp.errors.Diverged`, or with ``faults.on_nan == "rollback"`` reloads the newest
    checkpoint, multiplies the learning rates by ``faults.lr_factor`` and goes on. A second
    SIGINT/SIGTERM returns at once with ``hard_stop`` set.
    """
    if runtime is not None and not runtime.dist.is_main:
        run, sample, evaluate, loggers, show_progress = None, None, None, (), False
    result = FitResult(iteration=start, stopped_by=None, last_checkpoint=None)
    progress = TrainingProgress(console, total=loop_cfg.iters, start=start, description=kind) if show_progress else None
    pending: dict = {}  # fields for the next metrics record (a rollback's notice)

    def log(record: dict) -> None:
        record.update(pending), pending.clear()
        result.metrics.append(record)
        if run is None:
            return
        run.append_metrics(record)
        for extra in loggers:
            extra(record)
        if progress:
            progress.update(record)

    def checkpoint(iteration: int) -> None:
        if run is None:
            return
        path = run.checkpoint_path(iteration)
        try:
            save_state(path, parts, iteration=iteration, kind=kind, meta=meta)
        except OSError as exc:
            raise UserError(f"{path}: could not write the checkpoint ({exc.strerror}); free disk space or "
                            f"fix permissions, then --resume {run.path}") from None
        result.last_checkpoint = path
        run.prune_checkpoints(keep_checkpoints)

    def newest_checkpoint() -> Optional[Path]:
        found = list_checkpoints(run.path) if run is not None else []
        return found[-1] if found else None

    if run is not None:
        _forget_after(run, start)
        if start == 0 and newest_checkpoint() is None:
            checkpoint(0)

    with StopFlag() as stop:
        callbacks = Callbacks(log=log, sample=disk_safe(run, sample) if sample else None, evaluate=evaluate,
                              checkpoint=checkpoint,
                              should_stop=stop,
                              on_iteration=progress.advance if progress else (lambda it: None))
        if progress:
            progress.__enter__()
        try:
            while True:
                try:
                    result.iteration = train(G=parts.G, D=parts.D, g_opt=parts.g_opt, d_opt=parts.d_opt,
                                             batches=parts.batches, loss=parts.loss, z_dim=parts.z_dim,
                                             rng=parts.rng, cfg=loop_cfg, start=start, callbacks=callbacks,
                                             runtime=runtime)
                    break
                except NonFinite as bad:
                    start = _recover(bad, run=run, parts=parts, kind=kind, faults=faults, result=result,
                                     newest=newest_checkpoint(), console=console, runtime=runtime)
                    pending.update(rollback_from=bad.iteration, lr=parts.g_opt.param_groups[0]["lr"])
                    if progress:
                        progress.advance(start)
        except KeyboardInterrupt:  # the second signal: stop now; the newest checkpoint on disk is intact
            result.hard_stop = True
            result.last_checkpoint = newest_checkpoint()
            result.iteration = int(result.last_checkpoint.stem.split("_")[-1]) if result.last_checkpoint else 0
        finally:
            if progress:
                progress.__exit__(None, None, None)
        result.stopped_by = (stop.second or stop.signum) if result.hard_stop else stop.signum
    return result


def _forget_after(run: RunDir, start: int) -> None:
    """Drop the metrics records the loop will write again when it goes on from ``start``: those after
    it, and at 0 every one (the loop logs iteration 0 itself)."""
    run.truncate_metrics(start if start > 0 else -1)


def _recover(bad: NonFinite, *, run: Optional[RunDir], parts: Parts, kind: str, faults: FaultPolicy,
             result: FitResult, newest: Optional[Path], console: Console, runtime: Optional[Runtime]) -> int:
    """Roll back to ``newest`` with lower learning rates, or raise Diverged; returns the iteration to go on from."""
    where = f"; the last good checkpoint is {newest}" if newest else ""
    data_parallel = runtime is not None and runtime.dist.enabled
    if faults.on_nan == "stop" or newest is None or data_parallel:
        hint = (f"resume with: python cli.py train-{kind} --resume {run.path} --on-nan rollback; "
                f"or start again with a lower --lr"
                if run is not None else "lower --lr")
        raise Diverged(f"{bad} (not finite){where}; {hint}") from None
    if len(result.rollbacks) >= faults.max_rollbacks:
        raise Diverged(f"{bad} (not finite) again after {len(result.rollbacks)} rollbacks{where}; "
                       f"start again with a lower --lr or a larger --lambda-gp") from None
    opts = (parts.g_opt, parts.d_opt)
    rates = [[(g["lr"], g["initial_lr"]) for g in opt.param_groups] for opt in opts]  # lowered by earlier rollbacks
    back = load_state(newest, parts, kind=kind)["iteration"]
    for opt, kept in zip(opts, rates):
        for group, (lr, initial) in zip(opt.param_groups, kept):
            group["lr"], group["initial_lr"] = lr * faults.lr_factor, initial * faults.lr_factor
    _forget_after(run, back)
    lr = parts.g_opt.param_groups[0]["lr"]
    result.rollbacks.append({"iteration": bad.iteration, "to": back, "what": bad.what, "lr": lr})
    console.print(f"[yellow]{bad} (not finite): rolled back to {newest.name} (iteration {back}) and "
                  f"multiplied the learning rates by {faults.lr_factor} (now {lr:.3g}); "
                  f"rollback {len(result.rollbacks)} of at most {faults.max_rollbacks}")
    return back
