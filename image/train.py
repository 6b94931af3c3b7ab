"""``train-image``: the paper's image WGAN-GP models from a dataset to a run directory.

Everything generic lives in the shared core: the loop (seqgan_gp.loop), the losses, trainer.fit
(progress, metrics log, checkpoints, SIGINT/SIGTERM), checkpoints and run directories. This module
builds the image parts (networks, optimizers, batch source, loss), the periodic PNG grids from a
fixed noise batch, and the periodic SWD / MS-SSIM (/ IS / FID) evaluation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from rich.console import Console

from image.acgan import ACGAN
from image.config import ImageConfig, with_overrides
from image.data import ImageBatches, ImageSource, open_source, to_unit_range
from image.data.batches import scale_pixels
from image.grid import save_grid
from image.metrics import ms_ssim_of_samples, swd
from image.metrics.inception import InceptionNet, fid, inception_score
from image.models import build_models
from seqgan_gp.checkpoint import load_checkpoint, module_from_flat
from seqgan_gp.distributed import SINGLE, DistContext
from seqgan_gp.errors import UserError
from seqgan_gp.loop import LoopConfig
from seqgan_gp.losses import LOSS_DEFAULTS, make_loss, make_optimizer
from seqgan_gp.provenance import git_commit, versions
from seqgan_gp.rundir import RunDir, resolve_checkpoint
from seqgan_gp.step import Runtime, RuntimeOptions, resolve_runtime
from seqgan_gp.trainer import FaultPolicy, FitResult, Parts, disk_safe, fit, load_state, open_run, session

KIND = "image"
RESUME_OVERRIDABLE = ("iters", "log_every", "sample_every", "eval_every", "eval_samples", "checkpoint_every",
                      "keep_checkpoints", "inception_weights", "data_dir")


def scaling(cfg: ImageConfig) -> str:
    """How the batch loader maps pixels into the model's range (image.data.batches)."""
    if cfg.unit_range:
        return "unit"
    return "dequant" if cfg.dequantize else "255"


def make_networks(cfg: ImageConfig, n_classes: int, device: torch.device):
    return tuple(m.to(device) for m in build_models(
        cfg.model, dim=cfg.dim, z_dim=cfg.z_dim, channels=cfg.channels,
        n_classes=n_classes if cfg.conditional else 0, g_batch_norm=cfg.loss == "wgan"))


def make_loss_for(cfg: ImageConfig):
    base = make_loss(cfg.loss, lambda_gp=cfg.lambda_gp, clip=cfg.clip)
    return ACGAN(base, scale_d=cfg.acgan_scale, scale_g=cfg.acgan_scale_g) if cfg.conditional else base


def build_parts(cfg: ImageConfig, source: ImageSource, device: torch.device, dist: DistContext = SINGLE) -> Parts:
    """Networks, optimizers, batch source, loss and RNG, all seeded from ``cfg.seed``; with several
    data-parallel ranks each draws its slice of every global batch (seqgan_gp.distributed)."""
    torch.manual_seed(cfg.seed)
    G, D = make_networks(cfg, source.n_classes, device)
    opt = LOSS_DEFAULTS[cfg.loss].optimizer
    batches = ImageBatches(source, batch_size=cfg.batch_size, seed=cfg.seed, device=device,
                           resolution=cfg.resolution, scaling=scaling(cfg), conditional=cfg.conditional,
                           rank=dist.rank, world=dist.world)
    return Parts(G=G, D=D, g_opt=make_optimizer(opt, G.parameters(), lr=cfg.lr, betas=cfg.betas),
                 d_opt=make_optimizer(opt, D.parameters(), lr=cfg.lr, betas=cfg.betas), batches=batches,
                 loss=make_loss_for(cfg), z_dim=cfg.z_dim, rng=torch.Generator(device=device).manual_seed(cfg.seed + 1))


def loop_config(cfg: ImageConfig) -> LoopConfig:
    return LoopConfig(iters=cfg.iters, n_critic=cfg.critic_iters, batch_size=cfg.batch_size,
                      gen_batch_size=cfg.batch_size * cfg.gen_batch_multiple, lr_decay=cfg.lr_decay, log_every=cfg.log_every,
                      sample_every=cfg.sample_every, eval_every=cfg.eval_every, checkpoint_every=cfg.checkpoint_every)


# -- generating ------------------------------------------------------------------------------------

