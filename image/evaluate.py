"""Image metrics of a generator: what training logs every ``--eval-every`` and ``evaluate`` reports.

SWD x1e3 per Laplacian level and MS-SSIM of sample pairs (the published WGAN-GP 128 protocol), and
IS / FID when a local Inception network is given; for a checkpoint, a metrics.json document (the
command line renders it as a table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch
from rich.console import Console

from image.config import ImageConfig
from image.data import ImageSource, open_source, to_unit_range
from image.data.batches import scale_pixels
from image.metrics import ms_ssim_of_samples, swd
from image.metrics.inception import InceptionNet, fid, inception_score
from image.metrics.swd import DIRECTIONS, NHOOD, PER_IMAGE, REPEATS, swd_resolutions
from image.sampling import generate, load_image_generator
from seqgan_gp.errors import UserError
from seqgan_gp.provenance import versions
from seqgan_gp.rundir import resolve_checkpoint

def real_images(source: ImageSource, n: int, resolution: int, *, seed: int = 1234) -> torch.Tensor:
    """``n`` real images (a fixed random subset) as uint8 (n, C, R, R); repeats when the set is smaller."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(source.n)[:n] if n <= source.n else rng.integers(0, source.n, size=n)
    out = [source.read(np.sort(idx[i : i + 256]), resolution) for i in range(0, n, 256)]
    return torch.from_numpy(np.concatenate(out))


def as_signed(images: torch.Tensor, unit_range: bool) -> torch.Tensor:
    """Model output → [−1, 1] (the range SWD is computed in, whatever the model's)."""
    return images * 2 - 1 if unit_range else images


class ImageEvaluator:
    """SWD (x1e3 per pyramid level and average) of ``eval_samples`` generated vs as many real images,
    MS-SSIM over pairs of the generated images, and with an Inception network IS and FID."""

    def __init__(self, cfg: ImageConfig, G, source: Optional[ImageSource], *, n: int,
                 inception: Optional[InceptionNet] = None, seed: int = 0):
        self.cfg, self.G, self.n, self.inception, self.seed = cfg, G, n, inception, seed
        self.labels_for = None
        self.real_u8 = real_images(source, n, cfg.resolution) if source is not None else None
        self.real = None if self.real_u8 is None else torch.from_numpy(scale_pixels(self.real_u8.numpy(), "255"))
        self.real_features = None
        if inception is not None and self.real_u8 is not None:
            self.real_features = inception.features(self.real_u8)
        self.n_classes = source.n_classes if source is not None else 0

    def __call__(self, iteration: int) -> dict:
        labels = None
        if self.cfg.conditional:
            labels = torch.randint(0, self.n_classes, (self.n,), generator=torch.Generator().manual_seed(self.seed + 11))
        fake = generate(self.G, self.n, seed=self.seed + 7, labels=labels)
        out: dict = {}
        if self.real is not None:
            out.update(swd(self.real, as_signed(fake, self.cfg.unit_range), seed=self.seed))
        unit = to_unit_range(fake, self.cfg.unit_range)
        out["ms_ssim"] = ms_ssim_of_samples(unit)
        if self.inception is not None:
            u8 = (unit * 255.99).to(torch.uint8)  # tflib: (x+1)·255.99/2
            if self.n >= 10:
                out["is"], out["is_std"] = inception_score(self.inception.probabilities(u8))
            if self.real_features is not None:
                out["fid"] = fid(self.real_features, self.inception.features(u8))
        return out


DESCRIPTIONS = {
    "swd": "SWD x1e3 at the {n} px Laplacian level (lower: closer to the data)",
    "swd_avg": "SWD x1e3 averaged over levels",
    "ms_ssim": "MS-SSIM of sample pairs (lower: more diverse)",
    "is": "Inception Score, 10 splits (higher better)",
    "is_std": "its standard deviation over splits",
    "fid": "FID vs as many training images (lower better)",
}


def describe(name: str) -> str:
    if name.startswith("swd_") and name[4:].isdigit():
        return DESCRIPTIONS["swd"].format(n=name[4:])
    return DESCRIPTIONS.get(name, "")


def evaluate_image(target: Path, *, n: int, seed: int, device: torch.device, console: Console,
                   inception_weights: Optional[str] = None, ema: bool = True) -> dict:
    """Metrics of ``n`` samples of an image checkpoint; returns the metrics.json document."""
    if n < 2:
        raise UserError(f"-n {n}: MS-SSIM needs at least one pair of samples; pass -n 2 or more")
    path = resolve_checkpoint(Path(target))
    G, cfg, meta = load_image_generator(path, device, ema=ema)
    notes = []
    try:
        source = open_source(cfg.dataset, cfg.data_dir, max_examples=cfg.max_examples, embedded_size=cfg.embedded_size)
        if source.fingerprint() != meta.get("data", {}).get("fingerprint"):
            notes.append(f"the dataset {cfg.dataset!r} differs from the one trained on; SWD/FID are against its "
                         f"current content")
    except UserError as exc:
        source = None
        notes.append(f"dataset unavailable ({exc}); SWD and FID, which need real images, are left out")
    inception = InceptionNet(inception_weights, device) if inception_weights else None
    if inception is None:
        notes.append("no --inception-weights: Inception Score and FID are left out")
    evaluator = ImageEvaluator(cfg, G, source, n=n, inception=inception, seed=seed)
    values = evaluator(int(meta.get("iteration", 0)))
    res = swd_resolutions(cfg.resolution)
    return {
        "kind": "image", "checkpoint": str(path), "iteration": meta.get("iteration"), "model": cfg.model,
        "dataset": cfg.dataset, "conditional": cfg.conditional, "samples": n, "seed": seed, "weights": meta["weights"],
        "metrics": values,
        "swd_protocol": (f"{n} generated vs {n} real images at {cfg.resolution} px, Laplacian levels {res} "
                         f"(binomial 5x5 blur, zero padding, nearest upsampling as mmgeneration), {PER_IMAGE} "
                         f"{NHOOD}x{NHOOD} neighbourhoods per image and level, descriptors normalised per set and "
                         f"channel, {REPEATS} x {DIRECTIONS} random directions, x1e3 (published: 16,384 images)"),
        "ms_ssim_protocol": (f"mean MS-SSIM over {n // 2} pairs (2k, 2k+1) of generated images, uint8 by x·255, "
                             f"11x11 Gaussian σ 1.5, 5 scales (published: 10,000 images)"),
        "inception_protocol": (f"{n} samples, TorchScript Inception {inception.path.name}, IS over 10 splits, "
                               f"FID vs {n} training images" if inception else None),
        "versions": versions(("seqgan_gp", "numpy", "torch", "pillow")), "notes": notes,
    }
