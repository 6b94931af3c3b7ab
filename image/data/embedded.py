"""The embedded image dataset: coloured shapes drawn by code, so training needs no download.

Image ``i`` is a pure function of ``i`` (its own ``numpy`` generator), drawn at any resolution:
a dark background with a vertical gradient and one shape, whose

* class (``i`` mod 10) = shape (circle, square, triangle, ring, cross) x colour family (warm, cool);
* colour: a hue inside the family (warm 0-60°, cool 180-260°), saturation 0.7-1, value 0.8-1;
* size: radius 18-32 % of the image side; position: anywhere the shape fits.

A GAN must learn all of it: five crisp outlines, two disjoint colour families, sizes and
positions, and that every image holds exactly one shape. Labels make it usable for the AC-GAN.
Shapes are rendered at twice the resolution and averaged down (antialiased edges).
"""

from __future__ import annotations

import numpy as np

from image.data.source import ImageSource

SHAPES = ("circle", "square", "triangle", "ring", "cross")
FAMILIES = ("warm", "cool")
CLASS_NAMES = tuple(f"{f} {s}" for f in FAMILIES for s in SHAPES)


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(B,) hue in [0, 1), saturation, value → (B, 3) RGB in [0, 1]."""
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack([np.stack(c, -1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))])
    return table[i, np.arange(len(h))]


def draw_params(indices: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-image parameters (class, colour, background, centre, radius as fractions of the side)."""
    rows = []
    for i in indices:
        rng = np.random.default_rng((seed, 0x5EED, int(i)))
        k = int(i) % 10  # balanced classes
        lo, hi = (0.0, 60.0) if k < 5 else (180.0, 260.0)
        hue = rng.uniform(lo, hi) / 360.0
        sat, val = rng.uniform(0.7, 1.0), rng.uniform(0.8, 1.0)
        bg = rng.uniform(0.04, 0.22, size=3)
        r = rng.uniform(0.18, 0.32)
        cx, cy = rng.uniform(r, 1 - r, size=2)
        rows.append((k, hue, sat, val, *bg, r, cx, cy))
    a = np.array(rows, dtype=np.float64).reshape(len(indices), 10)
    return {"label": a[:, 0].astype(np.int64), "hue": a[:, 1], "sat": a[:, 2], "val": a[:, 3],
            "bg": a[:, 4:7], "r": a[:, 7], "cx": a[:, 8], "cy": a[:, 9]}


def render(params: dict[str, np.ndarray], resolution: int) -> np.ndarray:
    """uint8 (B, 3, R, R) images of ``params``."""
    s = 2 * resolution
    coords = (np.arange(s) + 0.5) / s  # pixel centres in [0, 1]
    y, x = coords[None, :, None], coords[None, None, :]  # (1, S, 1), (1, 1, S)
    r = params["r"][:, None, None]
    dx, dy = x - params["cx"][:, None, None], y - params["cy"][:, None, None]  # (B, S, S)
    dist = np.sqrt(dx**2 + dy**2)
    shape = params["label"] % 5
    masks = np.stack([
        dist <= r,  # circle
        np.maximum(np.abs(dx), np.abs(dy)) <= 0.8 * r,  # square
        (dy <= 0.5 * r) & (np.abs(dx) <= (dy + r) / np.sqrt(3.0)),  # triangle, apex up, in the circle
        (dist <= r) & (dist >= 0.55 * r),  # ring
        ((np.abs(dx) <= r / 3) & (np.abs(dy) <= r)) | ((np.abs(dy) <= r / 3) & (np.abs(dx) <= r)),  # cross
    ])  # (5, B, S, S)
    mask = masks[shape, np.arange(len(shape))][:, None].astype(np.float64)  # (B, 1, S, S)
    colour = _hsv_to_rgb(params["hue"], params["sat"], params["val"])[:, :, None, None]  # (B, 3, 1, 1)
    gradient = 1.0 + 0.6 * y[:, None]  # (1, 1, S, 1): lighter towards the bottom
    bg = params["bg"][:, :, None, None] * gradient  # (B, 3, S, 1)
    img = bg * (1 - mask) + colour * mask  # (B, 3, S, S)
    img = img.reshape(len(shape), 3, resolution, 2, resolution, 2).mean(axis=(3, 5))
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


class EmbeddedSource(ImageSource):
    """``n`` shape images (10 classes), drawn on demand at the requested resolution."""

    def __init__(self, n: int, *, seed: int = 0):
        self.name, self.n, self.channels, self.n_classes, self.seed = "embedded", n, 3, 10, seed
        self.labels = np.arange(n, dtype=np.int64) % 10  # = draw_params(...)["label"]

    def read(self, idx: np.ndarray, resolution: int) -> np.ndarray:
        return render(draw_params(np.asarray(idx), self.seed), resolution)
