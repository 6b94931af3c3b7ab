"""Images per second of the image loaders against what the paper-size training step consumes.

Writes small datasets in the real formats into a temporary folder: CIFAR-10 python batches
(pickled dicts), an LSUN-style lmdb of WebP bytes (LSUN's own format) and a folder of JPEG files,
both at ``--source-px`` on the short side (LSUN bedrooms: 256) and 4:3, with smooth synthetic
content (random noise would be far slower to decode than photographs). Then times
``ImageBatches.next()`` in steady state for each loader and worker count, and the CIFAR ResNet
step at the paper's sizes (DIM 128, batch 64, 5 critic steps, as benchmarks/image_models.py builds it), whose
consumption is critic_steps x batch / seconds per generator iteration (the generator step reads
no real images). A loader keeps a device busy if its rate is above that; "fastest step fed" is the
shortest seconds per iteration the loader could feed, to compare with a GPU's step time.

    python benchmarks/image_loader.py                                # 1 and 2 workers, step measured
    python benchmarks/image_loader.py --workers 1,2,4,8 --step-seconds 0.03 --json loader.json

The CIFAR row also times loading one full-size batch file (10,000 images, 30 MB) through the
restricted unpickler.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
import torch
from PIL import Image
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from image.data import ImageBatches, open_source  # noqa: E402
from image.data.cifar import load_pickle_batch  # noqa: E402
from image.data.embedded import draw_params, render  # noqa: E402

BATCH, CRITIC_STEPS = 64, 5  # gan_cifar_resnet.py: BATCH_SIZE, N_CRITIC
SCALING = {"cifar": "dequant", "lsun": "255", "folder": "255"}


def write_cifar(root: Path, n: int, *, per_file: int | None = None) -> Path:
    """cifar-10-batches-py/data_batch_1..5 as the official pickles (dict: data uint8 (N, 3072), labels)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    per_file = per_file or -(-n // 5)
    for b in range(1, 6):
        doc = {b"batch_label": f"training batch {b} of 5".encode(), b"labels": rng.integers(0, 10, per_file).tolist(),
               b"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8),
               b"filenames": [f"{b}_{i}.png".encode() for i in range(per_file)]}
        (folder / f"data_batch_{b}").write_bytes(pickle.dumps(doc, protocol=2))
    return folder


def pictures(n: int, short_side: int):
    """``n`` smooth 4:3 RGB pictures (the embedded shapes, resized, with mild noise)."""
    rng = np.random.default_rng(1)
    for start in range(0, n, 32):
        idx = np.arange(start, min(n, start + 32))
        for arr in render(draw_params(idx), short_side).transpose(0, 2, 3, 1):
            img = Image.fromarray(arr).resize((short_side * 4 // 3, short_side), Image.BICUBIC)
            noisy = np.asarray(img, dtype=np.int16) + rng.integers(-6, 7, (short_side, short_side * 4 // 3, 3))
            yield Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def write_lsun(root: Path, n: int, short_side: int) -> Path:
    import lmdb

    db = root / "bedroom_train_lmdb"
    root.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(db), map_size=1 << 32)
    with env.begin(write=True) as txn:
        for i, img in enumerate(pictures(n, short_side)):
            buf = io.BytesIO()
            img.save(buf, format="WEBP", quality=75)
            txn.put(f"{i:08x}".encode(), buf.getvalue())
    env.close()
    return root


def write_folder(root: Path, n: int, short_side: int) -> Path:
    folder = root / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(pictures(n, short_side)):
        img.save(folder / f"{i:06d}.jpg", quality=90)
    return folder


def loader_rate(source, *, resolution: int, scaling: str, workers: int, batches: int) -> float:
    """Images per second of ``ImageBatches.next()`` in steady state (after 2 warm-up batches)."""
    loader = ImageBatches(source, batch_size=BATCH, seed=0, device=torch.device("cpu"), resolution=resolution,
                          scaling=scaling, workers=workers, prefetch=max(3, 2 * workers))
    try:
        for _ in range(2):
            loader.next()
        t0 = time.perf_counter()
        for _ in range(batches):
            loader.next()
        return batches * BATCH / (time.perf_counter() - t0)
    finally:
        loader.close()


def step_seconds(iters: int) -> float:
    """Seconds per generator iteration of the CIFAR ResNet at the paper's sizes on this CPU (one
    untimed warm-up), built as training builds it (benchmarks/adapters.py), eager float32."""
    from benchmarks import adapters
    from benchmarks.measure import timed

    device = torch.device("cpu")
    cfg = adapters.image_config("cifar-resnet")
    G, D = adapters.image_networks(cfg, device)
    built = adapters.image_step(cfg, G, D, adapters.random_image_batches(cfg, device), device=device, flags={})
    built.iteration()
    return sum(timed(built.iteration, device)[0] for _ in range(iters)) / iters


@click.command()
@click.option("--loaders", default="cifar,lsun,folder", show_default=True, help="Comma-separated: cifar, lsun, folder.")
@click.option("--workers", default="1,2", show_default=True, help="Comma-separated worker-thread counts to time.")
@click.option("--images", type=int, default=640, show_default=True, help="Images written per dataset.")
@click.option("--source-px", type=int, default=256, show_default=True, help="Short side of the LSUN / folder images.")
@click.option("--resolution", type=int, default=128, show_default=True,
              help="Model resolution the LSUN / folder images are resized to (CIFAR: 32).")
@click.option("--batches", type=int, default=20, show_default=True, help="Timed batches of 64 per measurement.")
@click.option("--step-seconds", "step_given", type=float, default=None,
              help="Seconds per generator iteration of the step to compare with (e.g. a GPU's); default: "
                   "measure the CIFAR ResNet step here.")
@click.option("--step-iters", type=int, default=2, show_default=True, help="Timed iterations of the step.")
@click.option("--threads", type=int, default=0, show_default=True, help="torch CPU threads (0: torch's default).")
@click.option("--full-batch/--no-full-batch", default=True, show_default=True,
              help="Also time loading one full-size CIFAR-10 batch file (10,000 images) through the safe unpickler.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write the results here.")
def main(loaders, workers, images, source_px, resolution, batches, step_given, step_iters, threads, full_batch,
         json_out):
    if threads:
        torch.set_num_threads(threads)
    con = Console()
    names = [n for n in loaders.split(",") if n]
    counts = [int(w) for w in workers.split(",") if w]
    if images < BATCH:
        raise click.BadParameter(f"--images {images}: at least one batch of {BATCH}")
    results = {"machine": {"threads": torch.get_num_threads(), "torch": torch.__version__}, "loaders": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "cifar" in names and full_batch:
            folder = write_cifar(root / "full", 0, per_file=10_000)
            t0 = time.perf_counter()
            load_pickle_batch(folder / "data_batch_1")
            results["cifar_batch_file_load_s"] = time.perf_counter() - t0
            con.print(f"one 10,000-image CIFAR-10 batch file loads in {results['cifar_batch_file_load_s']:.2f} s")
        for name in names:
            t0 = time.perf_counter()
            if name == "cifar":
                source, px = open_source("cifar10", str(write_cifar(root / "cifar", images).parent)), 32
            elif name == "lsun":
                source, px = open_source("lsun", str(write_lsun(root / "lsun", images, source_px))), resolution
            elif name == "folder":
                source, px = open_source("folder", str(write_folder(root / "folder", images, source_px))), resolution
            else:
                raise click.BadParameter(f"--loaders {name}: choose cifar, lsun or folder")
            con.print(f"{name}: wrote and opened {source.n} images in {time.perf_counter() - t0:.1f} s")
            for w in counts:
                rate = loader_rate(source, resolution=px, scaling=SCALING[name], workers=w, batches=batches)
                results["loaders"].append({"loader": name, "px": px, "workers": w, "images_per_s": rate})
                con.print(f"  {w} worker{'s' if w > 1 else ''}: {rate:,.0f} images/s")
    sec = step_given if step_given is not None else step_seconds(step_iters)
    need = CRITIC_STEPS * BATCH / sec
    results["step"] = {"model": "cifar-resnet", "batch": BATCH, "critic_steps": CRITIC_STEPS, "s_per_iter": sec,
                       "images_per_s": need, "measured": step_given is None}
    table = Table(title=f"image loaders vs the CIFAR ResNet step ({BATCH} x {CRITIC_STEPS} = {CRITIC_STEPS * BATCH} "
                        f"real images per generator iteration; {sec:.3g} s/iteration "
                        f"{'measured here' if step_given is None else 'given'} -> {need:,.0f} images/s)")
    for col in ("loader", "px", "workers", "images/s", "x step's need", "fastest step fed (ms/iter)"):
        table.add_column(col, justify="left" if col == "loader" else "right")
    for r in results["loaders"]:
        r["ratio_to_step"] = r["images_per_s"] / need
        r["fastest_step_ms"] = 1e3 * CRITIC_STEPS * BATCH / r["images_per_s"]
        table.add_row(r["loader"], str(r["px"]), str(r["workers"]), f"{r['images_per_s']:,.0f}",
                      f"{r['ratio_to_step']:.1f}", f"{r['fastest_step_ms']:.1f}")
    con.print(table)
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=2) + "\n")
        con.print(f"wrote {json_out}")


if __name__ == "__main__":
    main()
