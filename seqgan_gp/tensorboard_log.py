"""Optional TensorBoard logging of a run (``--tensorboard``): its metrics records and its samples.

The ``tensorboard`` package is an optional dependency (the extra ``tensorboard``:
``pip install -e ".[tensorboard]"`` in the checkout); without it, asking for TensorBoard is a
:class:`UserError` that says how to install it. The logger is one of :func:`seqgan_gp.fit.fit`'s
``loggers``: every numeric value of every metrics record becomes a scalar at its iteration, in
``RUN_DIR/tensorboard/``; :meth:`TensorBoardLogger.samples` receives what a task's sampler wrote
(text lines become a text entry, a PNG, an image grid or a toy frame, an image).
"""

from __future__ import annotations

import math
from pathlib import Path

from seqgan_gp.errors import UserError

INSTALL_HINT = 'pip install -e ".[tensorboard]" in the seqgan_gp checkout (or pip install tensorboard)'


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

    def samples(self, iteration: int, written) -> None:
        """The samples of ``iteration``: decoded text lines (a list of str) or the path of a PNG."""
        if isinstance(written, (list, tuple)) and all(isinstance(t, str) for t in written):
            # four leading spaces: a Markdown code block, so padding and spacing show as they are
            self.writer.add_text("samples", "\n".join("    " + t for t in written), iteration)
        elif isinstance(written, Path) and written.suffix == ".png":
            import numpy as np
            from PIL import Image

            with Image.open(written) as im:
                pixels = np.asarray(im.convert("RGB"))
            self.writer.add_image("samples", pixels, iteration, dataformats="HWC")
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
