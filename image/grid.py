"""PNG sample grids in the reference code's layout (tflib save_images.py, SPEC.md).

Images in [0, 1] become uint8 as ⌊x·255.99⌋; a grid of N images has ``rows`` = the largest divisor
of N that is at most √N and N/rows columns (64 → 8x8, 100 → 10x10, 128 → 8x16), filled row by row,
no borders. Gray images are saved as 8-bit gray PNGs. A grid narrower than :data:`MIN_WIDTH` pixels
(16 images of 32 px are 128 px wide) is saved enlarged by a whole factor, each pixel repeated
(nearest neighbour: no pixel is invented), so that a person can see it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


MIN_WIDTH = 512  # pixels: smaller grids are saved enlarged by a whole factor


def grid_rows(n: int) -> int:
    """The largest divisor of ``n`` that is ≤ √n."""
    return max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)


def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (B, C, H, W) → uint8 by ⌊x·255.99⌋, as tflib."""
    x = images.detach().cpu().float().numpy() if torch.is_tensor(images) else np.asarray(images, np.float32)
    return (np.clip(x, 0.0, 1.0) * 255.99).astype(np.uint8)


def make_grid(images: np.ndarray, rows: int | None = None) -> np.ndarray:
    """uint8 (N, C, H, W) → one (rows·H, cols·W[, C]) array; ``rows`` defaults to :func:`grid_rows`."""
    n, c, h, w = images.shape
    rows = rows or grid_rows(n)
    cols = math.ceil(n / rows)
    if rows * cols != n:  # pad a ragged last row with black
        images = np.concatenate([images, np.zeros((rows * cols - n, c, h, w), images.dtype)])
    grid = images.reshape(rows, cols, c, h, w).transpose(0, 3, 1, 4, 2).reshape(rows * h, cols * w, c)
    return grid[:, :, 0] if c == 1 else grid


def upscale(grid: np.ndarray, min_width: int = MIN_WIDTH) -> np.ndarray:
    """``grid`` (H, W[, C]) with every pixel repeated k x k times, k = ⌈min_width / W⌉ (1 when wide enough)."""
    k = max(1, -(-min_width // grid.shape[1]))
    return grid if k == 1 else grid.repeat(k, axis=0).repeat(k, axis=1)


def save_grid(images: torch.Tensor | np.ndarray, path: Path, rows: int | None = None,
              min_width: int = MIN_WIDTH) -> Path:
    """Save float images in [0, 1] (N, C, H, W) as a PNG grid, at least ``min_width`` pixels wide; returns the path."""
    arr = images if isinstance(images, np.ndarray) and images.dtype == np.uint8 else to_uint8(images)
    path = Path(path)
    Image.fromarray(upscale(make_grid(arr, rows), min_width)).save(path, format="PNG")
    return path
