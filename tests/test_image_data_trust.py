"""Image data as hostile input: every defect of a CIFAR-10 pickle, an IDX file or an image file is
one UserError naming the file and the fix, in the loop's thread, with bounded memory; property
tests mutate CIFAR batch dicts, pickle bytes and IDX headers."""

import gzip
import io
import pickle
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from cli import cli
from image.data import ImageBatches, open_source
from image.data import safe_pickle
from image.data.cifar import load_pickle_batch
from image.data.decode import MAX_IMAGE_PIXELS, convert_mode, decode_image
from image.data.fashion_mnist import load_fashion_mnist
from image.data.lsun import LmdbSource, open_folder
from seqgan_gp.errors import UserError
from tests.test_image_data import write_idx

REDOWNLOAD = "re-download cifar-10-python.tar.gz"
MEMORY_BOUND = 64 << 20  # bytes any one bad file may make the loaders allocate (Python and numpy)


@pytest.fixture(scope="module", autouse=True)
def traced_memory():
    tracemalloc.start()
    yield
    tracemalloc.stop()


def peak_of(fn):
    """(fn's result or its UserError, the peak traced allocation while it ran)."""
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        out = fn()
    except UserError as exc:
        out = exc
    return out, tracemalloc.get_traced_memory()[1] - base


# -- CIFAR-10 python batches -------------------------------------------------------------------------

def batch(n=2, **override):
    doc = {b"batch_label": b"training batch 1 of 5", b"data": np.full((n, 3072), 7, np.uint8),
           b"labels": [i % 10 for i in range(n)]}
    doc.update({k.encode(): v for k, v in override.items()})
    return doc


class _Raw:
    """Pickles as exactly the given global call and BUILD state (what a hostile file can hold)."""

    def __init__(self, fn, args, state):
        self.reduced = (fn, args, state)

    def __reduce__(self):
        return self.reduced


def numpy_array_pickle(shape, dtype, raw, ctor_shape=(0,)):
    """An ndarray as numpy pickles it (``_reconstruct`` then ``__setstate__``), with any declared shape."""
    from numpy._core.multiarray import _reconstruct

    dtype = dtype if isinstance(dtype, _Raw) else np.dtype(dtype)
    return _Raw(_reconstruct, (np.ndarray, ctor_shape, b"b"), (1, shape, dtype, False, raw))


@pytest.mark.parametrize("doc, message", [
    (batch(labels=["cat", "dog"]), "'labels' must hold one class 0..9 per image; found str 'cat'"),
    (batch(labels=[2**63, 1]), "found 9223372036854775808"),
    (batch(labels=[3, -1]), "found -1"),
    (batch(labels=[3, 10]), "found 10"),
    (batch(labels=[True, 1]), "found bool True"),
    (batch(labels=[1.0, 2.0]), "found float 1.0"),
    (batch(labels=[0, None]), "found NoneType None"),  # found by the property test below
    (batch(labels=[1]), "found 1 labels for 2 images"),
    (batch(labels=np.array([1.5, 2.0])), "found a float64 array of shape (2,)"),
    (batch(labels=np.array([2**64 - 1, 0], np.uint64)), "found 18446744073709551615"),
    (batch(labels=None), "found none"),
    (batch(labels="0123"), "found a str"),
    (batch(n=0), "the batch holds no images"),
    (batch(data=np.zeros((2, 3072), np.float32)), "'data' must be a uint8 array of shape (N, 3072)"),
    (batch(data=np.zeros((2, 3071), np.uint8)), "found a uint8 array of shape (2, 3071)"),
    (batch(data=np.zeros((2, 3, 32, 32), np.uint8)), "found a uint8 array of shape (2, 3, 32, 32)"),
    (batch(data=[[0] * 3072] * 2), "found a list"),
    ({b"labels": [0]}, "found no 'data' entry"),
    ([1, 2, 3], "a CIFAR-10 batch is a pickled dict, found list"),
    (batch(data=np.array([1, "a"], dtype=object)), "numpy dtype 'O8': only plain bool, integer and float arrays load"),
    (batch(data=numpy_array_pickle((10**12, 3072), "u1", b"\0" * 64)),
     "an array declares shape (1000000000000, 3072) of uint8 (3,072,000,000,000,000 bytes) but holds 64 bytes"),
    (batch(data=numpy_array_pickle((2, 3072), "u1", b"\0" * 64, ctor_shape=(10**12,))),
     "declares shape (2, 3072) of uint8 (6,144 bytes) but holds 64 bytes"),
    (batch(data=numpy_array_pickle((2, 3072), np.dtype(("u1", (1000, 1000))), b"")), "numpy dtype 'V1000000'"),
    (batch(data=numpy_array_pickle((1,), _Raw(np.dtype, ("u1", False, True),
                                              (3, "|", (np.dtype("u1"), (10**6, 10**6)), None, None, -1, -1, 0)), b"")),
     "a structured or sub-array numpy dtype"),
    (batch(data=np.ma.masked_array([1, 2])), "refusing to unpickle numpy.ma.core._mareconstruct"),
])
def test_every_defect_of_a_cifar_batch_is_one_user_error_naming_the_file(tmp_path, doc, message):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(doc, protocol=2))
    out, peak = peak_of(lambda: load_pickle_batch(path))
    assert isinstance(out, UserError), out
    assert str(out).startswith(f"{path}: ") and message in str(out)
    assert REDOWNLOAD in str(out) and peak < MEMORY_BOUND


