"""Image data: loaders on small files written in the real formats, the refused malicious pickle, the
embedded dataset, and the background batch loader (order, scaling, resume, errors)."""

import gzip
import io
import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from image.data import ImageBatches, open_source, scale_pixels
from image.data.cifar import load_cifar10, load_pickle_batch
from image.data.embedded import EmbeddedSource, draw_params, render
from image.data.fashion_mnist import load_fashion_mnist
from image.data.lsun import LmdbSource, open_folder, open_lsun
from image.data.decode import to_square
from image.data.source import fit_resolution
from seqgan_gp.errors import UserError


# -- CIFAR-10 python batches -------------------------------------------------------------------------

def write_cifar(root, n_per_batch=6, seed=0):
    """cifar-10-batches-py/data_batch_1..5 as the official pickles: dict with data (N, 3072) uint8 and labels."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = []
    for b in range(1, 6):
        data = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        labels = [int(x) for x in rng.integers(0, 10, size=n_per_batch)]
        doc = {b"batch_label": f"training batch {b} of 5".encode(), b"labels": labels, b"data": data,
               b"filenames": [f"img_{b}_{i}.png".encode() for i in range(n_per_batch)]}
        (folder / f"data_batch_{b}").write_bytes(pickle.dumps(doc, protocol=2))
        batches.append((data, labels))
    return folder, batches


def test_cifar_batches_load_in_chw_order(tmp_path):
    _, batches = write_cifar(tmp_path)
    src = load_cifar10(str(tmp_path))
    assert src.n == 30 and src.n_classes == 10 and src.channels == 3
    data = np.concatenate([d for d, _ in batches])
    assert np.array_equal(src.images.reshape(30, 3072), data)
    assert src.images[7, 1, 2, 3] == data[7, 1024 + 2 * 32 + 3]  # row = R plane, G plane, B plane
    assert src.labels.tolist() == sum((l for _, l in batches), [])
    assert np.array_equal(src.read(np.array([3, 4]), 32), src.images[[3, 4]])
    # the folder itself may be given too
    assert load_cifar10(str(tmp_path / "cifar-10-batches-py")).n == 30


def test_cifar_str_keys_and_protocol_5_also_load(tmp_path):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251
    path = tmp_path / "b"
    path.write_bytes(pickle.dumps({"data": data, "labels": [3, 9]}, protocol=5))
    images, labels = load_pickle_batch(path)
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [3, 9]
    assert np.array_equal(images.reshape(2, -1), data)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder, _ = write_cifar(tmp_path)
    evil = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"x": _Evil()}
    (folder / "data_batch_3").write_bytes(pickle.dumps(evil, protocol=2))
    with pytest.raises(UserError, match=r"data_batch_3: refusing to unpickle posix\.system"):
        load_cifar10(str(tmp_path))
    assert not (tmp_path / "PWNED").exists()
    (folder / "data_batch_3").write_bytes(pickle.dumps(["not", "a", "dict"], protocol=2))
    with pytest.raises(UserError, match="pickled dict"):
        load_cifar10(str(tmp_path))
    # builtins are refused as well (eval, getattr, ...)
    (folder / "data_batch_3").write_bytes(b"cbuiltins\neval\n(S'1+1'\ntR.")
    with pytest.raises(UserError, match="refusing to unpickle builtins.eval"):
        load_cifar10(str(tmp_path))


def test_cifar_missing_or_malformed_names_the_layout(tmp_path):
    with pytest.raises(UserError, match="cifar-10-batches-py/data_batch_1"):
        load_cifar10(str(tmp_path))
    folder, _ = write_cifar(tmp_path)
    (folder / "data_batch_5").unlink()
    with pytest.raises(UserError, match="missing data_batch_5"):
        load_cifar10(str(tmp_path))
    (folder / "data_batch_5").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(UserError, match=r"shape \(N, 3072\)"):
        load_cifar10(str(tmp_path))
    (folder / "data_batch_5").write_bytes(b"\x80\x02garbage")
    with pytest.raises(UserError, match="data_batch_5: not a complete pickle.*re-download"):
        load_cifar10(str(tmp_path))


def test_hugging_face_cifar10_saved_to_disk(tmp_path):
    import datasets

    imgs = [Image.fromarray(np.full((32, 32, 3), 10 * i, np.uint8)) for i in range(4)]
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(num_classes=10)})
    ds = datasets.Dataset.from_dict({"img": imgs, "label": [0, 5, 9, 2]}, features=features)
    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "hf"))
    src = load_cifar10(str(tmp_path / "hf"))
    assert src.n == 4 and src.labels.tolist() == [0, 5, 9, 2]
    got = src.read(np.array([1, 3]), 32)
    assert got.shape == (2, 3, 32, 32) and (got[0] == 10).all() and (got[1] == 30).all()


# -- LSUN lmdb and folders ---------------------------------------------------------------------------

def encoded(arr, fmt):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buf.getvalue()


def test_lsun_lmdb_export_is_centre_cropped_and_resized(tmp_path):
    import lmdb

    # a wide image: left and right thirds red, the central square blue; crop keeps only blue
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, :20] = (255, 0, 0)
    wide[:, 20:60] = (0, 0, 255)
    wide[:, 60:] = (255, 0, 0)
    tall = np.zeros((60, 30, 3), np.uint8)
    tall[15:45] = (0, 200, 0)
    db = tmp_path / "bedroom_train_lmdb"
    env = lmdb.open(str(db), map_size=1 << 24)
    with env.begin(write=True) as txn:
        txn.put(b"0a1b2c", encoded(wide, "WEBP"))
        txn.put(b"0d4e5f", encoded(tall, "PNG"))
    env.close()
    src = open_lsun(str(tmp_path))  # finds bedroom_train_lmdb/ below the folder
    assert isinstance(src, LmdbSource) and src.n == 2 and src.labels is None
    out = src.read(np.array([0, 1]), 16)
    assert out.shape == (2, 3, 16, 16) and out.dtype == np.uint8
    assert (out[0, 2] == 255).all() and (out[0, 0] == 0).all()  # only the blue centre survives
    assert (out[1, 1] == 200).all() and (out[1, 0] == 0).all()
    assert LmdbSource(db, max_examples=1).n == 1


def test_lsun_damaged_image_and_empty_db_are_user_errors(tmp_path):
    import lmdb

    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 20)
    env.close()
    with pytest.raises(UserError, match="lmdb database is empty"):
        LmdbSource(tmp_path / "db")
    env = lmdb.open(str(tmp_path / "db2"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"k", b"not an image")
    env.close()
    with pytest.raises(UserError, match="key k: not a PNG, JPEG, WebP or BMP image"):
        LmdbSource(tmp_path / "db2").read(np.array([0]), 8)
    with pytest.raises(UserError, match="needs --data-dir"):
        open_lsun(None)


def test_image_folder_is_read_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(tmp_path / "b" / "x.png")
    Image.fromarray(np.full((10, 10), 99, np.uint8)).save(tmp_path / "a.jpg", quality=100)
    (tmp_path / "notes.txt").write_text("not an image")
    src = open_folder(str(tmp_path))
    assert src.n == 2 and [p.name for p in src.files] == ["a.jpg", "x.png"]
    out = src.read(np.array([0, 1]), 4)
    assert out.shape == (2, 3, 4, 4) and abs(int(out[0].mean()) - 99) <= 1 and (out[1] == 7).all()
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no image files"):
        open_folder(str(tmp_path / "empty"))


# -- Fashion-MNIST IDX -----------------------------------------------------------------------------

def write_idx(root, images, labels, gz=True):
    root.mkdir(parents=True, exist_ok=True)
    n = len(images)
    img = (2051).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big") + images.tobytes()
    lab = (2049).to_bytes(4, "big") + n.to_bytes(4, "big") + labels.tobytes()
    opener = gzip.compress if gz else (lambda b: b)
    suffix = ".gz" if gz else ""
    (root / f"train-images-idx3-ubyte{suffix}").write_bytes(opener(img))
    (root / f"train-labels-idx1-ubyte{suffix}").write_bytes(opener(lab))


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_idx_padding_to_32_and_28_for_the_mnist_model(tmp_path, gz):
    rng = np.random.default_rng(1)
    images = rng.integers(1, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([9, 0, 3, 3, 7], np.uint8)
    write_idx(tmp_path, images, labels, gz=gz)
    src = load_fashion_mnist(str(tmp_path))
    assert src.n == 5 and src.channels == 1 and src.labels.tolist() == [9, 0, 3, 3, 7]
    x32 = src.read(np.array([2]), 32)
    assert x32.shape == (1, 1, 32, 32)
    assert np.array_equal(x32[0, 0, 2:30, 2:30], images[2]) and x32[0, 0, :2].sum() == 0 and x32[0, 0, :, 30:].sum() == 0
    assert np.array_equal(src.read(np.array([2]), 28)[0, 0], images[2])


def test_fashion_mnist_errors_name_the_layout(tmp_path):
    with pytest.raises(UserError, match="train-images-idx3-ubyte.gz"):
        load_fashion_mnist(str(tmp_path))
    write_idx(tmp_path, np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8))
    data = gzip.decompress((tmp_path / "train-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(data[:-10]))
    with pytest.raises(UserError, match="truncated or damaged"):
        load_fashion_mnist(str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress((2049).to_bytes(4, "big") + data[4:]))
    with pytest.raises(UserError, match="magic number 2049, expected 2051"):
        load_fashion_mnist(str(tmp_path))


# -- the embedded dataset --------------------------------------------------------------------------

def test_embedded_images_are_a_function_of_their_index_at_any_resolution():
    src = EmbeddedSource(100)
    a, b = src.read(np.array([3, 17]), 32), src.read(np.array([17]), 32)
    assert np.array_equal(a[1], b[0]) and a.shape == (2, 3, 32, 32)
    big = src.read(np.array([3]), 64)
    assert big.shape == (1, 3, 64, 64)
    small_from_big = big[0].reshape(3, 32, 2, 32, 2).astype(float).mean(axis=(2, 4))
    assert np.abs(small_from_big - a[0]).mean() < 6  # the same picture at two resolutions
    assert src.labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_embedded_shapes_have_the_class_colour_family_and_fill_their_area():
    params = draw_params(np.arange(40))
    imgs = render(params, 64).astype(float)
    for i in range(40):
        bg = params["bg"][i] * 255
        fg = imgs[i].reshape(3, -1).T
        shape_px = fg[np.abs(fg - bg).sum(1) > 120]
        r, g, b = shape_px.mean(0)
        warm = params["label"][i] < 5
        assert (r > b) if warm else (b > r)
        area = len(shape_px) / 64**2 / params["r"][i] ** 2  # shape area in units of r²
        expected = {0: np.pi, 1: 2.56, 2: 1.299, 3: np.pi * (1 - 0.55**2), 4: 20 / 9}[params["label"][i] % 5]
        assert abs(area - expected) / expected < 0.25


# -- resizing helpers ------------------------------------------------------------------------------

def test_to_square_and_fit_resolution():
    img = Image.fromarray(np.arange(12 * 6, dtype=np.uint8).reshape(12, 6))  # tall: crop rows 3..8
    assert np.array_equal(to_square(img, 6, 1)[0], np.arange(12 * 6, dtype=np.uint8).reshape(12, 6)[3:9])
    x = np.full((2, 1, 28, 28), 200, np.uint8)
    assert fit_resolution(x, 28).shape == (2, 1, 28, 28)
    padded = fit_resolution(x, 32, pad_to=32)
    assert padded[0, 0, 2, 2] == 200 and padded[0, 0, 0, 0] == 0
    up = fit_resolution(x, 64, pad_to=32)  # pad to 32, then resize x2
    assert up.shape == (2, 1, 64, 64) and up[0, 0, 32, 32] == 200


# -- the batch loader ------------------------------------------------------------------------------

def test_pixel_scalings_match_the_reference_code():
    p = np.array([0, 128, 255], np.uint8)
    assert np.allclose(scale_pixels(p, "255"), [-1.0, 2 * (128 / 255 - 0.5), 1.0], atol=1e-6)
    assert np.allclose(scale_pixels(p, "unit"), [0.0, 128 / 255, 1.0])
    deq = scale_pixels(np.repeat(p, 1000), "dequant", np.random.default_rng(0)).reshape(3, 1000)
    base = 2 * (p / 256 - 0.5)
    noise = deq - base[:, None]
    assert noise.min() >= 0 and noise.max() < 1 / 128 and abs(noise.mean() - 1 / 256) < 2e-4
    assert deq.max() < 1.0  # range [-1, 1)


def test_batches_are_deterministic_resumable_and_conditional():
    src = EmbeddedSource(50)
    kw = dict(batch_size=8, seed=3, device=torch.device("cpu"), resolution=16, scaling="dequant", conditional=True)
    a = ImageBatches(src, **kw)
    seq = [a.next() for _ in range(9)]  # crosses an epoch (6 batches of 8 per epoch)
    assert all(x.shape == (8, 3, 16, 16) and y.shape == (8,) for x, y in seq)
    b = ImageBatches(src, **kw)
    for _ in range(4):
        b.next()
    state = b.state_dict()
    b.close()
    c = ImageBatches(src, **kw)
    c.load_state_dict(state)
    for (x, y), (x2, y2) in zip(seq[4:], [c.next() for _ in range(5)]):
        assert torch.equal(x, x2) and torch.equal(y, y2)  # images, labels and dequantisation noise
    x, y = seq[0]
    idx = np.sort(np.random.default_rng((3, 0)).permutation(50)[:8])
    assert y.tolist() == src.labels[idx].tolist()
    assert torch.allclose(x, torch.from_numpy(2 * (src.read(idx, 16) / 256 - 0.5)).float(), atol=1 / 128)
    labels = a.sample_labels(1000, torch.Generator().manual_seed(0))
    assert labels.min() == 0 and labels.max() == 9
    for loader in (a, c):
        loader.close()


def test_a_decoding_error_in_the_background_thread_reaches_the_loop(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "ok.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    src = open_source("folder", str(tmp_path))
    loader = ImageBatches(src, batch_size=2, seed=0, device=torch.device("cpu"), resolution=8, scaling="255")
    with pytest.raises(UserError, match="bad.png: not a PNG, JPEG, WebP or BMP image"):
        loader.next()


def test_default_loader_workers(tmp_path, monkeypatch):
    from image.data.batches import default_workers

    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a.png")
    folder, in_memory = open_folder(str(tmp_path)), EmbeddedSource(10)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert default_workers(folder, cuda) == 8 and default_workers(folder, cpu) == 1
    assert default_workers(in_memory, cuda) == 1  # slicing arrays: one thread keeps up
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert default_workers(folder, cuda) == 1


def test_loader_benchmark_writes_its_table_and_json(tmp_path):
    import json

    from click.testing import CliRunner

    from benchmarks.image_loader import main

    out = tmp_path / "loader.json"
    r = CliRunner().invoke(main, ["--loaders", "cifar,folder", "--workers", "1,2", "--images", "64", "--batches", "1",
                                  "--source-px", "24", "--resolution", "16", "--step-seconds", "0.5",
                                  "--no-full-batch", "--json", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["step"]["images_per_s"] == 5 * 64 / 0.5 and not doc["step"]["measured"]
    assert [(x["loader"], x["px"], x["workers"]) for x in doc["loaders"]] == [
        ("cifar", 32, 1), ("cifar", 32, 2), ("folder", 16, 1), ("folder", 16, 2)]
    for x in doc["loaders"]:
        assert x["images_per_s"] > 0 and x["ratio_to_step"] == x["images_per_s"] / 640
        assert abs(x["fastest_step_ms"] - 1e3 * 320 / x["images_per_s"]) < 1e-9
    assert "fastest step fed" in r.output
