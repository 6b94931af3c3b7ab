"""Non-finite losses and weights: caught at log intervals, the run stops or rolls back (--on-nan)."""

import json
import math
import shlex
import subprocess
import sys

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file

from seqgan_gp.batches import TokenBatches
from seqgan_gp.errors import Diverged
from seqgan_gp.faults import FaultPolicy
from seqgan_gp.runner import run_task
from seqgan_gp.text.config import PRESETS
from seqgan_gp.text.task import TextTask

from conftest import ROOT

QUIET = Console(quiet=True)
POISON_AT = 9  # the 9th real batch: critic step 1 of iteration 5 (tiny preset: 2 critic steps)


@pytest.fixture
def poisoned_once(monkeypatch):
    """One real batch full of NaN, once: after a rollback the same position reads clean data."""
    real_next, calls = TokenBatches.next, {"n": 0}

    def next_batch(self):
        calls["n"] += 1
        batch = real_next(self)
        return batch * math.nan if calls["n"] == POISON_AT else batch

    monkeypatch.setattr(TokenBatches, "next", next_batch)


def run(out, faults=FaultPolicy(), **where):
    return run_task(TextTask(), base=PRESETS["tiny"], overrides={"iters": 10, "log_every": 1, "checkpoint_every": 2,
                                                                "keep_checkpoints": 0, "eval_every": 0},
                    device=torch.device("cpu"), console=QUIET, out=out, show_progress=False, faults=faults, **where)


def records(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_a_nan_stops_the_run_naming_iteration_value_and_last_good_checkpoint(tmp_path, poisoned_once):
    with pytest.raises(Diverged) as err:
        run(tmp_path / "r")
    msg = str(err.value)
    assert "iteration 5" in msg and "nan" in msg and "checkpoint_00000004.safetensors" in msg
    assert "--on-nan rollback" in msg
    assert [r["iteration"] for r in records(tmp_path / "r")] == [0, 1, 2, 3, 4]  # nothing logged from the bad interval
    for ckpt in (tmp_path / "r" / "checkpoints").iterdir():  # every checkpoint on disk is finite
        assert all(torch.isfinite(t.float()).all() for t in load_file(ckpt).values()), ckpt.name


def test_the_resume_command_of_a_diverged_run_pastes_into_a_shell(tmp_path, poisoned_once):
    """The program the user ran, then every argument shell-quoted: a path with a space and an accent."""
    out = tmp_path / "my run é"
    with pytest.raises(Diverged) as err:
        run(out, program="python cli.py")
    command = str(err.value).split("resume with: ")[1].split(";")[0]
    assert shlex.split(command) == ["python", "cli.py", "train-text", "--resume", str(out), "--on-nan", "rollback"]


def test_rollback_reloads_the_last_good_checkpoint_lowers_the_lr_and_finishes(tmp_path, poisoned_once):
    lr = PRESETS["tiny"].lr
    done = run(tmp_path / "r", FaultPolicy(on_nan="rollback", lr_factor=0.5))
    res = done.result
    assert res.iteration == 10
    assert res.rollbacks == [{"iteration": 5, "to": 4, "what": "the mean critic_loss", "lr": lr * 0.5}]
    log = records(tmp_path / "r")
    assert [r["iteration"] for r in log] == list(range(11))  # none duplicated, none missing
    assert log[5]["rollback_from"] == 5 and log[5]["lr"] == pytest.approx(lr * 0.5)
    assert log[4]["lr"] == pytest.approx(lr) and log[10]["lr"] == pytest.approx(lr * 0.5)
    last = load_file(res.last_checkpoint)
    assert all(torch.isfinite(t.float()).all() for t in last.values())


def test_a_run_that_keeps_diverging_stops_after_the_rollback_limit(tmp_path):
    """End to end: an absurd learning rate overflows at once; five rollbacks do not save it, exit 3."""
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "train-toy", "--preset", "tiny", "--lr", "1e30",
                           "--log-every", "1", "--out", "r", "--on-nan", "rollback"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    out = " ".join(proc.stdout.split())  # rich wraps long lines
    assert out.count("rolled back to checkpoint_00000000.safetensors") == 5
    assert "(now 3.13e+28); rollback 5 of at most 5" in out  # 1e30 halved five times: 3.125e28
    assert "again after 5 rollbacks" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
