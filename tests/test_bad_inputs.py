"""Bad input never hurts (issue 8): every user mistake exits with code 2 and one line that names the
file, flag or value and says the fix, with no traceback, and leaves every existing run byte-identical.

One tiny text, image and toy run are trained once for the module; before and after each case every
file under them (and under any copy of a run a case makes) is hashed. Cases run in-process through
Click's runner; three also run as real processes to show the interpreter prints no traceback.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from cli import cli

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Runs:
    text: Path
    image: Path
    toy: Path
    cache: Path

    def checkpoint(self, run: Path) -> Path:
        return max((run / "checkpoints").glob("checkpoint_*.safetensors"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One finished tiny run of each kind (a few seconds in all), and the corpus cache they use."""
    base = tmp_path_factory.mktemp("runs")
    cache = base / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEQGAN_GP_CACHE", str(cache))  # the cases' commands (and subprocesses) find it too
        mp.chdir(base)
        runner = CliRunner()
        for args in (
            ["train-text", "--preset", "tiny", "--iters", "2", "--eval-every", "0", "--sample-every", "0",
             "--device", "cpu", "--out", "text"],
            ["train-image", "--preset", "tiny", "--iters", "1", "--eval-every", "0", "--sample-every", "0",
             "--device", "cpu", "--out", "image"],
            ["train-toy", "--preset", "tiny", "--iters", "2", "--eval-every", "0", "--plot-every", "0",
             "--device", "cpu", "--out", "toy"],
        ):
            r = runner.invoke(cli, args, catch_exceptions=False)
            assert r.exit_code == 0, r.output + r.stderr
        yield Runs(base / "text", base / "image", base / "toy", cache)


