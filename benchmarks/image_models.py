"""Seconds per generator iteration of each image model at the paper's sizes, on this machine.

One generator iteration = ``critic_iters`` critic steps (each: fakes from G, one critic pass over
real + fake + interpolates, the penalty's double backward, an Adam step) and one generator step,
exactly as ``train-image`` runs it (the shared loop, the model's paper batch sizes and loss; the
conditional CIFAR ResNet with its AC-GAN terms). Real batches are random pixels already in memory
(data loading is not what is measured). The first iteration is a warm-up and is not counted
(``--no-warmup`` times it too).

    python benchmarks/image_models.py                       # every model, 2 timed iterations each
    python benchmarks/image_models.py --models cifar-resnet,mnist --iters 3 --threads 1
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from image.config import paper_config  # noqa: E402
from image.data.source import ImageSource  # noqa: E402
from image.models import MODELS  # noqa: E402
from image.task import ImageTask  # noqa: E402
from seqgan_gp.distributed import SINGLE  # noqa: E402
from seqgan_gp.loop import train_loop  # noqa: E402
from seqgan_gp.runtime import RuntimeOptions, resolve_runtime  # noqa: E402


class RandomImages(ImageSource):
    """Random pixels with labels: the loader's work is negligible next to a training step."""

    def __init__(self, channels: int, n: int = 4096):
        self.name, self.n, self.channels, self.n_classes = "random", n, channels, 10
        self.labels = np.arange(n) % 10
        self._pixels = np.random.default_rng(0).integers(0, 256, size=(256, channels, 128, 128), dtype=np.uint8)

    def read(self, idx, resolution):
        return self._pixels[np.asarray(idx) % 256, :, :resolution, :resolution]


def time_model(model: str, *, conditional: bool, iters: int, device: torch.device, warmup: bool = True) -> dict:
    cfg = paper_config(model)
    cfg = replace(cfg, conditional=conditional, dataset="embedded")
    torch.manual_seed(cfg.seed)
    trainable = ImageTask().build(cfg, RandomImages(cfg.channels), device, SINGLE)
    iteration = trainable.iteration(resolve_runtime(RuntimeOptions(), device))
    try:
        if warmup:
            train_loop(state=trainable.state, iteration=iteration, schedule=replace(cfg, iters=1), start=0)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train_loop(state=trainable.state, iteration=iteration, schedule=replace(cfg, iters=1 + iters), start=1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        sec = (time.perf_counter() - t0) / iters
    finally:
        trainable.close()
    params = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
    return {"model": model + (" (AC-GAN)" if conditional else ""), "px": cfg.resolution, "dim": cfg.dim,
            "batch": f"{cfg.batch_size}/{cfg.batch_size * cfg.gen_batch_multiple}", "critic": cfg.critic_iters,
            "G_M": params(trainable.state.modules["G"]), "D_M": params(trainable.state.modules["D"]), "sec": sec}


@click.command()
@click.option("--models", default=",".join(MODELS), show_default=True, help="Comma-separated models to time.")
@click.option("--iters", type=int, default=2, show_default=True, help="Timed generator iterations per model.")
@click.option("--threads", type=int, default=0, show_default=True, help="torch CPU threads (0: torch's default).")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--warmup/--no-warmup", default=True, show_default=True,
              help="Run one untimed iteration first (skip it for the big models on a CPU, where it costs minutes).")
def main(models, iters, threads, device, warmup):
    if threads:
        torch.set_num_threads(threads)
    con = Console()
    dev = torch.device(device)
    table = Table(title=f"seconds per generator iteration at the paper's sizes ({dev}, {torch.get_num_threads()} "
                        f"threads, torch {torch.__version__})")
    for col in ("model", "px", "DIM", "batch D/G", "critic steps", "G params (M)", "D params (M)", "s / iteration"):
        table.add_column(col, justify="left" if col == "model" else "right")
    runs = [(m, False) for m in models.split(",")]
    if "cifar-resnet" in models.split(","):
        runs.insert(runs.index(("cifar-resnet", False)) + 1, ("cifar-resnet", True))
    for model, conditional in runs:
        r = time_model(model, conditional=conditional, iters=iters, device=dev, warmup=warmup)
        con.print(f"{r['model']}: {r['sec']:.2f} s / iteration")
        table.add_row(r["model"], str(r["px"]), str(r["dim"]), r["batch"], str(r["critic"]), f"{r['G_M']:.2f}",
                      f"{r['D_M']:.2f}", f"{r['sec']:.2f}")
    con.print(table)


if __name__ == "__main__":
    main()
