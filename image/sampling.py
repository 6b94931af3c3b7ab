"""Images from an image generator: fixed-noise batches, and PNG grids from a checkpoint (``sample``)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

import torch

from image.config import KIND, ImageConfig
from image.data import to_unit_range
from image.grid import save_grid
from image.models import build_models
from seqgan_gp.checkpoint import check_module_shapes, load_checkpoint, module_from_flat
from seqgan_gp.configfile import check_seed, config_from_dict
from seqgan_gp.ema import load_generator_weights
from seqgan_gp.errors import UserError
from seqgan_gp.rundir import resolve_checkpoint


def build_networks(cfg: ImageConfig, n_classes: int, device: torch.device):
    """G and D of ``cfg.model`` on ``device``; ``n_classes`` labels for a conditional run; the critic
    normalised by ``cfg.critic_norm``, the generator as the reference's for ``cfg.loss``."""
    return tuple(m.to(device) for m in build_models(
        cfg.model, dim=cfg.dim, z_dim=cfg.z_dim, channels=cfg.channels,
        n_classes=n_classes if cfg.conditional else 0, loss=cfg.loss, critic_norm=cfg.critic_norm))


@torch.no_grad()
def generate_batches(G, n: int, *, seed: int, labels: Optional[torch.Tensor] = None,
                     batch_size: int = 100) -> Iterator[torch.Tensor]:
    """``n`` images from fixed noise (its own generator seeded with ``seed``), in G's range, on the CPU,
    ``batch_size`` at a time: an evaluation of 50,000 samples never holds them all.

    The generators' batch norm uses batch statistics (as the paper's code when sampling), so the
    images depend on ``batch_size`` (the reference's Inception Score: batches of 100).
    """
    device = next(G.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    z = torch.randn(n, G.z_dim, device=device, generator=gen)
    for i in range(0, n, batch_size):
        extra = {} if labels is None else {"labels": labels[i : i + batch_size].to(device)}
        yield G(z[i : i + batch_size], **extra).float().cpu()


def generate(G, n: int, *, seed: int, labels: Optional[torch.Tensor] = None, batch_size: int = 100) -> torch.Tensor:
    """All of :func:`generate_batches` in one tensor (N, C, R, R); a grid is made in one batch."""
    return torch.cat(list(generate_batches(G, n, seed=seed, labels=labels, batch_size=batch_size)))


def grid_labels(cfg: ImageConfig, n_classes: int, n: int) -> Optional[torch.Tensor]:
    """The paper's fixed grid labels: 0..K−1 repeated, so each grid row runs through the classes."""
    return torch.arange(n) % n_classes if cfg.conditional else None


MAX_CLASSES = 100_000  # a label embedding larger than this is not a dataset's, it is damage


def checkpoint_classes(path: Path, meta: dict) -> int:
    """The classes an image checkpoint's generator was trained on (its dataset's), checked."""
    data = meta.get("data")
    classes = data.get("classes") if isinstance(data, dict) else None
    if not isinstance(classes, int) or isinstance(classes, bool) or not 0 <= classes <= MAX_CLASSES:
        raise UserError(f"{path}: checkpoint metadata gives {classes!r} classes, not a whole number from 0 to "
                        f"{MAX_CLASSES}; the file was modified; use an intact checkpoint of the run")
    return classes


def load_image_generator(target: Path, device: torch.device, *, ema: bool = True):
    """(G, cfg, meta) of a run directory (its newest checkpoint) or an image checkpoint file: the average
    of G's weights when the run kept one (--ema-decay) and ``ema``, else G; ``meta["weights"]`` says which.
    The size of the generator its metadata describes is checked against its tensors before G is built."""
    from image.memory import meta_networks

    path = resolve_checkpoint(Path(target))
    tensors, meta = load_checkpoint(path, kind=KIND)
    cfg = config_from_dict(ImageConfig, meta.get("config"), str(path))
    n_classes = checkpoint_classes(path, meta)
    if cfg.conditional and n_classes < 1:
        raise UserError(f"{path}: a conditional model of 0 classes; the metadata was modified; use an intact "
                        f"checkpoint of the run")
    check_module_shapes("G", meta_networks(cfg, n_classes)[0], tensors, path)  # before G is allocated
    G, _ = build_networks(cfg, n_classes, device)
    weights = load_generator_weights(G, tensors, path, ema=ema)
    return G, cfg, {**meta, "weights": weights}


def sample_image(target: Path, *, n: int, seed: int, device: torch.device, out: Optional[Path] = None,
                 classes: Optional[list[int]] = None, ema: bool = True) -> tuple[Path, int]:
    """Write a PNG grid of samples; returns (path, rows).

    Unconditional: ``n`` images in the paper's grid layout. Conditional: one row per class (all
    classes, or ``classes``), ``n`` images per row, each row generated with its class label.
    """
    from image.memory import check_sampling

    if n < 1:
        raise UserError(f"-n {n}: ask for at least one sample")
    check_seed(seed)
    path = resolve_checkpoint(Path(target))
    G, cfg, meta = load_image_generator(path, device, ema=ema)
    n_classes = checkpoint_classes(path, meta)
    if classes and not cfg.conditional:
        raise UserError(f"--classes: {path} is an unconditional model; it cannot be asked for classes")
    rows = None
    labels = None
    if cfg.conditional:
        classes = list(range(n_classes)) if not classes else classes
        bad = [c for c in classes if not 0 <= c < n_classes]
        if bad:
            raise UserError(f"--classes {','.join(map(str, bad))}: the model knows classes 0..{n_classes - 1}")
        check_sampling(cfg, n_classes, n, device, metrics=False, rows=len(classes))
        labels = torch.tensor(classes).repeat_interleave(n)  # row k: n images of classes[k]
        rows = len(classes)
    else:
        check_sampling(cfg, n_classes, n, device, metrics=False)
    images = generate(G, labels.numel() if labels is not None else n, seed=seed, labels=labels,
                      batch_size=max(n, 100))
    if out is None:
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        folder = run_dir / "samples" if (run_dir / "samples").is_dir() else run_dir
        out = folder / f"sample_{meta.get('iteration', 0):08d}_seed{seed}.png"
    save_grid(to_unit_range(images, cfg.unit_range), Path(out), rows=rows)
    return Path(out), rows or 0
