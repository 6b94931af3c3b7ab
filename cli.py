"""Run the command line from a checkout, without installing: ``python cli.py --help``.

Installed, the same commands are ``seqgan-gp --help`` (seqgan_gp.cli). This shim stays at the top
of the checkout so that ``python cli.py ...`` and ``torchrun ... cli.py ...`` work from a clone.
"""

import sys
from pathlib import Path

from seqgan_gp.cli import cli

if __name__ == "__main__":
    cli(prog_name=f"python {Path(sys.argv[0]).name}")  # messages name the command the user typed
