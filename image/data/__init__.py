"""Image datasets: CIFAR-10, LSUN (lmdb or image files), any image folder, Fashion-MNIST, and the
embedded shapes. ``open_source`` turns ``--dataset`` / ``--data-dir`` into an
:class:`~image.data.source.ImageSource`; :class:`~image.data.batches.ImageBatches` feeds the loop."""

from __future__ import annotations

from image.data.batches import ImageBatches, scale_pixels, to_unit_range
from image.data.cifar import load_cifar10
from image.data.embedded import EmbeddedSource
from image.data.fashion_mnist import load_fashion_mnist
from image.data.lsun import open_folder, open_lsun
from image.data.source import ArraySource, ImageSource
from seqgan_gp.errors import UserError

__all__ = ["ImageBatches", "ImageSource", "open_source", "scale_pixels", "to_unit_range"]


def open_source(dataset: str, data_dir: str | None, *, max_examples: int = 0, embedded_size: int = 50_000,
                seed: int = 0) -> ImageSource:
    """The training images of ``dataset`` (first ``max_examples`` if > 0)."""
    if dataset == "embedded":
        src = EmbeddedSource(embedded_size, seed=seed)
    elif dataset == "cifar10":
        src = load_cifar10(data_dir)
    elif dataset == "fashion-mnist":
        src = load_fashion_mnist(data_dir)
    elif dataset == "lsun":
        return open_lsun(data_dir, max_examples=max_examples)
    elif dataset == "folder":
        return open_folder(data_dir, max_examples=max_examples)
    else:
        raise UserError(f"--dataset {dataset}: unknown; choose embedded, cifar10, lsun, folder or fashion-mnist")
    if max_examples and max_examples < src.n and isinstance(src, ArraySource):
        src = ArraySource(src.name, src.images[:max_examples], None if src.labels is None else src.labels[:max_examples],
                          src.n_classes, pad_to=src.pad_to)
    elif max_examples and max_examples < src.n:
        src.n = max_examples
        if src.labels is not None:
            src.labels = src.labels[:max_examples]
    return src
