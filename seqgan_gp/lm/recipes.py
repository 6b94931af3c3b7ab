"""``experiment text-recipes``: text-GAN recipes against the maximum-likelihood baseline at equal cost.

Each named recipe is a set of train-text flags on one base preset (``demo``). The harness trains
every chosen recipe on one corpus for the same time budget (``--time-budget``, wall clock unless
told; every run on the same number of CPU threads), trains the MLE baseline (train-lm, an LSTM
unless told) for the same budget, sweeps all of them over sampling temperatures
(seqgan_gp.lm.frontier) and reads the verdict (seqgan_gp.lm.dominance): the best recipe's JS-4
against the MLE's, and the GAN points the MLE curve does not dominate. One folder holds the runs,
frontier.json, frontier.png and recipes.json.

Why these recipes (issue 19; ScratchGAN, d'Autume et al. 2019; Caccia et al. 2018): the demo GAN's
critic can tell its softmax rows from one-hot real rows by their entropy alone, so the recipes
change what the critic sees (seqgan_gp.text.relax), average the generator's weights (EMA) or
spend the budget differently (fewer critic steps, larger batches).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.table import Table

from seqgan_gp.atomic import atomic_write_text
from seqgan_gp.errors import UserError

EMA = {"ema_decay": 0.995}  # the average of G over its last ~200 steps: a run of a few thousand steps keeps its early weights out
RECIPES: dict[str, dict] = {  # name -> train-text flags on the base preset (config field names); no torch here: --help
    "paper-demo": {},  # the demo preset as it is: the paper's model at a CPU size
    "ema": EMA,
    "gumbel": {**EMA, "relaxation": "gumbel", "gumbel_tau": 0.5},
    "st": {**EMA, "relaxation": "st"},
    "st-argmax": {**EMA, "relaxation": "st-argmax"},
    "real-noise": {**EMA, "real_noise": 0.1},
    "sharpen": {**EMA, "output_tau": 0.5},
    "critic2": {**EMA, "critic_iters": 2},  # 2 critic steps per generator step: more generator steps in the budget
    "batch64": {**EMA, "critic_iters": 2, "batch_size": 64},  # and larger batches (ScratchGAN's lever)
    # the two levers that helped most in a 60 s screen on WordNet glosses (docs/recipes.md), together
    "cpu": {**EMA, "critic_iters": 2, "relaxation": "st-argmax"},
    "bf16": {**EMA, "amp": "bf16"},  # bf16 autocast: faster only where the CPU has bf16 arithmetic and the step is large
}
RUNTIME_KEYS = ("amp",)  # recipe keys that say how a run executes (seqgan_gp.runtime.RuntimeOptions), not a config field
DEFAULT_RECIPES = ("paper-demo", "ema", "gumbel", "st", "real-noise", "cpu")
MLE_LABEL = "MLE"
ITERS_CAP = 10_000_000  # runs end by their budget; the cap only has to stay out of the way


@dataclasses.dataclass(frozen=True)
class RecipeStudy:
    """One comparison: recipes, corpus, budget and the baseline."""

    recipes: tuple[str, ...] = DEFAULT_RECIPES
    corpus: str = "embedded"
    budget: float = 180.0  # seconds of training steps per run
    budget_clock: str = "wall"  # wall | cpu
    threads: int = 1  # intra-op CPU threads of every run
    base: str = "demo"  # preset of train-text and train-lm the recipes change
    lm_model: str = "lstm"  # the MLE baseline's model
    lm_dim: int = 128  # its width (an LSTM of 128 trains at about the demo GAN's cost per step)
    temperatures: tuple[float, ...] = (0.0, 0.5, 0.7, 0.85, 1.0, 1.2)
    samples: int = 640  # frontier samples per run and temperature
    seed: int = 0

    def __post_init__(self):
        unknown = [r for r in self.recipes if r not in RECIPES]
        if unknown or not self.recipes:
            raise UserError(f"--recipes {','.join(self.recipes)}: unknown recipe {', '.join(unknown) or '(none given)'}; "
                            f"choose from {', '.join(RECIPES)}")
        if len(set(self.recipes)) != len(self.recipes):
            raise UserError(f"--recipes {','.join(self.recipes)}: a recipe is named twice; name each once")
        if not (self.budget > 0 and self.budget < float("inf")):
            raise UserError(f"--budget {self.budget:g}: must be a positive number of seconds; pass e.g. --budget 180")
        if self.threads < 1:
            raise UserError(f"--threads {self.threads}: must be at least 1; pass e.g. --threads 1")
        if self.corpus not in ("embedded", "billion_word") and ":" not in self.corpus.split("/")[0]:
            if not Path(self.corpus).exists():
                raise UserError(f"--corpus {self.corpus}: no such file or folder; give a text file (one sentence a "
                                f"line), a folder of them, embedded or hf:NAME")


def _schedule(study: RecipeStudy, out: Path) -> dict:
    """The flags every run of a study shares: corpus, budget, evaluation only at the end."""
    return dict(corpus=study.corpus, time_budget=float(study.budget), budget_clock=study.budget_clock,
                iters=ITERS_CAP, sample_every=0, eval_every=0, checkpoint_every=0, seed=study.seed, out=out)


def _train(task, base, overrides: dict, *, device, console: Console) -> dict:
    from seqgan_gp.runner import run_task
    from seqgan_gp.runtime import RuntimeOptions

    out = overrides.pop("out")
    runtime = RuntimeOptions(**{k: overrides.pop(k) for k in RUNTIME_KEYS if k in overrides})
    t0 = time.perf_counter()
    done = run_task(task, base=base, overrides=overrides, device=device, console=console, out=out,
                    overwrite=True, show_progress=False, runtime=runtime)
    last = json.loads((out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    return {"run": str(out), "iterations": done.result.iteration, "budget_s": last.get("budget_s"),
            "wall_s": round(time.perf_counter() - t0, 1)}


def run_study(study: RecipeStudy, out: Path, *, device, console: Console,
              cache_dir: Optional[Path] = None) -> dict:
    """Train every recipe and the MLE baseline, sweep the frontier and write recipes.json into ``out``."""
    import torch

    from seqgan_gp.lm import config as lm_config
    from seqgan_gp.lm.frontier import frontier, write_frontier
    from seqgan_gp.lm.task import LMTask
    from seqgan_gp.text import config as text_config
    from seqgan_gp.text.task import TextTask

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    before = torch.get_num_threads()
    torch.set_num_threads(study.threads)
    try:
        runs: dict[str, dict] = {}
        for name in study.recipes:
            console.print(f"[bold]recipe {name}[/]: {_flags(RECIPES[name]) or '(the ' + study.base + ' preset)'}, "
                          f"{study.budget:g} s ({study.budget_clock})")
            overrides = {**RECIPES[name], **_schedule(study, out / "runs" / name)}
            runs[name] = {"flags": RECIPES[name],
                          **_train(TextTask(cache_dir=cache_dir), text_config.preset(study.base), overrides,
                                   device=device, console=console)}
        console.print(f"[bold]MLE baseline[/]: train-lm --model {study.lm_model} --dim {study.lm_dim}, "
                      f"{study.budget:g} s ({study.budget_clock})")
        lm_flags = {"model": study.lm_model, "dim": study.lm_dim, "lr_decay": False}  # no decay: the budget, not --iters, ends it
        mle = {"flags": lm_flags, **_train(LMTask(cache_dir=cache_dir), lm_config.preset(study.base),
                                            {**lm_flags, **_schedule(study, out / "runs" / "mle")},
                                            device=device, console=console)}
        targets = [Path(runs[n]["run"]) for n in study.recipes] + [Path(mle["run"])]
        doc = frontier(targets, temperatures=list(study.temperatures), n=study.samples, seed=study.seed,
                       device=device, console=console, labels=[*study.recipes, MLE_LABEL], cache_dir=cache_dir,
                       corpus=study.corpus)
    finally:
        torch.set_num_threads(before)
    write_frontier(doc, out)
    result = summarise(study, doc, runs, mle)
    atomic_write_text(out / "recipes.json", json.dumps(result, indent=2) + "\n")
    return result


def summarise(study: RecipeStudy, doc: dict, runs: dict, mle: dict) -> dict:
    """recipes.json: the study, each run's cost and best frontier point, and the verdict."""
    from seqgan_gp.lm.dominance import best_point, verdict
    from seqgan_gp.lm.frontier import metric

    curves = {c["label"].split(" (")[0]: c for c in doc["curves"]}  # "ema (EMA)" -> "ema"
    gan = [curves[n] for n in study.recipes]
    for name in study.recipes:
        runs[name]["best"] = best_point(curves[name])
    mle["best"] = best_point(curves[MLE_LABEL])
    return {"study": {**dataclasses.asdict(study), "recipes": list(study.recipes)},
            "recipes": runs, "mle": mle, "real_js4": metric(doc["real"]["metrics"], "js4"),
            "verdict": verdict(gan, curves[MLE_LABEL], target_ratio=1.5)}