def test_python2_batches_and_arrays_that_declare_a_large_empty_constructor_still_load(tmp_path):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    # Python 2 wrote the array's bytes as a str (read back through latin-1), labels as a list
    py2 = batch(data=numpy_array_pickle((2, 3072), "u1", data.tobytes().decode("latin1")), labels=[4, 9])
    path = tmp_path / "b"
    path.write_bytes(pickle.dumps(py2, protocol=2))
    images, labels = load_pickle_batch(path)
    assert np.array_equal(images.reshape(2, -1), data) and labels.tolist() == [4, 9]
    # labels as a big-endian int16 array and numpy scalars in a list
    for labs in (np.array([3, 8], ">i2"), [np.int64(3), np.uint8(8)]):
        path.write_bytes(pickle.dumps(batch(labels=labs), protocol=4))
        assert load_pickle_batch(path)[1].tolist() == [3, 8]


@pytest.mark.parametrize("raw, message", [
    (b"\x80\x02}r\xff\xff\xff\x7f.", "memo index 2147483647 at byte 3 is larger than any pickler writes"),
    (b"\x80\x04\x8e" + (2**60).to_bytes(8, "little") + b"abc", "not a complete pickle"),
    (b"\x80\x04\x95" + (2**40).to_bytes(8, "little") + b"}.", "a frame at byte 2 declares 1,099,511,627,776 bytes"),
    (b"cbuiltins\neval\n(S'1+1'\ntR.", "refusing to unpickle builtins.eval"),
    (b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x04\x00\x00\x00zlib\x86R.", "_codecs.encode with 'zlib'"),
    (b"", "not a complete pickle"),
])
def test_pickles_that_would_allocate_or_run_code_are_refused_before_unpickling(tmp_path, raw, message):
    path = tmp_path / "data_batch_1"
    path.write_bytes(raw)
    out, peak = peak_of(lambda: load_pickle_batch(path))
    assert isinstance(out, UserError) and message in str(out) and str(path) in str(out)
    assert peak < MEMORY_BOUND


def test_a_truncated_or_oversized_batch_is_refused_by_size(tmp_path, monkeypatch):
    whole = pickle.dumps(batch(n=3), protocol=2)
    path = tmp_path / "data_batch_1"
    for cut in (len(whole) // 2, len(whole) - 1, 5):
        path.write_bytes(whole[:cut])
        with pytest.raises(UserError, match="not a complete pickle"):
            load_pickle_batch(path)
    path.write_bytes(whole)
    monkeypatch.setattr(safe_pickle, "MAX_PICKLE_BYTES", 4096)  # a pickled array larger than any batch
    with pytest.raises(UserError, match=r"data_batch_1: 0 MiB, more than the 0 MiB a pickle may have"):
        load_pickle_batch(path)


LABEL_VALUES = st.one_of(st.integers(0, 9), st.integers(-2**70, 2**70), st.booleans(), st.floats(),
                         st.text(max_size=2), st.binary(max_size=2), st.none())
NUMERIC = [np.uint8, np.int8, np.int64, np.uint64, np.float32, np.bool_, ">i4"]


@st.composite
def cifar_docs(draw):
    """Mostly well-formed image data (so the labels are reached), with every kind of labels."""
    n = draw(st.integers(0, 3))
    if draw(st.integers(0, 3)):  # 3 in 4: a real batch's data
        data = np.full((n, 3072), draw(st.integers(0, 255)), np.uint8)
    else:
        data = draw(st.one_of(
            st.builds(lambda dt, v, shape: np.full(shape, v).astype(dt), st.sampled_from(NUMERIC),
                      st.integers(0, 255), st.sampled_from([(n, 3072), (n, 3071), (n,), (n, 3, 32, 32)])),
            st.none(), st.lists(st.integers(0, 255), max_size=3), st.binary(max_size=8)))
    labels = draw(st.one_of(
        st.lists(LABEL_VALUES, min_size=n, max_size=n), st.lists(st.integers(0, 9), max_size=4),
        st.builds(lambda dt, vals: np.array(vals).astype(dt), st.sampled_from(NUMERIC),
                  st.lists(st.integers(-3, 12), min_size=n, max_size=n)),
        st.none(), st.integers(), st.text(max_size=3)))
    str_keys = draw(st.booleans())
    doc = {(k if str_keys else k.encode()): v for k, v in {"data": data, "labels": labels}.items()
           if k == "data" or draw(st.integers(0, 7))}  # labels left out 1 time in 8
    return doc, draw(st.integers(2, 5))


def is_good_batch(doc) -> bool:
    """The specification of a CIFAR-10 batch, written independently of the loader."""
    doc = {(k.decode() if isinstance(k, bytes) else k): v for k, v in doc.items()}
    data, labels = doc.get("data"), doc.get("labels")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072
            and data.shape[0] > 0):
        return False
    if isinstance(labels, np.ndarray):
        ok_type = labels.dtype.kind in "iu" and labels.ndim == 1
    else:
        ok_type = isinstance(labels, list) and all(type(v) is int for v in labels)
    return ok_type and len(labels) == len(data) and all(0 <= int(v) <= 9 for v in labels)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cifar_docs())
