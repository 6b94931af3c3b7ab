"""Pictures of toy critics and generators, as the paper's toy figures (gan_toy.py, Figure 1a/2).

A frame is the critic's value D(x) as a filled contour over a 128×128 grid of [−3, 3]², the real
points as orange '+' and generated points as green '+'. Figures are drawn on
:class:`matplotlib.figure.Figure` (Agg), never through pyplot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

GRID_POINTS = 128  # per axis (the script's N_POINTS)
RANGE = 3.0  # the grid spans [−RANGE, RANGE]²


@torch.no_grad()
def critic_surface(D, *, points: int = GRID_POINTS, extent: float = RANGE, device=None) -> tuple[np.ndarray, np.ndarray]:
    """The axis coordinates (P,) and D on the grid as (P, P) with rows indexed by y, columns by x."""
    axis = np.linspace(-extent, extent, points, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)  # (P, P): xx varies along columns
    grid = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], axis=1))
    if device is not None:
        grid = grid.to(device)
    values = D(grid).reshape(points, points).float().cpu().numpy()
    return axis, values


def draw_frame(ax, axis: np.ndarray, values: np.ndarray, real: np.ndarray | None, fake: np.ndarray | None,
               title: str = "") -> None:
    """Filled contour of the critic with the two point clouds on one axes."""
    cs = ax.contourf(axis, axis, values, levels=20, cmap="viridis")
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], c="orange", marker="+", s=18, linewidths=0.8, label="real")
    if fake is not None:
        ax.scatter(fake[:, 0], fake[:, 1], c="limegreen", marker="+", s=18, linewidths=0.8, label="generated")
    ax.set_xlim(axis[0], axis[-1]), ax.set_ylim(axis[0], axis[-1])
    ax.set_aspect("equal")
    ax.set_xticks([]), ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return cs


def save_frame(path: Path, axis, values, real, fake, title: str) -> None:
    from matplotlib.figure import Figure  # on first use: the CLI starts without matplotlib

    fig = Figure(figsize=(5.2, 5.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    cs = draw_frame(ax, axis, values, real, fake, title)
    fig.colorbar(cs, ax=ax, shrink=0.8, label="critic value D(x)")
    ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    fig.savefig(path)
