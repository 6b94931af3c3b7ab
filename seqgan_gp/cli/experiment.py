"""``experiment NAME``: the paper's Section 3 critic studies (one picture each) and text-recipes
(seqgan_gp.cli.recipes)."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from seqgan_gp.cli.options import console, device_option, hyperparameter_options, user_errors
from seqgan_gp.cli.recipes import text_recipes_cmd
from seqgan_gp.outputs import output_folder
from seqgan_gp.toy.config import DATASETS, EXPERIMENTS


def _summary(name: str, results: dict) -> Table:
    """The headline numbers of a study as a table."""
    table = Table(title=f"experiment {name}")
    if name == "clipping-vs-penalty":
        for col in ("dataset", "critic", "E D(x) − E D(x̃)", "exact W1", "max ‖∇D‖", "clipping's bound"):
            table.add_column(col, justify="left" if col in ("dataset", "critic") else "right")
        for dataset, per in results["datasets"].items():
            for method, nums in per["methods"].items():
                bound = nums.get("lipschitz_bound")
                table.add_row(dataset, method, f"{nums['estimate']:.4g}", f"{per['w1_exact']:.4f}",
                              f"{nums['lipschitz']:.4g}", "-" if bound is None else f"{bound:.4g}")
    elif name == "gradient-norms":  # layers as rows: twelve columns do not fit a terminal
        methods = results["methods"]
        table.add_column("hidden layer", justify="right")
        for method in methods:
            table.add_column(method.replace("weight clipping ", "clip "), justify="right")
        layers = len(next(iter(methods.values()))["log10_grad_norm_per_layer"])
        for l in range(layers):
            table.add_row(str(l + 1), *(f"{m['log10_grad_norm_per_layer'][l]:.2f}" for m in methods.values()))
        table.add_row("spread", *(f"{m['log10_spread']:.2f}" for m in methods.values()))
        table.caption = "log10 ‖∂L_D/∂h_l‖, input side first"
    else:
        for col in ("critic", "weights", "at ±bound", "std", "max |w|"):
            table.add_column(col, justify="left" if col == "critic" else "right")
        for method, nums in results["methods"].items():
            table.add_row(method, str(nums["weights"]), f"{100 * nums['share_at_bounds']:.1f}%",
                          f"{nums['std']:.4g}", f"{nums['max_abs']:.4g}")
    return table


TOY_HELP = {
    "clipping-vs-penalty": "Value surfaces of clipped and penalised critics (the paper's Figure 1a).",
    "gradient-norms": "Per-layer gradient norms of 12-layer critics on swissroll (the paper's Figure 1b).",
    "weight-histograms": "Critic weights under clipping and under the penalty (the paper's Figure 1c).",
}


def _toy_options(f):
    """The options of the paper's Section 3 studies."""
    options = [
        click.option("--dataset", "datasets", multiple=True, type=click.Choice(DATASETS),
                     help="Toy dataset(s), repeatable [default: all three for clipping-vs-penalty, swissroll otherwise]."),
        click.option("--clip", "clips", multiple=True, type=float,
                     help="Clipping bound(s) c compared with the penalty, repeatable "
                          "[default: 0.1, 0.01, 0.001; weight-histograms: 0.01]."),
        click.option("--depth", type=int, help="Hidden ReLU layers of the critic [default: 3; gradient-norms: 12]."),
        click.option("--dim", type=int, help="Width of the hidden layers [default: 128; gradient-norms: 512 (paper toy: 512)]."),
        click.option("--steps", type=int, help="Critic steps per critic [default: 500; gradient-norms: 120]."),
        click.option("--lr-gp", type=float, help="Adam learning rate of penalised critics [default: 1e-3]."),
        click.option("--lr-clip", type=float, help="RMSProp learning rate of clipped critics [default: 5e-4]."),
        click.option("--eval-points", type=int, help="Real and fixed-generator points for the numbers [default: 1000]."),
        hyperparameter_options(only=("--batch-size", "--lambda-gp", "--rmsprop", "--seed"), help={
            "--batch-size": "Real points per critic step [default: 256; gradient-norms: 64].",
            "--lambda-gp": "Penalty weight λ [default: 0.1, the toy script's].",
            "--seed": "Seeds the critics, the data and the noise [default: 0]."}),
        click.option("--out", type=click.Path(path_type=str), default=None,
                     help="Run directory to create [default: runs/NNNNN-experiment-<name>]."),
        click.option("--overwrite", is_flag=True, help="Replace an existing directory at --out."),
        device_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _toy_study(name: str) -> click.Command:
    """``experiment NAME`` for one of the paper's Section 3 studies."""

    @click.command(name, help=TOY_HELP[name] + _TOY_DETAILS)
    @_toy_options
    @user_errors
    def study(device, out, overwrite, **overrides):
        from seqgan_gp.device import resolve_device
        from seqgan_gp.toy.experiments import run_experiment, study_config

        con = console()
        cfg = study_config(name, **overrides)
        path, results = run_experiment(name, cfg, device=resolve_device(device), console=con,
                                       out=output_folder(out) if out is not None else None, overwrite=overwrite,
                                       command=sys.argv)
        con.print(_summary(name, results))
        con.print(f"[bold]done[/]: {', '.join(str(path / f) for f in results['figures'])}; numbers in "
                  f"{path / 'results.json'}")

    return study


_TOY_DETAILS = """

    The critics are trained against a generator fixed at real data + N(0, I). The study writes its
    PNGs, results.json (the numbers behind them) and config.json to a run directory; defaults take
    well under a minute on 2 CPU cores.

    \b
    Examples:
      python cli.py experiment clipping-vs-penalty
      python cli.py experiment gradient-norms --out runs/fig1b
      python cli.py experiment weight-histograms --dataset 8gaussians --clip 0.01 --clip 0.1
    """


@click.group("experiment")
def experiment_cmd():
    """Studies, one command and one folder of figures and numbers each.

    \b
    clipping-vs-penalty  value surfaces of clipped and penalised critics (Figure 1a)
    gradient-norms       per-layer gradient norms of 12-layer critics on swissroll (Figure 1b)
    weight-histograms    critic weights under clipping and under the penalty (Figure 1c)
    text-recipes         text-GAN recipes against the maximum-likelihood baseline at equal cost
    """


for _name in EXPERIMENTS:
    experiment_cmd.add_command(_toy_study(_name))
experiment_cmd.add_command(text_recipes_cmd)
