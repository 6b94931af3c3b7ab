"""Running a task: the one function that opens or resumes a run and trains it.

:func:`run_task` is all the wiring a kind of training needs, written once: it resolves the runtime
(before any directory exists, so a bad option leaves nothing behind), opens a fresh run directory
or resumes one (:func:`open_run`; only the schedule's and the task's resumable flags may change),
opens the data, checks a resumed run's data, seeds torch and builds what it trains, restores the
newest checkpoint, writes config.json, prints the header, fits (seqgan_gp.fit) with periodic samples and
evaluations, writes a last sample if the last iteration has none, and lets the task finish. From the
opening on, everything the run prints (given a seqgan_gp.runlog.RunConsole) is also appended to
RUN_DIR/log.txt once the run has accepted its inputs (config.json written; a refused resume changes
no file), the error that ends a run included. Under torchrun rank 0 alone holds the run
directory and writes; every rank trains.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from rich.console import Console

from seqgan_gp.checkpoint import load_checkpoint
from seqgan_gp.config import RESUMABLE, with_overrides
from seqgan_gp.configfile import config_from_dict
from seqgan_gp.distributed import SINGLE, DistContext
from seqgan_gp.errors import UserError
from seqgan_gp.faults import FaultPolicy
from seqgan_gp.fit import FitResult, disk_safe, fit
from seqgan_gp.messages import PROGRAM, command_line, flag, train_command, with_article
from seqgan_gp.objectives import has_batch_statistics
from seqgan_gp.provenance import git_commit, versions
from seqgan_gp.rundir import RunDir, latest_checkpoint, next_run_dir
from seqgan_gp.runlog import RunConsole, commit_log, log_only
from seqgan_gp.runtime import RuntimeOptions, cpu_threads, resolve_runtime
from seqgan_gp.state import load_state
from seqgan_gp.task import Task
from seqgan_gp.tensorboard_log import close_loggers, make_loggers


LOG_NAME = "log.txt"  # everything a run prints, in its run directory (appended by every session)


@dataclass
class TaskRun:
    run_dir: Optional[Path]  # None on data-parallel ranks other than 0
    result: FitResult
    first_sample: Any = None  # what the task's sampler returned first in this session (text: lines; image, toy: a PNG)
    last_sample: Any = None  # and last


def open_run(task: Task, *, base, overrides: dict, out: Optional[Path], resume: Optional[Path], overwrite: bool,
             program: str = PROGRAM):
    """``(config, run directory, checkpoint to start from or None)`` for a fresh or a resumed run.

    Fresh: ``base`` with ``overrides`` (seqgan_gp.config.with_overrides) in a new run directory at
    ``out`` (default ``runs/NNNNN-<task.run_name(config)>``). Resumed: the run's config.json, where
    only the schedule's resumable flags and the task's may change; any refusal releases the run's
    lock and leaves its files untouched.
    """
    if resume is None:
        cfg = with_overrides(base, **overrides)
        out = Path(out) if out is not None else next_run_dir(Path("runs"), task.run_name(cfg))
        return cfg, RunDir.create(out, overwrite=overwrite), None
    run = RunDir.open_existing(Path(resume))
    try:
        doc = run.read_config()
        if doc.get("kind") != task.kind:
            found = str(doc.get("kind"))
            raise UserError(f"--resume {resume}: this is {with_article(found)} run, not {with_article(task.kind)} "
                            f"run; resume it with {command_line(program, train_command(found), '--resume', resume)}")
        saved = config_from_dict(task.config, doc.get("config", {}), str(run.config_path))
        resumable = RESUMABLE + task.resumable
        fixed = [k for k, v in overrides.items() if v is not None and k not in resumable and getattr(saved, k) != v]
        if fixed:
            flags = ", ".join(flag(k) for k in fixed)
            allowed = ", ".join(flag(k) for k in resumable)
            raise UserError(f"--resume {resume}: {flags} {'differs' if len(fixed) == 1 else 'differ'} from the "
                            f"run's config.json; a resumed run keeps "
                            f"its hyperparameters (only {allowed} may change); drop {flags} or start a new run")
        cfg = with_overrides(saved, **{k: v for k, v in overrides.items() if k in resumable})
        ckpt = latest_checkpoint(run.path)
        run.metrics()  # a damaged metrics.jsonl is refused now, before the run's files are touched
        return cfg, run, ckpt
    except BaseException:
        run.unlock()
        raise


@contextlib.contextmanager
def open_session(open_fn: Callable[[], tuple], *, dist: DistContext = SINGLE):
    """Open a run for one training session: yields ``(config, run, checkpoint)``.

    ``open_fn()`` (usually :func:`open_run`) runs on rank 0 only, which alone holds the run
    directory (``run`` is None on the other ranks; a UserError reaches every rank); the run's lock
    is released on the way out, whatever happens.
    """
    opened: dict = {}

    def on_main():
        cfg, opened["run"], ckpt = open_fn()
        return cfg, ckpt

    cfg, ckpt = dist.on_main(on_main)
    run = opened.get("run")
    try:
        yield cfg, run, ckpt
    finally:
        if run is not None:
            run.unlock()


def resumed_checkpoint(task: Task, cfg, ckpt: Path) -> dict:
    """The metadata of the checkpoint a run resumes from, checked (seqgan_gp.checkpoint) and consistent
    with its file name and with the run's config.json ``cfg`` (which builds the networks: a config.json
    edited to a larger model is refused here, not after allocating it)."""
    meta = load_checkpoint(ckpt, kind=task.kind)[1]
    named = int(ckpt.stem.split("_")[-1])
    if meta["iteration"] != named:
        raise UserError(f"{ckpt}: its metadata gives iteration {meta['iteration']}, its name {named}; the file was "
                        f"modified or renamed; move it out of checkpoints/ to resume from the one before")
    saved, current = asdict(config_from_dict(task.config, meta.get("config"), str(ckpt))), asdict(cfg)
    free = set(RESUMABLE + task.resumable)
    differ = [k for k in current if k not in free and saved.get(k) != current[k]]
    if differ:
        shown = ", ".join(f"{k} {current[k]!r} there, {saved.get(k)!r} here" for k in differ[:3])
        raise UserError(f"{ckpt}: the run's config.json and this checkpoint disagree ({shown}); one of them was "
                        f"modified: restore config.json from a backup or move the checkpoint out of checkpoints/")
    return meta


def run_task(task: Task, *, base, overrides: dict, device: torch.device, console: Console,
             out: Optional[Path] = None, resume: Optional[Path] = None, overwrite: bool = False,
             command: Optional[list[str]] = None, program: str = PROGRAM, show_progress: bool = True,
             runtime: RuntimeOptions = RuntimeOptions(), dist: DistContext = SINGLE, tensorboard: bool = False,
             faults: FaultPolicy = FaultPolicy()) -> TaskRun:
    """Train (or resume, with ``resume``) a run of ``task``; returns where it is and its samples.

    ``base`` is the preset configuration that ``overrides`` (flags; None: not given) change for a
    fresh run; ``command`` is recorded in config.json, ``program`` (``seqgan-gp``, ``python cli.py``)
    names the program in printed commands. ``runtime`` (--compile, --amp, ...) says how the steps
    execute and may change on resume; ``dist`` is the torchrun context; ``tensorboard`` also logs
    every record to RUN_DIR/tensorboard/; ``faults`` says what a NaN does (seqgan_gp.faults).

    Every input is checked before the run's first write (config.json): the configuration, the
    memory it needs, the checkpoint a resumed run starts from (its metadata, tensors, optimizer
    state), the data, and that the data is the run's.
    """
    rt = resolve_runtime(runtime, device, dist)  # before the run directory: a bad option leaves nothing behind
    opening = lambda: open_run(task, base=base, overrides=overrides, out=out, resume=resume,  # noqa: E731
                               overwrite=overwrite, program=program)
    with open_session(opening, dist=dist) as (cfg, run, ckpt):
        if not dist.is_main:
            console, show_progress = Console(quiet=True), False
        if run is not None and isinstance(console, RunConsole):  # what the run prints goes to log.txt (from config.json on)
            console.log_to(run.path / LOG_NAME, note=command_line(program, *command[1:]) if command else "")
        try:
            task.check_fits(cfg, device)  # before any data is read or any network built
            meta = resumed_checkpoint(task, cfg, ckpt) if ckpt is not None else None
            given = any(overrides.get(name) is not None for name in task.data_flags)
            with dist.main_first():  # rank 0 fills caches (an encoded corpus), the others read them
                data = task.open_data(cfg, console=console, show_progress=show_progress,
                                      recorded=meta if meta is not None and not given else None)
            if ckpt is not None:
                task.check_resume(cfg, data, meta, ckpt.parent.parent)
            torch.manual_seed(cfg.seed)
            trainable = task.build(cfg, data, device, dist)
            try:
                with cpu_threads(device, trainable.threads):
                    return _train(task, cfg, data, trainable, run, ckpt, device=device, console=console,
                                  command=command, program=program, show_progress=show_progress, runtime=rt,
                                  tensorboard=tensorboard, faults=faults)
            finally:
                trainable.close()
        except UserError as exc:  # the one line the command prints goes into the log too
            log_only(console, f"error: {exc}")
            raise


def _train(task: Task, cfg, data, trainable, run: Optional[RunDir], ckpt: Optional[Path], *, device, console, command,
           program, show_progress, runtime, tensorboard, faults) -> TaskRun:
    meta = {"config": asdict(cfg), **task.metadata(cfg, data)}
    start = 0
    if ckpt is not None:
        start = load_state(ckpt, trainable.state, kind=task.kind)["iteration"]  # every rank reads the same file
        console.print(f"resuming {ckpt.parent.parent} from iteration {start} ({ckpt.name})")
    common = dict(trainable=trainable, schedule=cfg, kind=task.kind, meta=meta, console=console, start=start,
                  runtime=runtime, faults=faults)
    if run is None:  # a data-parallel rank other than 0: train, write nothing
        return TaskRun(None, fit(run=None, show_progress=False, **common))
    task_sample = task.sampler(cfg, trainable, data, run.samples)
    evaluate = task.evaluator(cfg, trainable, data, device=device, console=console)  # may read files: before writing
    run.write_config({"kind": task.kind, **meta, "device": str(device), "runtime": runtime.to_json(),
                      "versions": versions(), "git_commit": git_commit(), "command": command})
    commit_log(console)  # the run has accepted its inputs: what it printed so far goes into log.txt
    loggers = make_loggers(run.path, tensorboard=tensorboard)  # after the first write: a refused start leaves none
    try:
        return _fit_run(task, cfg, data, trainable, run, common, task_sample, evaluate, console=console,
                        program=program, show_progress=show_progress, loggers=loggers)
    finally:
        close_loggers(loggers)


def _fit_run(task: Task, cfg, data, trainable, run: RunDir, common: dict, task_sample, evaluate, *, console, program,
             show_progress, loggers) -> TaskRun:
    runtime = common["runtime"]
    written: dict = {}  # the session's first and last sample, and the iteration of the last

    def sample(iteration: int):
        out = task_sample(iteration)
        written.setdefault("first", out)
        written.update(last=out, at=iteration)
        for logger in loggers:  # TensorBoard shows the samples too
            if hasattr(logger, "samples"):
                logger.samples(iteration, out)
        return out

    console.print(f"[bold]{train_command(task.kind)}[/] {task.header(cfg, data)}, run {run.path}")
    console.print(f"runtime: {runtime.describe()}")
    if runtime.dist.enabled:
        for name, module in trainable.state.modules.items():
            if has_batch_statistics(module):
                console.print(f"[yellow]note: {name}'s batch norm normalises over each rank's {cfg.batch_size} "
                              f"examples, not the global batch")
    result = fit(run=run, sample=sample, evaluate=evaluate, show_progress=show_progress, loggers=loggers,
                 resume_command=command_line(program, train_command(task.kind), "--resume", run.path),
                 smaller_run=command_line(program, train_command(task.kind), "--preset", "demo"), **common)
    if result.stopped_by is None:
        if written.get("at") != result.iteration:  # a run that was already at its last iteration
            disk_safe(run, sample)(result.iteration)
        task.finish(cfg, run)
    return TaskRun(run.path, result, written.get("first"), written.get("last"))
