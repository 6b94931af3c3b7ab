"""A fast command line: --help of every command and prepare-corpus run without torch (and the other heavy
libraries) importable, which proves they load only in the commands that need them; --version."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from click.testing import CliRunner
from conftest import ROOT

import seqgan_gp
from cli import cli

COMMANDS = ("train-text", "train-image", "train-toy", "experiment", "plot", "prepare-corpus", "evaluate", "sample")
HEAVY = ("torch", "numpy", "datasets", "matplotlib", "PIL", "safetensors", "sentencepiece", "scipy", "lmdb")

# Python with a meta-path finder that refuses the given top-level packages (as if not installed), then the CLI.
BLOCKED_CLI = textwrap.dedent('''
    import importlib.abc, runpy, sys

    blocked = set(sys.argv[1].split(","))

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in blocked:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, Refuse())
    sys.argv = ["cli.py", *sys.argv[2:]]
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in blocked or m == "rich.progress")
        print("LOADED:" + ",".join(loaded), file=sys.stderr)
''')


def blocked_cli(tmp_path, blocked, *args):
    launcher = tmp_path / "blocked.py"
    launcher.write_text(BLOCKED_CLI)
    return subprocess.run([sys.executable, str(launcher), ",".join(blocked), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_help_of_every_command_needs_no_heavy_library(tmp_path):
    for args in [["--help"], *([c, "--help"] for c in COMMANDS)]:
        proc = blocked_cli(tmp_path, HEAVY, *args)
        assert proc.returncode == 0, (args, proc.stderr[-2000:])
        assert "Usage: " in proc.stdout and "--help" in proc.stdout
        assert proc.stderr.strip().splitlines()[-1] == "LOADED:", args  # nor rich.progress


def test_prepare_corpus_of_a_text_file_needs_no_torch(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"sentence {i} of a small corpus\n" for i in range(300)), encoding="utf-8")
    blocked = ("torch", "datasets", "matplotlib", "PIL", "safetensors", "sentencepiece", "scipy")
    proc = blocked_cli(tmp_path, blocked, "prepare-corpus", "--corpus", corpus, "--cache-dir", tmp_path / "cache",
                       "--preset", "tiny")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "300" in proc.stdout and "encoded in" in proc.stdout
    meta = json.loads(next((tmp_path / "cache").glob("c-char-*/meta.json")).read_text())
    assert meta["arrays"]["train"]["rows"] == 300 and meta["stats"]["lines"] == 300
    assert proc.stderr.strip().splitlines()[-1] == "LOADED:"


def test_version_names_the_toolkit_torch_and_the_device():
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert len(lines) == 3 and lines[0].startswith(f"seqgan_gp {seqgan_gp.__version__}")
    assert lines[1].startswith(f"torch {torch.__version__} (")
    assert lines[2].startswith("device: cuda (" if torch.cuda.is_available() else "device: cpu (")


@pytest.mark.parametrize("blocked, fix", [("lmdb", 'pip install -e ".[lsun]"')])
def test_a_missing_optional_package_names_its_extra(blocked, fix, tmp_path):
    (tmp_path / "lmdb").mkdir()
    (tmp_path / "lmdb" / "data.mdb").write_bytes(b"\0" * 16)
    proc = blocked_cli(tmp_path, (blocked,), "train-image", "--preset", "tiny", "--dataset", "lsun", "--data-dir",
                       tmp_path / "lmdb", "--out", tmp_path / "run", "--device", "cpu")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert fix in proc.stderr and "Traceback" not in proc.stderr
