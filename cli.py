"""seqgan_gp command line: WGAN-GP for text (and images and toys) in one Click group.

    python cli.py --help
    python cli.py train-text --preset demo
"""

from __future__ import annotations

import click

from commands.corpus import prepare_corpus_cmd
from commands.evaluate import evaluate_cmd
from commands.image import train_image_cmd
from commands.sample import sample_cmd
from commands.text import train_text_cmd
from commands.toy import train_toy_cmd
from commands.experiment import experiment_cmd
from commands.plot import plot_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
def cli():
    """WGAN-GP (Gulrajani et al. 2017) on discrete sequences and images."""


cli.add_command(train_text_cmd)
cli.add_command(sample_cmd)
cli.add_command(train_toy_cmd)
cli.add_command(experiment_cmd)
cli.add_command(plot_cmd)
cli.add_command(prepare_corpus_cmd)
cli.add_command(evaluate_cmd)
cli.add_command(train_image_cmd)


def main():
    cli(prog_name="seqgan-gp")


if __name__ == "__main__":
    cli()
