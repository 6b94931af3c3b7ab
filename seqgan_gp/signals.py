"""A clean stop on SIGINT or SIGTERM: the loop finishes its iteration, checkpoints it and returns.

A second signal stops at once (``fit`` reports a hard stop); checkpoint writes are atomic, so what is
already on disk stays intact either way.
"""

from __future__ import annotations

import signal
import threading
from typing import Optional


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
