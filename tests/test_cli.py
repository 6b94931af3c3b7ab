"""The real CLI end to end on tiny settings, and its errors (exit code 2, one clear line)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli import cli

ROOT = Path(__file__).resolve().parent.parent


def invoke(runner, *args):
    result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def test_train_text_then_sample_end_to_end(cli_runner, tmp_path):
    out = tmp_path / "run"
    r = invoke(cli_runner, "train-text", "--preset", "tiny", "--out", out, "--iters", 10)
    assert r.exit_code == 0, r.output
    assert "done: iteration 10" in r.output
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["iters"] == 10 and config["config"]["dim"] == 16
    assert config["tokenizer"]["kind"] == "char" and config["versions"]["torch"]
    records = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 5, 10]
    assert {"critic_loss", "wasserstein", "penalty", "gen_loss"} <= set(records[1])
    assert {"js1", "js4", "valid"} <= set(records[-1])
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["samples_00000000.txt", "samples_00000010.txt"]

    r = invoke(cli_runner, "sample", out, "-n", 7, "--seed", 3)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert len(lines) == 7 and all(not l.endswith("`") for l in lines)
    again = invoke(cli_runner, "sample", out / "checkpoints" / "checkpoint_00000010.safetensors", "-n", 7, "--seed", 3)
    assert again.output == r.output  # a run directory means its newest checkpoint; same seed, same text
    sampled = invoke(cli_runner, "sample", out, "-n", 5, "--temperature", 1.0, "--out", tmp_path / "s.txt")
    assert sampled.exit_code == 0 and len((tmp_path / "s.txt").read_text().splitlines()) == 5


def test_train_text_on_a_text_file(cli_runner, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"sentence number {i} here\n" for i in range(100)), encoding="utf-8")
    r = invoke(cli_runner, "train-text", "--preset", "tiny", "--corpus", corpus, "--out", tmp_path / "r", "--iters", 3)
    assert r.exit_code == 0, r.output
    tok = json.loads((tmp_path / "r" / "config.json").read_text())["tokenizer"]
    assert set(tok["chars"]) >= set("sentence numbr")


@pytest.mark.parametrize("args, message", [
    (["train-text", "--corpus", "{tmp}/missing.txt"], "missing.txt: no such file"),
    (["train-text", "--corpus", "{tmp}/empty.txt"], "no non-empty lines"),
    (["train-text", "--corpus", "billion_word"], "needs --data-dir"),
    (["train-text", "--corpus", "billion_word", "--data-dir", "{tmp}"], "training-monolingual.tokenized.shuffled"),
    (["train-text", "--seq-len", "1"], "--seq-len 1"),
    (["train-text", "--vocab-size", "1"], "--vocab-size 1"),
    (["train-text", "--iters", "0"], "--iters 0"),
    (["train-text", "--lambda-gp", "-1"], "--lambda-gp -1"),
    (["train-text", "--device", "tpu"], "--device 'tpu'"),
    (["train-text", "--out", "{tmp}/existing"], "already holds a run"),
    (["sample", "{tmp}/nothing"], "no such run directory"),
    (["sample", "{tmp}/bad.safetensors"], "truncated or foreign"),
    (["sample", "{tmp}/existing"], "no config.json|no checkpoints"),
    (["train-text", "--resume", "{tmp}/nothing"], "no config.json"),
])
def test_user_errors_exit_2_with_one_line(tmp_path, args, message):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00garbage")
    (tmp_path / "existing").mkdir()
    (tmp_path / "existing" / "file").write_text("keep me")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args, *(["--preset", "tiny"] if args[0] == "train-text" else [])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    import re
    assert re.search(message, proc.stderr.replace("\n", " ")), proc.stderr
    assert (tmp_path / "existing" / "file").read_text() == "keep me"


def test_help_explains_every_option(cli_runner):
    r = invoke(cli_runner, "train-text", "--help")
    for flag in ["--iters", "--batch-size", "--seq-len", "--dim", "--blocks", "--critic-iters", "--lambda-gp",
                 "--lr", "--betas", "--vocab-size", "--max-examples", "--out", "--sample-every", "--eval-every",
                 "--checkpoint-every", "--seed", "--device", "--preset", "--resume"]:
        assert flag in r.output
