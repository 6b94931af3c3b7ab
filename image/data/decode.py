"""Decoding image files we did not write: LSUN lmdb values, image folders, Hugging Face image columns.

Every file is untrusted input, so decoding is bounded and every failure is one
:class:`~seqgan_gp.errors.UserError` naming the file:

* Only PNG, JPEG, WebP and BMP are opened (Pillow would otherwise also try EPS, which runs
  Ghostscript, and dozens of rarer formats), whatever the file's extension says.
* Size is checked from the header, before any pixel is decoded: an image of more than
  :data:`MAX_IMAGE_PIXELS` pixels is refused (a PNG of a few kilobytes can declare 400 million
  pixels: a decompression bomb). Pillow's own check warns above its limit and raises above twice
  that; both become the same UserError (its warning is turned into an error for this process).
* Truncated or corrupt data, a text file named ``.png``: Pillow raises one of a dozen exception
  types depending on the format and where the data ends; all become "not a decodable image".

Modes are converted so that every picture means what it shows: 16-bit gray keeps its top 8 bits
(Pillow's own conversion clips it to white), transparency is composited over white (what an image
viewer shows; dropping alpha would expose whatever colour the transparent pixels happen to hold),
palettes, CMYK and 1-bit images are expanded.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from seqgan_gp.errors import UserError

FORMATS = ("PNG", "JPEG", "WEBP", "BMP")
# 8192 x 8192: far above any training resolution (and LSUN's ~256 px short side), below Pillow's 89 M.
MAX_IMAGE_PIXELS = 8192 * 8192
MAX_FILE_BYTES = 256 << 20  # an encoded image larger than this is not a training picture
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


def _bomb_warning_is_an_error() -> None:
    """Make Pillow's DecompressionBombWarning raise (idempotent; pytest and ``catch_warnings`` may
    reset the filters, so it is checked at each decode: a scan of a short list)."""
    category = Image.DecompressionBombWarning
    if not any(f[0] == "error" and f[2] is category for f in warnings.filters[:1]):
        warnings.filterwarnings("error", category=category)


def convert_mode(img: Image.Image, channels: int) -> Image.Image:
    """``img`` as 8-bit RGB (``channels`` 3) or L (``channels`` 1); see the module docstring."""
    if img.mode in _SIXTEEN_BIT:
        values = np.asarray(img, dtype=np.int64)  # (H, W); mode I holds 16-bit PNG values too
        img = Image.fromarray((np.clip(values, 0, 65535) >> 8).astype(np.uint8), mode="L")
    elif img.mode == "F":
        img = Image.fromarray(np.clip(np.asarray(img), 0, 255).astype(np.uint8), mode="L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in _ALPHA:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("L" if channels == 1 else "RGB")


def to_square(img: Image.Image, resolution: int, channels: int) -> np.ndarray:
    """Centre-crop to a square, resize to ``resolution`` (Lanczos, antialiased), as (C, R, R) uint8."""
    img = convert_mode(img, channels)
    w, h = img.size
    s = min(w, h)
    if w != h:
        left, top = (w - s) // 2, (h - s) // 2
        img = img.crop((left, top, left + s, top + s))
    if s != resolution:
        img = img.resize((resolution, resolution), Image.LANCZOS)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _too_large(where: str, pixels: int | str) -> UserError:
    return UserError(f"{where}: the image declares {pixels} pixels, more than the {MAX_IMAGE_PIXELS:,} "
                     f"(8192 x 8192) we decode (a decompression bomb, or a picture far larger than training "
                     f"needs); downscale it or remove it from the dataset")


def read_image_file(path: Path) -> bytes:
    """The bytes of one image file, refusing a file too large to be an image before reading it."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError(f"{path}: {size / 2**20:,.0f} MiB, too large for an image file (limit "
                            f"{MAX_FILE_BYTES >> 20} MiB); remove it from the dataset folder")
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc}); check that the file is readable") from None


def decode_image(data: bytes | None, resolution: int, channels: int, where: str) -> np.ndarray:
    """uint8 (C, R, R) pixels of one encoded image; any failure is a UserError naming ``where``."""
    if data is None:
        raise UserError(f"{where}: missing value; the dataset is damaged (re-export it)")
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"{where}: {len(data) / 2**20:,.0f} MiB, too large for an encoded image (limit "
                        f"{MAX_FILE_BYTES >> 20} MiB); the dataset is damaged")
    _bomb_warning_is_an_error()
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            w, h = img.size
            if w < 1 or h < 1:
                raise UserError(f"{where}: the image is {w} x {h} pixels; the dataset is damaged")
            if w * h > MAX_IMAGE_PIXELS:
                raise _too_large(where, f"{w} x {h} = {w * h:,}")
            return to_square(img, resolution, channels)
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        declared = re.search(r"\((\d+) pixels\)", str(exc))  # Pillow: "Image size (N pixels) exceeds ..."
        raise _too_large(where, f"{int(declared.group(1)):,}" if declared else "too many") from None
    except Image.UnidentifiedImageError:
        raise UserError(f"{where}: not a PNG, JPEG, WebP or BMP image (whatever its name says); remove it "
                        f"or convert it") from None
    except Exception as exc:  # noqa: BLE001  Pillow raises OSError, SyntaxError, ValueError, struct.error, ...
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        raise UserError(f"{where}: not a decodable image ({detail}); the file is truncated or damaged: "
                        f"re-download it or remove it from the dataset") from None
