"""Progress display for long work: a rich bar with iteration, it/s, ETA and the latest losses."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)


class TrainingProgress:
    """A rich progress bar for the training loop; ``update`` takes the latest logged stats."""

    KEYS = (("critic_loss", "D"), ("wasserstein", "W"), ("penalty", "GP"), ("gen_loss", "G"), ("train_nll", "NLL"))

    def __init__(self, console: Console, total: int, start: int = 0, description: str = "train"):
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[stats]}"),
            console=console, transient=False, disable=not console.is_terminal and console.quiet,
        )
        self.task = self.progress.add_task(description, total=total, completed=start, speed="", stats="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def advance(self, iteration: int) -> None:
        self.progress.update(self.task, completed=iteration)

    def update(self, record: dict) -> None:
        stats = " ".join(f"{short} {record[k]:+.3f}" for k, short in self.KEYS if k in record)
        speed = f"{record['it_per_s']:.2f} it/s" if "it_per_s" in record else ""
        self.progress.update(self.task, completed=record["iteration"], stats=stats, speed=speed)
