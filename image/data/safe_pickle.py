"""Unpickling a file we did not write: an allow-list of globals and sizes bounded before allocation.

A pickle can run any code when loaded and can make the loader allocate whatever it declares, so a
file is admitted in three checks, each refusing with :class:`Refused` before anything is built:

1. Its size: at most :data:`MAX_PICKLE_BYTES` are read (the whole file; a CIFAR-10 batch is 30 MB).
2. A scan of its opcodes (``pickletools.genops``, which reads only what is there): every declared
   string or bytes length must fit in the file, every memo index must be one that a pickler could
   have written (CPython's C unpickler grows its memo table to twice a declared index and zeroes
   it: one 5-byte opcode could make it touch 64 GB), every frame must fit.
3. Unpickling with an allow-list: dicts, lists, strings, numbers, and numpy arrays, dtypes and
   scalars, which are rebuilt by the functions below from validated parts instead of numpy's own
   ``_reconstruct`` / ``dtype.__setstate__`` (those would allocate whatever shape or item size the
   file declares). An array's bytes must be exactly shape x item size and are read from the file
   itself, so no array can be larger than the file. Only plain bool, int, uint and float dtypes
   are admitted (no object arrays, no structured or sub-array dtypes). Any other global
   (``os.system``, ``builtins.eval``, ...) is refused before it can be called.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from pathlib import Path

import numpy as np

MAX_PICKLE_BYTES = 512 << 20
_MEMO_OPS = ("PUT", "BINPUT", "LONG_BINPUT")
_DTYPE_KINDS = "biuf"


class Refused(Exception):
    """The file is not a pickle we load; the message says why (the caller adds the file name)."""


def _check_opcodes(data: bytes) -> None:
    """Step 2 of the module docstring: declared lengths, memo indices and frames against the file."""
    try:
        for count, (op, arg, pos) in enumerate(pickletools.genops(io.BytesIO(data))):
            if op.name in _MEMO_OPS and arg > count:
                raise Refused(f"memo index {arg} at byte {pos} is larger than any pickler writes "
                              f"(the file would make the unpickler allocate a table of that size)")
            if op.name == "FRAME" and arg > len(data) - pos:
                raise Refused(f"a frame at byte {pos} declares {arg:,} bytes but the file ends before")
    except Refused:
        raise
    except Exception as exc:  # noqa: BLE001  genops raises ValueError for unknown opcodes and short strings
        raise Refused(f"not a complete pickle ({exc})") from None


# -- numpy rebuilt from validated parts ------------------------------------------------------------

class _DtypeStub:
    """What ``numpy.dtype(name, align, copy)`` yields here; ``__setstate__`` (the BUILD opcode) may
    only set the byte order."""

    def __init__(self, name=None, align=False, copy=False):
        if not isinstance(name, str):
            raise Refused(f"a numpy dtype named {type(name).__name__} {name!r:.40}; only plain numeric dtypes load")
        try:
            dtype = np.dtype(name)
        except Exception:  # noqa: BLE001  TypeError, ValueError (sizes), ... for names numpy does not know
            raise Refused(f"unknown numpy dtype {name!r:.40}") from None
        if dtype.kind not in _DTYPE_KINDS or dtype.itemsize > 16 or dtype.shape or dtype.names:
            raise Refused(f"numpy dtype {name!r:.40}: only plain bool, integer and float arrays load")
        self.dtype = dtype

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 8 or state[0] not in (3, 4):
            raise Refused("a numpy dtype with an unknown state; only plain numeric dtypes load")
        endian, subarray, names, fields = state[1:5]
        if subarray is not None or names is not None or fields is not None:
            raise Refused("a structured or sub-array numpy dtype; only plain numeric dtypes load")
        if endian not in ("<", ">", "|", "="):
            raise Refused(f"numpy byte order {endian!r:.10}")
        if endian in "<>":
            self.dtype = self.dtype.newbyteorder(endian)


def _dtype(value) -> np.dtype:
    if isinstance(value, _DtypeStub):
        return value.dtype
    raise Refused(f"an array whose dtype is a {type(value).__name__}")


def _shape(value) -> tuple[int, ...]:
    if (not isinstance(value, tuple) or len(value) > 8
            or not all(type(d) is int and d >= 0 for d in value)):
        raise Refused(f"an array shape {value!r:.60}; expected a tuple of at most 8 sizes")
    return value


def _from_bytes(raw, dtype: np.dtype, shape: tuple[int, ...], fortran: bool = False) -> np.ndarray:
    if isinstance(raw, str):  # Python 2 pickles carry the bytes as a latin-1 str
        raw = raw.encode("latin1")
    if not isinstance(raw, (bytes, bytearray)):
        raise Refused(f"array data of type {type(raw).__name__}; expected bytes")
    need = math.prod(shape) * dtype.itemsize
    if need != len(raw):
        raise Refused(f"an array declares shape {shape} of {dtype} ({need:,} bytes) but holds {len(raw):,} bytes")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")


class _ArrayStub:
    """What ``_reconstruct(ndarray, ...)`` yields here; the BUILD opcode's state fills in the array
    (numpy's own would first allocate the declared shape)."""

    def __init__(self, subtype=None, shape=None, dtype=None):
        if subtype is not np.ndarray:
            raise Refused(f"a numpy array subclass {subtype!r:.60}")
        self.array = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise Refused("a numpy array with an unknown state")
        shape, dtype, fortran, raw = state[-4:]
        self.array = _from_bytes(raw, _dtype(dtype), _shape(shape), bool(fortran))


def _scalar(dtype, raw=None):
    return _from_bytes(raw, _dtype(dtype), ())[()]


def _frombuffer(buf, dtype, shape, order):  # protocol 5 arrays
    if isinstance(buf, pickle.PickleBuffer):
        buf = bytes(buf)
    return _from_bytes(buf, _dtype(dtype), _shape(shape), order == "F")


def _encode(text, encoding="latin1"):  # how Python 3 writes bytes in protocol 2
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise Refused(f"_codecs.encode with {encoding!r:.20}")
    return text.encode("latin1")


def _empty_bytes(*args):  # how protocol 2 writes b"" (``bytes(n)`` would allocate n bytes)
    if args:
        raise Refused("bytes() called with arguments")
    return b""


def _allowed() -> dict[tuple[str, str], object]:
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): _DtypeStub, ("_codecs", "encode"): _encode,
               ("__builtin__", "bytes"): _empty_bytes, ("builtins", "bytes"): _empty_bytes}
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = _ArrayStub
        allowed[(f"{core}.multiarray", "scalar")] = _scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = _frombuffer
    return allowed


