"""CIFAR-10: the official python version (pickled batches) and the Hugging Face ``cifar10`` dataset.

The python version (``cifar-10-python.tar.gz`` unpacked) is a folder ``cifar-10-batches-py`` with
``data_batch_1`` ... ``data_batch_5`` (50,000 training images) and ``test_batch``; each is a
pickled dict with ``data`` (uint8, (10000, 3072), rows in CHW order) and ``labels`` (10,000 ints).
A pickle can run any code when loaded, so we unpickle with an allow-list: dicts, lists, strings,
numbers and numpy array reconstruction are admitted; any other global (``os.system``,
``builtins.eval``, ...) is refused with a UserError before it can be called.

The Hugging Face dataset is used only when it is on this machine: a folder written by
``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` given as --data-dir, or the datasets cache,
read with the library forced offline (never downloads).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from image.data.source import ArraySource, ImageSource, to_square
from seqgan_gp.errors import UserError

TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
LAYOUT = ("DIR/cifar-10-batches-py/data_batch_1 ... data_batch_5 (the python version of CIFAR-10, "
          "cifar-10-python.tar.gz from the CIFAR-10 page, unpacked into DIR), or a Hugging Face cifar10 "
          "dataset written with save_to_disk")


def _allowed_globals() -> dict[tuple[str, str], object]:
    try:
        from numpy._core import multiarray as ma, numeric as nu
    except ImportError:  # numpy < 2
        from numpy.core import multiarray as ma, numeric as nu
    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes in protocol 2
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = ma._reconstruct
        allowed[(mod, "scalar")] = ma.scalar
    for mod in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(mod, "_frombuffer")] = nu._frombuffer  # protocol 5 arrays
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles containers, scalars and numpy arrays only; every other global is refused."""

    def __init__(self, file, *, source: Path, **kwargs):
        super().__init__(file, **kwargs)
        self.source = source
        self.allowed = _allowed_globals()

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UserError(f"{self.source}: refusing to unpickle {module}.{name}: a CIFAR-10 batch holds only "
                            f"arrays and lists, and this global would run code; the file is not the official "
                            f"CIFAR-10 python batch (re-download it)") from None

    def persistent_load(self, pid):
        raise UserError(f"{self.source}: refusing a persistent reference in the pickle; not a CIFAR-10 batch")


def load_pickle_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) of one CIFAR-10 python batch, safely."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            doc = RestrictedUnpickler(f, source=path, encoding="latin1").load()
    except UserError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise UserError(f"{path}: not a readable CIFAR-10 python batch ({exc}); expected {LAYOUT}") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: a CIFAR-10 batch is a pickled dict, found {type(doc).__name__}")
    doc = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in doc.items()}
    data, labels = doc.get("data"), doc.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise UserError(f"{path}: 'data' must be a uint8 array of shape (N, 3072) (32x32 RGB in CHW order); "
                        f"found {getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}")
    labels = np.asarray(labels, dtype=np.int64) if labels is not None else None
    if labels is None or labels.shape != (data.shape[0],) or labels.min() < 0 or labels.max() > 9:
        raise UserError(f"{path}: 'labels' must hold one class 0..9 per image")
    return data.reshape(-1, 3, 32, 32), labels


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
    images are decoded on demand (in the loader's thread)."""

    def __init__(self, name: str, ds, *, n_classes: int, channels: int = 3):
        cols = ds.column_names
        self.image_col = next((c for c in ("img", "image") if c in cols), None)
        if self.image_col is None:
            raise UserError(f"{name}: the Hugging Face dataset has no 'img' or 'image' column (columns: {cols})")
        self.label_col = next((c for c in ("label", "labels", "fine_label") if c in cols), None)
        self.name, self.ds, self.channels = name, ds, channels
        self.n = len(ds)
        self.labels = np.asarray(ds[self.label_col], dtype=np.int64) if self.label_col else None
        self.n_classes = n_classes if self.labels is not None else 0

    def read(self, idx: np.ndarray, resolution: int) -> np.ndarray:
        rows = self.ds[[int(i) for i in idx]][self.image_col]
        out = []
        for img in rows:
            if isinstance(img, dict):  # undecoded {"bytes": ..., "path": ...}
                img = Image.open(io.BytesIO(img["bytes"]))
            out.append(to_square(img, resolution, self.channels))
        return np.stack(out)
