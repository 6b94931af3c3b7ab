"""Numerical precision of a run: float32, TF32 on CUDA, or bfloat16 autocast (``--amp``).

``--amp off`` (the default) trains in float32 as the paper. ``--amp bf16`` runs the networks'
forward passes under ``torch.autocast(dtype=torch.bfloat16)``; ``--amp auto`` picks bf16 only
where the hardware runs it fast:

* CUDA GPUs with native bf16 (compute capability 8.0 or newer: A100, RTX 30xx, H100, ...);
* CPUs with AMX or AVX-512 BF16 instructions (Sapphire Rapids and newer Xeons, AMD Zen 4 and newer).
  Without them a CPU emulates bf16 and runs it several times *slower* than float32.

Whatever the precision of the networks, the gradient penalty's norm, the losses and the
optimizers stay in float32 (SPEC.md pitfall 5: bf16 keeps float32's exponent range, so no loss
scaling is needed, but a per-example gradient norm in bf16 loses digits). Parameters and optimizer
state are always float32; autocast only changes the dtype the matrix products run in.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from seqgan_gp.choices import AMP_CHOICES
from seqgan_gp.errors import UserError


def _cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_bf16_capability() -> Optional[str]:
    """``"amx"`` or ``"avx512_bf16"`` when this CPU multiplies bf16 natively, else None.

    Asks PyTorch (``torch.cpu._is_amx_tile_supported`` / ``_is_avx512_bf16_supported``, which
    query CPUID) and falls back to the flags of /proc/cpuinfo on builds without those helpers.
    """
    cpu = getattr(torch, "cpu", None)
    try:
        if cpu is not None and hasattr(cpu, "_is_amx_tile_supported") and cpu._is_amx_tile_supported():
            return "amx"
        if cpu is not None and hasattr(cpu, "_is_avx512_bf16_supported"):
            return "avx512_bf16" if cpu._is_avx512_bf16_supported() else None
    except RuntimeError:
        pass
    flags = _cpuinfo_flags()
    if "amx_bf16" in flags:
        return "amx"
    if "avx512_bf16" in flags:
        return "avx512_bf16"
    return None


def cpu_description() -> str:
    """What the CPU offers for the vector paths: PyTorch's capability and any native bf16 units."""
    cap = torch.backends.cpu.get_cpu_capability()
    bf16 = cpu_bf16_capability()
    return f"{cap}" + (f" + {bf16.upper()}" if bf16 else " (no native bf16)")


def cuda_bf16_native(device: torch.device) -> bool:
    """Whether a CUDA device runs bf16 natively (compute capability 8.0 or newer)."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    major, _ = torch.cuda.get_device_capability(device)
    return major >= 8


@dataclass(frozen=True)
class Precision:
    """The resolved precision of a run."""

    amp_dtype: Optional[torch.dtype]  # torch.bfloat16 under autocast, None for float32
    tf32: bool  # CUDA float32 matrix products and convolutions in TF32
    reason: str  # why this precision (for the log and config.json)

    @property
    def name(self) -> str:
        if self.amp_dtype is not None:
            return "bf16"
        return "tf32" if self.tf32 else "float32"

    def describe(self) -> str:
        if self.amp_dtype is not None:
            return f"bf16 autocast ({self.reason}); penalty norm, losses and optimizer in float32"
        return f"{'float32 with TF32 matrix products' if self.tf32 else 'float32'} ({self.reason})"

    def to_json(self) -> dict:
        return {"name": self.name, "amp": "bf16" if self.amp_dtype is not None else "off",
                "tf32": self.tf32, "reason": self.reason}


def resolve_precision(amp: str, device: torch.device, *, tf32: bool = True) -> Precision:
    """Turn ``--amp off|bf16|auto`` (and the TF32 switch) into the precision this device runs.

    ``bf16`` on a CUDA GPU without native bf16 is a user error (it would be emulated or fail);
    on a CPU without AMX/AVX-512 BF16 it is allowed (it runs, slowly) and the reason says so.
    """
    if amp not in AMP_CHOICES:
        raise UserError(f"--amp {amp}: choose one of {', '.join(AMP_CHOICES)}")
    use_tf32 = tf32 and device.type == "cuda"
    if device.type == "cuda":
        native = cuda_bf16_native(device)
        name = torch.cuda.get_device_name(device) if torch.cuda.is_available() else "cuda"
        if amp == "bf16" and not native:
            raise UserError(f"--amp bf16: {name} has no native bf16 (needs compute capability 8.0+); "
                            f"use --amp off (TF32) or --amp auto")
        if amp == "bf16" or (amp == "auto" and native):
            return Precision(torch.bfloat16, use_tf32, f"{name}, native bf16, --amp {amp}")
        why = "--amp off" if amp == "off" else f"--amp auto: {name} has no native bf16"
        return Precision(None, use_tf32, f"{name}, {why}")
    if device.type == "cpu":
        cap = cpu_bf16_capability()
        desc = cpu_description()
        if amp == "bf16":
            note = "" if cap else "; this CPU emulates bf16, expect it slower than float32"
            return Precision(torch.bfloat16, False, f"CPU {desc}, --amp bf16{note}")
        if amp == "auto" and cap:
            return Precision(torch.bfloat16, False, f"CPU {desc}, --amp auto")
        why = "--amp off" if amp == "off" else "--amp auto: no AMX or AVX-512 BF16, bf16 would be slower"
        return Precision(None, False, f"CPU {desc}, {why}")
    if amp == "bf16":
        raise UserError(f"--amp bf16: not supported on device {device}; use --amp off")
    return Precision(None, False, f"{device}, --amp {amp}: float32")


def apply_tf32(precision: Precision) -> None:
    """Set PyTorch's global CUDA TF32 switches to match ``precision`` (no effect on CPU runs)."""
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = precision.tf32
        torch.backends.cudnn.allow_tf32 = precision.tf32


def autocast(precision: Precision, device: torch.device, *, cache_enabled: bool = True):
    """The autocast context of ``precision`` on ``device`` (a no-op context for float32)."""
    if precision.amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=precision.amp_dtype, cache_enabled=cache_enabled)


FLOAT32 = Precision(None, False, "float32")
