"""``plot RUN_DIR``: PNG figures of any training run's metrics log."""

from __future__ import annotations

from pathlib import Path

import click

from seqgan_gp.cli.options import console, user_errors
from seqgan_gp.errors import UserError
from seqgan_gp.outputs import output_folder
from seqgan_gp.rundir import RunDir


def load_records(run_dir: Path) -> list[dict]:
    """The metrics records of a run directory; a UserError when there are none to draw."""
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory; pass the directory of a training run")
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        hint = " (experiment runs write their figures themselves)" if (run_dir / "results.json").is_file() else ""
        raise UserError(f"{path}: missing; plot draws the metrics log of a train-text, train-image or train-toy "
                        f"run{hint}")
    records = RunDir(run_dir).metrics()
    from seqgan_gp.plots import numeric_series  # matplotlib loads only when plotting

    if not numeric_series(records):
        raise UserError(f"{path}: holds no numeric records yet; let the run log at least once (--log-every)")
    return records


@click.command("plot")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=str), default=None,
              help="Folder for the PNG files [default: RUN_DIR/plots].")
@user_errors
def plot_cmd(run_dir: Path, out: str | None):
    """Draw a run's metrics.jsonl as PNG figures: losses, the Wasserstein estimate (and the exact W1 of toy
    runs), the penalty, JS-n or image metrics, the learning rate, speed; any other numeric key on its own.

    \b
    Examples:
      python cli.py plot runs/00000-toy-8gaussians
      python cli.py plot runs/00001-text-embedded --out figures/
    """
    from seqgan_gp.plots import plot_metrics

    folder = output_folder(out, example="figures") if out is not None else run_dir / "plots"
    records = load_records(run_dir)
    written = plot_metrics(records, folder)
    con = console()
    con.print(f"[bold]{len(written)} figures[/] from {len(records)} records of {run_dir / 'metrics.jsonl'}:")
    for path in written:
        con.print(f"  {path}")