def test_property_any_cifar_batch_dict_loads_exactly_or_is_one_user_error(tmp_path_factory, case):
    doc, protocol = case
    path = tmp_path_factory.mktemp("cifar", numbered=True) / "data_batch_1"
    path.write_bytes(pickle.dumps(doc, protocol=protocol))
    out, peak = peak_of(lambda: load_pickle_batch(path))
    assert peak < MEMORY_BOUND
    if is_good_batch(doc):
        images, labels = out
        data = doc.get("data", doc.get(b"data"))
        assert np.array_equal(images.reshape(len(data), 3072), data) and labels.dtype == np.int64
        assert labels.tolist() == [int(v) for v in doc.get("labels", doc.get(b"labels"))]
    else:
        assert isinstance(out, UserError) and str(out).startswith(f"{path}: ")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocol=st.integers(2, 5), cut=st.integers(0, 10_000),
       edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4))
def test_property_mutated_pickle_bytes_load_or_are_one_user_error(tmp_path_factory, protocol, cut, edits):
    raw = bytearray(pickle.dumps(batch(n=1, labels=np.array([3])), protocol=protocol))
    for pos, value in edits:
        raw[pos % len(raw)] = value
    path = tmp_path_factory.mktemp("bytes", numbered=True) / "data_batch_1"
    path.write_bytes(bytes(raw[: max(1, len(raw) - cut % len(raw))]))
    out, peak = peak_of(lambda: load_pickle_batch(path))
    assert peak < MEMORY_BOUND
    assert isinstance(out, UserError) or (out[0].shape == (1, 3, 32, 32) and 0 <= out[1][0] <= 9)


# -- Fashion-MNIST IDX -------------------------------------------------------------------------------

def idx_bytes(magic, dims, body):
    return b"".join(int(v).to_bytes(4, "big") for v in (magic, *dims)) + body


