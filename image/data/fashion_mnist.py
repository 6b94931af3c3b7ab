"""Fashion-MNIST from its IDX files (the real image set that can be had on a machine without internet).

The original distribution and Debian's ``dataset-fashion-mnist`` package (installed under
/usr/share/datasets/fashion-mnist, see ``dpkg -L dataset-fashion-mnist``) both lay it out as

    DIR/train-images-idx3-ubyte.gz   magic 2051, N, 28, 28, then N·784 uint8 pixels
    DIR/train-labels-idx1-ubyte.gz   magic 2049, N, then N uint8 labels 0..9

(big-endian int32 header fields; the files may also be stored uncompressed without ``.gz``).
The 60,000 training images are 28x28 gray; for the 32x32 models they are zero-padded to 32x32,
for gan_mnist's 28x28 model used as they are. Pixels are read as uint8 and scaled by the loader.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from image.data.source import ArraySource
from seqgan_gp.errors import UserError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
LAYOUT = ("DIR/train-images-idx3-ubyte.gz and DIR/train-labels-idx1-ubyte.gz (the Fashion-MNIST IDX files; "
          "`apt-get install dataset-fashion-mnist` puts them in /usr/share/datasets/fashion-mnist)")


def _open(path: Path) -> bytes:
    for cand in (path, path.with_suffix("")):  # with and without .gz
        if cand.is_file():
            try:
                return gzip.decompress(cand.read_bytes()) if cand.suffix == ".gz" else cand.read_bytes()
            except (OSError, EOFError) as exc:
                raise UserError(f"{cand}: damaged gzip file ({exc}); re-download it") from None
    raise UserError(f"{path}: missing; expected {LAYOUT}")


def read_idx(path: Path, *, magic: int, dims: int) -> np.ndarray:
    """An IDX array (uint8 data): big-endian magic, ``dims`` sizes, then the bytes."""
    data = _open(path)
    header = 4 + 4 * dims
    if len(data) < header:
        raise UserError(f"{path}: too short for an IDX header; expected {LAYOUT}")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise UserError(f"{path}: IDX magic number {found}, expected {magic}; expected {LAYOUT}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    size = int(np.prod(shape))
    if len(data) != header + size:
        raise UserError(f"{path}: header says {shape} ({size} bytes) but the file holds {len(data) - header}; "
                        f"the file is truncated or damaged")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(data_dir: str | None, *, split: str = "train") -> ArraySource:
    """Fashion-MNIST ``split`` ('train' or 't10k') as uint8 (N, 1, 28, 28) with labels 0..9."""
    root = Path(data_dir).expanduser() if data_dir else DEBIAN_DIR
    if not root.is_dir():
        hint = "" if data_dir else " (no --data-dir given and Debian's dataset-fashion-mnist is not installed)"
        raise UserError(f"--data-dir {root}: no such folder{hint}; expected {LAYOUT}")
    images = read_idx(root / f"{split}-images-idx3-ubyte.gz", magic=2051, dims=3)
    labels = read_idx(root / f"{split}-labels-idx1-ubyte.gz", magic=2049, dims=1)
    if images.shape[0] != labels.shape[0]:
        raise UserError(f"{root}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.max(initial=0) > 9:
        raise UserError(f"{root}: labels must be 0..9, found {labels.max()}")
    return ArraySource("fashion-mnist", images[:, None], labels, 10, pad_to=32)
