"""``sample``: decoded text (or image grids) from any run directory or checkpoint file."""

from __future__ import annotations

from pathlib import Path

import click

from seqgan_gp.cli.options import device_option, sample_progress, user_errors
from seqgan_gp.configfile import check_seed
from seqgan_gp.errors import UserError
from seqgan_gp.messages import option
from seqgan_gp.outputs import output_file
from seqgan_gp.rundir import resolve_checkpoint


@click.command("sample")
@click.argument("target", type=click.Path(path_type=str))
@click.option("-n", "n", type=int, default=50, show_default=True,
              help="How many samples (conditional models: per class).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise (and of sampling).")
@click.option("--temperature", type=float, default=None,
              help="Text: 0 takes the argmax per position (greedy for a language model); > 0 samples from "
                   "softmax(logits/T) [default: 0 for a GAN (the paper's decoding), 1 for a language model].")
@click.option("--top-k", type=int, default=0, show_default=True,
              help="Text, temperature > 0: sample among the K likeliest tokens at each position (0: all).")
@click.option("--raw", is_flag=True,
              help="A run trained with --ema-decay: sample from the generator's last weights, not their average.")
@click.option("--label", default=None,
              help="Conditional text models: the class to draw, by name or id [all classes in turn, each under a "
                   "'== NAME (label K) ==' line, from the same noise].")
@click.option("--classes", default=None,
              help="Conditional image models: the classes to draw, one grid row each, e.g. 0,3,7 [all].")
@click.option("--out", "out_file", type=click.Path(path_type=str), default=None,
              help="Write the samples to this file instead of standard output "
                   "(images: the PNG grid [RUN_DIR/samples/sample_<iteration>_seed<seed>.png]).")
@device_option
@user_errors
def sample_cmd(target, n, seed, temperature, top_k, raw, label, classes, out_file, device):
    """Samples from a run directory (its newest checkpoint) or a checkpoint file.

    \b
    Examples:
      python cli.py sample runs/00000-text-embedded -n 20
      python cli.py sample runs/00000-text-embedded/checkpoints/checkpoint_00001200.safetensors --temperature 0.7
      python cli.py sample runs/00003-lm-embedded-conv -n 20 --temperature 0.8 --top-k 20
      python cli.py sample runs/00004-text-embedded --raw     # a run trained with --ema-decay: its last weights
      python cli.py sample runs/00005-text-embedded-type -n 5                    # 5 of every class
      python cli.py sample runs/00005-text-embedded-type -n 20 --label transitive
      python cli.py sample runs/00001-image-embedded-cifar-resnet -n 64 --out grid.png
      python cli.py sample runs/00002-image-cifar10-cifar-resnet -n 10 --classes 0,1,2   # one row per class
    """
    from seqgan_gp.checkpoint import load_checkpoint  # torch loads when the command runs, not for --help
    from seqgan_gp.device import resolve_device

    path = resolve_checkpoint(Path(target))
    _, meta = load_checkpoint(path)
    kind = meta.get("kind")
    out = output_file(out_file, example="samples.txt" if kind in ("text", "lm") else "grid.png") if out_file is not None else None
    check_seed(seed)
    if kind in ("text", "lm"):
        if kind == "text":
            from seqgan_gp.text.inference import sample_text

            with sample_progress(n, "sample") as progress:
                texts = sample_text(path, n=n, seed=seed, temperature=temperature, top_k=top_k, ema=not raw,
                                    device=resolve_device(device), progress=progress, label=label)
        else:
            if label is not None:
                raise UserError(f"--label {label}: {path} is a language model, which takes no label; drop --label")
            from seqgan_gp.lm.inference import sample_lm

            texts = sample_lm(path, n=n, seed=seed, temperature=temperature, top_k=top_k, device=resolve_device(device))
        body = "\n".join(texts) + "\n"
        if out is not None:
            try:
                out.write_text(body, encoding="utf-8")
            except OSError as exc:
                raise UserError(f"{option('--out', out)}: could not write the samples ({exc.strerror}); free disk "
                                f"space or choose another --out") from None
        else:
            click.echo(body, nl=False)
        return
    if label is not None:
        raise UserError(f"--label {label}: only for text checkpoints; {path} is {kind!r} (conditional image "
                        f"models take --classes)")
    if kind == "image":
        from image.sampling import sample_image

        wanted = None
        if classes:
            try:
                wanted = [int(c) for c in classes.split(",")]
            except ValueError:
                raise UserError(f"--classes {classes}: expected class numbers separated by commas, e.g. 0,3,7") from None
        grid, rows = sample_image(path, n=n, seed=seed, device=resolve_device(device), out=out, classes=wanted,
                                  ema=not raw)
        click.echo(f"wrote {grid}" + (f" ({rows} class rows)" if rows else ""))
        return
    raise UserError(f"{path}: a {kind!r} checkpoint; sample knows text, language-model and image checkpoints "
                    f"(a toy run's pictures are in RUN_DIR/samples/, its W1 and modes in RUN_DIR/metrics.jsonl)")
