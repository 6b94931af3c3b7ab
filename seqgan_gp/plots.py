"""PNG figures of a run's metrics log (``metrics.jsonl``), drawn with matplotlib's Agg renderer.

Every numeric key that appears in the log becomes a curve against the iteration, one figure per
family of keys (:data:`GROUPS`): the critic and generator losses together; the critic's
Wasserstein estimate with the exact W1 of toy runs; JS-1..4; BLEU-2..5; self-BLEU-2..5;
distinct-1..4; SWD per Laplacian level with its average; ... A key of no family gets a figure of
its own. Nothing here opens a window: figures are made with :class:`matplotlib.figure.Figure`
directly, so no global pyplot state and no display is needed.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from seqgan_gp.metrics.counts import base_name

# Figures that gather a family of keys: name -> (title, the keys as a regular expression, log y axis).
GROUPS: dict[str, tuple[str, str, bool]] = {
    "losses": ("Critic and generator losses", r"critic_loss|gen_loss", False),
    "wasserstein": ("Wasserstein distance", r"wasserstein|w1", False),
    "penalty": ("Gradient penalty E(‖∇D(x̂)‖ − 1)² (before λ)", r"penalty", True),
    "js": ("Jensen-Shannon divergence of n-gram statistics (bits)", r"js\d+", False),
    "bleu": ("BLEU-n of samples against reference sentences", r"bleu\d+", False),
    "self_bleu": ("Self-BLEU-n of samples against each other (lower: more diverse)", r"self_bleu\d+", False),
    "distinct": ("Distinct n-grams / all n-grams of the samples", r"distinct\d+", False),
    "grammar": ("Samples the embedded grammar can produce, and distinct samples", r"valid|unique_samples", False),
    "nll": ("Negative log-likelihood under the embedded grammar (nats)", r"nll|nll_data", False),
    "swd": ("Sliced Wasserstein distance x1e3 per Laplacian level", r"swd_\w+", False),
    "inception": ("Inception score", r"is|is_std", False),
    "modes": ("Modes covered", r"modes", False),
    "lr": ("Learning rate", r"lr", True),
    "speed": ("Seconds per generator iteration", r"sec_per_iter", False),
}
LABELS = {"critic_loss": "critic loss L_D", "gen_loss": "generator loss L_G",
          "wasserstein": "critic's estimate E D(x) − E D(G(z))", "w1": "exact W1 of 1,000 points (optimal matching)",
          "swd_avg": "average over levels", "nll_data": "validation sentences", "nll": "valid samples"}
SKIP = {"iteration", "it_per_s"}  # the x axis, and the reciprocal of sec_per_iter


def group_keys(group: str, keys) -> list[str]:
    """The keys among ``keys`` that belong to figure ``group``, in natural order (js2 before js10).
    A key is matched by its name without its sample count (seqgan_gp.metrics.counts), so that
    ``js4_640`` and an older run's ``js4`` both join the JS figure."""
    pattern = re.compile(GROUPS[group][1])
    found = [k for k in keys if pattern.fullmatch(base_name(k))]
    return sorted(found, key=lambda k: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", k)])


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


def save_group(records: list[dict], group: str, path: Path) -> bool:
    """Write the figure of one of :data:`GROUPS` to ``path``; False when no key of it was logged."""
    series = numeric_series(records)
    title, _, log_y = GROUPS[group]
    curves = {LABELS.get(k, k): series[k] for k in group_keys(group, series)}
    if curves:
        line_figure(title, curves, log_y=log_y).savefig(path)
    return bool(curves)


def plot_metrics(records: list[dict], out_dir: Path) -> list[Path]:
    """Write one PNG per family of keys present in ``records`` (and one per key of no family) to
    ``out_dir``; returns the paths."""
    series = numeric_series(records)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    grouped: set[str] = set()
    for name, (title, _, log_y) in GROUPS.items():
        keys = [k for k in group_keys(name, series) if k not in grouped]
        grouped.update(keys)
        if keys:
            path = out_dir / f"{name}.png"
            line_figure(title, {LABELS.get(k, k): series[k] for k in keys}, log_y=log_y).savefig(path)
            written.append(path)
    for key in sorted(set(series) - grouped):
        path = out_dir / f"{_safe(key)}.png"
        line_figure(key, {key: series[key]}).savefig(path)
        written.append(path)
    return written
