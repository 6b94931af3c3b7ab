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
import math
import zlib
from pathlib import Path

import numpy as np

from image.data.source import ArraySource
from seqgan_gp.errors import UserError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
LAYOUT = ("DIR/train-images-idx3-ubyte.gz and DIR/train-labels-idx1-ubyte.gz (the Fashion-MNIST IDX files; "
          "`apt-get install dataset-fashion-mnist` puts them in /usr/share/datasets/fashion-mnist)")
MAX_ITEMS = 1_000_000  # 784 MB of 28x28 images; Fashion-MNIST has 60,000


def _find(path: Path) -> Path:
    for cand in (path, path.with_suffix("")):  # with and without .gz
        if cand.is_file():
            return cand
    raise UserError(f"{path}: missing; expected {LAYOUT}")


def _read_exactly(f, n: int) -> bytes:
    """Up to ``n`` bytes in 1 MiB steps, so memory follows what the file holds, not what it declares."""
    chunks, left = [], n
    while left > 0:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_idx(path: Path, *, magic: int, dims: int) -> np.ndarray:
    """An IDX array (uint8 data): big-endian magic, ``dims`` sizes, then the bytes. The header is
    checked (magic, 28 x 28 images, at most :data:`MAX_ITEMS` items) before the data is read, and
    the data must be exactly as long as the header says."""
    path = _find(path)
    header_len = 4 + 4 * dims
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
            header = _read_exactly(f, header_len)
            if len(header) < header_len:
                raise UserError(f"{path}: {len(header)} bytes, too short for an IDX header; expected {LAYOUT}")
            found = int.from_bytes(header[:4], "big")
            if found != magic:
                raise UserError(f"{path}: IDX magic number {found}, expected {magic}; expected {LAYOUT}")
            shape = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
            if dims == 3 and shape[1:] != (28, 28):
                raise UserError(f"{path}: the header says {shape[1]}x{shape[2]} images; Fashion-MNIST's are 28x28 "
                                f"(the file is damaged or not Fashion-MNIST)")
            if not 0 < shape[0] <= MAX_ITEMS:
                raise UserError(f"{path}: the header declares {shape[0]:,} items; expected 1 to {MAX_ITEMS:,} "
                                f"(Fashion-MNIST has 60,000); the file is damaged")
            size = math.prod(shape)
            data = _read_exactly(f, size + 1)  # one byte more: a longer file is damaged too
    except (OSError, EOFError, zlib.error) as exc:  # gzip: BadGzipFile, a stream cut short, corrupt data
        raise UserError(f"{path}: damaged or unreadable ({type(exc).__name__}: {exc}); re-download it") from None
    if len(data) < size:
        raise UserError(f"{path}: the header declares {shape} ({size:,} bytes of data) but the file holds only "
                        f"{len(data):,}; the file is truncated or damaged: re-download it")
    if len(data) > size:
        raise UserError(f"{path}: the file holds more data than its header declares {shape}; the file is "
                        f"damaged: re-download it")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def load_fashion_mnist(data_dir: str | None, *, split: str = "train") -> ArraySource:
    """Fashion-MNIST ``split`` ('train' or 't10k') as uint8 (N, 1, 28, 28) with labels 0..9."""
    root = Path(data_dir).expanduser() if data_dir else DEBIAN_DIR
    if not root.is_dir():
        hint = "" if data_dir else " (no --data-dir given and Debian's dataset-fashion-mnist is not installed)"
        raise UserError(f"--data-dir {root}: no such folder{hint}; expected {LAYOUT}")
    image_file, label_file = _find(root / f"{split}-images-idx3-ubyte.gz"), _find(root / f"{split}-labels-idx1-ubyte.gz")
    images = read_idx(image_file, magic=2051, dims=3)
    labels = read_idx(label_file, magic=2049, dims=1)
    if images.shape[0] != labels.shape[0]:
        raise UserError(f"{image_file}: {images.shape[0]:,} images but {label_file.name} holds {labels.shape[0]:,} "
                        f"labels; the two files are from different sets or damaged: re-download both")
    if labels.max(initial=0) > 9:
        raise UserError(f"{root}: labels must be 0..9, found {labels.max()}; the labels file is damaged or not "
                        f"Fashion-MNIST's")
    return ArraySource("fashion-mnist", images[:, None], labels, 10, pad_to=32)
