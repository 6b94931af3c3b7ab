"""The command line: Click commands, one module per family, assembled into one group here.

Owns: parsing options into configurations, calling one library function per command, rendering
results (rich tables) and errors (a ``UserError`` leaves as one ``error:`` line, exit code 2).
May import everything (the core, ``seqgan_gp.text``, ``seqgan_gp.toy``, ``image``, ``corpora``);
nothing imports it. Heavy modules (torch models, matplotlib) load inside the commands that need
them, so ``--help`` answers at once.

The console script ``seqgan-gp`` runs :func:`main`; ``python cli.py`` in a checkout runs the same
group through the top-level shim. The program name the user typed is the root context's name;
commands pass it down (:func:`seqgan_gp.cli.options.program`) so that messages name a command that
pastes.
"""

from __future__ import annotations

import sys

import click

from seqgan_gp.cli.corpus import prepare_corpus_cmd
from seqgan_gp.cli.evaluate import evaluate_cmd
from seqgan_gp.cli.experiment import experiment_cmd
from seqgan_gp.cli.image import train_image_cmd
from seqgan_gp.cli.lm import train_lm_cmd
from seqgan_gp.cli.plot import plot_cmd
from seqgan_gp.cli.sample import sample_cmd
from seqgan_gp.cli.text import train_text_cmd
from seqgan_gp.cli.toy import train_toy_cmd
from seqgan_gp.cli.version import print_version


class Cli(click.Group):
    """The group, with user mistakes in options reported as one line (exit 2) and Ctrl-C without a traceback."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:  # unknown option, non-numeric value, bad choice, missing argument
            where = exc.ctx.command_path if exc.ctx else (prog_name or "seqgan-gp")
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
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=print_version,
              help="Show seqgan_gp's version, PyTorch's and the device --device auto trains on, and exit.")
def cli():
    """WGAN-GP (Gulrajani et al. 2017) on discrete sequences and images."""


for command in (train_text_cmd, sample_cmd, train_toy_cmd, experiment_cmd, plot_cmd, prepare_corpus_cmd,
                evaluate_cmd, train_image_cmd, train_lm_cmd):
    cli.add_command(command)


def main():
    """The ``seqgan-gp`` console script."""
    cli(prog_name="seqgan-gp")
