"""Wording shared by messages to the user: flags, articles, and commands that paste into a shell.

Library code never knows how it was started; the command line passes the program name the user
typed (``seqgan-gp`` or ``python cli.py``), and :func:`command_line` quotes every argument with
:func:`shlex.quote`, so a run directory with spaces or non-ASCII characters pastes as one word.
"""

from __future__ import annotations

import shlex

PROGRAM = "seqgan-gp"  # the installed console script; the command line passes what the user really typed


def flag(name: str) -> str:
    """The command-line flag of a configuration field: ``lambda_gp`` → ``--lambda-gp``."""
    return "--" + name.replace("_", "-")


def with_article(word: str) -> str:
    """``"an image"``, ``"a text"``: for messages that name a kind of run or checkpoint."""
    return f"{'an' if word[:1] in tuple('aeiou') else 'a'} {word}"


def train_command(kind: str) -> str:
    """The command that trains a kind of run: ``text`` → ``train-text``."""
    return f"train-{kind}"


def option(name: str, value) -> str:
    """``--resume RUN`` with the value shell-quoted: an option the user can paste."""
    return f"{name} {shlex.quote(str(value))}"


def command_line(program: str, *args) -> str:
    """``program`` followed by ``args``, each shell-quoted: a line the user can paste."""
    return " ".join([program, *(shlex.quote(str(a)) for a in args)])
