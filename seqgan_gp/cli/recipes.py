"""``experiment text-recipes``: text-GAN recipes against the MLE baseline at equal cost (seqgan_gp.lm.recipes)."""

from __future__ import annotations

from pathlib import Path

import click

from seqgan_gp.cli.options import console, device_option, user_errors
from seqgan_gp.errors import UserError
from seqgan_gp.lm.recipes import DEFAULT_RECIPES, RECIPES
from seqgan_gp.outputs import output_folder



@click.command("text-recipes")
@click.option("--corpus", default="embedded", show_default=True,
              help="The corpus every run trains on: embedded, a text file (one sentence a line), a folder or hf:NAME.")
@click.option("--recipes", "recipe_list", default=None,
              help=f"Recipes to train, comma-separated, from {', '.join(RECIPES)} [default: {','.join(DEFAULT_RECIPES)}].")
@click.option("--budget", type=float, default=180.0, show_default=True,
              help="Seconds of training steps of every run (each recipe and the MLE baseline).")
@click.option("--budget-clock", type=click.Choice(["wall", "cpu"]), default="wall", show_default=True,
              help="What --budget counts: wall-clock seconds, or the process's CPU seconds over all threads.")
@click.option("--threads", type=int, default=1, show_default=True, help="Intra-op CPU threads of every run.")
@click.option("--base", type=click.Choice(["demo", "tiny"]), default="demo", show_default=True,
              help="Preset of train-text and train-lm that the recipes change (tiny: tests).")
@click.option("--lm-model", type=click.Choice(["lstm", "conv"]), default="lstm", show_default=True,
              help="The maximum-likelihood baseline's model (train-lm --model).")
@click.option("--lm-dim", type=int, default=128, show_default=True, help="The baseline's width (train-lm --dim).")
@click.option("--temperatures", default="0,0.5,0.7,0.85,1,1.2", show_default=True,
              help="Sampling temperatures of the frontier (0: argmax/greedy).")
@click.option("-n", "--samples", type=int, default=640, show_default=True,
              help="Frontier samples per run and temperature.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every run and of the frontier's samples.")
@click.option("--out", type=click.Path(path_type=str), default=None,
              help="Folder for the runs, frontier.json, frontier.png and recipes.json "
                   "[default: runs/NNNNN-recipes-<corpus>].")
@click.option("--cache-dir", type=click.Path(path_type=str), default=None,
              help="Where encoded corpora are cached [default: as train-text].")
@device_option
@user_errors
def text_recipes_cmd(corpus, recipe_list, budget, budget_clock, threads, base, lm_model, lm_dim, temperatures,
                     samples, seed, out, cache_dir, device):
    """Train text-GAN recipes and the MLE baseline for the same budget each, then compare their frontiers.

    Each recipe is a set of train-text flags on the --base preset (paper-demo: the preset itself;
    ema: --ema-decay 0.995; gumbel, st, st-argmax: --relaxation; real-noise: --real-noise 0.1;
    sharpen: --output-tau 0.5; critic2: 2 critic steps; batch64: and batch 64; cpu: critic2 with
    st-argmax; bf16: --amp bf16; all but paper-demo with --ema-decay 0.995). Every run stops after --budget
    seconds of training steps; the folder gets one run directory per recipe and the baseline's
    (runs/), frontier.json and frontier.png (evaluate --temperatures) and recipes.json: each run's
    iterations and best point (lowest JS-4), the best recipe's JS-4 over the MLE's and the GAN
    points the MLE curve does not dominate.

    \b
    Examples:
      python cli.py experiment text-recipes --corpus sentences.txt --budget 180 --out runs/recipes
      python cli.py experiment text-recipes --recipes ema,st --budget 60
      python cli.py experiment text-recipes --base tiny --budget 2 -n 32 --temperatures 0,1   # seconds
    """
    from seqgan_gp.device import resolve_device
    from seqgan_gp.lm.frontier import parse_temperatures
    from seqgan_gp.lm.recipes import RecipeStudy, parse_recipes, recipes_table, run_study
    from seqgan_gp.rundir import next_run_dir
    from seqgan_gp.text.data import corpus_name

    if samples < 2:
        raise UserError(f"-n {samples}: self-BLEU needs at least 2 samples; pass -n 640 or more")
    study = RecipeStudy(recipes=parse_recipes(recipe_list) if recipe_list is not None else DEFAULT_RECIPES,
                        corpus=corpus, budget=budget, budget_clock=budget_clock, threads=threads, base=base,
                        lm_model=lm_model, lm_dim=lm_dim, temperatures=tuple(parse_temperatures(temperatures)),
                        samples=samples, seed=seed)
    folder = output_folder(out) if out is not None else next_run_dir(Path("runs"), f"recipes-{corpus_name(corpus)}")
    con = console()
    result = run_study(study, folder, device=resolve_device(device), console=con,
                       cache_dir=Path(cache_dir) if cache_dir else None)
    con.print(recipes_table(result))
    con.print(f"[bold]done[/]: {folder / 'recipes.json'}, {folder / 'frontier.json'}, {folder / 'frontier.png'}")
