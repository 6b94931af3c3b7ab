"""Faults during a run (issue 8): kill -9 at random moments, memory growth, a full or read-only
disk, and two processes pointed at one run directory.

Kills run the real CLI as a subprocess and SIGKILL it at a seeded random moment after training has
started; the run is then resumed and must log every iteration exactly once (in the slow suite, after
five kills, it must also end bit-identical to an uninterrupted run). Disk faults
are injected at the syscall the atomic writer and the metrics log rely on (``os.fsync`` of the file
being written reports ENOSPC, as a full disk does with delayed allocation); a read-only directory
is simulated through ``os.access``, since the tests run as root, for whom chmod changes nothing.
"""

import errno
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import ROOT
from rich.console import Console

from cli import cli
from seqgan_gp import runlock
from seqgan_gp.checkpoint import load_checkpoint
from seqgan_gp.errors import UserError
from seqgan_gp.batches import TokenBatches
from seqgan_gp.fit import fit
from seqgan_gp.gan import gan_trainable
from seqgan_gp.objectives import WGANGP
from seqgan_gp.rundir import RunDir, list_checkpoints
from seqgan_gp.config import with_overrides
from seqgan_gp.runner import run_task
from seqgan_gp.text.config import PRESETS
from seqgan_gp.text.models import build_networks
from seqgan_gp.text.task import TextTask

QUIET = Console(quiet=True)
FAST = ["--log-every", "1", "--checkpoint-every", "1", "--eval-every", "0"]  # a record and a checkpoint every iteration
ENDLESS = 100_000  # --iters of runs that are killed or stopped long before


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One encoded-corpus cache for the module's runs, in-process and subprocess alike."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def one_thread():
    """In-process training on one thread: on 2 shared cores a second thread mostly spins (4x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def env(cache, monkeypatch):
    monkeypatch.setenv("SEQGAN_GP_CACHE", str(cache))
    # one thread per subprocess: the tiny models gain nothing from two, and the machine is shared
    return {**os.environ, "OMP_NUM_THREADS": "1"}


# -- helpers ---------------------------------------------------------------------------------------

def cli_args(command: str, out: Path, iters: int, *extra: str) -> list[str]:
    preset = ["--preset", "tiny"]
    return [command, *preset, "--out", str(out), "--iters", str(iters), *FAST, *extra]


def start(args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    """The CLI in a subprocess, its output in a file (a pipe nobody reads could block it)."""
    log = cwd / f"log-{time.monotonic_ns()}.txt"
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *args], cwd=cwd, env=env,
                                stdout=f, stderr=subprocess.STDOUT)
    proc.log = log
    return proc


def output(proc: subprocess.Popen) -> str:
    """What the process printed, with rich's line wrapping undone."""
    return " ".join(proc.log.read_text(encoding="utf-8", errors="replace").split())


def checkpoint_iterations(run: Path) -> list[int]:
    return [int(p.name.split("_")[1].split(".")[0]) for p in list_checkpoints(run)]


def logged_iterations(run: Path) -> list[int]:
    """Iterations of metrics.jsonl; every line must parse except a torn last one of a killed process."""
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    its = []
    for i, line in enumerate(lines):
        try:
            its.append(json.loads(line)["iteration"])
        except json.JSONDecodeError:
            assert i == len(lines) - 1, f"line {i + 1} of {len(lines)} of metrics.jsonl is torn: {line!r}"
    return its


def temp_files(run: Path) -> list[Path]:
    return sorted(run.rglob(".*.tmp"))


