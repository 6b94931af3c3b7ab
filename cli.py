"""seqgan_gp command line: WGAN-GP for text (and images and toys) in one Click group.

    python cli.py --help
    python cli.py train-text --preset demo
"""

from __future__ import annotations

import sys

import click

from commands.corpus import prepare_corpus_cmd
from commands.evaluate import evaluate_cmd
from commands.image import train_image_cmd
from commands.sample import sample_cmd
from commands.text import train_text_cmd
from commands.toy import train_toy_cmd
from commands.experiment import experiment_cmd
from commands.plot import plot_cmd


class Cli(click.Group):
    """The group, with user mistakes in options reported as one line (exit 2) and Ctrl-C without a traceback."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:  # unknown option, non-numeric value, bad choice, missing argument
            where = exc.ctx.command_path if exc.ctx else (prog_name or "cli.py")
            click.echo(f"error: {exc.format_message().rstrip('.')}; see: {where} --help", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):  # Ctrl-C outside training (training stops itself cleanly)
            click.echo("interrupted; nothing written was left half-done (checkpoint writes are atomic)", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
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
