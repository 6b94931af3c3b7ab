"""LSUN (the paper's 128x128 bedrooms) and any folder of images.

LSUN is distributed as an lmdb database per category and split (``bedroom_train_lmdb/`` holding
``data.mdb`` and ``lock.mdb``): keys are image ids, values the encoded image bytes (WebP/JPEG).
We read it with the ``lmdb`` package, read-only and lock-free, decode each image with Pillow,
crop the central square and resize it to the model's resolution (antialiased Lanczos), as the
progressive-GAN and mmgeneration LSUN pipelines do. Decoding (:mod:`image.data.decode`: bounded,
every failure one error naming the file or key) happens in the batch loader's worker threads.

A folder of images (``--dataset folder``, or ``--dataset lsun`` pointed at LSUN exported as image
files) is every .jpg/.jpeg/.png/.webp/.bmp file below it, in sorted path order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from image.data.decode import decode_image, read_image_file
from image.data.source import ImageSource
from seqgan_gp.errors import UserError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
LSUN_LAYOUT = ("an LSUN lmdb folder (e.g. DIR = bedroom_train_lmdb/ holding data.mdb and lock.mdb, as LSUN's "
               "download script unpacks it) or a folder of image files")


def find_lmdb(root: Path) -> Path | None:
    """``root`` if it holds data.mdb, else its single ``*_lmdb`` child holding one (e.g. bedroom_train_lmdb)."""
    if (root / "data.mdb").is_file():
        return root
    found = sorted(p for p in root.glob("*_lmdb") if (p / "data.mdb").is_file())
    train = [p for p in found if "_train_" in p.name]
    return (train or found or [None])[0]


_ENVS: dict = {}  # lmdb allows one open environment per database and process: share it
INSTALL_LMDB = 'pip install -e ".[lsun]" in the seqgan_gp checkout (or pip install lmdb)'


def _lmdb():
    """The ``lmdb`` package, an optional dependency (the extra ``lsun``), or a UserError saying how to get it."""
    try:
        import lmdb
    except ImportError:
        raise UserError(f"--dataset lsun: reading an lmdb export needs the lmdb package, which is not installed; "
                        f"{INSTALL_LMDB}, or pass a folder of images as --data-dir") from None
    return lmdb


def _open_env(path: Path):
    lmdb = _lmdb()

    key = str(Path(path).resolve())
    if key not in _ENVS:
        try:
            _ENVS[key] = lmdb.open(key, readonly=True, lock=False, readahead=False, meminit=False,
                                   max_readers=8, subdir=True)
        except lmdb.Error as exc:
            raise UserError(f"{path}: not a readable lmdb database ({exc}); expected {LSUN_LAYOUT}") from None
    return _ENVS[key]


class LmdbSource(ImageSource):
    """Images stored as encoded bytes under the keys of an lmdb database."""

    decodes = True

    def __init__(self, path: Path, *, channels: int = 3, max_examples: int = 0, name: str = "lsun"):
        self.path, self.name, self.channels = Path(path), name, channels
        self.env = _open_env(self.path)
        lmdb = _lmdb()

        keys = []
        try:
            with self.env.begin(write=False) as txn:
                for key in txn.cursor().iternext(keys=True, values=False):
                    keys.append(bytes(key))
                    if max_examples and len(keys) >= max_examples:
                        break
        except lmdb.Error as exc:
            raise UserError(f"{path}: the lmdb database is damaged ({exc}); re-download it") from None
        if not keys:
            raise UserError(f"{path}: the lmdb database is empty; expected {LSUN_LAYOUT}")
        self.keys = keys
        self.n = len(keys)

    def read(self, idx: np.ndarray, resolution: int) -> np.ndarray:
        lmdb = _lmdb()

        out = []
        with self.env.begin(write=False) as txn:  # one read transaction per batch and thread
            for i in idx:
                key = self.keys[int(i)]
                where = f"{self.path} key {key.decode(errors='replace')}"
                try:
                    value = txn.get(key)
                except lmdb.Error as exc:
                    raise UserError(f"{where}: the lmdb database is damaged ({exc}); re-download it") from None
                out.append(decode_image(value, resolution, self.channels, where))
        return np.stack(out)


class FolderSource(ImageSource):
    """Every image file below a folder (sorted), centre-cropped and resized."""

    decodes = True

    def __init__(self, root: Path, *, channels: int = 3, max_examples: int = 0, name: str = "folder"):
        self.root, self.name, self.channels = Path(root), name, channels
        files = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if max_examples:
            files = files[:max_examples]
        if not files:
            raise UserError(f"--data-dir {root}: no image files (.jpg, .jpeg, .png, .webp, .bmp) found below it; "
                            f"expected {LSUN_LAYOUT}")
        self.files = files
        self.n = len(files)

    def read(self, idx: np.ndarray, resolution: int) -> np.ndarray:
        paths = [self.files[int(i)] for i in idx]
        return np.stack([decode_image(read_image_file(p), resolution, self.channels, str(p)) for p in paths])


def open_lsun(data_dir: str | None, *, max_examples: int = 0) -> ImageSource:
    if data_dir is None:
        raise UserError(f"--dataset lsun needs --data-dir DIR: {LSUN_LAYOUT}")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise UserError(f"--data-dir {root}: no such folder; expected {LSUN_LAYOUT}")
    db = find_lmdb(root)
    if db is not None:
        return LmdbSource(db, max_examples=max_examples)
    return FolderSource(root, max_examples=max_examples, name="lsun")


def open_folder(data_dir: str | None, *, max_examples: int = 0) -> ImageSource:
    if data_dir is None:
        raise UserError("--dataset folder needs --data-dir DIR, a folder holding image files (searched recursively)")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise UserError(f"--data-dir {root}: no such folder of images")
    return FolderSource(root, max_examples=max_examples)