def snapshot(roots: list[Path]) -> dict[str, str]:
    """path -> sha256 of every file (hidden ones included) and "<dir>" for every folder under ``roots``."""
    out = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            out[folder] = "<dir>"
            for name in files:
                path = os.path.join(folder, name)
                out[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return out


# -- building bad inputs -----------------------------------------------------------------------------

def copy_run(run: Path, dst: Path) -> Path:
    shutil.copytree(run, dst)
    return dst


def tamper(src: Path, dst: Path, edit: Callable[[dict, dict], None]) -> Path:
    """Write ``dst``: the checkpoint ``src`` with ``edit(tensors, meta)`` applied (safetensors.torch)."""
    tensors = load_file(str(src))
    with safe_open(str(src), "pt") as f:
        metadata = f.metadata()
    meta = json.loads(metadata["seqgan_gp"])
    edit(tensors, meta)
    save_file(tensors, str(dst), metadata={**metadata, "seqgan_gp": json.dumps(meta)})
    return dst


def tamper_run(run: Path, dst: Path, edit: Callable[[dict, dict], None]) -> Path:
    """A copy of ``run`` whose newest checkpoint is tampered with in place."""
    copy = copy_run(run, dst)
    ckpt = max((copy / "checkpoints").glob("checkpoint_*.safetensors"))
    tamper(ckpt, ckpt, edit)
    return copy


def edit_config(run: Path, dst: Path, edit: Callable[[str], str]) -> Path:
    copy = copy_run(run, dst)
    path = copy / "config.json"
    path.write_text(edit(path.read_text()))
    return copy


def with_config(change: dict) -> Callable[[str], str]:
    def edit(text: str) -> str:
        doc = json.loads(text)
        doc["config"].update(change)
        return json.dumps(doc, indent=2)
    return edit


def grow_first(prefix: str):
    """Make the first 2-D tensor under ``prefix`` one row longer (a wrong shape)."""
    def edit(tensors, meta):
        key = next(k for k in sorted(tensors) if k.startswith(prefix) and tensors[k].dim() == 2)
        tensors[key] = torch.zeros(tensors[key].shape[0] + 1, tensors[key].shape[1])
    return edit


def drop(prefix: str):
    def edit(tensors, meta):
        for key in [k for k in tensors if k.startswith(prefix)]:
            del tensors[key]
    return edit


def swap_two_chars(tensors, meta):
    """Same vocabulary size, other ids: the generator loads but its ids mean other characters."""
    chars = meta["tokenizer"]["chars"]
    chars[1], chars[2] = chars[2], chars[1]


def unknown_config_field(tensors, meta):
    meta["config"]["frobnicate"] = 1


def unreadable_file(tmp: Path) -> Path:
    """A file that cannot be read: mode 000, or for root (whom permissions do not stop) /proc/self/mem,
    whose first page is unmapped so reading it fails with EIO for every user."""
    if os.geteuid() == 0:
        return Path("/proc/self/mem")
    path = tmp / "locked.txt"
    path.write_text("a sentence\n")
    path.chmod(0)
    return path


# -- the table -----------------------------------------------------------------------------------------

@dataclass
class Case:
    args: list[str]  # {text} {image} {toy}: the runs; {*_ckpt}: their newest checkpoints; {tmp}: this case's folder
    message: str  # regex the single stderr line must match: the file/flag/value and the fix
    setup: Callable[[Path, Runs], dict | None] | None = None  # may return {"watch": [dirs], "vars": {...}}
    subprocess: bool = False
    no_cuda: bool = False  # make torch.cuda.is_available() False (a machine without a GPU)


def write(name: str, data: bytes):
    def setup(tmp, runs):
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(data)
    return setup


def mkdirs(*names: str):
    def setup(tmp, runs):
        for name in names:
            (tmp / name).mkdir(parents=True)
    return setup


def copied(kind: str, make: Callable[[Path, Path], Path] = copy_run):
    """A copy of the ``kind`` run at {tmp}/copy (damaged by ``make``), watched like the runs themselves."""
    def setup(tmp, runs):
        return {"watch": [make(getattr(runs, kind), tmp / "copy")]}
    return setup


def tampered_file(kind: str, edit):
    def setup(tmp, runs):
        tamper(runs.checkpoint(getattr(runs, kind)), tmp / "t.safetensors", edit)
    return setup


def foreign_files(tmp, runs):
    save_file({"w": torch.ones(2)}, str(tmp / "plain.safetensors"))
    Image.new("RGB", (4, 4)).save(tmp / "pic.png")
    data = runs.checkpoint(runs.text).read_bytes()
    (tmp / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    (tmp / "empty.safetensors").write_bytes(b"")


def image_checkpoint_in_text_run(tmp, runs):
    copy = copy_run(runs.text, tmp / "copy")
    ckpt = runs.checkpoint(copy)
    shutil.copyfile(runs.checkpoint(runs.image), ckpt)
    return {"watch": [copy]}


RANDOM_BYTES = bytes((i * 7919 + 13) % 256 or 1 for i in range(4096))  # scrambled bytes 1..255: no NUL, no UTF-8
TRAIN_1B = "training-monolingual.tokenized.shuffled"
FIX_CHOICE = r"is not one of .*; see: (python cli\.py|cli) {cmd} --help"

CASES = {
    # corpora: missing, empty, unreadable, a directory, binary, compressed, wrong One Billion Word layout
    "corpus-missing": Case(["train-text", "--preset", "tiny", "--corpus", "{tmp}/missing.txt"],
                           r"--corpus \S+/missing\.txt: no such file; give a UTF-8 text file with one sentence a line",
                           subprocess=True),
    "corpus-empty": Case(["train-text", "--preset", "tiny", "--corpus", "{tmp}/empty.txt"],
                         r"--corpus \S+/empty\.txt: the corpus is empty: it holds no non-empty lines; give a corpus "
                         r"with one sentence a line", write("empty.txt", b"\n \n")),
    "corpus-unreadable": Case(["train-text", "--preset", "tiny", "--corpus", "{unreadable}"],
                              r"--corpus \S+: cannot be read \(.+\); make it readable",
                              lambda tmp, runs: {"vars": {"unreadable": str(unreadable_file(tmp))}}),
    "corpus-is-a-directory": Case(["prepare-corpus", "--preset", "tiny", "--corpus", "{tmp}/sentences.txt"],
                                  r"--corpus \S+/sentences\.txt: the directory holds no \.txt.*; pass a UTF-8 text "
                                  r"file with one sentence a line or a folder", mkdirs("sentences.txt")),
    "corpus-random-bytes": Case(["train-text", "--preset", "tiny", "--corpus", "{tmp}/random.txt"],
                                r"--corpus \S+/random\.txt: looks binary or not UTF-8 \(\d+% of its first 4,096 bytes "
                                r"are not UTF-8 text\); give a UTF-8 text file", write("random.txt", RANDOM_BYTES)),
    "corpus-gzip": Case(["prepare-corpus", "--preset", "tiny", "--corpus", "{tmp}/news.txt"],
                        r"--corpus \S+/news\.txt: is gzip-compressed, not text; unpack it first \(gunzip -k \S+/news\.txt\)",
                        write("news.txt", gzip.compress(b"a sentence\n" * 50))),
    "1b-no-data-dir": Case(["train-text", "--preset", "tiny", "--corpus", "billion_word"],
                           rf"--corpus billion_word needs --data-dir DIR, the folder holding {TRAIN_1B}/"),
    "1b-wrong-layout": Case(["prepare-corpus", "--preset", "tiny", "--corpus", "billion_word", "--data-dir", "{tmp}/1b"],
                            rf"--data-dir \S+/1b: no {TRAIN_1B}/ inside; expected \S+/1b/{TRAIN_1B}/news\.en-00001-of-00100",
                            mkdirs("1b/heldout-monolingual.tokenized.shuffled")),
    "1b-misnamed-shards": Case(["train-text", "--preset", "tiny", "--corpus", "billion_word", "--data-dir", "{tmp}/1b"],
                               rf"--data-dir \S+/1b: {TRAIN_1B}/news\.en-00001-of-00100 is missing; the benchmark's "
                               r"training shards are news\.en-000NN-of-00100",
                               write(f"1b/{TRAIN_1B}/news.en-1.txt", b"a sentence\n")),
    # numbers out of range
    "seq-len-1": Case(["train-text", "--preset", "tiny", "--seq-len", "1"],
                      r"--seq-len 1: must be at least 2 .*; pass --seq-len 2 or more"),
    "vocab-size-1": Case(["train-text", "--preset", "tiny", "--vocab-size", "1"],
                         r"--vocab-size 1: must be at least 2 .*; pass --vocab-size 2 or more"),
    "prepare-vocab-size-0": Case(["prepare-corpus", "--preset", "tiny", "--vocab-size", "0"],
                                 r"--vocab-size 0: must be at least 2 .*; pass --vocab-size 2 or more"),
    "text-iters-0": Case(["train-text", "--preset", "tiny", "--iters", "0"],
                         r"--iters 0: must be a whole number of at least 1; pass --iters 1 or more"),
    "toy-iters-negative": Case(["train-toy", "--preset", "tiny", "--iters", "-5"],
                               r"--iters -5: must be a whole number of at least 1; pass --iters 1 or more"),
    "image-batch-0": Case(["train-image", "--preset", "tiny", "--batch-size", "0"],
                          r"--batch-size 0: must be a whole number of at least 1; pass --batch-size 1 or more"),
    "toy-batch-negative": Case(["train-toy", "--preset", "tiny", "--batch-size", "-1"],
                               r"--batch-size -1: must be a whole number of at least 1; pass --batch-size 1 or more"),
    "text-critic-iters-0": Case(["train-text", "--preset", "tiny", "--critic-iters", "0"],
                                r"--critic-iters 0: must be a whole number of at least 1; pass --critic-iters 1 or more"),
    "image-critic-iters-negative": Case(["train-image", "--preset", "tiny", "--critic-iters", "-2"],
                                        r"--critic-iters -2: must be a whole number of at least 1; pass --critic-iters 1"),
    "text-lambda-negative": Case(["train-text", "--preset", "tiny", "--lambda-gp", "-1"],
                                 r"--lambda-gp -1: the penalty weight must be positive; pass e\.g\. --lambda-gp 10"),
    "toy-lambda-0": Case(["train-toy", "--preset", "tiny", "--lambda-gp", "0"],
                         r"--lambda-gp 0: the penalty weight must be positive; pass e\.g\. --lambda-gp 0\.1"),
    "image-betas-out-of-range": Case(["train-image", "--preset", "tiny", "--betas", "0.5,1"],
                                     r"--betas 0\.5,1: Adam's betas must lie in \[0, 1\); pass e\.g\. --betas 0,0\.9"),
    "sample-n-0": Case(["sample", "{text}", "-n", "0"], r"-n 0: ask for at least one sample"),
    "evaluate-n-1": Case(["evaluate", "{text}", "-n", "1"], r"-n 1: self-BLEU needs at least 2 samples; pass -n 2 or more"),
    # unknown names
    "text-preset": Case(["train-text", "--preset", "huge"],
                        r"Invalid value for '--preset': 'huge' " + FIX_CHOICE.format(cmd="train-text")),
    "toy-preset": Case(["train-toy", "--preset", "big"],
                       r"Invalid value for '--preset': 'big' " + FIX_CHOICE.format(cmd="train-toy")),
    "image-loss": Case(["train-image", "--preset", "tiny", "--loss", "hinge"],
                       r"Invalid value for '--loss': 'hinge' is not one of 'wgan-gp', .*; see: (python cli\.py|cli) train-image --help"),
    "image-model": Case(["train-image", "--preset", "tiny", "--model", "biggan"],
                        r"Invalid value for '--model': 'biggan' " + FIX_CHOICE.format(cmd="train-image")),
    "image-dataset": Case(["train-image", "--preset", "tiny", "--dataset", "imagenet"],
                          r"Invalid value for '--dataset': 'imagenet' " + FIX_CHOICE.format(cmd="train-image")),
    "toy-dataset": Case(["train-toy", "--preset", "tiny", "--dataset", "moons"],
                        r"Invalid value for '--dataset': 'moons' " + FIX_CHOICE.format(cmd="train-toy")),
    "text-device": Case(["train-text", "--preset", "tiny", "--device", "tpu"],
                        r"--device 'tpu' is not a device: use auto, cpu, cuda or cuda:K"),
    "image-cuda-without-gpu": Case(["train-image", "--preset", "tiny", "--device", "cuda"],
                                   r"--device cuda: no CUDA GPU is visible to PyTorch; use --device cpu or auto",
                                   no_cuda=True),
    "sample-cuda-without-gpu": Case(["sample", "{text}", "--device", "cuda:1"],
                                    r"--device cuda:1: no CUDA GPU is visible to PyTorch; use --device cpu or auto",
                                    no_cuda=True),
    "image-folder-without-data-dir": Case(["train-image", "--preset", "tiny", "--dataset", "folder"],
                                          r"--dataset folder needs --data-dir DIR, a folder holding image files"),
    # not numbers
    "iters-abc": Case(["train-text", "--preset", "tiny", "--iters", "abc"],
                      r"Invalid value for '--iters': 'abc' is not a valid integer; see: (python cli\.py|cli) train-text --help",
                      subprocess=True),
    "lr-x": Case(["train-toy", "--preset", "tiny", "--lr", "x"],
                 r"Invalid value for '--lr': 'x' is not a valid float; see: (python cli\.py|cli) train-toy --help"),
    "betas-one-number": Case(["train-image", "--preset", "tiny", "--betas", "0.5"],
                             r"Invalid value for '--betas': '0\.5' is not two numbers like 0\.5,0\.9; see: (python cli\.py|cli) "
                             r"train-image --help"),
    # checkpoints that are not ours or not whole
    "checkpoint-truncated": Case(["sample", "{tmp}/trunc.safetensors"],
                                 r"\S+/trunc\.safetensors: not a readable safetensors checkpoint \(.*\); the file is "
                                 r"truncated or foreign; use an earlier checkpoint", foreign_files, subprocess=True),
    "checkpoint-empty": Case(["evaluate", "{tmp}/empty.safetensors"],
                             r"\S+/empty\.safetensors: checkpoint file is empty .*; use an earlier checkpoint",
                             foreign_files),
    "checkpoint-png": Case(["evaluate", "{tmp}/pic.png", "-n", "4"],
                           r"\S+/pic\.png: not a readable safetensors checkpoint .*truncated or foreign; use an earlier",
                           foreign_files),
    "checkpoint-plain-safetensors": Case(["sample", "{tmp}/plain.safetensors"],
                                         r"\S+/plain\.safetensors: safetensors file without seqgan_gp metadata; it was "
                                         r"not written by seqgan_gp; pass a checkpoint from a seqgan_gp run",
                                         foreign_files),
    "sample-missing": Case(["sample", "{tmp}/nothing"], r"\S+/nothing: no such run directory or checkpoint file"),
    "sample-folder-not-a-run": Case(["sample", "{tmp}/folder"],
                                    r"\S+/folder: (no checkpoints/checkpoint_\*\.safetensors in this run|not a run directory .*; pass "
                                    r"a run directory)",
                                    mkdirs("folder/sub")),
    # tampered checkpoints and run directories
    "checkpoint-wrong-shape": Case(["sample", "{tmp}/t.safetensors", "-n", "2"],
                                   r"\S+/t\.safetensors: tensor G\.\S+ has shape \(\d+, \d+\) but the model expects "
                                   r"\(\d+, \d+\); .*use an intact checkpoint", tampered_file("text", grow_first("G."))),
    "checkpoint-missing-keys": Case(["evaluate", "{tmp}/t.safetensors", "-n", "4"],
                                    r"\S+/t\.safetensors: checkpoint does not match the model \(G: missing \[.+\], unexpected \[\]\); "
                                    r".*use an intact checkpoint", tampered_file("image", drop("G."))),
    "checkpoint-unknown-config-field": Case(["sample", "{tmp}/t.safetensors"],
                                            r"\S+/t\.safetensors: unknown configuration fields \['frobnicate'\] .*; "
                                            r"remove them or use an earlier checkpoint",
                                            tampered_file("text", unknown_config_field)),
    "resume-wrong-shape": Case(["train-image", "--resume", "{tmp}/copy", "--iters", "3"],
                               r"\S+/copy/checkpoints/checkpoint_\d+\.safetensors: tensor D\.\S+ has shape .*; .*"
                               r"use an intact checkpoint", copied("image", lambda r, d: tamper_run(r, d, grow_first("D.")))),
    "resume-damaged-optimizer": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                     r"\S+/copy/checkpoints/checkpoint_\d+\.safetensors: checkpoint is missing or has "
                                     r"damaged training state \(.*opt_D.*\); resume from an earlier checkpoint",
                                     copied("text", lambda r, d: tamper_run(r, d, drop("opt_D.1.exp_avg_sq")))),
    "resume-toy-missing-keys": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                                    r"\S+/copy/checkpoints/checkpoint_\d+\.safetensors: checkpoint does not match the "
                                    r"model \(D: missing .*use an intact checkpoint",
                                    copied("toy", lambda r, d: tamper_run(r, d, drop("D.")))),
    "config-json-does-not-parse": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                       r"\S+/copy/config\.json: does not parse as JSON \(.+\); restore it",
                                       copied("text", lambda r, d: edit_config(r, d, lambda s: s[: len(s) // 2]))),
    "config-json-unknown-field": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                                      r"\S+/copy/config\.json: unknown configuration fields \['frobnicate'\] .*; remove "
                                      r"them or restore",
                                      copied("toy", lambda r, d: edit_config(r, d, with_config({"frobnicate": 1})))),
    "config-json-wrong-type": Case(["train-image", "--resume", "{tmp}/copy", "--iters", "3"],
                                   r"\S+/copy/config\.json: configuration field 'dim' is 'big', expected a whole "
                                   r"number; restore",
                                   copied("image", lambda r, d: edit_config(r, d, with_config({"dim": "big"})))),
    # the wrong kind of run or checkpoint
    "text-run-to-train-image": Case(["train-image", "--resume", "{text}", "--iters", "3"],
                                    r"--resume \S+/text: this is a text run, not an image run"),
    "image-run-to-train-text": Case(["train-text", "--resume", "{image}", "--iters", "3"],
                                    r"--resume \S+/image: this is an image run, not a text run"),
    "text-run-to-train-toy": Case(["train-toy", "--resume", "{text}", "--iters", "3"],
                                  r"--resume \S+/text: this is a text run, not a toy run"),
    "image-checkpoint-in-text-run": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                         r"\S+/copy/checkpoints/checkpoint_\d+\.safetensors: this is an image checkpoint, "
                                         r"but the command needs a text checkpoint; pass a text run directory or "
                                         r"checkpoint", image_checkpoint_in_text_run),
    "toy-checkpoint-to-sample": Case(["sample", "{toy_ckpt}"],
                                     r"\S+\.safetensors: a 'toy' checkpoint; sample knows text, language-model and "
                                     r"image checkpoints"),
    "toy-run-to-evaluate": Case(["evaluate", "{toy}"],
                                r"\S+\.safetensors: a 'toy' checkpoint; evaluate knows text, language-model and "
                                r"image checkpoints"),
    # resuming with other hyperparameters or another tokenizer
    "resume-other-dim": Case(["train-image", "--resume", "{image}", "--dim", "16"],
                             r"--resume \S+/image: --dim differs from the run's config\.json.*; a resumed run keeps its "
                             r"hyperparameters"),
    "resume-other-tokenizer": Case(["train-text", "--resume", "{text}", "--tokenizer", "word"],
                                   r"--resume \S+/text: --tokenizer differs from the run's config\.json.*; a resumed "
                                   r"run keeps its hyperparameters"),
    "resume-other-vocab-size": Case(["train-text", "--resume", "{text}", "--vocab-size", "10", "--iters", "4"],
                                    r"--resume \S+/text: --vocab-size differs from the run's config\.json"),
    "resume-tokenizer-mismatch": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                      r"\S+/copy: tokenizer/vocabulary mismatch between checkpoint and corpus: .*list "
                                      r"position 1 is 'e' there, 'a' now.*; restore the corpus the run was trained on",
                                      copied("text", lambda r, d: tamper_run(r, d, swap_two_chars))),
    "evaluate-tokenizer-mismatch": Case(["evaluate", "{tmp}/t.safetensors", "-n", "4"],
                                        r"\S+/t\.safetensors: tokenizer/vocabulary mismatch between checkpoint and "
                                        r"corpus: .*; restore the corpus", tampered_file("text", swap_two_chars)),
    # where runs live
    "out-is-an-existing-run": Case(["train-toy", "--preset", "tiny", "--out", "{toy}"],
                                   r"--out \S+/toy: directory already holds a run; use --resume \S+/toy to continue it, "
                                   r"--overwrite to replace it, or another --out"),
    "overwrite-with-a-missing-corpus": Case(["train-text", "--preset", "tiny", "--out", "{tmp}/copy", "--overwrite",
                                             "--corpus", "{tmp}/missing.txt"],
                                            r"--corpus \S+/missing\.txt: no such file; give a UTF-8 text file",
                                            copied("text")),  # a typo must not cost the old run
    "overwrite-with-a-missing-dataset": Case(["train-image", "--preset", "tiny", "--out", "{tmp}/copy", "--overwrite",
                                              "--dataset", "cifar10", "--data-dir", "{tmp}/nope"],
                                             r"--data-dir \S+/nope: no such folder; expected DIR/cifar-10-batches-py/",
                                             copied("image")),
    "resume-nothing": Case(["train-text", "--resume", "{tmp}/nothing"],
                           r"--resume \S+/nothing: no config\.json there; pass the directory of a seqgan_gp run"),
}


