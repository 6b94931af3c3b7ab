"""What a training command does without ``--preset``: the paper's run, but never by accident on a CPU.

``train-text`` and ``train-image`` default to ``--preset paper``, the reference code's full run, so
that a command means the same experiment on every machine and a job script tested on a laptop
trains the same model on a cluster. On a CPU that run takes weeks, so there a bare command is
refused with one line that names the run sized for a CPU (``--preset demo``) and how to train the
paper's model anyway (``--preset paper``, named); nothing is created. A resumed run keeps its own
configuration, so ``--resume`` needs no preset. ``train-toy`` defaults to ``demo`` (its paper run
is hours, not weeks), and every run prints its estimated duration once it has measured its speed
(seqgan_gp.progress).
"""

from __future__ import annotations

from typing import Optional

from seqgan_gp.errors import UserError
from seqgan_gp.messages import command_line, train_command

DEFAULT = "paper"
PAPER_ON_A_CPU = {  # what --preset paper means on a CPU, in the refusal and in --help
    "lm": "DIM 512, 5 causal blocks, 200,000 steps: a run sized for a GPU",
    "text": "DIM 512, 200,000 generator iterations: about 35 days at 15 s an iteration on 2 CPU cores",
    "image": "100,000 to 200,000 generator iterations of the model; cifar-resnet at DIM 128 takes 30-60 s each on 2 CPU "
             "cores: one to two months",
}


def preset_help(kind: str, choices: str) -> str:
    """The --preset help of a command whose default is the paper's run."""
    return (f"{choices} Flags override it. [default: paper ({PAPER_ON_A_CPU[kind]}); on a CPU the preset must be "
            f"named: a bare train-{kind} there is refused, pointing to --preset demo]")


def chosen_preset(name: Optional[str], *, kind: str, device, resuming: bool, program: str) -> str:
    """``--preset`` as given; without one, ``paper``, except on a CPU, where a UserError names the choices."""
    if name is not None or resuming:
        return name or DEFAULT
    if device.type != "cpu":
        return DEFAULT
    demo = command_line(program, train_command(kind), "--preset", "demo")
    raise UserError(f"no --preset on a CPU: the default, the paper's full run ({PAPER_ON_A_CPU[kind]}), is too long "
                    f"to start by accident; for a run sized for a CPU (minutes) use: {demo}; to train the paper's "
                    f"model here anyway, pass --preset paper (or train on a GPU: --device cuda)")
