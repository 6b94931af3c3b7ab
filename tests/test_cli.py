"""The real CLI end to end on tiny settings (its user errors: tests/test_bad_inputs.py)."""

import json

from cli import cli


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
    assert {"js1_64", "js4_64", "valid64"} <= set(records[-1])  # tiny: --eval-samples 64
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


def test_help_explains_every_option(cli_runner):
    r = invoke(cli_runner, "train-text", "--help")
    for flag in ["--iters", "--batch-size", "--seq-len", "--dim", "--blocks", "--critic-iters", "--lambda-gp",
                 "--lr", "--betas", "--vocab-size", "--max-examples", "--out", "--sample-every", "--eval-every",
                 "--checkpoint-every", "--seed", "--device", "--preset", "--resume"]:
        assert flag in r.output