def wait_until(condition, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the run ended before the test could act on it:\n{output(proc)}"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)


def kill_at_random(proc: subprocess.Popen, run: Path, after: int, rng: random.Random, window: int = 10) -> float:
    """SIGKILL ``proc`` at a random moment within about ``window`` iterations once it checkpointed past ``after``.

    The moment is drawn in seconds from the speed the process shows, so it falls anywhere in an
    iteration (critic steps, generator step, log, sample, checkpoint write, pruning). Killed runs
    train towards ENDLESS iterations, so a slow or fast moment never lets one end first; the last
    resume sets the real --iters. Returns the delay in seconds.
    """
    wait_until(lambda: any(it > after for it in checkpoint_iterations(run)), proc)
    t0, first = time.monotonic(), checkpoint_iterations(run)[-1]
    wait_until(lambda: checkpoint_iterations(run)[-1] >= first + 2, proc)
    sec_per_iter = (time.monotonic() - t0) / (checkpoint_iterations(run)[-1] - first)
    delay = rng.uniform(0, window * sec_per_iter)
    time.sleep(delay)
    assert proc.poll() is None, output(proc)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return delay


def check_after_kill(run: Path, proc: subprocess.Popen, kind: str) -> int:
    """The guarantees a SIGKILL must leave standing; returns the iteration a resume starts from."""
    newest = list_checkpoints(run)[-1]
    _, meta = load_checkpoint(newest, kind=kind)  # loadable, and the file it claims to be
    assert meta["iteration"] == checkpoint_iterations(run)[-1]
    its = logged_iterations(run)  # a resume drops the records after the checkpoint and writes them again
    assert its == list(range(len(its))) and its[-1] >= meta["iteration"], its
    assert json.loads((run / ".lock").read_text())["pid"] == proc.pid  # the dead process's lock is still there
    return meta["iteration"]


def resume(command: str, run: Path, iters: int, env: dict, cwd: Path, *extra: str) -> subprocess.Popen:
    return start([command, "--resume", str(run), "--iters", str(iters), *FAST, *extra], env, cwd)


def check_finished(run: Path, iters: int, kind: str, keep: int) -> None:
    assert logged_iterations(run) == list(range(iters + 1))  # each logged iteration exactly once
    assert checkpoint_iterations(run) == list(range(iters - keep + 1, iters + 1))
    assert load_checkpoint(list_checkpoints(run)[-1], kind=kind)[1]["iteration"] == iters
    assert not temp_files(run), temp_files(run)
    assert not (run / ".lock").exists()


def tensors_of(path: Path) -> dict:
    return load_checkpoint(path)[0]


def fail_fsync(monkeypatch, matches, after: int = 0) -> dict:
    """Make ``os.fsync`` report ENOSPC for files whose name ``matches``, after ``after`` good calls;
    returns the count of calls for such files."""
    real = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if matches(name):
            calls["n"] += 1
            if calls["n"] > after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error_line(result) -> str:
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# -- kill -9 ---------------------------------------------------------------------------------------

def test_kill_9_during_training_leaves_a_loadable_checkpoint_and_the_run_resumes_exactly(tmp_path, env):
    run = tmp_path / "run"
    proc = start(cli_args("train-text", run, ENDLESS, "--keep-checkpoints", "2", "--sample-every", "5"), env, tmp_path)
    kill_at_random(proc, run, after=0, rng=random.Random(8))
    at = check_after_kill(run, proc, "text")
    # what a kill in the middle of a checkpoint write leaves behind: a torn temporary file
    newest = list_checkpoints(run)[-1]
    torn = run / "checkpoints" / f".checkpoint_{at + 1:08d}.safetensors.x1y2z3.tmp"
    torn.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])

    iters = at + 10
    done = resume("train-text", run, iters, env, tmp_path)
    assert done.wait(timeout=300) == 0, output(done)
    assert f"from iteration {at} " in output(done)  # the newest checkpoint, despite the dead process's lock
    check_finished(run, iters, "text", keep=2)  # the torn file is gone too