def _flags(flags: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in flags.items())


def _num(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def recipes_table(result: dict) -> Table:
    """One row per run: flags, iterations in the budget, and its best point (lowest JS-4)."""
    study = result["study"]
    table = Table(title=f"text recipes on {study['corpus']}: {study['budget']:g} s ({study['budget_clock']}) each, "
                        f"{study['threads']} thread(s); best point = lowest JS-4 over T (real held-out rows: "
                        f"JS-4 {_num(result['real_js4'])})")
    for col in ("run", "iters", "best T", "JS-4", "BLEU-4", "self-BLEU-4", "flags"):
        table.add_column(col, justify="left" if col in ("run", "flags") else "right")
    rows = [(name, r) for name, r in result["recipes"].items()] + [(MLE_LABEL, result["mle"])]
    for name, r in rows:
        b = r["best"]
        table.add_row(name, str(r["iterations"]), f"{b['temperature']:g}", _num(b["js4"]), _num(b["bleu4"]),
                      _num(b["self_bleu4"]), _flags(r["flags"]) or "—")
    v = result["verdict"]
    table.caption = (f"best GAN {v['best_gan']['label']}: JS-4 {_num(v['best_gan']['js4'])} = "
                     f"{v['js4_ratio']:.2f}x the MLE's {_num(v['mle_best']['js4'])} (target ≤ {v['target_ratio']:g}x: "
                     f"{'met' if v['ratio_met'] else 'not met'}); GAN points not dominated by the MLE curve "
                     f"(BLEU-4 vs self-BLEU-4): {len(v['undominated_gan_points'])}")
    return table


def parse_recipes(text: str) -> tuple[str, ...]:
    """``"ema,st"`` → ("ema", "st") (checked by :class:`RecipeStudy`)."""
    return tuple(s.strip() for s in text.split(",") if s.strip())
