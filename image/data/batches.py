"""Image batches for the training loop, read and decoded ahead of time by a few worker threads.

Batch order comes from :class:`seqgan_gp.batches.EpochSampler` (a permutation per epoch, the
position is two integers), so a checkpoint stores where the run is and a resumed run reads exactly
the batches the uninterrupted run would have read. The loader walks a second sampler ahead of the
loop and hands each upcoming batch's indices to a thread pool; each task reads, decodes and scales
one whole batch. Results are taken in submission order, so the number of workers changes how fast
batches arrive, never which images a batch holds or in what order (Pillow, lmdb and numpy release
the GIL while they decode, resize and copy, so threads run in parallel). A decoding error in a
worker is raised in the loop's thread when the loop reaches that batch, as the same UserError.

Pixel scalings (SPEC.md):

* ``"255"``     x = 2·(p/255 − 0.5) ∈ [−1, 1]                   (gan_cifar.py, gan_64x64.py)
* ``"dequant"`` x = 2·(p/256 − 0.5) + U[0, 1/128) ∈ [−1, 1)     (gan_cifar_resnet.py)
* ``"unit"``    x = p/255 ∈ [0, 1]                              (gan_mnist.py)

The dequantisation noise of a batch is drawn from a generator seeded by (seed, epoch, position),
so it too is reproduced exactly on resume, whichever worker draws it.
"""

from __future__ import annotations

import collections
import os
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from image.data.source import ImageSource
from seqgan_gp.batches import EpochSampler

SCALINGS = ("255", "dequant", "unit")


def scale_pixels(pixels: np.ndarray, scaling: str, noise_rng: np.random.Generator | None = None) -> np.ndarray:
    """uint8 pixels → float32 in the model's range (see the module docstring)."""
    p = pixels.astype(np.float32)
    if scaling == "255":
        return 2.0 * (p / 255.0 - 0.5)
    if scaling == "unit":
        return p / 255.0
    if scaling == "dequant":
        noise = noise_rng.random(p.shape, dtype=np.float32) / 128.0
        return 2.0 * (p / 256.0 - 0.5) + noise
    raise ValueError(f"unknown scaling {scaling!r}")


def to_unit_range(x: torch.Tensor, unit_range: bool) -> torch.Tensor:
    """Model output → [0, 1] for saving and metrics."""
    return x.clamp(0, 1) if unit_range else ((x + 1) / 2).clamp(0, 1)


def default_workers(source: ImageSource, device: torch.device) -> int:
    """Loader threads when none are asked for: one for images held in memory (slicing is cheap) and
    on CPU (there the training step, not decoding, is the bottleneck: benchmarks/image_loader.py, and
    extra threads would take cores from it); on an accelerator, for sources that decode files, one
    per spare core up to 8 (a thread decodes and resizes a few hundred 256 px images per second)."""
    if not source.decodes or device.type == "cpu":
        return 1
    return max(1, min(8, (os.cpu_count() or 1) - 1))


class ImageBatches:
    """``next()`` returns images (B, C, R, R) on ``device``, or ``(images, labels)`` when conditional.

    ``workers`` threads read and decode batches (None: :func:`default_workers`); up to ``prefetch``
    batches (at least ``workers``) are in flight while the loop trains on the current one.
    """

    def __init__(self, source: ImageSource, *, batch_size: int, seed: int, device: torch.device, resolution: int,
                 scaling: str, conditional: bool = False, prefetch: int = 3, workers: int | None = None,
                 rank: int = 0, world: int = 1):
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}")
        if conditional and source.labels is None:
            raise ValueError(f"{source.name} has no labels")
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.source, self.device, self.resolution, self.scaling = source, device, resolution, scaling
        self.conditional, self.n_classes, self.seed = conditional, source.n_classes, seed
        self.sampler = EpochSampler(source.n, batch_size, seed, rank=rank, world=world)
        self._shard = {"rank": rank, "world": world}
        self._batch_size = batch_size
        self.workers = workers if workers is not None else default_workers(source, device)
        self._prefetch = max(prefetch, self.workers)
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: EpochSampler | None = None  # walks ahead of ``sampler`` as batches are submitted
        self._pending: collections.deque[Future] = collections.deque()

    # -- the workers' task ----------------------------------------------------------------------------
    def _load(self, idx: np.ndarray, after: dict):
        """One batch: pixels read and scaled, labels, and the sampler position after it."""
        pixels = self.source.read(idx, self.resolution)
        rng = np.random.default_rng((self.seed, 0xDE9, after["epoch"], after["pos"]))
        x = torch.from_numpy(scale_pixels(pixels, self.scaling, rng))
        y = torch.from_numpy(self.source.labels[idx]) if self.conditional else None
        if self.device.type == "cuda":
            x = x.pin_memory()  # the copy to the device is then asynchronous
        return after, x, y

    def _submit(self) -> None:
        while len(self._pending) < self._prefetch:
            idx = self._ahead.next_indices()
            self._pending.append(self._pool.submit(self._load, idx, self._ahead.state_dict()))

    def close(self) -> None:
        """Drop the batches read ahead and stop the workers (idempotent)."""
        if self._pool is not None:
            for fut in self._pending:
                fut.cancel()
            self._pool.shutdown(wait=True, cancel_futures=True)  # running tasks end with their batch
            self._pool, self._ahead = None, None
            self._pending.clear()

    def __del__(self):
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001  interpreter shutdown
            pass

    # -- the loop's interface ------------------------------------------------------------------------
    def next(self):
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="image-batches")
            self._ahead = EpochSampler(self.source.n, self._batch_size, self.seed, **self._shard)
            self._ahead.load_state_dict(self.sampler.state_dict())
            self._submit()
        fut = self._pending.popleft()
        self._submit()  # keep ``prefetch`` batches in flight while this one is finished and used
        try:
            state, x, y = fut.result()
        except BaseException:
            self.close()  # the position stays before the failed batch
            raise
        self.sampler.load_state_dict(state)  # the position after this batch: what a checkpoint stores
        x = x.to(self.device, non_blocking=True)
        if not self.conditional:
            return x
        return x, y.to(self.device, non_blocking=True)

    def sample_labels(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """Labels for the generator step: uniform over the classes (the paper's floor(U·10))."""
        return torch.randint(0, self.n_classes, (n,), generator=rng, device=rng.device).to(self.device)

    def state_dict(self) -> dict:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.close()  # the workers restart from the restored position at the next batch
        self.sampler.load_state_dict(state)