@pytest.mark.slow
@pytest.mark.parametrize("command, kind, extra", [
    ("train-text", "text", ["--sample-every", "7"]),
    ("train-toy", "toy", ["--plot-every", "0"]),
])
def test_five_kills_at_random_moments_then_the_run_ends_as_an_uninterrupted_one(tmp_path, env, command, kind, extra):
    rng = random.Random(2017)
    run = tmp_path / "run"
    proc = start(cli_args(command, run, ENDLESS, "--keep-checkpoints", "3", *extra), env, tmp_path)
    at, kills, torn = 0, [], 0
    for i in range(5):
        delay = kill_at_random(proc, run, after=at, rng=rng)
        torn += len(temp_files(run))
        at = check_after_kill(run, proc, kind)
        kills.append((round(delay, 2), at, logged_iterations(run)[-1]))
        if i < 4:
            proc = resume(command, run, ENDLESS, env, tmp_path)
    iters = at + 15
    proc = resume(command, run, iters, env, tmp_path)
    assert proc.wait(timeout=300) == 0, output(proc)
    assert f"from iteration {at} " in output(proc)
    check_finished(run, iters, kind, keep=3)
    print(f"\n{command}: kills (delay s, resumed from, last record) {kills}; torn temporary files left by "
          f"the kills {torn}")

    straight = tmp_path / "straight"  # the same run without kills (no learning-rate decay: --iters changes nothing)
    ref = start(cli_args(command, straight, iters, "--keep-checkpoints", "3", *extra), env, tmp_path)
    assert ref.wait(timeout=300) == 0, output(ref)
    a, b = tensors_of(list_checkpoints(run)[-1]), tensors_of(list_checkpoints(straight)[-1])
    assert a.keys() == b.keys()
    for key in a:  # bit-exact on the CPU: the kills changed nothing
        assert torch.equal(a[key], b[key]), key
    timing = ("sec_per_iter", "it_per_s")

    def records(r):
        return [{k: v for k, v in json.loads(line).items() if k not in timing}
                for line in (r / "metrics.jsonl").read_text().splitlines()]
    assert records(run) == records(straight)


def test_a_run_killed_before_its_first_checkpoint_says_how_to_start_again(tmp_path, env):
    run = tmp_path / "run"
    assert invoke(*cli_args("train-text", run, 2, "--sample-every", "0")).exit_code == 0
    for ckpt in list_checkpoints(run):  # what a kill while checkpoint 0 was being written leaves
        ckpt.rename(ckpt.parent / f".{ckpt.name}.k1ll3d.tmp")
    r = invoke("train-text", "--resume", run, "--iters", 4)
    assert r.exit_code == 2
    assert one_error_line(r).endswith(f"{run}: no checkpoints/checkpoint_*.safetensors in this run; it stopped "
                                      f"before its first checkpoint, so start it again with --out {run} --overwrite")
    assert not (run / ".lock").exists()
    r = invoke(*cli_args("train-text", run, 2, "--sample-every", "0", "--overwrite"))  # the advice works
    assert r.exit_code == 0, r.output
    check_finished(run, 2, "text", keep=3)


# -- memory ----------------------------------------------------------------------------------------