def fill(args: list[str], tmp: Path, runs: Runs, extra: dict) -> list[str]:
    values = {"tmp": str(tmp), "text": str(runs.text), "image": str(runs.image), "toy": str(runs.toy),
              "text_ckpt": str(runs.checkpoint(runs.text)), "image_ckpt": str(runs.checkpoint(runs.image)),
              "toy_ckpt": str(runs.checkpoint(runs.toy)), **extra}
    return [re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], a) for a in args]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_no_run(name, runs, tmp_path, monkeypatch):
    case = CASES[name]
    monkeypatch.chdir(tmp_path)  # a command that wrongly starts a run puts runs/ here, not in the repository
    prepared = (case.setup(tmp_path, runs) if case.setup else None) or {}
    watched = [runs.text, runs.image, runs.toy, *prepared.get("watch", [])]
    before = snapshot(watched)
    assert not [p for p in before if p.endswith(".lock")], "a run directory is locked before the case"
    args = fill(case.args, tmp_path, runs, prepared.get("vars", {}))

    if case.subprocess:
        proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], check=False, capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        if case.no_cuda:
            monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        result = CliRunner().invoke(cli, args)
        exc = result.exception
        assert isinstance(exc, SystemExit), "".join(traceback.format_exception(exc)) if exc else result.output
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr

    assert code == 2, f"exit code {code}\nstdout: {stdout}\nstderr: {stderr}"
    assert "Traceback" not in stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith("error: "), lines[0]
    assert re.search(case.message, lines[0]), f"\n{lines[0]}\ndoes not match\n{case.message}"
    after = snapshot(watched)
    assert not [p for p in after if p.endswith(".lock")], "the run's lock was not released"
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"files of existing runs changed: {changed}"


def test_the_table_is_broad():
    """At least 35 bad inputs, across every command that takes user input."""
    assert len(CASES) >= 35
    commands = {case.args[0] for case in CASES.values()}
    assert {"train-text", "train-image", "train-toy", "sample", "evaluate", "prepare-corpus"} <= commands
    assert sum(case.subprocess for case in CASES.values()) <= 3
