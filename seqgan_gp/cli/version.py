"""``--version``: seqgan_gp's version, PyTorch's, and the device ``--device auto`` would train on."""

from __future__ import annotations

import click


def version_text() -> str:
    """Three lines: the toolkit (and its git commit in a checkout), PyTorch and its build, the device."""
    import torch

    from seqgan_gp import __version__
    from seqgan_gp.provenance import git_commit

    commit = git_commit()
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build"
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        device = f"cuda ({torch.cuda.get_device_name(0)}{f', {n} GPUs' if n > 1 else ''})"
    else:
        device = f"cpu ({torch.get_num_threads()} threads; no CUDA device visible)"
    git = f" (git {commit[:12]}{'+dirty' if commit.endswith('+dirty') else ''})" if commit else ""
    return (f"seqgan_gp {__version__}{git}\n"
            f"torch {torch.__version__} ({build})\n"
            f"device: {device}")


def print_version(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()
