"""Image sources: a dataset as ``n`` images that can be read by index at a given resolution.

A source hands out uint8 pixels (B, C, R, R); the batch loader (:mod:`image.data.batches`) turns
them into the model's float range in its worker threads. Sources that hold their images in memory
(CIFAR-10, Fashion-MNIST) share :class:`ArraySource`; LSUN, image folders and Hugging Face datasets
decode files on demand; the embedded dataset draws its images from their index.
"""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image


class ImageSource:
    """``n`` images of ``channels`` channels, with ``labels`` (n,) in [0, n_classes) or None."""

    name: str = "images"
    n: int = 0
    channels: int = 3
    n_classes: int = 0
    labels: np.ndarray | None = None
    decodes: bool = False  # reads decode image files: worth several loader threads on a GPU machine

    def read(self, idx: np.ndarray, resolution: int) -> np.ndarray:
        """uint8 images (len(idx), C, resolution, resolution)."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """A cheap digest of the source (size and a few images) to detect a changed dataset on resume."""
        probe = np.unique(np.linspace(0, self.n - 1, num=min(self.n, 8)).astype(np.int64))
        h = hashlib.sha256(f"{self.name}:{self.n}:{self.channels}:{self.n_classes}".encode())
        h.update(np.ascontiguousarray(self.read(probe, 16)).tobytes())
        if self.labels is not None:
            h.update(np.ascontiguousarray(self.labels[probe]).tobytes())
        return h.hexdigest()[:16]


def fit_resolution(images: np.ndarray, resolution: int, *, pad_to: int | None = None) -> np.ndarray:
    """uint8 (B, C, H, W) → (B, C, R, R): optional zero padding to ``pad_to`` (Fashion-MNIST's 28 → 32),
    then a Lanczos resize when the size still differs."""
    b, c, h, w = images.shape
    if pad_to is not None and h < pad_to <= resolution:
        ph, pw = pad_to - h, pad_to - w
        images = np.pad(images, ((0, 0), (0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
        h, w = images.shape[2:]
    if h == resolution and w == resolution:
        return images
    out = np.empty((b, c, resolution, resolution), dtype=np.uint8)
    for i in range(b):
        for ch in range(c):
            img = Image.fromarray(np.ascontiguousarray(images[i, ch]))
            out[i, ch] = np.asarray(img.resize((resolution, resolution), Image.LANCZOS))
    return out


class ArraySource(ImageSource):
    """Images held in memory as uint8 (N, C, H, W)."""

    def __init__(self, name: str, images: np.ndarray, labels: np.ndarray | None, n_classes: int,
                 *, pad_to: int | None = None):
        self.name, self.images, self.pad_to = name, images, pad_to
        self.n, self.channels = images.shape[0], images.shape[1]
        self.labels = None if labels is None else labels.astype(np.int64)
        self.n_classes = n_classes if labels is not None else 0

    def read(self, idx: np.ndarray, resolution: int) -> np.ndarray:
        return fit_resolution(self.images[idx], resolution, pad_to=self.pad_to)
