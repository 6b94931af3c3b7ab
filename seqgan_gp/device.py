"""Device choice: ``auto`` picks CUDA when present, else CPU; ``cpu`` and ``cuda[:k]`` are explicit."""

from __future__ import annotations

import re

import torch

from seqgan_gp.errors import UserError


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn ``--device`` (auto|cpu|cuda|cuda:k) into a ``torch.device``, checking it exists."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    m = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if not m:
        raise UserError(f"--device {spec!r} is not a device: use auto, cpu, cuda or cuda:K")
    if not torch.cuda.is_available():
        raise UserError(f"--device {spec}: no CUDA GPU is visible to PyTorch; use --device cpu or auto")
    index = int(m.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise UserError(
            f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) visible; "
            f"use an index below {torch.cuda.device_count()}"
        )
    return torch.device("cuda", index)
