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
from seqgan_gp import memory
from conftest import TinyRuns

ROOT = Path(__file__).resolve().parent.parent


Runs = TinyRuns


@pytest.fixture
def runs(tiny_runs, monkeypatch) -> Runs:
    """The session's tiny runs, with their corpus cache as the cases' commands' (and subprocesses') default."""
    monkeypatch.setenv("SEQGAN_GP_CACHE", str(tiny_runs.cache))
    return tiny_runs


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
    memory: int | None = None  # bytes of memory the machine has available (seqgan_gp.memory), for messages that quote it
    patch: Callable[[pytest.MonkeyPatch, Path], None] | None = None  # more of the machine's answers (a read-only folder)


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
                                   r"\S+/t\.safetensors: its metadata describes a G of 36,109 parameters \(dim 16, 1 "
                                   r"blocks, kernel 5, seq_len 16, 29 ids\) but its tensors hold 36,237; .*use an "
                                   r"intact checkpoint", tampered_file("text", grow_first("G."))),
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


# -- issue 12: data loss, files trusted before they are checked, sizes, outputs ------------------------

def user_folder(name: str, files: dict[str, bytes]):
    """{tmp}/name holding the user's own files (no run), watched like the runs."""
    def setup(tmp, runs):
        for rel, data in files.items():
            (tmp / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name / rel).write_bytes(data)
        return {"watch": [tmp / name]}
    return setup


def run_plus(kind: str, files: dict[str, bytes]):
    """A copy of the ``kind`` run at {tmp}/copy with the user's files added to it."""
    def make(run, dst):
        copy = copy_run(run, dst)
        for rel, data in files.items():
            (copy / rel).write_bytes(data)
        return copy
    return copied(kind, make)


def set_meta(path: str, value):
    """Set the checkpoint metadata at ``path`` ("optim.G.param_groups.0.lr") to ``value``."""
    def edit(tensors, meta):
        *parents, last = path.split(".")
        node = meta
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return edit


def both(*edits):
    def edit(tensors, meta):
        for e in edits:
            e(tensors, meta)
    return edit


def nan_in(prefix: str):
    def edit(tensors, meta):
        key = next(k for k in sorted(tensors) if k.startswith(prefix) and tensors[k].is_floating_point())
        tensors[key] = tensors[key].clone()
        tensors[key].view(-1)[0] = float("nan")
    return edit


def tampered_run(kind: str, edit):
    return copied(kind, lambda r, d: tamper_run(r, d, edit))


def whole_config(text: str):
    return copied("toy", lambda r, d: edit_config(r, d, lambda s: text))


def run_file(kind: str, rel: str, data: bytes | None):
    """A copy of the ``kind`` run whose file ``rel`` is replaced by ``data`` (None: a folder becomes a file)."""
    def make(run, dst):
        copy = copy_run(run, dst)
        target = copy / rel
        if target.is_dir():
            shutil.rmtree(target)
        target.write_bytes(data if data is not None else b"not a folder")
        return copy
    return copied(kind, make)


def fifo(name: str):
    def setup(tmp, runs):
        os.mkfifo(tmp / name)
    return setup


def read_only(name: str):
    """The folder {tmp}/name answers as a read-only file system does (the tests run as root)."""
    def patch(mp, tmp):
        real = os.access
        folder = tmp / name
        mp.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == folder and mode & os.W_OK
                   else real(p, mode, **kw))
    return patch


def corpus_named_in_config(tmp: Path, runs: Runs, corpus: str) -> dict:
    """A copy of the text run whose config.json names ``corpus`` and whose checkpoint records an encoding
    the cache does not hold."""
    copy = edit_config(runs.text, tmp / "copy", with_config({"corpus": corpus}))
    ckpt = runs.checkpoint(copy)
    tamper(ckpt, ckpt, set_meta("corpus_fingerprint", "0" * 16))
    return {"watch": [copy]}


def a_cifar_run(tmp: Path, runs: Runs) -> dict:
    """A copy of the image run that says, in config.json and its checkpoint, it trained on CIFAR-10 in /srv/cifar."""
    change = {"dataset": "cifar10", "data_dir": "/srv/cifar"}
    copy = edit_config(runs.image, tmp / "copy", with_config(change))
    ckpt = runs.checkpoint(copy)
    tamper(ckpt, ckpt, lambda t, meta: meta["config"].update(change))
    return {"watch": [copy]}