def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class HoardingWGANGP(WGANGP):
    """WGAN-GP that keeps every critic loss: the create_graph leak the loop must not have."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.kept = []

    def critic_objective(self, *args, **kwargs):
        loss, stats = super().critic_objective(*args, **kwargs)
        self.kept.append(loss)  # holds the penalty's double-backward graph alive
        return loss, stats


def rss_growth(tmp_path: Path, iters: int, warmup: int, hoard: bool = False) -> tuple[float, float]:
    """RSS (MB) after ``warmup`` iterations and its growth up to ``iters`` of a tiny text model that
    logs every iteration (metrics.jsonl and the progress bar) and checkpoints every 50."""
    cfg = with_overrides(PRESETS["tiny"], iters=iters, log_every=1, checkpoint_every=50, sample_every=0, eval_every=0)
    cfg = with_overrides(cfg, keep_checkpoints=2)
    ids = np.random.default_rng(0).integers(0, 30, size=(2000, cfg.seq_len)).astype(np.int32)
    cpu = torch.device("cpu")
    torch.manual_seed(cfg.seed)
    G, D = build_networks(cfg, 30, cpu)
    trainable = gan_trainable(cfg, G, D, TokenBatches(ids, 30, cfg.batch_size, cfg.seed, cpu), cpu,
                      objective=HoardingWGANGP(lambda_gp=cfg.lambda_gp) if hoard else None)
    seen = {}
    run = RunDir.create(tmp_path / ("hoard" if hoard else "clean"))
    try:
        fit(run=run, trainable=trainable, schedule=cfg, kind="text", meta={}, console=QUIET,
            show_progress=True, loggers=[lambda r: seen.__setitem__(r["iteration"], rss_mb())])
    finally:
        run.unlock()
    at_warmup = float(np.median([seen[i] for i in range(warmup - 10, warmup + 1)]))
    at_end = float(np.median([seen[i] for i in range(iters - 10, iters + 1)]))
    return at_warmup, at_end - at_warmup


LEAK_MB = 4.0


def rss_growth_in_a_fresh_process(tmp_path: Path, **kwargs) -> tuple[float, float]:
    """:func:`rss_growth` in its own interpreter: inside the test session, memory that earlier tests freed
    but malloc kept would absorb new allocations without any growth of RSS."""
    code = ("import json, sys, torch; from pathlib import Path; torch.set_num_threads(1); "
            "import test_faults as t; "
            f"print(json.dumps(t.rss_growth(Path(sys.argv[1]), **{kwargs!r})))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parent, env={**os.environ, "PYTHONPATH": f"{Path(__file__).parent}:{ROOT}"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tuple(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_resident_memory_does_not_grow_over_hundreds_of_iterations(tmp_path):
    base, growth = rss_growth_in_a_fresh_process(tmp_path, iters=300, warmup=100)
    print(f"\nRSS {base:.1f} MB after 100 iterations, {growth:+.2f} MB over the next 200")
    assert growth < LEAK_MB


def test_the_memory_probe_sees_a_retained_penalty_graph(tmp_path):
    """The bound above can fail: keeping each critic loss (and with it the create_graph graph) does."""
    _, growth = rss_growth_in_a_fresh_process(tmp_path, iters=210, warmup=60, hoard=True)
    print(f"\nhoarding the critic losses: {growth:+.2f} MB over 150 iterations")
    assert growth > 2 * LEAK_MB


# -- disk ------------------------------------------------------------------------------------------

def test_out_that_cannot_be_created_is_refused_before_training(tmp_path, env):
    parent = tmp_path / "a-file"
    parent.write_text("not a directory")
    r = invoke("train-text", "--preset", "tiny", "--out", parent / "run")
    assert r.exit_code == 2
    line = one_error_line(r)
    assert f"--out {parent / 'run'}: cannot create the run directory" in line and "choose a writable --out" in line
    assert parent.read_text() == "not a directory"
    assert "train-text" not in r.stdout  # no training banner: it never started


def test_read_only_out_is_refused_before_training(tmp_path, env, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    # what a read-only file system (or a directory without write permission) answers
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == ro and mode & os.W_OK
                        else real_access(p, mode, **kw))
    r = invoke("train-text", "--preset", "tiny", "--out", ro)
    assert r.exit_code == 2
    assert f"{ro}: run directory is not writable; fix its permissions or choose another --out" in one_error_line(r)
    assert list(ro.iterdir()) == []  # not even a lock file


def test_a_failed_checkpoint_write_stops_cleanly_and_prunes_nothing(tmp_path, env, monkeypatch):
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        calls = fail_fsync(m, lambda name: name.startswith(".checkpoint_00000004.safetensors."))
        r = invoke(*cli_args("train-text", run, 6, "--keep-checkpoints", "2", "--sample-every", "0"))
    assert calls["n"] == 1
    assert r.exit_code == 2
    line = one_error_line(r)
    ckpt = run / "checkpoints" / "checkpoint_00000004.safetensors"
    assert line == (f"error: {ckpt}: could not write the checkpoint (No space left on device); free disk space or "
                    f"fix permissions, then --resume {run}")
    # the previous checkpoints are intact and the failed write pruned none of them
    assert checkpoint_iterations(run) == [2, 3]
    assert load_checkpoint(run / "checkpoints" / "checkpoint_00000003.safetensors", kind="text")[1]["iteration"] == 3
    assert not temp_files(run) and not (run / ".lock").exists()

    r = invoke("train-text", "--resume", run, "--iters", 6, *FAST)
    assert r.exit_code == 0, r.output
    check_finished(run, 6, "text", keep=2)  # with --keep-checkpoints 2 exactly the two newest remain


def test_a_failed_metrics_append_stops_with_the_path_and_the_fix(tmp_path, env, monkeypatch):
    run = tmp_path / "run"

    def train(resume=None):
        return run_task(TextTask(), base=PRESETS["tiny"], device=torch.device("cpu"), console=QUIET, show_progress=False,
                        overrides={"iters": 8, "log_every": 1, "checkpoint_every": 2, "eval_every": 0},
                        out=None if resume else run, resume=resume)

    with monkeypatch.context() as m, pytest.raises(UserError) as info:
        fail_fsync(m, lambda name: name == "metrics.jsonl", after=4)  # records 0..3 are written
        train()
    metrics = run / "metrics.jsonl"
    assert str(info.value) == (f"{metrics}: could not write the metrics of iteration 4 (No space left on device); "
                               f"free disk space or fix permissions, then continue with --resume {run}")
    assert checkpoint_iterations(run)[-1] == 2  # iteration 4 never reached its checkpoint
    assert load_checkpoint(list_checkpoints(run)[-1], kind="text")[1]["iteration"] == 2
    assert not (run / ".lock").exists()
    assert train(resume=run).result.iteration == 8
    assert logged_iterations(run) == list(range(9))  # the record whose fsync failed is not doubled


@pytest.mark.parametrize("command, name", [("train-text", "samples_00000002.txt"), ("train-toy", "frame_00000002.png")])
def test_a_failed_sample_write_stops_with_the_path_and_the_fix(tmp_path, env, monkeypatch, command, name):
    run = tmp_path / "run"
    real_open = open

    def full_disk(file, *args, **kwargs):  # Path.write_text and Pillow/matplotlib all open the file first
        if Path(str(file)).name == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real_open(file, *args, **kwargs)

    every = ["--sample-every", "2"] if command == "train-text" else ["--plot-every", "2"]
    with monkeypatch.context() as m:
        m.setattr("builtins.open", full_disk)
        m.setattr("io.open", full_disk)
        r = invoke(*cli_args(command, run, 4, *every))
    assert r.exit_code == 2, r.output
    assert one_error_line(r) == (f"error: {run / 'samples' / name}: could not write samples (No space left on "
                                 f"device); free disk space or fix permissions, then --resume {run}")
    assert checkpoint_iterations(run)[-1] == 1 and not (run / ".lock").exists()  # iteration 2 never checkpointed
    r = invoke(command, "--resume", run, "--iters", 4)
    assert r.exit_code == 0, r.output
    assert logged_iterations(run) == list(range(5))


def test_a_failed_config_write_is_a_user_error(tmp_path, monkeypatch):
    run = RunDir.create(tmp_path / "run")
    fail_fsync(monkeypatch, lambda name: name.startswith(".config.json."))
    with pytest.raises(UserError, match=r"config\.json: could not write the run's configuration \(No space left on "
                                        r"device\); free disk space or fix permissions"):
        run.write_config({"kind": "text"})
    run.unlock()
    assert sorted(p.name for p in run.path.iterdir()) == ["checkpoints", "samples"]  # no config, no temp file


# -- two processes, one run directory --------------------------------------------------------------

def test_a_second_process_at_a_live_run_is_refused_even_with_overwrite(tmp_path, env):
    run = tmp_path / "run"
    proc = start(cli_args("train-text", run, ENDLESS, "--keep-checkpoints", "2", "--sample-every", "0"), env, tmp_path)
    wait_until(lambda: checkpoint_iterations(run)[-1:] >= [1], proc)
    config = (run / "config.json").read_bytes()
    message = f"{run}: another process (pid {proc.pid}) is training in this run directory; wait for it"
    for args in (["--resume", run, "--iters", 5], ["--preset", "tiny", "--out", run, "--overwrite"]):
        r = invoke("train-text", *args)
        assert r.exit_code == 2 and message in one_error_line(r)
    assert (run / "config.json").read_bytes() == config  # --overwrite deleted nothing
    refused_at = checkpoint_iterations(run)[-1]
    wait_until(lambda: checkpoint_iterations(run)[-1] >= refused_at + 2, proc)  # the first run trains on
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM, output(proc)
    last = checkpoint_iterations(run)[-1]
    assert logged_iterations(run) == list(range(last + 1))  # undisturbed: every record, once
    assert load_checkpoint(list_checkpoints(run)[-1], kind="text")[1]["iteration"] == last
    assert not (run / ".lock").exists()


def test_overwrite_replaces_a_finished_run_and_nothing_else_does(tmp_path, env):
    run = tmp_path / "run"
    assert invoke(*cli_args("train-text", run, 4, "--sample-every", "0")).exit_code == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    r = invoke(*cli_args("train-text", run, 3, "--sample-every", "0"))
    assert r.exit_code == 2 and "already holds a run; use --resume" in one_error_line(r)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    r = invoke(*cli_args("train-text", run, 3, "--sample-every", "0", "--overwrite"))
    assert r.exit_code == 0, r.output
    assert logged_iterations(run) == [0, 1, 2, 3] and checkpoint_iterations(run)[-1] == 3


def lock_file(run: RunDir, owner) -> None:
    run.path.mkdir(parents=True, exist_ok=True)
    (run.path / ".lock").write_text(owner if isinstance(owner, str) else json.dumps(owner))


HOLD = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); os.ftruncate(fd, 0); os.write(fd, sys.argv[2].encode()); "
        "print('locked', flush=True); time.sleep(120)")


def holder(lock: Path, content: str) -> subprocess.Popen:
    """Another process holding the kernel's lock on ``lock`` with ``content`` written in it."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock), content], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_the_kernel_lock_refuses_a_live_holder_and_is_free_once_it_dies(tmp_path):
    run = RunDir(tmp_path / "run")
    proc = holder(run.path / ".lock", json.dumps({"pid": 4242, "host": socket.gethostname(), "start": "1"}))
    try:
        with pytest.raises(UserError, match=r"^\S+/run: another process \(pid 4242\) is training in this run "
                                            r"directory; wait for it or choose another --out$"):
            run.lock()
        proc.kill()  # kill -9: the kernel releases the lock; the file and the dead pid stay
        proc.wait()
        assert json.loads((run.path / ".lock").read_text())["pid"] == 4242
        run.lock()
        assert json.loads((run.path / ".lock").read_text())["pid"] == os.getpid()
        run.unlock()
        assert not (run.path / ".lock").exists()
    finally:
        proc.kill()
        proc.wait()


