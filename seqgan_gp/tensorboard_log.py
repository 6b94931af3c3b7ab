"""Optional TensorBoard logging of a run's metrics records (``--tensorboard``).

The ``tensorboard`` package is an optional dependency (``pip install "seqgan_gp[tensorboard]"``);
without it, asking for TensorBoard is a :class:`UserError` that says how to install it. The logger
is one of :func:`seqgan_gp.fit.fit`'s ``loggers``: every numeric value of every metrics record
becomes a scalar at its iteration, in ``RUN_DIR/tensorboard/``.
"""

from __future__ import annotations

import math
from pathlib import Path

from seqgan_gp.errors import UserError

INSTALL_HINT = 'pip install "seqgan_gp[tensorboard]" (or pip install tensorboard)'


class TensorBoardLogger:
    """``logger(record)`` writes the record's numbers as scalars; ``close()`` flushes the event file."""

    def __init__(self, log_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError(f"--tensorboard: the tensorboard package is not installed; {INSTALL_HINT}, "
                            f"or leave out --tensorboard") from None
        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def __call__(self, record: dict) -> None:
        step = int(record.get("iteration", 0))
        for key, value in record.items():
            if key == "iteration" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def make_loggers(run_path: Path, *, tensorboard: bool) -> list:
    """The extra loggers a training command asked for (an empty list without --tensorboard)."""
    return [TensorBoardLogger(Path(run_path) / "tensorboard")] if tensorboard else []


def close_loggers(loggers) -> None:
    for logger in loggers:
        close = getattr(logger, "close", None)
        if close:
            close()
