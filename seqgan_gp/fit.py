"""The loop with its safety net: checkpoints, the metrics log, progress, signals and the NaN policy.

:func:`fit` runs :func:`seqgan_gp.loop.train_loop` on what a task built (seqgan_gp.task.Trainable)
in a run directory. A fresh run writes a checkpoint of iteration 0 before its first step, so a run
killed at any moment has one to resume from; records after the checkpoint it resumes from are
dropped from metrics.jsonl (the loop writes them again). A non-finite loss or weight ends the run or rolls it back
(:mod:`seqgan_gp.faults`); SIGINT/SIGTERM checkpoint the current iteration and stop, a second signal
stops at once (:mod:`seqgan_gp.signals`). A full or read-only disk stops the run with one line
naming the file and the fix.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from rich.console import Console

from seqgan_gp.config import TrainConfig
from seqgan_gp.errors import UserError
from seqgan_gp.faults import FaultPolicy, NonFinite, rollback
from seqgan_gp.loop import Callbacks, train_loop
from seqgan_gp.messages import option
from seqgan_gp.progress import TrainingProgress
from seqgan_gp.rundir import RunDir, list_checkpoints
from seqgan_gp.runtime import Runtime, RuntimeOptions, resolve_runtime
from seqgan_gp.signals import StopFlag
from seqgan_gp.state import save_state
from seqgan_gp.task import Trainable

KEEP_RECORDS = 1000  # records a FitResult keeps in memory: a 200k-iteration run must not grow by logging


@dataclass
class FitResult:
    iteration: int  # last completed iteration
    stopped_by: Optional[int]  # signal number when interrupted, else None
    last_checkpoint: Optional[Path]
    metrics: deque = field(default_factory=lambda: deque(maxlen=KEEP_RECORDS))  # the newest records; all in metrics.jsonl
    hard_stop: bool = False  # a second signal: stopped at once, without a checkpoint of `iteration`
    rollbacks: list = field(default_factory=list)  # {"iteration", "to", "what", "lr"} per --on-nan rollback


def disk_safe(run: Optional[RunDir], write: Callable[[int], object]) -> Callable[[int], object]:
    """``write(iteration)`` (samples, frames) with a full or read-only disk turned into a one-line UserError,
    as a failed checkpoint write is."""
    def wrapped(iteration: int):
        try:
            return write(iteration)
        except OSError as exc:
            where = exc.filename or (run.samples if run is not None else "samples")
            resume = f", then {option('--resume', run.path)}" if run is not None else ""
            raise UserError(f"{where}: could not write samples ({exc.strerror}); free disk space or fix "
                            f"permissions{resume}") from None
    return wrapped


def fit(*, run: Optional[RunDir], trainable: Trainable, schedule: TrainConfig, kind: str, meta: dict,
        console: Console, start: int = 0, sample: Optional[Callable[[int], object]] = None,
        evaluate: Optional[Callable[[int], dict]] = None, show_progress: bool = True,
        loggers: Sequence[Callable[[dict], None]] = (), runtime: Optional[Runtime] = None,
        faults: FaultPolicy = FaultPolicy(), resume_command: Optional[str] = None,
        smaller_run: Optional[str] = None) -> FitResult:
    """Train ``trainable`` in ``run`` from ``start`` to ``schedule.iters`` with checkpoints and logs.

    ``meta`` goes into every checkpoint (seqgan_gp.state). ``loggers`` receive every metrics record
    after metrics.jsonl (e.g. :class:`seqgan_gp.tensorboard_log.TensorBoardLogger`). ``runtime``
    says how the steps execute (default: eager float32 on the networks' device, one process); in a
    data-parallel run only rank 0 writes (``run`` None on the other ranks), samples and evaluates.
    ``resume_command`` is the shell command that resumes the run, for the message of a diverged run;
    ``smaller_run`` a command sized for a CPU, which the progress names when a CPU run would take days.
    """
    state = trainable.state
    if runtime is None:
        first = next(iter(state.modules.values()))
        runtime = resolve_runtime(RuntimeOptions(), next(first.parameters()).device)
    if not runtime.dist.is_main:
        run, sample, evaluate, loggers, show_progress = None, None, None, (), False
    result = FitResult(iteration=start, stopped_by=None, last_checkpoint=None)
    progress = TrainingProgress(console, total=schedule.iters, start=start, description=kind,
                                device=runtime.device.type, smaller_run=smaller_run) if show_progress else None
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
            save_state(path, state, iteration=iteration, kind=kind, meta=meta)
        except OSError as exc:
            raise UserError(f"{path}: could not write the checkpoint ({exc.strerror}); free disk space or "
                            f"fix permissions, then {option('--resume', run.path)}") from None
        result.last_checkpoint = path
        run.prune_checkpoints(schedule.keep_checkpoints)

    def newest_checkpoint() -> Optional[Path]:
        found = list_checkpoints(run.path) if run is not None else []
        return found[-1] if found else None

    if run is not None:
        _forget_after(run, start)
        if start == 0 and newest_checkpoint() is None:
            checkpoint(0)

    with StopFlag() as stop:
        callbacks = Callbacks(log=log, sample=disk_safe(run, sample) if sample else None, evaluate=evaluate,
                              checkpoint=checkpoint, should_stop=stop,
                              on_iteration=progress.advance if progress else (lambda it: None))
        if progress:
            progress.__enter__()
        try:
            while True:
                try:
                    result.iteration = train_loop(state=state, iteration=trainable.iteration(runtime),
                                                  schedule=schedule, start=start, callbacks=callbacks,
                                                  dist=runtime.dist)
                    break
                except NonFinite as bad:
                    start = rollback(bad, state=state, kind=kind, policy=faults, done=result.rollbacks,
                                     newest=newest_checkpoint(), resume_command=resume_command if run else None,
                                     data_parallel=runtime.dist.enabled, console=console)
                    _forget_after(run, start)
                    pending.update(rollback_from=bad.iteration, lr=state.lr)
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
