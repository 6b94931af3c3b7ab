"""``train-image``."""

from __future__ import annotations


import click

from seqgan_gp.cli.options import (console, data_parallel, device_option, exit_if_stopped, hyperparameter_options,
                                   program, training_options, user_errors)
from seqgan_gp.cli.presets import chosen_preset, preset_help
from image.config import DATASETS, PRESETS, paper_config
from image.catalog import CRITIC_NORMS, MODELS
from seqgan_gp.rundir import RunDir


@click.command("train-image")
@click.option("--model", default=None, type=click.Choice(MODELS),
              help="[cifar-resnet] cifar-dcgan (gan_cifar.py), cifar-resnet (gan_cifar_resnet.py), resnet64 / dcgan64 / resnet101 "
                   "(gan_64x64.py), resnet128 (LSUN bedrooms), wgangp128-gn (group-norm critic of the published "
                   "SWD figures), mnist (gan_mnist.py). Each brings its paper hyperparameters.")
@click.option("--preset", "preset_name", default=None, type=click.Choice(sorted(PRESETS)),
              help=preset_help("image", "paper: the model's paper settings; demo: small, minutes on a CPU; tiny: "
                                        "seconds (tests)."))
@click.option("--dataset", default=None, type=click.Choice(DATASETS),
              help="embedded (generated shapes, no download), cifar10, lsun, folder or fashion-mnist [embedded].")
@click.option("--data-dir", type=click.Path(path_type=str), default=None,
              help="cifar10: folder holding cifar-10-batches-py/ (or a Hugging Face save_to_disk folder); lsun: an "
                   "lmdb folder such as bedroom_train_lmdb/ or a folder of images; folder: any folder of images; "
                   "fashion-mnist: folder of the IDX files [/usr/share/datasets/fashion-mnist].")
@click.option("--conditional/--unconditional", default=None,
              help="AC-GAN with class-conditional batch norm (cifar-resnet only): the paper's 8.42 run, and what "
                   "gan_cifar_resnet.py runs as shipped (CONDITIONAL = ACGAN = True). Default: unconditional, the "
                   "paper's unsupervised 7.86 run, its headline comparison with other unsupervised GANs, which "
                   "trains on any dataset (lsun and folder have no labels).")
@click.option("--critic-norm", type=click.Choice(CRITIC_NORMS), default=None,
              help="Normalisation in the critic: none, batch or layer (over C, H, W). Default: the reference's for "
                   "--model and --loss: batch norm for the baselines (--loss dcgan / lsgan / wgan; mnist: wgan only), "
                   "none or layer norm with WGAN-GP, whose penalty is per example (batch norm would couple the "
                   "examples). A critic with batch norm scores real and fake batches in separate passes.")
@click.option("--dim", type=int, help="Network width DIM (paper: 128 CIFAR models, 64 the others).")
@click.option("--gen-batch-multiple", type=int,
              help="Generator batch = this x --batch-size (paper: 2 for cifar-resnet, else 1).")
@click.option("--dequantize/--no-dequantize", default=None,
              help="Pixels x/256 + U[0,1/128) instead of x/255 (paper: cifar-resnet only).")
@click.option("--acgan-scale", type=float, help="Weight of the critic's class cross-entropy (paper: 1.0).")
@click.option("--acgan-scale-g", type=float, help="Weight of the generator's class cross-entropy (paper: 0.1).")
@click.option("--max-examples", type=int, help="Use only the first N images of the dataset (0: all).")
@click.option("--embedded-size", type=int, help="Images in the embedded dataset (paper preset: 50000).")
@click.option("--sample-grid", type=int, help="Samples per PNG grid (paper: 100 cifar-resnet, 128 DCGAN/MNIST, 64 the rest).")
@click.option("--inception-weights", type=click.Path(path_type=str), default=None,
              help="TorchScript Inception file (inception-2015-12-05.pt) for IS and FID at each evaluation; "
                   "never downloaded.")
@hyperparameter_options(help={"--eval-samples": "Generated (and real) images for every metric of a training "
                                                 "evaluation, named with the count (2048: swd2k_32, ms_ssim2k); "
                                                 "`evaluate` uses the published counts (swd16k, is50k, ...)."})
@device_option
@user_errors
@training_options
def train_image_cmd(preset_name, device, run, **overrides):
    """Train one of the paper's image WGAN-GP models (the same loop, losses and checkpoints as text).

    Sample grids from a fixed noise batch go to RUN_DIR/samples/ every --sample-every iterations;
    SWD x1e3 per Laplacian level and MS-SSIM of sample pairs of --eval-samples images go to
    metrics.jsonl every --eval-every, named with the count (swd2k_32, ms_ssim2k: cheap, not the
    published protocols, which `evaluate` runs). Without --preset this is the model's full paper
    run, weeks on a CPU: there a bare command is refused and --preset must be named (demo: minutes).

    \b
    Examples:
      python cli.py train-image --preset demo                                  # embedded shapes, CPU
      python cli.py train-image --dataset fashion-mnist --model mnist --preset demo
      python cli.py train-image --dataset cifar10 --data-dir ~/data --model cifar-resnet --conditional   # GPU
      python cli.py train-image --dataset lsun --data-dir ~/data/bedroom_train_lmdb --model resnet128
      python cli.py train-image --resume runs/00000-image-embedded-cifar-resnet --iters 2000
      torchrun --nproc_per_node 4 cli.py train-image --dataset cifar10 --data-dir ~/data   # data-parallel
    """
    from image.task import ImageTask
    from seqgan_gp.config import with_overrides
    from seqgan_gp.errors import UserError
    from seqgan_gp.runner import run_task

    con = console()
    with data_parallel(device) as (dist, dev):
        name = chosen_preset(preset_name, kind="image", device=dev, resuming=run.resume is not None, program=program())
        base = paper_config(overrides["model"] or "cifar-resnet", name)
        if run.runtime.compile and not run.resume:  # refused before the run directory exists
            cfg = with_overrides(base, **overrides)
            if cfg.critic_norm == "batch":
                raise UserError(f"--compile: the critic of {cfg.model} with --loss {cfg.loss} has batch norm (the "
                                f"reference's), which the compiled critic step cannot run (it scores real and fake "
                                f"in separate passes); drop --compile, or pass --critic-norm layer or none")
        done = run_task(ImageTask(), base=base, overrides=overrides, device=dev, console=con, dist=dist,
                        **run.run_task_arguments())
    exit_if_stopped(con, done, quiet=not dist.is_main)
    if not dist.is_main:  # rank 0 reports
        return
    con.print(f"[bold]done[/]: iteration {done.result.iteration}, run directory {done.run_dir}")
    first, last = done.first_sample, done.last_sample
    if last is not None:
        con.print(f"sample grids: {first} ... {last}" if first != last else f"sample grid: {last}")
    evals = [m for m in RunDir(done.run_dir).metrics() if _metric(m, "swd_avg")]
    if evals:
        (key, start), (_, end) = _metric(evals[0], "swd_avg"), _metric(evals[-1], "swd_avg")
        ms_key, ms = _metric(evals[-1], "ms_ssim")
        con.print(f"{key} (SWD x1e3, average over levels): {start:.2f} at iteration {evals[0]['iteration']} → "
                  f"{end:.2f} at iteration {evals[-1]['iteration']}; {ms_key} {ms:.4f}")


def _metric(record: dict, base: str):
    """(key, value) of the metric ``base`` in a metrics record (its key carries the count), or None."""
    from seqgan_gp.metrics.counts import base_name

    return next(((k, v) for k, v in record.items() if base_name(k) == base), None)
