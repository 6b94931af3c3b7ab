"""Progress of a training run that shows anywhere: a terminal, a pipe, nohup, a SLURM or CI log.

On a terminal, :class:`TrainingProgress` draws a rich bar (iteration, it/s, elapsed, ETA, the
latest losses and metrics). Anywhere else it prints plain lines instead, one per metrics record
but at most one every ``plain_every`` seconds (the first and the last always), so a run with
``--log-every 1`` does not flood a log::

    text 1200/200000 (0.6%) · 0.07 it/s · elapsed 4:46:10 · ETA 32 d 14:05 · D -2.114 W +2.533 GP 0.042 G +1.020 · JS-4 0.412

The same lines go to the run's log.txt in both cases (seqgan_gp.runlog). After the first measured
iterations (:data:`ESTIMATE_AFTER_S` seconds and at least :data:`ESTIMATE_MIN_ITERS` iterations,
or :data:`ESTIMATE_AFTER_ITERS` iterations; the first iteration's warm-up left out) it prints how
long the run will take; on a CPU, a run of more than a day says so loudly, with the command of a
run sized for a CPU.
"""

from __future__ import annotations

import math
import time
from typing import Optional

from rich.console import Console
from rich.markup import escape

from seqgan_gp.metrics.counts import base_name
from seqgan_gp.runlog import log_only

PLAIN_EVERY_S = 30.0  # seconds between plain progress lines, at most one per metrics record
ESTIMATE_AFTER_S = 10.0  # the duration is estimated after this long (and ESTIMATE_MIN_ITERS iterations) or ...
ESTIMATE_AFTER_ITERS = 10  # ... this many iterations, whichever comes first, counted from the first iteration's end
ESTIMATE_MIN_ITERS = 3  # a slow second iteration (kernels chosen on first use) alone does not decide
ESTIMATE_MIN_S = 60.0  # shorter runs get no estimate line
LONG_ON_CPU_S = 86_400.0  # a CPU run estimated longer than this gets the loud warning

LOSSES = (("critic_loss", "D"), ("wasserstein", "W"), ("penalty", "GP"), ("gen_loss", "G"), ("train_nll", "NLL"))
METRICS = (("js4", "JS-4", "{:.3f}"), ("valid", "valid", "{:.1%}"), ("bleu4", "BLEU-4", "{:.3f}"),
           ("swd_avg", "SWD", "{:.2f}"), ("ms_ssim", "MS-SSIM", "{:.3f}"), ("is", "IS", "{:.2f}"), ("fid", "FID", "{:.1f}"),
           ("w1", "W1", "{:.3f}"), ("modes", "modes", "{}"))  # each kind's headline evaluation figures, as shown
HEADLINE = {key for key, _, _ in METRICS}  # by their names without a sample count (seqgan_gp.metrics.counts)


def clock(seconds: float) -> str:
    """``42`` → ``0:42``, ``3725`` → ``1:02:05``, more than a day → ``2 d 03:12``."""
    if not math.isfinite(seconds):
        return "?"
    s = int(round(max(seconds, 0.0)))
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days} d {hours:02d}:{minutes:02d}"
    return f"{hours}:{minutes:02d}:{s:02d}" if hours else f"{minutes}:{s:02d}"


def human_duration(seconds: float) -> str:
    """A duration in words at the scale that matters: ``40 seconds``, ``12 minutes``, ``5.2 hours``, ``2.3 days``,
    ``38 days``."""
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} hours"
    days = seconds / 86_400
    return f"{days:.1f} days" if days < 10 else f"{days:.0f} days"


def describe_record(record: dict, latest: dict) -> str:
    """The losses of ``record`` and the latest evaluation figures ``latest``, as ``D -1.234 ... · JS-4 0.41``."""
    losses = " ".join(f"{short} {record[k]:+.3f}" for k, short in LOSSES if isinstance(record.get(k), (int, float)))
    metrics = " ".join(f"{label} {'—' if latest[k] is None else shown.format(latest[k])}"
                       for k, label, shown in METRICS if k in latest)  # None: undefined (no 4-grams, ...)
    return " · ".join(part for part in (losses, metrics) if part)


