"""How much memory an image configuration needs (seqgan_gp.memory), before any network is built.

The networks are built on PyTorch's ``meta`` device, which records shapes and allocates nothing:
their parameters are counted exactly, and one meta forward pass of G and of the critic counts the
values a pass keeps per example (the output of every layer). A training step keeps a generator
pass and the critic's passes over real, fake and interpolated images with the penalty's double
backward (counted as 2 and 8 passes: measured steps of cifar-resnet, resnet64 and dcgan64 stay
below this by 1.2 to 2 times). An evaluation holds ``eval_samples`` generated and as many
real images with their SWD pyramids and descriptors: measured at 580 kB an image at 32 px,
790 kB at 64 px and 4.6 MB at 128 px (ru_maxrss), estimated as 120 bytes a pixel and channel plus 500 kB.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from image.config import ImageConfig
from seqgan_gp.config import paper_value
from seqgan_gp.memory import FLOAT, Need, refuse_if_too_big, step_bytes
from seqgan_gp.messages import flag

EVAL_BYTES_PER_PIXEL = 120  # per pixel and channel of each evaluated image, besides ...
EVAL_BYTES_PER_IMAGE = 500_000  # ... its SWD descriptors and the metrics' working arrays
SAMPLE_BYTES_PER_PIXEL = 16  # a grid: float images, their uint8 copy and the PNG being encoded


def meta_networks(cfg: ImageConfig, n_classes: int):
    """G and D of ``cfg`` on the ``meta`` device: shapes without memory."""
    from image.sampling import build_networks

    meta = torch.device("meta")
    with meta:
        return build_networks(cfg, n_classes, meta)


def network_sizes(cfg: ImageConfig, n_classes: int) -> tuple[int, int, int, int]:
    """``(G values, D values, G activations, D activations)``: the float numbers of each network's
    state (parameters and batch-norm statistics) and the values one example keeps in a pass."""
    meta = torch.device("meta")
    G, D = meta_networks(cfg, n_classes)
    sizes = [sum(t.numel() for t in m.state_dict().values() if t.is_floating_point()) for m in (G, D)]
    kept: list[int] = []

    def count(module, inputs, output):
        if isinstance(output, torch.Tensor):
            kept.append(output.numel())

    hooks = [m.register_forward_hook(count) for m in (*G.modules(), *D.modules()) if not list(m.children())]
    try:
        labels = {"labels": torch.zeros(2, dtype=torch.long, device=meta)} if cfg.conditional else {}
        fake = G(torch.zeros(2, G.z_dim, device=meta), **labels)
        per_g = sum(kept) // 2
        kept.clear()
        D(fake)  # an AC-GAN critic predicts the labels: it takes none
        per_d = sum(kept) // 2
    finally:
        for h in hooks:
            h.remove()
    return sizes[0], sizes[1], per_g, per_d


def evaluation(n: int, cfg: ImageConfig) -> int:
    """Host bytes of the metrics of ``n`` images."""
    return n * (EVAL_BYTES_PER_PIXEL * cfg.channels * cfg.resolution ** 2 + EVAL_BYTES_PER_IMAGE)


def check_training(cfg: ImageConfig, n_classes: int, device: torch.device) -> None:
    """Refuse an image configuration whose run does not fit in memory."""
    def need(*, dim: int, batch_size: int, eval_samples: int) -> Need:
        G, D, aG, aD = network_sizes(replace(cfg, dim=dim), n_classes)
        batch = batch_size * cfg.gen_batch_multiple
        slots = 2 if cfg.loss in ("wgan-gp", "wgan-gp-one-sided", "dcgan") else 1
        return Need(device=step_bytes(G + D, 2 * aG + 8 * aD, batch, optimizer_slots=slots),
                    host=evaluation(eval_samples, cfg))

    names = ("dim", "batch_size", "eval_samples")
    refuse_if_too_big("training this model", need, {flag(n): getattr(cfg, n) for n in names}, device,
                      usual={flag(n): paper_value(cfg, n) for n in names})


def check_sampling(cfg: ImageConfig, n_classes: int, n: int, device: torch.device, *, metrics: bool,
                   rows: int = 1) -> None:
    """Refuse ``n`` images (``rows`` times, one row per class) that do not fit in memory."""
    G, _, aG, _ = network_sizes(cfg, n_classes)
    pixels = cfg.channels * cfg.resolution ** 2

    def need(*, n: int) -> Need:
        images = n * rows
        host = evaluation(images, cfg) if metrics else images * SAMPLE_BYTES_PER_PIXEL * pixels
        return Need(device=FLOAT * (G + aG * max(n, 100)), host=host)

    refuse_if_too_big("the samples" + (" and their metrics" if metrics else ""), need, {"-n": n}, device)