GB20 = 20 * 10**9  # a machine with 20 GB available: messages quote it
NOT_A_RUN = r"the folder is not empty and is not a seqgan_gp run"
HUGE = str(10**9)

CASES.update({
    # data loss: --overwrite replaces only runs, and says nothing of runs elsewhere
    "overwrite-user-files": Case(["train-toy", "--preset", "tiny", "--out", "{tmp}/mine", "--overwrite"],
                                 rf"--out \S+/mine: {NOT_A_RUN} \(it has no config\.json; it holds notes\.txt, "
                                 r"photos/\); --overwrite replaces only seqgan_gp runs; choose another --out \(a new or "
                                 r"empty folder\)$", user_folder("mine", {"notes.txt": b"mine", "photos/a.jpg": b"x"})),
    "out-user-files": Case(["train-text", "--preset", "tiny", "--out", "{tmp}/mine"],
                           rf"--out \S+/mine: {NOT_A_RUN} \(it has no config\.json; it holds thesis\.tex\); choose "
                           r"another --out \(a new or empty folder\)$", user_folder("mine", {"thesis.tex": b"x"})),
    "overwrite-foreign-config": Case(["train-image", "--preset", "tiny", "--out", "{tmp}/mine", "--overwrite"],
                                     rf"--out \S+/mine: {NOT_A_RUN} \(its config\.json was not written by seqgan_gp; "
                                     r"it holds checkpoints/, config\.json, data\.csv\); --overwrite replaces only",
                                     user_folder("mine", {"config.json": b'{"kind": "text"}', "data.csv": b"1,2",
                                                          "checkpoints/.keep": b""})),
    "overwrite-run-plus-user-files": Case(["train-toy", "--preset", "tiny", "--out", "{tmp}/copy", "--overwrite"],
                                          r"--out \S+/copy: holds a seqgan_gp run and also files seqgan_gp did not "
                                          r"write \(notes\.txt, samples/mine\.png\); nothing was replaced: move those "
                                          r"files out of the folder, or use --resume \S+/copy to continue the run",
                                          run_plus("toy", {"notes.txt": b"x", "samples/mine.png": b"x"})),
    # checkpoint metadata: every field checked before anything is built or written
    "resume-iteration-negative": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                                      r"\S+/checkpoint_00000002\.safetensors: checkpoint metadata gives iteration -7, "
                                      r"not a whole number >= 0; the file was modified; use an earlier checkpoint",
                                      tampered_run("toy", set_meta("iteration", -7))),
    "resume-iteration-string": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                    r"checkpoint metadata gives iteration 'abc', not a whole number >= 0",
                                    tampered_run("text", set_meta("iteration", "abc"))),
    "resume-iteration-true": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                                  r"checkpoint metadata gives iteration True, not a whole number >= 0",
                                  tampered_run("toy", set_meta("iteration", True))),
    "resume-iteration-not-its-name": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                                          r"\S+/checkpoint_00000002\.safetensors: its metadata gives iteration 1, its "
                                          r"name 2; the file was modified or renamed; move it out of checkpoints/",
                                          tampered_run("toy", set_meta("iteration", 1))),
    "resume-sampler-position-list": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                         r"checkpoint is missing or has damaged training state \(the batch position "
                                         r"is list, not a JSON object\); resume from an earlier checkpoint",
                                         tampered_run("text", set_meta("batches", [1]))),
    "resume-sampler-position-negative": Case(["train-image", "--resume", "{tmp}/copy", "--iters", "3"],
                                             r"damaged training state \(batch position 'pos' is -8, not a whole number "
                                             r"from 0 to 256\)", tampered_run("image", set_meta("batches.pos", -8))),
    "resume-optimizer-lr-nan": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                                    r"damaged training state \(opt_G group 0 lr is nan, not a finite number\)",
                                    tampered_run("toy", set_meta("optim.G.param_groups.0.lr", float("nan")))),
    "resume-optimizer-groups": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                    r"damaged training state \(opt_D: parameter group 0 does not list parameters "
                                    r"0\.\.\d+\)", tampered_run("text", set_meta("optim.D.param_groups.0.params", [0]))),
    "resume-optimizer-state-dtype": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                         r"damaged training state \(opt_D\.0\.exp_avg is \(16, 29, 1\) torch\.int32, "
                                         r"not \(16, 29, 1\) torch\.float32, as its parameter\)",
                                         tampered_run("text", lambda t, m: t.update({"opt_D.0.exp_avg":
                                                                                   t["opt_D.0.exp_avg"].int()}))),
    "resume-nan-weights": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                               r"\S+/checkpoint_00000002\.safetensors: tensor D\.\S+ holds 1 NaN or infinite values of "
                               r"\d+; the checkpoint is damaged .*; use an earlier checkpoint",
                               tampered_run("toy", nan_in("D."))),
    "sample-nan-weights": Case(["sample", "{tmp}/t.safetensors"],
                               r"\S+/t\.safetensors: tensor G\.\S+ holds 1 NaN or infinite values",
                               tampered_file("text", nan_in("G."))),
    "sample-tokenizer-chars-5": Case(["sample", "{tmp}/t.safetensors"],
                                     r"\S+/t\.safetensors: the checkpoint's tokenizer is damaged \(tokenizer 'chars' "
                                     r"must be a list of single characters\); use an intact checkpoint",
                                     tampered_file("text", set_meta("tokenizer.chars", 5))),
    "sample-tokenizer-garbage-sentencepiece": Case(
        ["sample", "{tmp}/t.safetensors"],
        r"the checkpoint's tokenizer is damaged \(tokenizer 'model' is not a sentencepiece model",
        tampered_file("text", set_meta("tokenizer", {"kind": "sentencepiece", "model": "AAAA", "seq_len": 16}))),
    "sample-claims-dim-9000": Case(["sample", "{tmp}/t.safetensors"],
                                   r"\S+/t\.safetensors: its metadata describes a G of 3,258,909,029 parameters "
                                   r"\(dim 9000, 4 blocks, .*\) but its tensors hold 36,109; the metadata was modified",
                                   tampered_file("text", both(set_meta("config.dim", 9000),
                                                              set_meta("config.blocks", 4)))),
    "sample-image-claims-classes": Case(["sample", "{tmp}/t.safetensors"],
                                        r"\S+/t\.safetensors: checkpoint metadata gives 1000000000000 classes, not a "
                                        r"whole number from 0 to 100000",
                                        tampered_file("image", set_meta("data.classes", 10**12))),
    "evaluate-image-claims-dim": Case(["evaluate", "{tmp}/t.safetensors", "-n", "4"],
                                      r"\S+/t\.safetensors: tensor G\.input\.weight has shape \(128, 128\) but the "
                                      r"model expects \(65536, 128\); the checkpoint is damaged or from another "
                                      r"configuration",
                                      tampered_file("image", set_meta("config.dim", 4096))),
    "config-json-list": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                             r"\S+/copy/config\.json: a JSON list, not a run's configuration \(a JSON object\); restore",
                             whole_config("[1, 2]")),
    "config-json-disagrees-with-checkpoint": Case(
        ["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
        r"\S+/checkpoint_00000002\.safetensors: the run's config\.json and this checkpoint disagree \(dim 2000 there, "
        r"16 here\); one of them was modified: restore config\.json from a backup or move the checkpoint out",
        copied("text", lambda r, d: edit_config(r, d, with_config({"dim": 2000})))),
    "config-json-not-ours": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                                 r"\S+/copy/config\.json: not written by seqgan_gp",
                                 whole_config('{"config": {}}')),
    "metrics-not-utf8": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                             r"\S+/copy/metrics\.jsonl: line 1 is not UTF-8 text; the file was damaged or edited: "
                             r"delete that line .* or restore the file",
                             run_file("toy", "metrics.jsonl", b'\xff\xfe{"iteration": 0}\n{"iteration": 2}\n')),
    "metrics-not-a-record": Case(["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
                                 r"\S+/copy/metrics\.jsonl: line 2 is a JSON list, not a record",
                                 run_file("text", "metrics.jsonl", b'{"iteration": 0}\n[1, 2]\n{"iteration": 2}\n')),
    "checkpoints-is-a-file": Case(["train-toy", "--resume", "{tmp}/copy", "--iters", "4"],
                                  r"--resume \S+/copy: \S+/copy/checkpoints is a file, not the run's checkpoints/ "
                                  r"folder; move it out of the run directory", run_file("toy", "checkpoints", None)),
    "resume-corpus-named-in-config": Case(
        ["train-text", "--resume", "{tmp}/copy", "--iters", "4"],
        r"--resume: the run's encoded corpus is not in the cache \(\S+\), and a corpus named in a run's files is read "
        r"only when you name it: add --corpus /etc/passwd \(the run's\) to the command",
        lambda tmp, runs: corpus_named_in_config(tmp, runs, "/etc/passwd")),
    "resume-data-dir-named-in-config": Case(
        ["train-image", "--resume", "{tmp}/copy", "--iters", "3"],
        r"--resume: the run reads cifar10 from /srv/cifar \(its config\.json says so\), and a folder named in a run's "
        r"files is read only when you name it: add --data-dir /srv/cifar to the command",
        lambda tmp, runs: a_cifar_run(tmp, runs)),
    "sample-checkpoint-fifo": Case(["sample", "{tmp}/c.safetensors"],
                                   r"\S+/c\.safetensors: not a regular file \(a pipe, socket or device\); pass a "
                                   r"\.safetensors checkpoint file", fifo("c.safetensors")),
    # values: seeds, finite numbers, temperatures
    "toy-seed-negative": Case(["train-toy", "--preset", "tiny", "--seed", "-1"],
                              r"--seed -1: a seed is a whole number from 0 to 2\*\*63 - 1 \(9223372036854775807\); "
                              r"pass e\.g\. --seed 0"),
    "text-seed-2-70": Case(["train-text", "--preset", "tiny", "--seed", str(2**70)],
                           rf"--seed {2**70}: a seed is a whole number from 0 to 2\*\*63 - 1"),
    "sample-seed-negative": Case(["sample", "{text}", "--seed", "-3"], r"--seed -3: a seed is a whole number"),
    "evaluate-seed-2-64": Case(["evaluate", "{image}", "--seed", str(2**64), "-n", "4"],
                               rf"--seed {2**64}: a seed is a whole number from 0 to 2\*\*63 - 1"),
    "experiment-seed-negative": Case(["experiment", "weight-histograms", "--seed", "-9", "--out", "{tmp}/e"],
                                     r"--seed -9: a seed is a whole number"),
    "prepare-corpus-seed-huge": Case(["prepare-corpus", "--preset", "tiny", "--seed", str(2**63)],
                                     rf"--seed {2**63}: a seed is a whole number"),
    "toy-lr-inf": Case(["train-toy", "--preset", "tiny", "--lr", "inf"],
                       r"--lr inf: must be a finite number above 0; pass e\.g\. --lr 0\.0001"),
    "text-lambda-gp-inf": Case(["train-text", "--preset", "tiny", "--lambda-gp", "inf"],
                               r"--lambda-gp inf: must be a finite number above 0; pass e\.g\. --lambda-gp 10"),
    "image-clip-nan": Case(["train-image", "--preset", "tiny", "--clip", "nan"],
                           r"--clip nan: the clipping bound must be positive; pass e\.g\. --clip 0\.01"),
    "image-acgan-scale-inf": Case(["train-image", "--preset", "tiny", "--acgan-scale", "inf"],
                                  r"--acgan-scale inf: must be a finite number, 0 or more; pass e\.g\. --acgan-scale 1"),
    "nan-lr-factor-nan": Case(["train-toy", "--preset", "tiny", "--nan-lr-factor", "nan"],
                              r"--nan-lr-factor nan: must be between 0 and 1"),
    "experiment-lr-gp-inf": Case(["experiment", "clipping-vs-penalty", "--lr-gp", "inf", "--out", "{tmp}/e"],
                                 r"--lr-gp inf: must be a finite number above 0"),
    "sample-temperature-nan": Case(["sample", "{text}", "--temperature", "nan"],
                                   r"--temperature nan: must be 0 \(argmax\) or a finite positive number"),
    "sample-temperature-inf": Case(["sample", "{text}", "--temperature", "inf"],
                                   r"--temperature inf: must be 0 \(argmax\) or a finite positive number"),
    # sizes: refused in seconds with the estimate and the largest value that fits (a 20 GB machine)
    "text-dim-100000": Case(["train-text", "--preset", "tiny", "--dim", "100000"],
                            r"--dim 100000: training this model needs ~3\.21 TB; this machine has 20 GB available; the "
                            r"largest --dim that fits is about 7267$", memory=GB20),
    "text-blocks-1000000": Case(["train-text", "--preset", "tiny", "--blocks", "1000000"],
                                r"--blocks 1000000: training this model needs ~738 GB; this machine has 20 GB "
                                r"available; the largest --blocks that fits is about 24348$", memory=GB20),
    "text-seq-len-100000": Case(["train-text", "--preset", "tiny", "--seq-len", "100000"],
                                r"--seq-len 100000: training this model needs ~141 GB; this machine has 20 GB "
                                r"available; the largest --seq-len that fits is about 12769$", memory=GB20),
    "text-eval-samples-1e9": Case(["train-text", "--preset", "tiny", "--eval-samples", HUGE],
                                  r"--eval-samples 1000000000: training this model needs ~5\.12 TB; this machine has 20 "
                                  r"GB available; the largest --eval-samples that fits is about 3511043$", memory=GB20),
    "toy-eval-samples-1e6": Case(["train-toy", "--preset", "tiny", "--eval-samples", "1000000"],
                                 r"--eval-samples 1000000: training this model needs ~32 TB; .* the largest "
                                 r"--eval-samples that fits is about 23716$", memory=GB20),
    "image-dim-100000": Case(["train-image", "--preset", "tiny", "--dim", "100000"],
                             r"--dim 100000: training this model needs ~19\.7 TB; this machine has 20 GB available; "
                             r"the largest --dim that fits is about 2357$", memory=GB20),
    "sample-n-1e9": Case(["sample", "{text}", "-n", HUGE],
                         r"-n 1000000000: the samples need ~640 GB; this machine has 20 GB available; the largest -n "
                         r"that fits is about 28120831$", memory=GB20),
    "evaluate-n-1e9": Case(["evaluate", "{text}", "-n", HUGE],
                           r"-n 1000000000: the samples and their metrics need ~5\.12 TB; this machine has 20 GB "
                           r"available; the largest -n that fits is about 3515103$", memory=GB20),
    "image-sample-n-1e9": Case(["sample", "{image}", "-n", HUGE],
                               r"-n 1000000000: the samples need ~278 TB; this machine has 20 GB available; the "
                               r"largest -n that fits is about 64863$", memory=GB20),
    # outputs: checked before the work
    "train-out-empty": Case(["train-toy", "--preset", "tiny", "--out", ""],
                            r"--out '': empty; give a name, e\.g\. --out runs/mine"),
    "resume-empty": Case(["train-text", "--resume", ""], r"--resume '': empty; give a name"),
    "sample-out-empty": Case(["sample", "{text}", "--out", ""], r"--out '': empty; give a name, e\.g\. --out samples\.txt"),
    "sample-out-a-folder": Case(["sample", "{text}", "--out", "{tmp}"],
                                r"--out \S+: a folder, and a file is written here; give a file name, e\.g\. --out "
                                r"\S+/samples\.txt"),
    "sample-out-missing-folder": Case(["sample", "{text}", "--out", "{tmp}/missing/parent/f.txt"],
                                      r"--out \S+/missing/parent/f\.txt: the folder \S+/missing/parent does not exist; "
                                      r"create the folder first \(mkdir -p \S+/missing/parent\) or choose another --out"),
    "sample-out-fifo": Case(["sample", "{text}", "--out", "{tmp}/pipe"],
                            r"--out \S+/pipe: not a regular file \(a pipe, socket or device\); give a file name",
                            fifo("pipe")),
    "evaluate-out-a-folder": Case(["evaluate", "{text}", "--out", "{tmp}", "-n", "4"],
                                  r"--out \S+: a folder, and a file is written here; give a file name, e\.g\. --out "
                                  r"\S+/eval\.json"),
    "evaluate-out-read-only": Case(["evaluate", "{image}", "--out", "{tmp}/ro/m.json", "-n", "4"],
                                   r"--out \S+/ro/m\.json: the folder \S+/ro is not writable; fix its permissions or "
                                   r"choose another --out", mkdirs("ro"), patch=read_only("ro")),
    "evaluate-out-empty": Case(["evaluate", "{text}", "--out", ""], r"--out '': empty; give a name, e\.g\. --out eval\.json"),
    "plot-out-is-a-file": Case(["plot", "{toy}", "--out", "{tmp}/f"],
                               r"--out \S+/f: exists and is not a folder; choose another --out", write("f", b"x")),
    "experiment-out-empty": Case(["experiment", "weight-histograms", "--out", ""], r"--out '': empty; give a name"),
})


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
        if case.memory is not None:
            monkeypatch.setattr(memory, "_meminfo_available", lambda: case.memory)
            monkeypatch.setattr(memory, "_cgroup_available", lambda: None)
        if case.patch is not None:
            case.patch(monkeypatch, tmp_path)
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
