"""PNG figures of a run's metrics log (``metrics.jsonl``), drawn with matplotlib's Agg renderer.

Every numeric key that appears in the log becomes a curve against the iteration; related keys share
a figure (the critic and generator losses; the critic's Wasserstein estimate and the exact W1 of
toy runs; JS-1..4), every other key gets its own. Nothing here opens a window: figures are made
with :class:`matplotlib.figure.Figure` directly, so no global pyplot state and no display is needed.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from seqgan_gp.metrics.counts import base_name

# Figures that gather several keys; a key not named here is drawn alone.
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "losses": ("Critic and generator losses", ("critic_loss", "gen_loss")),
    "wasserstein": ("Wasserstein distance", ("wasserstein", "w1")),
    "penalty": ("Gradient penalty E(‖∇D(x̂)‖ − 1)² (before λ)", ("penalty",)),
    "js": ("Jensen-Shannon divergence of n-gram statistics", ("js1", "js2", "js3", "js4")),
    "modes": ("Modes covered", ("modes",)),
    "lr": ("Learning rate", ("lr",)),
    "speed": ("Seconds per generator iteration", ("sec_per_iter",)),
}
LABELS = {"critic_loss": "critic loss L_D", "gen_loss": "generator loss L_G",
          "wasserstein": "critic's estimate E D(x) − E D(G(z))", "w1": "exact W1 of 1,000 points (POT)"}
SKIP = {"iteration", "it_per_s"}  # the x axis, and the reciprocal of sec_per_iter


def numeric_series(records: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """For each numeric key, the iterations where it was logged and its finite values."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for rec in records:
        it = rec.get("iteration")
        if not isinstance(it, (int, float)):
            continue
        for key, value in rec.items():
            if key in SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not math.isfinite(value):
                continue
            xs, ys = series.setdefault(key, ([], []))
            xs.append(int(it)), ys.append(float(value))
    return series


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def line_figure(title: str, curves: dict[str, tuple[list[int], list[float]]], *, log_y: bool = False):
    """One axes with a line per curve against the iteration."""
    from matplotlib.figure import Figure  # on first use: the CLI starts without matplotlib

    fig = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for label, (xs, ys) in curves.items():
        ax.plot(xs, ys, label=label, marker="." if len(xs) <= 30 else None, linewidth=1.2)
    ax.set_title(title)
    ax.set_xlabel("generator iteration")
    if log_y and all(y > 0 for _, ys in curves.values() for y in ys):
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if len(curves) > 1 or next(iter(curves)) in LABELS:
        ax.legend(fontsize=8)
    return fig


def group_keys(keys: tuple[str, ...], series: dict) -> list[str]:
    """The logged keys of a group: those whose name without its sample count (seqgan_gp.metrics.counts)
    is one of ``keys``, so that ``js4_640`` and an older run's ``js4`` both join the JS figure."""
    return [k for base in keys for k in sorted(series) if base_name(k) == base]


def save_group(records: list[dict], group: str, path: Path) -> bool:
    """Write the figure of one of :data:`GROUPS` to ``path``; False when no key of it was logged."""
    series = numeric_series(records)
    title, keys = GROUPS[group]
    curves = {LABELS.get(k, k): series[k] for k in group_keys(keys, series)}
    if curves:
        line_figure(title, curves, log_y=group in ("penalty", "lr")).savefig(path)
    return bool(curves)


def plot_metrics(records: list[dict], out_dir: Path) -> list[Path]:
    """Write one PNG per group of keys present in ``records`` to ``out_dir``; returns the paths."""
    series = numeric_series(records)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    grouped: set[str] = set()
    for name, (title, keys) in GROUPS.items():
        members = group_keys(keys, series)
        curves = {LABELS.get(k, k): series[k] for k in members}
        grouped.update(members)
        if curves:
            path = out_dir / f"{name}.png"
            line_figure(title, curves, log_y=name in ("penalty", "lr")).savefig(path)
            written.append(path)
    for key in sorted(set(series) - grouped):
        path = out_dir / f"{_safe(key)}.png"
        line_figure(key, {key: series[key]}).savefig(path)
        written.append(path)
    return written
