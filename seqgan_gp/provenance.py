"""What produced a run: package versions and the toolkit's git commit, for config.json."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path


def versions(packages=("seqgan_gp", "torch", "numpy", "safetensors", "rich", "click", "sentencepiece", "datasets")) -> dict:
    """Python's and each installed package's version (absent packages are left out)."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str | None:
    """The toolkit checkout's HEAD commit (with ``+dirty`` when modified), or None outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None