class _Unpickler(pickle.Unpickler):
    allowed = _allowed()

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise Refused(f"refusing to unpickle {module}.{name}: this global would run code") from None

    def persistent_load(self, pid):
        raise Refused("refusing a persistent reference in the pickle")


def _resolve(value):
    if isinstance(value, _ArrayStub):
        if value.array is None:
            raise Refused("a numpy array without its data")
        return value.array
    if isinstance(value, _DtypeStub):
        return value.dtype
    return value


def load_restricted(path: Path) -> object:
    """The object pickled in ``path``, top-level dict values with numpy arrays rebuilt; raises
    :class:`Refused` (or OSError for an unreadable file) for anything else."""
    size = path.stat().st_size
    if size > MAX_PICKLE_BYTES:
        raise Refused(f"{size / 2**20:,.0f} MiB, more than the {MAX_PICKLE_BYTES >> 20} MiB a pickle may have here")
    data = path.read_bytes()
    _check_opcodes(data)
    try:
        doc = _Unpickler(io.BytesIO(data), encoding="latin1").load()
    except Refused:
        raise
    except Exception as exc:  # noqa: BLE001  a malformed pickle raises any of a dozen types
        raise Refused(f"not a readable pickle ({type(exc).__name__}: {exc})") from None
    if isinstance(doc, dict):
        return {(k.decode("latin1") if isinstance(k, bytes) else k): _resolve(v) for k, v in doc.items()}
    return _resolve(doc)
