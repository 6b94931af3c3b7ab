"""``evaluate --temperatures``: the quality–diversity frontier of one or more text runs (seqgan_gp.lm.frontier)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from rich.console import Console

from seqgan_gp.outputs import output_folder
from seqgan_gp.rundir import next_run_dir, resolve_checkpoint

FRONTIER_SAMPLES = 640  # samples per run and temperature (the paper's evaluation count)


def default_frontier_out(targets: list[str]) -> Path:
    """RUN_DIR/frontier/ for one run; for several, a new NNNNN-frontier/ folder beside the first run."""
    from seqgan_gp.lm.frontier import run_dir_of

    first = run_dir_of(resolve_checkpoint(Path(targets[0])))
    return first / "frontier" if len(targets) == 1 else next_run_dir(first.parent, "frontier")


def run_frontier(con: Console, targets: list[str], *, temperatures: str, n: Optional[int], seed: int,
                 out: Optional[str], cache_dir: Optional[str], top_k: int, raw: bool, with_raw: bool,
                 labels: Optional[str], device, corpus: Optional[str] = None, data_dir: Optional[str] = None) -> None:
    from seqgan_gp.lm.frontier import frontier, frontier_table, parse_temperatures, write_frontier

    temps = parse_temperatures(temperatures)
    folder = output_folder(out) if out is not None else default_frontier_out(targets)  # checked before minutes of work
    doc = frontier([Path(t) for t in targets], temperatures=temps, n=FRONTIER_SAMPLES if n is None else n, seed=seed, device=device,
                   console=con, top_k=top_k, ema=not raw, with_raw=with_raw,
                   labels=[s.strip() for s in labels.split(",")] if labels else None,
                   cache_dir=Path(cache_dir) if cache_dir else None, corpus=corpus, data_dir=data_dir)
    for note in doc["notes"]:
        con.print(f"[yellow]{note}", markup=True)
    con.print(frontier_table(doc))
    json_path, png_path = write_frontier(doc, folder)
    con.print(f"frontier written to {json_path} and {png_path}")
