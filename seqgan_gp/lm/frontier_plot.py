"""``frontier.png``: the quality–diversity frontier document (seqgan_gp.lm.frontier) as a figure.

Panels, one curve per run with its temperatures written at the points, and the real held-out rows
as a black star (or a dashed line where the x axis is the temperature):

1. quality against diversity: BLEU-4 (up: closer to the references) against self-BLEU-4 (left:
   more diverse). The data's star sits where a perfect model would; a curve passing above and to
   the left of another dominates it;
2. JS-4 of n-gram statistics against the corpus (lower: closer) against the temperature: each
   run's best temperature and how far it stays from the data's own JS-4;
3. on the embedded grammar corpus: the share of valid sentences against self-BLEU-4.
"""

from __future__ import annotations

from pathlib import Path

from seqgan_gp.lm.frontier import metric


def _points(curve: dict, key: str) -> list[tuple[float, float]]:
    return [(p["temperature"], metric(p["metrics"], key)) for p in curve["points"]]


def _xy_panel(ax, doc: dict, x_key: str, y_key: str, *, xlabel: str, ylabel: str, title: str) -> None:
    for curve in doc["curves"]:
        pts = [(metric(p["metrics"], x_key), metric(p["metrics"], y_key), p["temperature"]) for p in curve["points"]]
        pts = [p for p in pts if p[0] is not None and p[1] is not None]
        if not pts:
            continue
        (line,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=4, linewidth=1.2,
                          label=curve["label"])
        for x, y, t in pts:
            ax.annotate(f"{t:g}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7, color=line.get_color())
    real = doc["real"]["metrics"]
    if metric(real, x_key) is not None and metric(real, y_key) is not None:
        ax.plot([metric(real, x_key)], [metric(real, y_key)], marker="*", markersize=13, color="black",
                linestyle="none", label=doc["real"]["label"])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)


def _temperature_panel(ax, doc: dict, key: str, *, ylabel: str, title: str) -> None:
    for curve in doc["curves"]:
        pts = [(t, v) for t, v in _points(curve, key) if v is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=4, linewidth=1.2,
                    label=curve["label"])
    real = metric(doc["real"]["metrics"], key)
    if real is not None:
        ax.axhline(real, color="black", linestyle="--", linewidth=1, label=doc["real"]["label"])
    ax.set_xlabel("temperature T (0: argmax / greedy)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)


def save_frontier_figure(doc: dict, path: Path) -> Path:
    """Draw the frontier document's panels into the PNG ``path``."""
    from matplotlib.figure import Figure  # on first use: the CLI starts without matplotlib

    grammar = metric(doc["real"]["metrics"], "valid") is not None
    panels = 3 if grammar else 2
    fig = Figure(figsize=(5.2 * panels, 4.6), dpi=100, layout="constrained")
    axes = fig.subplots(1, panels)
    _xy_panel(axes[0], doc, "self_bleu4", "bleu4", xlabel="self-BLEU-4 (lower: more diverse)",
              ylabel="BLEU-4 vs references (higher: better)", title="quality vs diversity (labels: temperature)")
    _temperature_panel(axes[1], doc, "js4", ylabel="JS-4 vs the corpus (bits, lower: closer)",
                       title="n-gram divergence from the corpus")
    if grammar:
        _xy_panel(axes[2], doc, "self_bleu4", "valid", xlabel="self-BLEU-4 (lower: more diverse)",
                  ylabel="share of grammatical sentences", title="validity vs diversity (embedded grammar)")
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(f"{doc['corpus']}: {doc['samples']} samples per point", fontsize=11)
    fig.savefig(path)
    return Path(path)
