"""The interface between the core and a kind of training (text, image, toy; later an MLE language
model or a conditional text GAN).

A task says how to build what it trains from its configuration, how to sample and how to evaluate, what
metadata goes into config.json and every checkpoint, how to check that a resumed run's data is the
one it started with, its run directory's default name, which of its own flags may change on
resume, and its one-line header. :func:`seqgan_gp.runner.run_task` does everything else, once for
every kind: it opens or resumes the run directory, writes config.json, restores the state, fits,
checkpoints, and stops cleanly. Adding a kind means writing its task module, not the wiring; the
smallest is seqgan_gp/toy/task.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Protocol

import torch
from rich.console import Console

from seqgan_gp.distributed import DistContext
from seqgan_gp.loop import Iteration
from seqgan_gp.rundir import RunDir
from seqgan_gp.runtime import Runtime
from seqgan_gp.state import TrainState


def _nothing() -> None:
    pass


@dataclass
class Trainable:
    """What a task builds for one run."""

    state: TrainState  # what a checkpoint restores: named networks, their optimizers, batches, RNG
    iteration: Callable[[Runtime], Iteration]  # one iteration's steps, made for the run's runtime
    threads: Optional[int] = None  # intra-op CPU threads to train on (None: torch's setting)
    close: Callable[[], None] = _nothing  # releases what it holds (an image loader's threads)


class Task(Protocol):
    """A kind of training, as the core runs it. ``cfg`` is an instance of ``config``; ``data`` is
    whatever :meth:`open_data` returned (a corpus, an image source, None for the toys)."""

    kind: str  # names the kind in config.json and checkpoints; the command that trains it is train-<kind>
    config: type  # the kind's configuration dataclass (extends seqgan_gp.config.TrainConfig)
    resumable: tuple[str, ...]  # its own fields a resumed run may change (besides the schedule's)
    data_flags: tuple[str, ...]  # its fields that name data to read (a corpus path, a data folder)

    def run_name(self, cfg) -> str:
        """The run directory's default name, after the number: ``text-embedded``."""

    def check_fits(self, cfg, device: torch.device) -> None:
        """Refuse (UserError, seqgan_gp.memory) a configuration whose networks, training step and
        evaluation do not fit the memory of ``device``; called before any data is read."""

    def open_data(self, cfg, *, console: Console, show_progress: bool, recorded: Optional[dict] = None):
        """The training data, checked against ``cfg`` (on data-parallel rank 0 first).

        ``recorded`` is the checkpoint metadata of a resumed run whose ``data_flags`` the user did
        not pass again: then a path or name that ``cfg`` took from the run's files is neither read
        nor fetched; open what the metadata identifies (an encoded corpus in the cache, generated
        data) or refuse, naming the flags to pass."""

    def metadata(self, cfg, data) -> dict:
        """What config.json and every checkpoint record besides the configuration (a tokenizer, a
        dataset's fingerprint)."""

    def check_resume(self, cfg, data, meta: dict, where: Path) -> None:
        """Refuse (UserError) to resume the run in ``where``, whose checkpoint holds ``meta``, on other data."""

    def build(self, cfg, data, device: torch.device, dist: DistContext) -> Trainable:
        """Networks, optimizers, batch source, RNG and iteration; the core has seeded torch with ``cfg.seed``."""

    def header(self, cfg, data) -> str:
        """One line saying what is trained on what, after ``train-<kind>``."""

    def sampler(self, cfg, trainable: Trainable, data, folder: Path) -> Callable[[int], object]:
        """``sample(iteration)`` writes samples into ``folder`` and returns what it wrote (the run's
        first and last samples reach the command's summary)."""

    def evaluator(self, cfg, trainable: Trainable, data, *, device: torch.device,
                  console: Console) -> Callable[[int], dict]:
        """``evaluate(iteration)`` returns metrics for the record of that iteration (rank 0 only)."""

    def finish(self, cfg, run: RunDir) -> None:
        """Write what a finished run adds to its directory (the toy's loss curves)."""
