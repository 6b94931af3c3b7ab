"""How a run executes, not what it learns: device, precision, determinism, torch.compile, CUDA
graphs and the data-parallel context, resolved once per run (``--compile``, ``--amp``,
``--cuda-graphs``, ``--tf32``, ``--deterministic``; torchrun). These may change when a run is
resumed. Precision itself is :mod:`seqgan_gp.precision`; the steps that honour these choices are
:mod:`seqgan_gp.steps`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from typing import Optional

import torch

from seqgan_gp.distributed import DistContext
from seqgan_gp.errors import UserError
from seqgan_gp.precision import AMP_CHOICES, Precision, apply_tf32, resolve_precision


@dataclass(frozen=True)
class RuntimeOptions:
    """How a run executes, not what it learns: these may change when a run is resumed."""

    compile: bool = False  # torch.compile the steps (the first iterations pay the compilation)
    amp: str = "off"  # off | bf16 | auto: bf16 autocast for the networks (paper: off, float32)
    cuda_graphs: bool = False  # CUDA only: replay the critic step from a captured CUDA graph
    tf32: bool = True  # CUDA only: TF32 matrix products and convolutions when not under bf16
    deterministic: bool = False  # CUDA: deterministic kernels, no autotuning, no TF32 (CPU is bit-exact anyway)

    def __post_init__(self):
        if self.amp not in AMP_CHOICES:
            raise UserError(f"--amp {self.amp}: choose one of {', '.join(AMP_CHOICES)}")
        if self.compile and self.cuda_graphs:
            raise UserError("--compile and --cuda-graphs: choose one (torch.compile with "
                            "mode='reduce-overhead' would capture graphs itself)")


@dataclass
class Runtime:
    """Resolved runtime: the options, the device, the precision and the data-parallel context."""

    options: RuntimeOptions
    device: torch.device
    precision: Precision
    dist: DistContext

    def describe(self) -> str:
        parts = [f"device {self.device}", f"precision {self.precision.describe()}"]
        if self.options.compile:
            parts.append("torch.compile")
        if self.options.cuda_graphs:
            parts.append("CUDA graphs")
        if self.dist.enabled:
            parts.append(f"data-parallel over {self.dist.world} processes")
        return ", ".join(parts)

    def to_json(self) -> dict:
        return {**asdict(self.options), "device": str(self.device), "precision": self.precision.to_json(),
                "world_size": self.dist.world}


def resolve_runtime(options: RuntimeOptions, device: torch.device, dist: Optional[DistContext] = None) -> Runtime:
    """Check ``options`` against ``device``, choose the precision and set the TF32 switches."""
    if options.cuda_graphs and device.type != "cuda":
        raise UserError(f"--cuda-graphs: CUDA graphs need a CUDA device, but this run uses {device}; "
                        f"drop --cuda-graphs (or use --compile)")
    precision = resolve_precision(options.amp, device, tf32=options.tf32 and not options.deterministic)
    apply_tf32(precision)
    if options.deterministic:
        make_deterministic()
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # shapes are fixed for a run: let cuDNN pick its fastest kernels
    return Runtime(options=options, device=device, precision=precision, dist=dist or DistContext())


def make_deterministic() -> None:
    """Same seed, configuration and device give the same weights on CUDA too (PyTorch's reproducibility
    notes): deterministic algorithms only (an op without one raises), cuDNN without autotuning, and a
    fixed cuBLAS workspace. The CPU kernels this toolkit uses are deterministic already."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


@contextlib.contextmanager
def cpu_threads(device: torch.device, n: Optional[int]):
    """Run on ``n`` intra-op CPU threads (None: leave torch's setting), restoring it afterwards.

    Tiny networks (the toys) gain nothing from splitting a matrix product over cores; on a busy
    two-core machine OpenMP's barriers then cost more than the arithmetic (measured: 0.04 s per toy
    demo iteration on one thread, 0.5-0.7 s on two while other work ran).
    """
    if n is None or device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
