"""Image metrics of a generator: what training logs every ``--eval-every`` and ``evaluate`` reports.

SWD x1e3 per Laplacian level and MS-SSIM of sample pairs (the published WGAN-GP 128 protocol), and
IS / FID when a local Inception network is given; for a checkpoint, an evaluation document (the
command line renders it as a table).

How many images each metric uses is a :class:`Counts`. ``evaluate`` uses the published protocols by
default (:data:`PUBLISHED`): the Inception Score of 50,000 samples in 10 splits (the paper's 7.86 and
8.42, gan_cifar_resnet.py), FID of 50,000 against 50,000 training images, SWD of 16,384 generated
and as many real images and MS-SSIM of 10,000 generated images in 5,000 pairs (mmgeneration's
``swd16k`` and ``ms_ssim10k``, whose WGAN-GP 128 figures SPEC.md lists); training evaluates every
metric on ``--eval-samples`` images (2,048 by default: cheap, not comparable with a paper). Every
metric is named with its count (seqgan_gp.metrics.counts): ``is50k``, ``fid50k``, ``swd16k_64``,
``ms_ssim10k`` at ``evaluate``, ``swd2k_32`` during training. Samples are generated and scored 100
at a time, so 50,000 of them are never held at once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import torch
from rich.console import Console

from image.config import ImageConfig
from image.data import ImageSource, open_source, to_unit_range
from image.data.batches import scale_pixels
from image.metrics import swd
from image.metrics.inception import InceptionNet, fid, inception_score
from image.metrics.ms_ssim import ms_ssim, to_uint8_pairs
from image.metrics.swd import DIRECTIONS, NHOOD, PER_IMAGE, REPEATS, swd_resolutions
from image.sampling import checkpoint_classes, generate_batches, load_image_generator
from seqgan_gp.configfile import check_seed
from seqgan_gp.errors import UserError
from seqgan_gp.messages import option
from seqgan_gp.metrics.counts import base_name, count_label, count_of, with_count
from seqgan_gp.provenance import versions
from seqgan_gp.rundir import resolve_checkpoint

BATCH = 100  # images generated (and scored) at a time: the reference's Inception Score batches
IS_SPLITS = 10


@dataclass(frozen=True)
class Counts:
    """How many generated images each metric uses (SWD and FID against as many real images)."""

    swd: int  # generated and real images for SWD (published: 16,384, mmgeneration's swd16k)
    ms_ssim: int  # generated images, paired (2k, 2k + 1) (published: 10,000 images = 5,000 pairs)
    inception: int  # generated images for IS (10 splits) and FID; real images for FID (published: 50,000)

    def __post_init__(self):
        if min(self.swd, self.ms_ssim, self.inception) < 2:
            raise UserError(f"-n {min(self.swd, self.ms_ssim, self.inception)}: MS-SSIM needs at least one pair "
                            f"of samples; pass -n 2 or more")

    @classmethod
    def uniform(cls, n: int) -> "Counts":
        """``n`` images for every metric (training's ``--eval-samples``, ``evaluate -n``)."""
        return cls(n, n, n)


PUBLISHED = Counts(swd=16_384, ms_ssim=10_000, inception=50_000)


def inception_pixels(images: torch.Tensor, model: str) -> torch.Tensor:
    """Generated images in [−1, 1] → the uint8 pixels the reference feeds its Inception network,
    ``((x + 1) · (s / 2)).astype('int32')`` in float32: s = 255 for cifar-dcgan (gan_cifar.py line 166),
    255.99 for every other model (gan_cifar_resnet.py line 330, the script of the paper's 7.86 and 8.42)."""
    scale = 255.0 if model == "cifar-dcgan" else 255.99
    return ((images.float() + 1) * (scale / 2)).clamp(0, 255).to(torch.uint8)  # truncation, as astype('int32')


def real_batches(source: ImageSource, n: int, resolution: int, *, seed: int = 1234,
                 batch: int = 256) -> Iterator[torch.Tensor]:
    """``n`` real images (a fixed random subset; drawn with repetition when the set is smaller) as uint8
    (≤ batch, C, R, R) tensors."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(source.n)[:n] if n <= source.n else rng.integers(0, source.n, size=n)
    for i in range(0, n, batch):
        yield torch.from_numpy(source.read(np.sort(idx[i : i + batch]), resolution))


def real_images(source: ImageSource, n: int, resolution: int, *, seed: int = 1234) -> torch.Tensor:
    """All of :func:`real_batches` in one tensor (n, C, R, R)."""
    return torch.cat(list(real_batches(source, n, resolution, seed=seed)))


def as_signed(images: torch.Tensor, unit_range: bool) -> torch.Tensor:
    """Model output → [−1, 1] (the range SWD is computed in, whatever the model's)."""
    return images * 2 - 1 if unit_range else images


Progress = Callable[[str, int], contextlib.AbstractContextManager]  # (description, total) → has advance(done)


def _quiet(description: str, total: int):
    return contextlib.nullcontext(_Silent())


class _Silent:
    def advance(self, done: int) -> None:
        pass


class ImageEvaluator:
    """SWD (x1e3 per pyramid level and average) of ``counts.swd`` generated vs as many real images,
    MS-SSIM over pairs of ``counts.ms_ssim`` generated images, and with an Inception network IS and
    FID of ``counts.inception``. ``progress(description, total)`` shows long work (real features,
    generated images)."""

    def __init__(self, cfg: ImageConfig, G, source: Optional[ImageSource], *, counts: Counts,
                 inception: Optional[InceptionNet] = None, seed: int = 0, progress: Progress = _quiet):
        self.cfg, self.G, self.counts, self.inception, self.seed = cfg, G, counts, inception, seed
        self.progress = progress
        self.real, self.real_features = None, None
        if source is not None:
            real_u8 = real_images(source, counts.swd, cfg.resolution)
            self.real = torch.from_numpy(scale_pixels(real_u8.numpy(), "255"))
            if inception is not None:
                self.real_features = self._real_features(source, counts.inception, real_u8)
        self.n_classes = source.n_classes if source is not None else 0

    def _real_features(self, source: ImageSource, n: int, first: torch.Tensor) -> np.ndarray:
        batches = [first] if n == first.shape[0] else real_batches(source, n, self.cfg.resolution)
        feats, done = [], 0
        with self.progress(f"Inception features of {n:,} real images", n) as bar:
            for images in batches:
                feats.append(self.inception.features(images))
                done += images.shape[0]
                bar.advance(done)
        return np.concatenate(feats)

    def generated(self) -> int:
        """How many images the metrics at hand need."""
        c = self.counts
        return max(c.ms_ssim, c.swd if self.real is not None else 0, c.inception if self.inception else 0)

    def __call__(self, iteration: int) -> dict:
        c, n = self.counts, self.generated()
        labels = None
        if self.cfg.conditional:
            labels = torch.randint(0, self.n_classes, (n,), generator=torch.Generator().manual_seed(self.seed + 11))
        swd_fakes, ms_sum, ms_pairs, probs, feats = [], 0.0, 0, [], []
        done = 0
        with self.progress(f"{n:,} generated images", n) as bar:
            for images in generate_batches(self.G, n, seed=self.seed + 7, labels=labels, batch_size=BATCH):
                signed = as_signed(images, self.cfg.unit_range)
                if self.real is not None and done < c.swd:
                    swd_fakes.append(signed[: c.swd - done])
                pairs = min(images.shape[0], max(c.ms_ssim - done, 0)) // 2  # BATCH is even: pairs (2k, 2k+1)
                if pairs:
                    a, b = to_uint8_pairs(to_unit_range(images[: 2 * pairs], self.cfg.unit_range))
                    ms_sum, ms_pairs = ms_sum + float(ms_ssim(a, b).sum()), ms_pairs + pairs
                if self.inception is not None and done < c.inception:
                    u8 = inception_pixels(signed[: c.inception - done], self.cfg.model)
                    probs.append(self.inception.probabilities(u8))
                    if self.real_features is not None:
                        feats.append(self.inception.features(u8))
                done += images.shape[0]
                bar.advance(done)
        out: dict = {}
        if swd_fakes:
            label = count_label(c.swd)
            out.update({f"swd{label}{k[3:]}": v for k, v in swd(self.real, torch.cat(swd_fakes), seed=self.seed).items()})
        out[with_count("ms_ssim", c.ms_ssim)] = ms_sum / ms_pairs
        if probs and c.inception >= IS_SPLITS:
            name = with_count("is", c.inception)
            out[name], out[f"{name}_std"] = inception_score(np.concatenate(probs), IS_SPLITS)
        if feats:
            out[with_count("fid", c.inception)] = fid(self.real_features, np.concatenate(feats))
        return out


DESCRIPTIONS = {
    "swd": "SWD x1e3 at the {px} px Laplacian level (lower: closer to the data)",
    "swd_avg": "SWD x1e3 averaged over levels",
    "ms_ssim": "MS-SSIM of sample pairs (lower: more diverse)",
    "is": "Inception Score, 10 splits (higher better)",
    "is_std": "its standard deviation over splits",
    "fid": "FID vs as many training images (lower better)",
}


def describe(name: str) -> str:
    """What a metric of :class:`ImageEvaluator` means, for the evaluate table."""
    base, count = base_name(name), count_of(name)
    if base.startswith("swd_") and base[4:].isdigit():
        text = DESCRIPTIONS["swd"].format(px=base[4:])
    else:
        text = DESCRIPTIONS.get(base, "")
    if base == "ms_ssim" and count:
        return f"{text}, {count} images"
    return f"{text}, {count} samples" if text and count else text


def evaluate_image(target: Path, *, n: Optional[int] = None, seed: int, device: torch.device, console: Console,
                   inception_weights: Optional[str] = None, data_dir: Optional[str] = None,
                   show_progress: bool = True, ema: bool = True) -> dict:
    """Metrics of an image checkpoint on the published protocols (``n`` None) or ``n`` images for every
    metric (of G_ema when the run kept it and ``ema``); returns the evaluation document (eval_<iteration>.json).

    The real images come from ``data_dir`` (the command's --data-dir) when given; a folder the
    checkpoint names is never read (it could name any folder): without --data-dir, SWD and FID are
    left out for a dataset read from a folder, with a note saying what to pass.
    """
    from image.memory import check_sampling

    counts = PUBLISHED if n is None else Counts.uniform(n)
    check_seed(seed)
    path = resolve_checkpoint(Path(target))
    G, cfg, meta = load_image_generator(path, device, ema=ema)
    # images are generated 100 at a time; SWD's descriptors and MS-SSIM's pairs are what grows with the count
    check_sampling(cfg, checkpoint_classes(path, meta), max(counts.swd, counts.ms_ssim), device, metrics=True)
    notes = []
    source = None
    if data_dir is None and cfg.data_dir is not None and cfg.dataset != "embedded":
        notes.append(f"the checkpoint's dataset is read from a folder it names, which is read only when you name it: "
                     f"SWD and FID are left out; add {option('--data-dir', cfg.data_dir)} (the checkpoint's) to "
                     f"compute them")
    else:
        try:
            source = open_source(cfg.dataset, data_dir or cfg.data_dir, max_examples=cfg.max_examples,
                                 embedded_size=cfg.embedded_size)
            recorded = meta.get("data") if isinstance(meta.get("data"), dict) else {}
            if source.fingerprint() != recorded.get("fingerprint"):
                notes.append(f"the dataset {cfg.dataset!r} differs from the one trained on; SWD/FID are against its "
                             f"current content")
        except UserError as exc:
            notes.append(f"dataset unavailable ({exc}); SWD and FID, which need real images, are left out")
    inception = InceptionNet(inception_weights, device) if inception_weights else None
    if inception is None:
        notes.append("no --inception-weights: Inception Score and FID are left out")
    progress = _bars(console) if show_progress else _quiet
    evaluator = ImageEvaluator(cfg, G, source, counts=counts, inception=inception, seed=seed, progress=progress)
    values = evaluator(int(meta.get("iteration", 0)))
    res = swd_resolutions(cfg.resolution)
    c = counts
    scale, script = ("255", "gan_cifar.py") if cfg.model == "cifar-dcgan" else ("255.99", "gan_cifar_resnet.py")
    return {
        "kind": "image", "checkpoint": str(path), "iteration": meta.get("iteration"), "model": cfg.model,
        "dataset": cfg.dataset, "conditional": cfg.conditional, "samples": evaluator.generated(), "seed": seed,
        "weights": meta["weights"],
        "counts": {"swd": c.swd, "ms_ssim": c.ms_ssim, "inception": c.inception},
        "protocol": "published (IS and FID 50k, SWD 16,384, MS-SSIM 10,000)" if n is None else f"-n {n}",
        "metrics": values,
        "swd_protocol": (f"{c.swd} generated vs {c.swd} real images at {cfg.resolution} px, Laplacian levels {res} "
                         f"(binomial 5x5 blur, zero padding, nearest upsampling as mmgeneration), {PER_IMAGE} "
                         f"{NHOOD}x{NHOOD} neighbourhoods per image and level, descriptors normalised per set and "
                         f"channel, {REPEATS} x {DIRECTIONS} random directions, x1e3 (published: 16,384 images)"),
        "ms_ssim_protocol": (f"mean MS-SSIM over {c.ms_ssim // 2} pairs (2k, 2k+1) of {c.ms_ssim} generated images, "
                             f"uint8 by x·255, 11x11 Gaussian σ 1.5, 5 scales (published: 10,000 images, 5,000 "
                             f"pairs)"),
        "inception_protocol": (f"{c.inception} samples in batches of {BATCH}, pixels (x+1)·{scale}/2 truncated as "
                               f"{script}, TorchScript Inception {inception.path.name}, IS over {IS_SPLITS} splits, "
                               f"FID vs {c.inception} training images (published: 50,000)" if inception else None),
        "versions": versions(("seqgan_gp", "numpy", "torch", "pillow")), "notes": notes,
    }


class _Shown:
    """``advance(done)`` on a seqgan_gp.progress bar: the bar on a terminal, plain lines elsewhere."""

    def __init__(self, progress):
        self.progress = progress

    def advance(self, done: int) -> None:
        self.progress.advance(done)
        self.progress.update({"iteration": done})


def _bars(console: Console) -> Progress:
    """A progress display per stage on ``console`` (seqgan_gp.progress)."""
    from seqgan_gp.progress import TrainingProgress

    @contextlib.contextmanager
    def bar(description: str, total: int):
        with TrainingProgress(console, total, description=description) as shown:
            yield _Shown(shown)

    return bar