def test_the_refusal_names_the_holders_host_and_a_holder_that_has_not_written_yet(tmp_path):
    for content, who in ((json.dumps({"pid": 77, "host": "elsewhere"}), r"pid 77 on elsewhere"),
                         ("", r"a process starting right now"), ('{"pid": ', r"a process starting right now")):
        run = RunDir(tmp_path / f"run{len(content)}")
        proc = holder(run.path / ".lock", content)
        try:
            with pytest.raises(UserError, match=rf"another process \({who}\) is training in this run directory"):
                run.lock()
        finally:
            proc.kill()
            proc.wait()


def test_lock_files_without_a_holder_never_keep_a_run_locked(tmp_path):
    """What the old lock files had to guess from (live pids, other hosts, torn or empty files) no longer
    matters: without a process holding the kernel's lock, the run is free."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        for name, owner in {"a live pid": {"pid": sleeper.pid, "host": socket.gethostname()},
                            "a bare pid": str(sleeper.pid), "another host": {"pid": 1, "host": "elsewhere"},
                            "a torn file": '{"pid": ', "an empty file": ""}.items():
            run = RunDir(tmp_path / name)
            lock_file(run, owner)
            run.lock()
            assert json.loads((run.path / ".lock").read_text())["pid"] == os.getpid(), name
            run.unlock()
            assert not (run.path / ".lock").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_lock_file_removed_between_open_and_lock_is_not_trusted(tmp_path, monkeypatch):
    """A holder that finishes unlinks the file it locked; a process that opened that file just before
    must lock the new one, not the unlinked one (else two processes would hold "the" lock)."""
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    real_flock, calls = runlock.fcntl.flock, []

    def flock(fd, op):
        real_flock(fd, op)
        if not calls:  # the first attempt: the file is replaced right after we locked it
            os.unlink(run.path / ".lock")
            (run.path / ".lock").write_text("")
        calls.append(fd)

    monkeypatch.setattr(runlock.fcntl, "flock", flock)
    run.lock()
    assert len(calls) == 2  # locked the old file, saw it was gone, locked the new one
    assert json.loads((run.path / ".lock").read_text())["pid"] == os.getpid()
    run.unlock()


def test_atomic_writes_give_files_the_permissions_a_plain_write_gives(tmp_path):
    """Checkpoints and config.json were 0600 (mkstemp's mode): unreadable to a group sharing the run."""
    from seqgan_gp.atomic import atomic_write_text
    from seqgan_gp.checkpoint import save_checkpoint

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic_write_text(tmp_path / "config.json", "{}")
    save_checkpoint(tmp_path / "c.safetensors", {"w": torch.ones(2)}, {"kind": "text"})
    mode = plain.stat().st_mode & 0o777
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == mode
    assert (tmp_path / "c.safetensors").stat().st_mode & 0o777 == mode
