"""Will it fit? Memory estimates checked against the machine before anything large is allocated.

A kind of training says what a configuration needs (its task's ``check_fits``, through
:func:`refuse_if_too_big`): the parameters of its networks, their gradients and optimizer state
(float32: Adam keeps two numbers per parameter, RMSProp one), the activations one step keeps for
its backward passes, and what an evaluation or a sampling command holds at once. The estimates
are rough on purpose and err high; what they prevent is a flag with a few zeros too many
(``--dim 100000``, ``--eval-samples 1000000000``) spending minutes allocating until the machine
swaps or the process is killed. Available memory is ``MemAvailable`` of /proc/meminfo, lowered to
a cgroup's limit where one is set (a container), or the free memory of the CUDA device; where the
system says nothing (another OS), nothing is refused.

A refusal names the flag most responsible and the largest value of it that fits, found by
bisection over the same estimate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from seqgan_gp.errors import UserError

FLOAT = 4  # bytes of a float32
HEADROOM = 0.9  # of the available memory a check allows: the interpreter, libraries and page cache need some
MEMINFO = Path("/proc/meminfo")
CGROUPS = ((Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory.current")),  # v2
           (Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"), Path("/sys/fs/cgroup/memory/memory.usage_in_bytes")))


@dataclass(frozen=True)
class Need:
    """What a configuration needs: bytes on the device (networks, steps) and in host memory (samples,
    evaluation arrays); on a CPU both are the same memory."""

    device: int = 0
    host: int = 0

    def __add__(self, other: "Need") -> "Need":
        return Need(self.device + other.device, self.host + other.host)

    def on(self, device: torch.device) -> list[tuple[str, int]]:
        """``(where, bytes)`` to check: one amount on a CPU, two on a GPU."""
        if device.type == "cuda":
            return [("cuda", self.device), ("host", self.host)]
        return [("host", self.device + self.host)]


def step_bytes(parameters: int, activations: int, batch: int, *, optimizer_slots: int = 2) -> int:
    """Bytes of a training step: weights, gradients and ``optimizer_slots`` numbers per parameter
    (Adam 2, RMSProp 1), plus ``activations`` float32 values kept per example for the backward passes
    (the critic step's penalty differentiates twice, which the kinds' activation counts include)."""
    return FLOAT * (parameters * (2 + optimizer_slots) + activations * batch)


def _meminfo_available() -> Optional[int]:
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> Optional[int]:
    """What a cgroup (v2, else v1) memory limit leaves; None without a limit."""
    for limit_file, usage_file in CGROUPS:
        try:
            limit = limit_file.read_text().strip()
            if limit == "max" or int(limit) >= 1 << 60:  # no limit (v1 writes a huge number)
                return None
            return max(int(limit) - int(usage_file.read_text().strip()), 0)
        except (OSError, ValueError):
            continue
    return None


def available_bytes(where: str = "host", device: Optional[torch.device] = None) -> Optional[int]:
    """Bytes available now in host memory or on the CUDA ``device``; None where unknown."""
    if where == "cuda":
        try:
            free, _ = torch.cuda.mem_get_info(device)
            return int(free)
        except (RuntimeError, AssertionError):
            return None
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    if not found and hasattr(os, "sysconf"):
        try:
            found = [os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
        except (ValueError, OSError):
            pass
    return min(found) if found else None


def size(n: float) -> str:
    """``75 GB``, ``310 MB``: a byte count as a person reads it."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} bytes"


def largest_fitting(need: Callable[[int], int], budget: float, current: int) -> int:
    """The largest ``v`` in [0, current] with ``need(v) <= budget`` (``need`` growing with ``v``);
    0 when even the smallest value does not fit."""
    lo, hi = 0, current
    if need(1) > budget:
        return 0
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if need(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def refuse_if_too_big(what: str, need: Callable[..., Need], values: dict[str, int], device: torch.device,
                      usual: Optional[dict[str, int]] = None, fix: str = "") -> None:
    """Raise a UserError when ``need(**values)`` exceeds the memory available now.

    ``values`` maps each flag that sizes the work (``"--dim"``: 512) to its value; ``need`` takes them
    as keyword arguments named without the dashes (``dim=512``). The message names one flag that
    alone can make it fit, and the largest value of it that does: the one furthest above its
    ``usual`` value (the paper's), else furthest above that largest value; ``fix`` adds another way out.
    """
    kwargs = {flag.lstrip("-").replace("-", "_"): v for flag, v in values.items()}
    total = need(**kwargs)
    for where, needed in total.on(device):
        avail = available_bytes(where, device)
        if avail is None or needed <= HEADROOM * avail:
            continue
        budget = HEADROOM * avail

        def need_with(flag: str) -> Callable[[int], int]:
            key = flag.lstrip("-").replace("-", "_")
            return lambda v: dict(need(**{**kwargs, key: v}).on(device))[where]

        best = None  # (how far above the largest value that fits, flag, that value)
        for flag, value in values.items():
            if value <= 1:
                continue
            fits = largest_fitting(need_with(flag), budget, value)
            if fits >= 1:
                ratio = value / (usual[flag] if usual and usual.get(flag) else fits)
                if best is None or ratio > best[0]:
                    best = (ratio, flag, fits)
        place = "the GPU has" if where == "cuda" else "this machine has"
        head = f"{what} need{'' if what.endswith('s') else 's'} ~{size(needed)}; {place} {size(avail)} available"
        if best is not None:
            _, flag, fits = best
            raise UserError(f"{flag} {values[flag]}: {head}; the largest {flag} that fits is about {fits}"
                            f"{'; ' + fix if fix else ''}")
        flags = ", ".join(f"{flag} {v}" for flag, v in values.items())
        raise UserError(f"{flags}: {head}, even at the smallest of any one of them; lower several of them"
                        f"{'; ' + fix if fix else ''}")