@pytest.mark.parametrize("images, message", [
    (idx_bytes(2049, (2, 28, 28), bytes(2 * 784)), "IDX magic number 2049, expected 2051"),
    (idx_bytes(2051, (2, 28, 27), bytes(2 * 756)), "the header says 28x27 images; Fashion-MNIST's are 28x28"),
    (idx_bytes(2051, (1000, 28, 28), bytes(2 * 784)),
     "the header declares (1000, 28, 28) (784,000 bytes of data) but the file holds only 1,568"),
    (idx_bytes(2051, (2**32 - 1, 28, 28), bytes(784)), "declares 4,294,967,295 items; expected 1 to 1,000,000"),
    (idx_bytes(2051, (0, 28, 28), b""), "declares 0 items"),
    (idx_bytes(2051, (2, 28, 28), bytes(3 * 784)), "holds more data than its header declares (2, 28, 28)"),
    (idx_bytes(2051, (2,), b""), "too short for an IDX header"),
])
def test_every_defect_of_an_idx_file_is_one_user_error(tmp_path, images, message):
    write_idx(tmp_path, np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8), gz=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(images)
    out, peak = peak_of(lambda: load_fashion_mnist(str(tmp_path)))
    assert isinstance(out, UserError) and peak < MEMORY_BOUND
    assert str(out).startswith(f"{tmp_path / 'train-images-idx3-ubyte'}: ") and message in str(out)


def test_damaged_gzip_and_bad_labels_are_user_errors(tmp_path):
    write_idx(tmp_path, np.full((3, 28, 28), 9, np.uint8), np.array([1, 2, 12], np.uint8))
    with pytest.raises(UserError, match="labels must be 0..9, found 12"):
        load_fashion_mnist(str(tmp_path))
    gz = (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()
    for damaged, kind in ((gz[:-30], "EOFError"), (b"not gzip at all", "BadGzipFile"),
                          (gz[:20] + bytes(b ^ 0x55 for b in gz[20:40]) + gz[40:], "")):
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(damaged)
        with pytest.raises(UserError, match=rf"train-images-idx3-ubyte.gz: damaged or unreadable \({kind}"):
            load_fashion_mnist(str(tmp_path))
    write_idx(tmp_path, np.full((3, 28, 28), 9, np.uint8), np.array([1, 2, 3], np.uint8))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(2049, (2,), bytes([1, 2]))))
    with pytest.raises(UserError, match=r"train-images-idx3-ubyte.gz: 3 images but train-labels-idx1-ubyte.gz holds 2 "
                                        r"labels; the two files are from different sets or damaged: re-download both"):
        load_fashion_mnist(str(tmp_path))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 4), field=st.sampled_from([None, None, "magic", "n", "rows", "cols"]),
       value=st.sampled_from([0, 1, 27, 28, 2049, 2051, 1_000_001, 2**31, 2**32 - 1]),
       extra=st.sampled_from([0, 0, 0, -1, -784, 1, 784]), gz=st.booleans())
def test_property_any_idx_header_loads_exactly_or_is_one_user_error(tmp_path_factory, n, field, value, extra, gz):
    """A valid images file with at most one header field replaced and its body cut or extended."""
    root = tmp_path_factory.mktemp("idx", numbered=True)
    write_idx(root, np.zeros((n, 28, 28), np.uint8), np.zeros(n, np.uint8), gz=gz)  # the labels file
    header = {"magic": 2051, "n": n, "rows": 28, "cols": 28, **({field: value} if field else {})}
    pixels = (np.arange(n * 784) % 251).astype(np.uint8).tobytes()
    body = pixels[: len(pixels) + extra] if extra < 0 else pixels + bytes(extra)
    raw = idx_bytes(header["magic"], (header["n"], header["rows"], header["cols"]), body)
    (root / f"train-images-idx3-ubyte{'.gz' if gz else ''}").write_bytes(gzip.compress(raw) if gz else raw)
    out, peak = peak_of(lambda: load_fashion_mnist(str(root)))
    assert peak < MEMORY_BOUND
    if header == {"magic": 2051, "n": n, "rows": 28, "cols": 28} and extra == 0:
        assert out.n == n and np.array_equal(out.images.reshape(-1), np.frombuffer(pixels, np.uint8))
    else:
        assert isinstance(out, UserError) and str(out).startswith(str(root / "train-images-idx3-ubyte"))


# -- image files -------------------------------------------------------------------------------------

