"""Progress anywhere (plain lines when stdout is not a terminal), RUN_DIR/log.txt, the duration estimate,
and the refusal of a bare paper run on a CPU."""

import errno
import io
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import ROOT
from rich.console import Console

from cli import cli
from seqgan_gp import progress
from seqgan_gp.progress import TrainingProgress, clock, human_duration
from seqgan_gp.runlog import RunConsole

LINE = re.compile(r"^text (\d+)/(\d+) \((\d+\.\d)%\) · ")


def run_cli(*args, cwd, timeout=240):
    """The CLI as a user runs it under nohup or in CI: stdout is a pipe, not a terminal."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_piped_run_prints_plain_progress_lines_and_log_txt_holds_everything(tmp_path):
    run, cache = tmp_path / "run", tmp_path / "cache"
    short = ["--log-every", "2", "--sample-every", "0", "--eval-every", "0", "--cache-dir", cache]
    proc = run_cli("train-text", "--preset", "tiny", "--iters", 6, "--out", run, *short, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b" not in out and "━" not in out  # no terminal control codes, no bar
    lines = [l for l in out.splitlines() if LINE.match(l)]
    its = [int(LINE.match(l).group(1)) for l in lines]
    assert its[0] == 0 and its[-1] == 6 and its == sorted(set(its))  # the first record, the last, in order
    last = lines[-1]
    assert last.startswith("text 6/6 (100.0%) · ") and " it/s · elapsed " in last
    assert re.search(r"D [+-]\d+\.\d{3} W [+-]\d+\.\d{3} GP [+-]\d+\.\d{3} G [+-]\d+\.\d{3}", last)
    assert re.search(r" · JS-4 \d\.\d{3} valid \d+\.\d% BLEU-4 \d\.\d{3}$", last)  # the evaluation at the end
    header = next(l for l in out.splitlines() if l.startswith("train-text embedded:"))
    assert header.endswith(f"run {run}")  # one line, not cut at the pipe's 80 columns
    assert "encoding characters: " in out and " lines, done in " in out  # the corpus encoding, as lines too

    log = (run / "log.txt").read_text(encoding="utf-8")
    first, *body = log.splitlines()
    assert first.startswith("──── ") and "train-text --preset tiny --iters 6 --out" in first
    assert [l for l in body if l.strip()] == [l for l in out.splitlines() if l.strip()]  # all of it, in order

    # a resumed run appends after a separator line
    proc = run_cli("train-text", "--resume", run, "--iters", 8, *short, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    log = (run / "log.txt").read_text(encoding="utf-8")
    sessions = [l for l in log.splitlines() if l.startswith("──── ")]
    assert len(sessions) == 2 and "--resume" in sessions[1]
    before, after = log.split(sessions[1])
    assert before.endswith("\n\n") and "done: iteration 6" in before  # a blank line, then the separator
    assert "resuming " in after and "text 8/8 (100.0%)" in after and "done: iteration 8" in after


def test_an_error_that_ends_a_run_is_in_its_log_but_a_refused_resume_changes_nothing(tmp_path, monkeypatch):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"line {i} of the corpus\n" for i in range(64)), encoding="utf-8")
    run, cache = tmp_path / "run", tmp_path / "cache"
    args = ["--cache-dir", str(cache), "--eval-every", "0", "--sample-every", "0"]
    r = CliRunner().invoke(cli, ["train-text", "--preset", "tiny", "--corpus", str(corpus), "--iters", "2",
                                 "--out", str(run), *args])
    assert r.exit_code == 0, r.output
    before = (run / "log.txt").read_bytes()
    corpus.write_text("another corpus altogether\n" * 64, encoding="utf-8")
    r = CliRunner().invoke(cli, ["train-text", "--resume", str(run), "--iters", "4", "--corpus", str(corpus), *args])
    assert r.exit_code == 2 and "has changed" in r.output, r.output
    assert (run / "log.txt").read_bytes() == before  # refused before it started: the log is untouched

    def full_disk(path, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("seqgan_gp.fit.save_state", full_disk)  # the checkpoint of iteration 0 fails
    r = CliRunner().invoke(cli, ["train-text", "--preset", "tiny", "--iters", "2", "--out", str(tmp_path / "full"),
                                 *args])
    assert r.exit_code == 2
    log = (tmp_path / "full" / "log.txt").read_text(encoding="utf-8").splitlines()
    assert any(l.startswith("train-text embedded:") for l in log)  # the header, then the error that ended the run
    assert log[-1].startswith("error: ") and "could not write the checkpoint (No space left on device)" in log[-1]


class Clock:
    """A stand-in for time.perf_counter that tests move by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock_(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", c)
    return c


def record(it, **extra):
    return {"iteration": it, "critic_loss": -1.5, "wasserstein": 2.25, "penalty": 0.125, "gen_loss": 0.5, **extra}


def plain_console():
    buf = io.StringIO()
    return Console(file=buf, width=200, force_terminal=False), buf


def test_plain_lines_come_once_per_interval_whatever_the_log_every(clock_):
    con, buf = plain_console()
    p = TrainingProgress(con, total=100, description="text", plain_every=30.0)
    with p:
        for it in range(0, 101):  # --log-every 1, one iteration a second
            if it:
                clock_.now += 1.0
                p.advance(it)
            p.update(record(it, **({"js4": 0.5} if it == 50 else {})))
    its = [int(LINE.match(l).group(1)) for l in buf.getvalue().splitlines() if LINE.match(l)]
    assert its == [0, 30, 60, 90, 100]
    last = buf.getvalue().splitlines()[-1]
    assert last == "text 100/100 (100.0%) · 1 it/s · elapsed 1:40 · D -1.500 W +2.250 GP +0.125 G +0.500 · JS-4 0.500"


def test_the_line_of_a_stopped_run_is_written_on_exit(clock_):
    con, buf = plain_console()
    with TrainingProgress(con, total=100, description="toy", plain_every=30.0) as p:
        for it in (1, 2, 3):
            clock_.now += 1.0
            p.advance(it)
            p.update(record(it, w1=0.25, modes=None))
    lines = buf.getvalue().splitlines()
    assert [l.split(" · ")[0] for l in lines] == ["toy 1/100 (1.0%)", "toy 3/100 (3.0%)"]
    assert lines[-1].endswith("· W1 0.250 modes —")  # an undefined figure shows as a dash
    assert "ETA 1:37" in lines[-1]  # 97 iterations left at 1 it/s


def test_a_month_on_a_cpu_is_said_loudly_with_the_command_of_a_cpu_run(clock_):
    con, buf = plain_console()
    p = TrainingProgress(con, total=200_000, description="text", device="cpu",
                         smaller_run="python cli.py train-text --preset demo")
    for it in range(1, 5):  # 15 s an iteration; the first is warm-up and not measured
        clock_.now += 15.0 if it > 1 else 120.0
        p.advance(it)
        if it < 4:
            assert buf.getvalue() == ""  # not from fewer than 3 measured iterations
    out = buf.getvalue()
    assert "estimated time to iteration 200,000: ≈ 35 days at 0.0667 it/s on cpu (measured over iterations 1-4)" in out
    assert "warning: this run would take ≈ 35 days on this CPU" in out
    assert "python cli.py train-text --preset demo" in out
    clock_.now += 15.0
    p.advance(5)
    assert buf.getvalue() == out  # said once


def test_the_estimate_is_quiet_for_short_runs_and_not_alarmed_on_a_gpu(clock_):
    con, buf = plain_console()
    p = TrainingProgress(con, total=50, device="cpu")
    for it in range(1, 20):
        clock_.now += 0.5
        p.advance(it)
    assert buf.getvalue() == ""  # 25 s in all: no estimate
    p = TrainingProgress(con, total=200_000, device="cuda", smaller_run="x")
    for it in range(1, 13):
        clock_.now += 1.0
        p.advance(it)
    assert "≈ 2.3 days at 1 it/s on cuda (measured over iterations 1-11)" in buf.getvalue()
    assert "warning" not in buf.getvalue()


@pytest.mark.parametrize("seconds, shown, words", [
    (42, "0:42", "42 seconds"), (3725, "1:02:05", "62 minutes"), (5 * 3600, "5:00:00", "5.0 hours"),
    (2 * 86400 + 3 * 3600 + 12 * 60, "2 d 03:12", "2.1 days"), (38 * 86400, "38 d 00:00", "38 days"), (float("inf"), "?", None)])
def test_durations(seconds, shown, words):
    assert clock(seconds) == shown
    if words:
        assert human_duration(seconds) == words


def test_run_console_copies_text_but_not_live_refreshes(tmp_path):
    from rich.control import Control

    con = RunConsole(file=io.StringIO(), force_terminal=False)
    con.print("before the log")
    con.log_to(tmp_path / "log.txt", note="cmd --flag")
    con.print("[bold]bold[/] text", 3)
    assert not (tmp_path / "log.txt").exists()  # held back until the run accepts its inputs
    con.commit_log()
    con.print(Control())
    con.line()
    con.print("after the commit")
    con.close_log()
    con.print("after")
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert lines[0].endswith(" cmd --flag ────") and lines[1:] == ["bold text 3", "after the commit"]
    con.log_to(tmp_path / "log.txt", note="second")
    con.print("never committed")
    con.close_log()  # a refused session: dropped
    assert (tmp_path / "log.txt").read_text().splitlines()[1:] == ["bold text 3", "after the commit"]


def test_a_bare_paper_run_on_a_cpu_is_refused_before_anything_is_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ("train-text", "train-image"):
        r = CliRunner().invoke(cli, [command, "--device", "cpu"])
        assert r.exit_code == 2
        assert "no --preset on a CPU" in r.output and f"{command} --preset demo" in r.output
        assert "pass --preset paper" in r.output
    assert list(tmp_path.iterdir()) == []  # no runs/ directory, no cache
    help_text = CliRunner().invoke(cli, ["train-text", "--help"]).output
    assert "about 35 days" in " ".join(help_text.split()) and "refused" in help_text
