"""Image batches for the training loop, decoded ahead of time in a background thread.

Batch order comes from :class:`seqgan_gp.batches.EpochSampler` (a permutation per epoch, the
position is two integers), so a checkpoint stores where the run is and a resumed run reads exactly
the batches the uninterrupted run would have read. A producer thread walks a copy of the sampler
ahead of the loop, reads and decodes each batch and scales it to the model's range; the loop only
takes finished tensors from a small queue, so the device never waits on JPEG decoding or resizing.

Pixel scalings (SPEC.md):

* ``"255"``     x = 2·(p/255 − 0.5) ∈ [−1, 1]                   (gan_cifar.py, gan_64x64.py)
* ``"dequant"`` x = 2·(p/256 − 0.5) + U[0, 1/128) ∈ [−1, 1)     (gan_cifar_resnet.py)
* ``"unit"``    x = p/255 ∈ [0, 1]                              (gan_mnist.py)

The dequantisation noise of a batch is drawn from a generator seeded by (seed, epoch, position),
so it too is reproduced exactly on resume.
"""

from __future__ import annotations

import queue
import threading

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


class ImageBatches:
    """``next()`` returns images (B, C, R, R) on ``device``, or ``(images, labels)`` when conditional."""

    def __init__(self, source: ImageSource, *, batch_size: int, seed: int, device: torch.device, resolution: int,
                 scaling: str, conditional: bool = False, prefetch: int = 3, rank: int = 0, world: int = 1):
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}")
        if conditional and source.labels is None:
            raise ValueError(f"{source.name} has no labels")
        self.source, self.device, self.resolution, self.scaling = source, device, resolution, scaling
        self.conditional, self.n_classes, self.seed = conditional, source.n_classes, seed
        self.sampler = EpochSampler(source.n, batch_size, seed, rank=rank, world=world)
        self._shard = {"rank": rank, "world": world}
        self._batch_size, self._prefetch = batch_size, prefetch
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the producer ---------------------------------------------------------------------------------
    def _produce(self, state: dict, out: queue.Queue, stop: threading.Event) -> None:
        sampler = EpochSampler(self.source.n, self._batch_size, self.seed, **self._shard)
        sampler.load_state_dict(state)
        try:
            while not stop.is_set():
                idx = sampler.next_indices()
                after = sampler.state_dict()
                pixels = self.source.read(idx, self.resolution)
                rng = np.random.default_rng((self.seed, 0xDE9, after["epoch"], after["pos"]))
                x = torch.from_numpy(scale_pixels(pixels, self.scaling, rng))
                y = torch.from_numpy(self.source.labels[idx]) if self.conditional else None
                if self.device.type == "cuda":
                    x = x.pin_memory()
                item = (after, x, y)
                while not stop.is_set():
                    try:
                        out.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # noqa: BLE001  re-raised in the training thread
            out.put(("error", exc, None))

    def _start(self) -> None:
        self._stop = threading.Event()
        self._queue = queue.Queue(maxsize=self._prefetch)
        self._thread = threading.Thread(target=self._produce, args=(self.sampler.state_dict(), self._queue, self._stop),
                                        name="image-batches", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the producer thread (idempotent)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread, self._queue = None, None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001  interpreter shutdown
            pass

    # -- the loop's interface ------------------------------------------------------------------------
    def next(self):
        if self._thread is None:
            self._start()
        state, x, y = self._queue.get()
        if state == "error":
            self.close()
            raise x
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
        self.close()  # the producer restarts from the restored position at the next batch
        self.sampler.load_state_dict(state)