@torch.no_grad()
def generate(G, n: int, *, seed: int, labels: Optional[torch.Tensor] = None, batch_size: int = 100) -> torch.Tensor:
    """``n`` images from fixed noise (its own generator seeded with ``seed``), in G's range, on the CPU.

    The generators' batch norm uses batch statistics (as the paper's code when sampling), so images
    are made in batches of ``batch_size``; a grid is made in one batch.
    """
    device = next(G.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    z = torch.randn(n, G.z_dim, device=device, generator=gen)
    out = []
    for i in range(0, n, batch_size):
        extra = {} if labels is None else {"labels": labels[i : i + batch_size].to(device)}
        out.append(G(z[i : i + batch_size], **extra).float().cpu())
    return torch.cat(out)


def grid_labels(cfg: ImageConfig, n_classes: int, n: int) -> Optional[torch.Tensor]:
    """The paper's fixed grid labels: 0..K−1 repeated, so each grid row runs through the classes."""
    return torch.arange(n) % n_classes if cfg.conditional else None


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


# -- the run -----------------------------------------------------------------------------------------

@dataclass
class ImageRun:
    run_dir: Optional[Path]  # None on data-parallel ranks other than 0
    result: FitResult
    grids: list[Path]  # sample grids written, in order
    metrics: list[dict]  # the run's metrics records (metrics.jsonl)


def _open_run(overrides: dict, base: ImageConfig, out: Optional[Path], resume: Optional[Path], overwrite: bool):
    """The config, run directory and checkpoint to start from (None for a fresh run)."""
    return open_run(kind=KIND, base=base, overrides=overrides, out=out, resume=resume, overwrite=overwrite,
                    configure=with_overrides, from_dict=ImageConfig.from_dict,
                    default_name=lambda cfg: f"image-{cfg.dataset}-{cfg.model}", resumable=RESUME_OVERRIDABLE)


def train_image(*, base: ImageConfig, overrides: dict, device: torch.device, console: Console,
                out: Optional[Path] = None, resume: Optional[Path] = None, overwrite: bool = False,
                command: Optional[list[str]] = None, show_progress: bool = True,
                tensorboard: bool = False, runtime: RuntimeOptions = RuntimeOptions(),
                faults: FaultPolicy = FaultPolicy(), dist: DistContext = SINGLE) -> ImageRun:
    """Train (or resume) an image WGAN-GP run; returns where it is and what it wrote.

    ``tensorboard`` also logs every metrics record to RUN_DIR/tensorboard/; ``runtime`` (--compile,
    --amp, ...) says how the steps execute and ``faults`` what a NaN does (seqgan_gp.trainer). Under
    torchrun (``dist``) rank 0 opens the run directory and writes everything; all ranks train."""
    rt = resolve_runtime(runtime, device, dist)  # before the run directory: a bad option leaves nothing behind
    with session(lambda: _open_run(overrides, base, out, resume, overwrite), dist=dist,
                 tensorboard=tensorboard) as (cfg, run, ckpt, loggers):
        return _train(cfg, run, ckpt, device, console if dist.is_main else Console(quiet=True), command,
                      show_progress and dist.is_main, loggers, rt, faults)


def _train(cfg: ImageConfig, run: Optional[RunDir], ckpt, device, console, command, show_progress, loggers,
           rt: Runtime, faults: FaultPolicy) -> ImageRun:
    world = rt.dist.world
    source = open_source(cfg.dataset, cfg.data_dir, max_examples=cfg.max_examples, embedded_size=cfg.embedded_size)
    if source.n < cfg.batch_size * world:
        ranks = f" x {world} ranks" if world > 1 else ""
        raise UserError(f"--batch-size {cfg.batch_size}: the dataset has only {source.n} images, fewer than one "
                        f"batch{ranks}; pass a smaller --batch-size or more images")
    if cfg.conditional and source.labels is None:
        raise UserError(f"--conditional: {source.name} has no labels")
    digest = source.fingerprint()
    data_doc = {"name": source.name, "images": source.n, "classes": source.n_classes, "channels": source.channels,
                "fingerprint": digest}
    if ckpt is not None:
        _, saved_meta = load_checkpoint(ckpt, kind=KIND)
        if saved_meta.get("data", {}).get("fingerprint") != digest:
            raise UserError(f"--resume {ckpt.parent.parent}: the dataset {cfg.dataset!r} differs from the one the run started "
                            f"with (fingerprint {digest} vs {saved_meta.get('data', {}).get('fingerprint')}); "
                            f"restore it or start a new run")
    inception = InceptionNet(cfg.inception_weights, device) if cfg.inception_weights and run is not None else None

    parts = build_parts(cfg, source, device, rt.dist)
    meta_doc = {"config": asdict(cfg), "data": data_doc}
    start = 0
    if ckpt is not None:
        start = load_state(ckpt, parts, kind=KIND)["iteration"]  # the decay's base lr is in the optimizer state
        console.print(f"resuming {ckpt.parent.parent} from iteration {start} ({ckpt.name})")
    if run is None:  # not rank 0: train, write nothing
        try:
            result = fit(run=None, parts=parts, loop_cfg=loop_config(cfg), kind=KIND, meta=meta_doc, console=console,
                         start=start, show_progress=False, runtime=rt, faults=faults)
        finally:
            parts.batches.close()
        return ImageRun(None, result, [], [])
    run.write_config({"kind": KIND, **meta_doc, "device": str(device), "runtime": rt.to_json(), "versions": versions(),
                      "git_commit": git_commit(), "command": command})

    grids: list[Path] = []
    fixed_labels = grid_labels(cfg, source.n_classes, cfg.sample_grid)

    def sample(iteration: int) -> None:
        images = generate(parts.G, cfg.sample_grid, seed=cfg.seed, labels=fixed_labels, batch_size=cfg.sample_grid)
        grids.append(save_grid(to_unit_range(images, cfg.unit_range), run.samples / f"samples_{iteration:08d}.png"))

    evaluator = None
    if cfg.eval_every:
        evaluator = ImageEvaluator(cfg, parts.G, source, n=cfg.eval_samples, inception=inception)

    console.print(f"[bold]train-image[/] {cfg.model} on {source.name} ({source.n:,} images, {cfg.resolution} px, "
                  f"{source.channels} channel{'s' if source.channels > 1 else ''}"
                  f"{', conditional AC-GAN' if cfg.conditional else ''}), DIM {cfg.dim}, batch {cfg.batch_size}, "
                  f"{cfg.critic_iters} critic steps, {cfg.loss}, run {run.path}")
    console.print(f"runtime: {rt.describe()}")
    if rt.dist.enabled and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in parts.G.modules()):
        console.print(f"[yellow]note: the {cfg.model} generator's batch norm normalises over each rank's "
                      f"{cfg.batch_size} examples, not the global batch (the critic has no batch statistics)")
    try:
        result = fit(run=run, parts=parts, loop_cfg=loop_config(cfg), kind=KIND, meta=meta_doc, console=console,
                     start=start, keep_checkpoints=cfg.keep_checkpoints, sample=sample if cfg.sample_every else None,
                     evaluate=evaluator, show_progress=show_progress, loggers=loggers, runtime=rt, faults=faults)
    finally:
        parts.batches.close()
    if not grids and result.stopped_by is None:
        disk_safe(run, sample)(result.iteration)
    return ImageRun(run.path, result, grids, run.metrics())


