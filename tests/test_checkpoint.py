"""Checkpoints: atomic writes, exact resume, and clear errors for bad files."""

import json
import os

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file, save_file

from seqgan_gp import checkpoint as ck
from seqgan_gp.errors import UserError
from seqgan_gp.text.config import PRESETS
from seqgan_gp.runner import run_task
from seqgan_gp.text.task import TextTask

QUIET = Console(quiet=True)


def run_tiny(out, iters, resume=None, **overrides):
    return run_task(TextTask(), base=PRESETS["tiny"], overrides={"iters": iters, **overrides},
                    device=torch.device("cpu"), console=QUIET, out=None if resume else out,
                    resume=resume, show_progress=False)


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    straight = run_tiny(tmp_path / "a", 20)
    first_half = run_tiny(tmp_path / "b", 10)
    assert first_half.result.iteration == 10
    resumed = run_tiny(None, 20, resume=tmp_path / "b")
    a = load_file(straight.result.last_checkpoint)
    b = load_file(resumed.result.last_checkpoint)
    assert a.keys() == b.keys()
    assert any(k.startswith("opt_D.") for k in a) and "rng.train" in a
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # the metrics logs agree record for record, without duplicates
    la = [json.loads(l) for l in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    lb = [json.loads(l) for l in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    drop = ("sec_per_iter", "it_per_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in la] == \
           [{k: v for k, v in r.items() if k not in drop} for r in lb]


def test_resume_continues_a_linear_lr_decay_exactly(tmp_path):
    """The decay's base rate travels in the optimizer state: a run resumed from its middle
    checkpoint decays from the configured rate, not from the already-decayed one."""
    straight = run_tiny(tmp_path / "a", 20, lr_decay=True)
    run_tiny(tmp_path / "b", 20, lr_decay=True, checkpoint_every=10, keep_checkpoints=0)
    (tmp_path / "b" / "checkpoints" / "checkpoint_00000020.safetensors").unlink()  # as if killed after 10
    resumed = run_tiny(None, 20, resume=tmp_path / "b")
    a, b = load_file(straight.result.last_checkpoint), load_file(resumed.result.last_checkpoint)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    lrs = [r["lr"] for r in resumed.result.metrics if "lr" in r]
    assert lrs and lrs[-1] == pytest.approx(PRESETS["tiny"].lr * (1 - 19 / 20))


def test_crash_during_write_leaves_previous_checkpoint_loadable(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    ck.save_checkpoint(path, {"w": torch.ones(3)}, {"kind": "text", "iteration": 1})

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)  # dies after writing part of the new file
    with pytest.raises(OSError):
        ck.save_checkpoint(path, {"w": torch.zeros(3)}, {"kind": "text", "iteration": 2})
    monkeypatch.undo()
    tensors, meta = ck.load_checkpoint(path)
    assert meta["iteration"] == 1 and torch.equal(tensors["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # no temp file left behind


def test_bad_checkpoints_are_user_errors(tmp_path):
    good = tmp_path / "good.safetensors"
    ck.save_checkpoint(good, {"w": torch.ones(1000)}, {"kind": "text", "iteration": 1})
    data = good.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.safetensors").write_bytes(b"")
    save_file({"w": torch.ones(2)}, str(tmp_path / "foreign.safetensors"))
    (tmp_path / "text.txt").write_text("hello")
    cases = {"trunc.safetensors": "truncated or foreign", "empty.safetensors": "empty",
             "foreign.safetensors": "not written by seqgan_gp", "text.txt": "truncated or foreign",
             "missing.safetensors": "no such checkpoint"}
    for name, message in cases.items():
        with pytest.raises(UserError, match=message):
            ck.load_checkpoint(tmp_path / name)
    with pytest.raises(UserError, match="image checkpoint"):
        ck.save_checkpoint(tmp_path / "img.safetensors", {"w": torch.ones(1)}, {"kind": "image"})
        ck.load_checkpoint(tmp_path / "img.safetensors", kind="text")


def test_optimizer_state_round_trips(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.5, 0.9))
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    tensors, meta = ck.optimizer_to_flat("opt", opt)
    opt2 = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=5.0)
    ck.optimizer_from_flat("opt", opt2, tensors, json.loads(json.dumps(meta)))
    assert opt2.param_groups[0]["lr"] == 1e-3
    assert tuple(opt2.param_groups[0]["betas"]) == (0.5, 0.9)
    for s1, s2 in zip(opt.state.values(), opt2.state.values()):
        assert torch.equal(s1["exp_avg"], s2["exp_avg"]) and torch.equal(s1["step"], s2["step"])
