"""CIFAR-10: the official python version (pickled batches) and the Hugging Face ``cifar10`` dataset.

The python version (``cifar-10-python.tar.gz`` unpacked) is a folder ``cifar-10-batches-py`` with
``data_batch_1`` ... ``data_batch_5`` (50,000 training images) and ``test_batch``; each is a
pickled dict with ``data`` (uint8, (10000, 3072), rows in CHW order) and ``labels`` (10,000 ints).
A pickle can run any code when loaded and allocate whatever it declares, so it is read by
:mod:`image.data.safe_pickle` (an allow-list of globals, sizes checked before allocation); every
way a batch can be wrong is one UserError naming the file.

The Hugging Face dataset is used only when it is on this machine: a folder written by
``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` given as --data-dir, or the datasets cache,
read with the library forced offline (never downloads).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

from image.data.decode import decode_image, read_image_file, to_square
from image.data.safe_pickle import Refused, load_restricted
from image.data.source import ArraySource, ImageSource
from seqgan_gp.errors import UserError

TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
LAYOUT = ("DIR/cifar-10-batches-py/data_batch_1 ... data_batch_5 (the python version of CIFAR-10, "
          "cifar-10-python.tar.gz from the CIFAR-10 page, unpacked into DIR), or a Hugging Face cifar10 "
          "dataset written with save_to_disk")


REDOWNLOAD = "the file is not an official CIFAR-10 python batch: re-download cifar-10-python.tar.gz and unpack it"


def _labels(labels, n: int, path: Path) -> np.ndarray:
    """``labels`` (a list of ints, or an integer array) checked before any conversion: one class
    0..9 per image (a string, a bool, or 2**70 would otherwise surface as a numpy traceback)."""
    need = f"{path}: 'labels' must hold one class 0..9 per image"
    if isinstance(labels, np.ndarray):
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise UserError(f"{need}; found a {labels.dtype} array of shape {labels.shape}; {REDOWNLOAD}")
    elif isinstance(labels, (list, tuple)):
        bad = [v for v in labels if isinstance(v, bool) or not isinstance(v, (int, np.integer))]
        if bad:
            raise UserError(f"{need}; found {type(bad[0]).__name__} {bad[0]!r:.40}; {REDOWNLOAD}")
    else:
        found = "none" if labels is None else f"a {type(labels).__name__}"
        raise UserError(f"{need}; found {found}; {REDOWNLOAD}")
    if len(labels) != n:
        raise UserError(f"{need}; found {len(labels)} labels for {n} images; {REDOWNLOAD}")
    lo, hi = min(labels), max(labels)  # Python ints or the array's own dtype: no overflow
    if lo < 0 or hi > 9:
        raise UserError(f"{need}; found {lo if lo < 0 else hi}; {REDOWNLOAD}")
    return np.asarray(labels, dtype=np.int64)


def load_pickle_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) of one CIFAR-10 python batch, unpickled with
    :func:`~image.data.safe_pickle.load_restricted` (an allow-list, sizes bounded before allocation)."""
    path = Path(path)
    try:
        doc = load_restricted(path)
    except Refused as exc:
        raise UserError(f"{path}: {exc}; {REDOWNLOAD}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc}); check that the file is readable") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: a CIFAR-10 batch is a pickled dict, found {type(doc).__name__}; {REDOWNLOAD}")
    data = doc.get("data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        found = (f"a {data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                 else "no 'data' entry" if data is None else f"a {type(data).__name__}")
        raise UserError(f"{path}: 'data' must be a uint8 array of shape (N, 3072) (32x32 RGB in CHW order); "
                        f"found {found}; {REDOWNLOAD}")
    if data.shape[0] == 0:
        raise UserError(f"{path}: the batch holds no images; {REDOWNLOAD}")
    return data.reshape(-1, 3, 32, 32), _labels(doc.get("labels"), data.shape[0], path)


def find_batches_dir(data_dir: Path) -> Path | None:
    for cand in (data_dir / "cifar-10-batches-py", data_dir):
        if (cand / "data_batch_1").is_file():
            return cand
    return None


def load_cifar10(data_dir: str | None) -> ImageSource:
    """The CIFAR-10 training set (50,000 images, 10 classes) from ``data_dir`` or the local HF cache."""
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise UserError(f"--data-dir {root}: no such folder; expected {LAYOUT}")
        batches = find_batches_dir(root)
        if batches is not None:
            missing = [b for b in TRAIN_BATCHES if not (batches / b).is_file()]
            if missing:
                raise UserError(f"{batches}: missing {', '.join(missing)}; expected {LAYOUT}")
            parts = [load_pickle_batch(batches / b) for b in TRAIN_BATCHES]
            images = np.concatenate([p[0] for p in parts])
            labels = np.concatenate([p[1] for p in parts])
            return ArraySource("cifar10", images, labels, 10)
        if (root / "dataset_dict.json").is_file() or (root / "state.json").is_file():
            return HFImageSource("cifar10", _load_from_disk(root), n_classes=10)
        raise UserError(f"--data-dir {root}: no CIFAR-10 there; expected {LAYOUT}")
    ds = _load_hf_cache()
    if ds is None:
        raise UserError(f"--dataset cifar10 needs --data-dir DIR with {LAYOUT}; the Hugging Face cifar10 "
                        f"dataset is not in the local cache either (nothing is downloaded)")
    return HFImageSource("cifar10", ds, n_classes=10)


def _load_from_disk(root: Path):
    import datasets

    try:
        ds = datasets.load_from_disk(str(root))
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise UserError(f"--data-dir {root}: not a readable Hugging Face dataset ({exc})") from None
    if isinstance(ds, datasets.DatasetDict):
        if "train" not in ds:
            raise UserError(f"--data-dir {root}: the dataset has no 'train' split (found {list(ds)})")
        ds = ds["train"]
    return ds


@contextlib.contextmanager
def _offline():
    """Force the datasets library offline for the duration (it must never download here)."""
    import datasets

    saved_env = {k: os.environ.get(k) for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")}
    saved_cfg = (datasets.config.HF_DATASETS_OFFLINE, datasets.config.HF_HUB_OFFLINE)
    os.environ["HF_DATASETS_OFFLINE"] = os.environ["HF_HUB_OFFLINE"] = "1"
    datasets.config.HF_DATASETS_OFFLINE = datasets.config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_DATASETS_OFFLINE, datasets.config.HF_HUB_OFFLINE = saved_cfg
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _load_hf_cache():
    import datasets

    with _offline():
        for name in ("cifar10", "uoft-cs/cifar10"):
            try:
                return datasets.load_dataset(name, split="train")
            except Exception:  # noqa: BLE001  not cached: datasets raises ConnectionError/FileNotFoundError/...
                continue
    return None


class HFImageSource(ImageSource):
    """A Hugging Face dataset with an image column (``img`` or ``image``) and a ``label`` column;
    images are read as their encoded bytes and decoded by :func:`~image.data.decode.decode_image`
    on demand (in the loader's threads)."""

    decodes = True

    def __init__(self, name: str, ds, *, n_classes: int, channels: int = 3):
        import datasets

        cols = ds.column_names
        self.image_col = next((c for c in ("img", "image") if c in cols), None)
        if self.image_col is None:
            raise UserError(f"{name}: the Hugging Face dataset has no 'img' or 'image' column (columns: {cols})")
        if isinstance(ds.features.get(self.image_col), datasets.Image):
            ds = ds.cast_column(self.image_col, datasets.Image(decode=False))  # bytes: decoded with our limits
        self.label_col = next((c for c in ("label", "labels", "fine_label") if c in cols), None)
        self.name, self.ds, self.channels = name, ds, channels
        self.n = len(ds)
        self.labels = self._labels(n_classes) if self.label_col else None
        self.n_classes = n_classes if self.labels is not None else 0

    def _labels(self, n_classes: int) -> np.ndarray:
        try:
            labels = np.asarray(self.ds[self.label_col], dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            labels = None
        if labels is None or labels.ndim != 1 or (len(labels) and (labels.min() < 0 or labels.max() >= n_classes)):
            raise UserError(f"{self.name}: the Hugging Face dataset's '{self.label_col}' column must hold one class "
                            f"0..{n_classes - 1} per image")
        return labels

    def read(self, idx: np.ndarray, resolution: int) -> np.ndarray:
        rows = self.ds[[int(i) for i in idx]][self.image_col]
        out = []
        for i, img in zip(idx, rows):
            where = f"{self.name} (Hugging Face dataset) row {int(i)}"
            if isinstance(img, dict) and img.get("bytes") is None and img.get("path"):
                out.append(decode_image(read_image_file(Path(img["path"])), resolution, self.channels, img["path"]))
            elif isinstance(img, dict):
                out.append(decode_image(img.get("bytes"), resolution, self.channels, where))
            elif isinstance(img, Image.Image):
                out.append(to_square(img, resolution, self.channels))
            else:
                raise UserError(f"{where}: the '{self.image_col}' column holds {type(img).__name__}, not an image")
        return np.stack(out)