class TrainingProgress:
    """Progress of ``fit``: ``advance(iteration)`` after every iteration, ``update(record)`` with every
    metrics record. ``device`` and ``smaller_run`` (a command sized for a CPU) shape the estimate."""

    def __init__(self, console: Console, total: int, start: int = 0, description: str = "train", *,
                 device: str = "cpu", smaller_run: Optional[str] = None, plain_every: float = PLAIN_EVERY_S):
        self.console, self.total, self.start, self.description = console, total, start, description
        self.device, self.smaller_run, self.plain_every = device, smaller_run, plain_every
        self.latest: dict = {}  # the newest value of every headline metric
        self.iteration = start
        self.first: Optional[tuple[float, int]] = None  # (time, iteration) when the session's first iteration ended
        self.estimated = False
        self.last_line: Optional[float] = None  # when the last plain line was written
        self.last_record: Optional[dict] = None
        self.written_record: Optional[dict] = None
        self.bar = None
        if console.is_terminal:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                TimeRemainingColumn(), TextColumn("{task.fields[stats]}"), console=console)
            self.task = self.bar.add_task(description, total=total, completed=start, speed="", stats="")
        self.t0 = time.perf_counter()

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        if self.last_record is not None and self.last_record is not self.written_record:
            self._write(self.last_record)  # where the run ended, even inside an interval

    def rate(self) -> Optional[float]:
        """Iterations per second since the session's first iteration ended (None before a second one)."""
        if self.first is None or self.iteration <= self.first[1]:
            return None
        seconds = time.perf_counter() - self.first[0]
        return (self.iteration - self.first[1]) / seconds if seconds > 0 else None

    def advance(self, iteration: int) -> None:
        if iteration < self.iteration:  # rolled back to a checkpoint (--on-nan rollback): measure afresh
            self.first = None
        self.iteration = iteration
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, iteration)  # the first iteration pays warm-up (allocation, compilation): not measured
        elif not self.estimated and ((now - self.first[0] >= ESTIMATE_AFTER_S
                                      and iteration - self.first[1] >= ESTIMATE_MIN_ITERS)
                                     or iteration - self.first[1] >= ESTIMATE_AFTER_ITERS):
            self.estimated = True
            self._estimate()
        if self.bar is not None:
            self.bar.update(self.task, completed=iteration)

    def _estimate(self) -> None:
        rate = self.rate()
        if not rate:
            return
        left = (self.total - self.iteration) / rate
        if left < ESTIMATE_MIN_S:
            return
        line = (f"estimated time to iteration {self.total:,}: ≈ {human_duration(left)} at {rate:.3g} it/s on "
                f"{self.device} (measured over iterations {self.first[1]}-{self.iteration})")
        self.console.print(line, markup=False, soft_wrap=True)
        if self.device == "cpu" and left > LONG_ON_CPU_S:
            advice = ("stop it with Ctrl-C (it resumes with --resume) and train a run sized for a CPU: "
                      f"{self.smaller_run}" if self.smaller_run else "stop it with Ctrl-C (it resumes with --resume)")
            self.console.print(f"[bold red]warning: this run would take ≈ {human_duration(left)} on this CPU[/]; "
                               f"{escape(advice)}, or train on a GPU (--device cuda)", soft_wrap=True)

    def update(self, record: dict) -> None:
        for key, value in record.items():  # js4_640 and an older run's js4 are both JS-4
            base = base_name(key)
            if base in HEADLINE:
                self.latest[base] = value
        self.last_record = record
        if self.bar is not None:
            speed = f"{record['it_per_s']:.2f} it/s" if "it_per_s" in record else ""
            self.bar.update(self.task, completed=record["iteration"], stats=describe_record(record, self.latest),
                            speed=speed)
        now = time.perf_counter()
        if (self.last_line is None or record["iteration"] >= self.total
                or now - self.last_line >= self.plain_every):
            self._write(record)

    def line(self, record: dict) -> str:
        """The plain progress line of ``record``."""
        it = record["iteration"]
        parts = [f"{self.description} {it}/{self.total} ({100 * it / max(self.total, 1):.1f}%)"]
        rate = self.rate()
        if rate:
            parts.append(f"{rate:.3g} it/s")
        parts.append(f"elapsed {clock(time.perf_counter() - self.t0)}")
        if rate and it < self.total:
            parts.append(f"ETA {clock((self.total - it) / rate)}")
        stats = describe_record(record, self.latest)
        return " · ".join(parts + ([stats] if stats else []))

    def _write(self, record: dict) -> None:
        self.last_line, self.written_record = time.perf_counter(), record
        text = self.line(record)
        if self.bar is not None:
            log_only(self.console, text)  # the terminal has the bar; the log gets the line
        else:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
