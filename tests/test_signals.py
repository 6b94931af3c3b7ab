"""SIGINT and SIGTERM: finish the iteration, checkpoint, print the resume command, exit 128+signal.

A second signal stops at once; either way the run resumes with no duplicated or missing records.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from seqgan_gp.checkpoint import load_checkpoint
from seqgan_gp.rundir import list_checkpoints


def start(tmp_path, *extra):
    env = {**os.environ, "SEQGAN_GP_CACHE": str(tmp_path / "cache")}
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "train-text", "--preset", "tiny", "--out", "r",
                             "--iters", "100000", "--log-every", "1", "--checkpoint-every", "100000",
                             "--eval-every", "0", "--sample-every", "0", *extra],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_iteration(tmp_path, proc, iteration, timeout=60):
    metrics = tmp_path / "r" / "metrics.jsonl"
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        if metrics.exists() and any(json.loads(line)["iteration"] >= iteration
                                    for line in metrics.read_text().splitlines() if line.endswith("}")):
            return
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("training did not start")


def iterations(tmp_path):
    return [json.loads(line)["iteration"] for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]


def resume(tmp_path, iters):
    env = {**os.environ, "SEQGAN_GP_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "train-text", "--resume", "r", "--iters", str(iters)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_checkpoints_the_current_iteration_and_prints_the_resume_command(tmp_path, sig, code):
    proc = start(tmp_path)
    wait_for_iteration(tmp_path, proc, 3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    stopped = int(out.split("stopped at iteration ")[1].split(":")[0])
    assert stopped >= 3
    assert "resume with: python cli.py train-text --resume r" in " ".join(out.split())
    newest = list_checkpoints(tmp_path / "r")[-1]
    assert load_checkpoint(newest, kind="text")[1]["iteration"] == stopped  # the iteration it finished
    assert not (tmp_path / "r" / ".lock").exists()
    done = resume(tmp_path, stopped + 2)
    assert done.returncode == 0, done.stderr
    assert iterations(tmp_path) == list(range(stopped + 3))


def test_a_second_ctrl_c_stops_at_once_and_the_run_still_resumes(tmp_path):
    proc = start(tmp_path)
    wait_for_iteration(tmp_path, proc, 2)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)  # before the first stop can finish its checkpoint
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err + out
    newest = list_checkpoints(tmp_path / "r")[-1]  # intact: at least the one of iteration 0
    at = load_checkpoint(newest, kind="text")[1]["iteration"]
    assert not list((tmp_path / "r" / "checkpoints").glob(".*.tmp"))  # no half-written file left behind
    done = resume(tmp_path, at + 2)
    assert done.returncode == 0, done.stderr
    assert iterations(tmp_path) == list(range(at + 3))