# -- using a checkpoint ----------------------------------------------------------------------------------

def load_image_generator(target: Path, device: torch.device):
    """(G, cfg, meta) of a run directory (its newest checkpoint) or an image checkpoint file."""
    path = resolve_checkpoint(Path(target))
    tensors, meta = load_checkpoint(path, kind=KIND)
    try:
        cfg = ImageConfig.from_dict(meta["config"], str(path))
        n_classes = int(meta["data"]["classes"])
    except (KeyError, ValueError, TypeError) as exc:
        raise UserError(f"{path}: checkpoint metadata lacks a usable image config ({exc})") from None
    G, _ = make_networks(cfg, n_classes, device)
    module_from_flat("G", G, tensors, path)
    return G, cfg, meta


def sample_image(target: Path, *, n: int, seed: int, device: torch.device, out: Optional[Path] = None,
                 classes: Optional[list[int]] = None) -> tuple[Path, int]:
    """Write a PNG grid of samples; returns (path, rows).

    Unconditional: ``n`` images in the paper's grid layout. Conditional: one row per class (all
    classes, or ``classes``), ``n`` images per row, each row generated with its class label.
    """
    if n < 1:
        raise UserError(f"-n {n}: ask for at least one sample")
    path = resolve_checkpoint(Path(target))
    G, cfg, meta = load_image_generator(path, device)
    n_classes = int(meta["data"]["classes"])
    if classes and not cfg.conditional:
        raise UserError(f"--classes: {path} is an unconditional model; it cannot be asked for classes")
    rows = None
    labels = None
    if cfg.conditional:
        classes = list(range(n_classes)) if not classes else classes
        bad = [c for c in classes if not 0 <= c < n_classes]
        if bad:
            raise UserError(f"--classes {','.join(map(str, bad))}: the model knows classes 0..{n_classes - 1}")
        labels = torch.tensor(classes).repeat_interleave(n)  # row k: n images of classes[k]
        rows = len(classes)
    images = generate(G, labels.numel() if labels is not None else n, seed=seed, labels=labels,
                      batch_size=max(n, 100))
    if out is None:
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        folder = run_dir / "samples" if (run_dir / "samples").is_dir() else run_dir
        out = folder / f"sample_{meta.get('iteration', 0):08d}_seed{seed}.png"
    save_grid(to_unit_range(images, cfg.unit_range), Path(out), rows=rows)
    return Path(out), rows or 0