def png_declaring(w, h):
    """A few hundred bytes of valid PNG header declaring w x h 1-bit pixels: a decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b"")


def encoded(img, fmt="PNG", **kw):
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


RGB = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))


@pytest.mark.parametrize("data, message", [
    (png_declaring(20_000, 20_000), "declares 400,000,000 pixels, more than the 67,108,864"),  # Pillow's error
    (png_declaring(10_000, 10_000), "declares 100,000,000 pixels"),  # Pillow's warning
    (png_declaring(8193, 8193), "declares 8193 x 8193 = 67,125,249 pixels"),  # our limit
    (encoded(RGB)[:300], "not a decodable image (OSError: image file is truncated); the file is truncated or damaged"),
    (encoded(RGB, "JPEG")[:300], "not a decodable image (OSError"),
    (encoded(RGB)[:100] + bytes([encoded(RGB)[100] ^ 0xFF]) + encoded(RGB)[101:], "not a decodable image"),
    (b"just some text", "not a PNG, JPEG, WebP or BMP image (whatever its name says)"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not a PNG, JPEG, WebP or BMP image"),  # no Ghostscript
    (encoded(RGB, "GIF"), "not a PNG, JPEG, WebP or BMP image"),
    (b"", "not a PNG, JPEG, WebP or BMP image"),
])
def test_every_bad_image_file_is_one_user_error_naming_it(tmp_path, recwarn, data, message):
    (tmp_path / "good.png").write_bytes(encoded(RGB))
    (tmp_path / "bad.png").write_bytes(data)
    src = open_folder(str(tmp_path))
    out, peak = peak_of(lambda: src.read(np.array([0]), 8))
    assert isinstance(out, UserError) and str(out).startswith(f"{tmp_path / 'bad.png'}: ") and message in str(out)
    assert ("remove it" in str(out) or "re-download" in str(out)) and peak < MEMORY_BOUND
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]
    assert src.read(np.array([1]), 8).shape == (1, 3, 8, 8)  # the good file still reads


def test_the_pixel_limit_is_checked_before_decoding():
    assert MAX_IMAGE_PIXELS == 8192 * 8192 < Image.MAX_IMAGE_PIXELS
    out, peak = peak_of(lambda: decode_image(png_declaring(8192, 8192), 8, 1, "edge.png"))  # at the limit: decoded
    assert isinstance(out, UserError) and "not a decodable image" in str(out)  # (its IDAT is short: truncated)


@pytest.mark.parametrize("img, save, rgb, gray", [
    (Image.new("L", (4, 4), 77), {}, (77, 77, 77), 77),
    (Image.new("RGBA", (4, 4), (200, 0, 0, 0)), {}, (255, 255, 255), 255),  # transparent: the white it shows
    (Image.new("RGBA", (4, 4), (255, 0, 0, 128)), {}, (255, 127, 127), 165),  # half over white
    (Image.new("LA", (4, 4), (0, 0)), {}, (255, 255, 255), 255),
    (Image.new("1", (4, 4), 1), {}, (255, 255, 255), 255),
    (Image.fromarray(np.full((4, 4), 51400, np.uint16)), {}, (200, 200, 200), 200),  # 16-bit: top 8 bits (not 255)
    (Image.new("P", (4, 4), 1), {"transparency": 1}, (255, 255, 255), 255),
    (Image.new("P", (4, 4), 1), {}, (0, 255, 0), 150),
])
def test_image_modes_are_converted_to_what_they_show(img, save, rgb, gray):
    if img.mode == "P":
        img.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    data = encoded(img, **save)
    assert tuple(decode_image(data, 4, 3, "x.png")[:, 0, 0]) == rgb
    assert decode_image(data, 4, 1, "x.png")[0, 0, 0] == gray
    assert np.asarray(convert_mode(Image.fromarray(np.full((2, 2), 51400, np.int32)), 3))[0, 0].tolist() == [200] * 3
    cmyk = decode_image(encoded(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG", quality=100), 4, 3, "c.jpg")
    assert tuple(cmyk[:, 0, 0]) == (255, 0, 0)


def test_lmdb_values_that_do_not_decode_name_their_key(tmp_path):
    import lmdb

    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 22)
    with env.begin(write=True) as txn:
        txn.put(b"good", encoded(RGB, "WEBP", lossless=True))
        txn.put(b"trunc", encoded(RGB, "JPEG")[:200])
        txn.put(b"zbomb", png_declaring(20_000, 20_000))
    env.close()
    src = LmdbSource(tmp_path / "db")
    assert src.read(np.array([0]), 8).shape == (1, 3, 8, 8)
    with pytest.raises(UserError, match=r"db key trunc: not a decodable image"):
        src.read(np.array([1]), 8)
    with pytest.raises(UserError, match=r"db key zbomb: the image declares 400,000,000 pixels"):
        src.read(np.array([2]), 8)


def test_empty_folders_and_unreadable_files(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    with pytest.raises(UserError, match="no image files .* found below it"):
        open_folder(str(tmp_path))
    (tmp_path / "a.png").write_bytes(encoded(RGB))
    src = open_folder(str(tmp_path))
    (tmp_path / "a.png").unlink()  # gone between listing and reading
    with pytest.raises(UserError, match=r"a.png: cannot read it \(No such file or directory\)"):
        src.read(np.array([0]), 8)


# -- the loader's worker threads ---------------------------------------------------------------------

def image_folder(root, n, bad=None):
    for i in range(n):
        value = np.full((6, 6, 3), 10 * i, np.uint8)
        (root / f"{i:03d}.png").write_bytes(b"broken" if i == bad else encoded(Image.fromarray(value)))
    return open_folder(str(root))


@pytest.mark.parametrize("workers", [1, 3])
def test_a_decoding_error_in_a_worker_is_the_same_user_error_in_the_loop_at_its_batch(tmp_path, capfd, workers):
    src = image_folder(tmp_path, 12, bad=7)
    loader = ImageBatches(src, batch_size=2, seed=1, device=torch.device("cpu"), resolution=4, scaling="255",
                          workers=workers, prefetch=4)
    seen = []
    with pytest.raises(UserError) as err:
        for _ in range(6):
            before = loader.state_dict()
            x = loader.next()
            seen.append(sorted(round(float(v) * 127.5 + 127.5) // 10 for v in x[:, 0, 0, 0]))
    assert str(err.value) == f"{tmp_path / '007.png'}: not a PNG, JPEG, WebP or BMP image (whatever its name says); " \
                             f"remove it or convert it"
    order = np.random.default_rng((1, 0)).permutation(12).reshape(6, 2)
    failed_at = next(i for i, b in enumerate(order) if 7 in b)
    assert seen == [sorted(b) for b in order[:failed_at]]  # the batches before it, in order
    assert loader.state_dict() == before  # the position stays before the failed batch
    assert "Traceback" not in capfd.readouterr().err  # nothing printed from the thread


def test_worker_count_changes_neither_batches_nor_resume(tmp_path):
    src = image_folder(tmp_path, 10)
    kw = dict(batch_size=3, seed=5, device=torch.device("cpu"), resolution=4, scaling="dequant")
    one = ImageBatches(src, workers=1, **kw)
    ref = [one.next() for _ in range(7)]  # crosses two epoch boundaries (3 batches of 3 per epoch)
    many = ImageBatches(src, workers=3, prefetch=5, **kw)
    got = [many.next() for _ in range(3)]
    state = many.state_dict()
    many.load_state_dict(state)  # drops the 5 batches read ahead
    got += [many.next() for _ in range(4)]
    assert all(torch.equal(a, b) for a, b in zip(ref, got))
    assert one.state_dict() == many.state_dict() == {"epoch": 2, "pos": 3, "seed": 5}
    for loader in (one, many):
        loader.close()


@pytest.mark.parametrize("bad", ["000.png", pytest.param("001.png", marks=pytest.mark.slow)])
def test_train_image_on_a_folder_with_a_decompression_bomb_exits_2_with_one_line(cli_runner, tmp_path, bad):
    """000.png is read when the dataset is fingerprinted (main thread); 001.png only by the loader's
    workers, some iterations into training."""
    image_folder(tmp_path, 20)
    (tmp_path / bad).write_bytes(png_declaring(30_000, 30_000))
    r = cli_runner.invoke(cli, ["train-image", "--preset", "tiny", "--device", "cpu", "--dataset", "folder",
                                "--data-dir", str(tmp_path), "--out", str(tmp_path / "run")])
    assert r.exit_code == 2, r.output
    text = r.output.replace("\n", " ")
    assert "Traceback" not in text and f"{tmp_path / bad}: the image declares 900,000,000 pixels" in text
