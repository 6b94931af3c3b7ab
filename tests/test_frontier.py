"""evaluate --temperatures: the quality–diversity frontier of a GAN and a language model, end to end."""

import json

import pytest
from PIL import Image

from cli import cli
from seqgan_gp.errors import UserError
from seqgan_gp.metrics.counts import base_name
from seqgan_gp.lm.frontier import METRICS, REAL, frontier_rows, metric, parse_temperatures


def invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny GAN with an EMA of its generator and a tiny LSTM language model on the embedded corpus."""
    from click.testing import CliRunner

    root = tmp_path_factory.mktemp("frontier")
    runner = CliRunner()
    cache = root / "cache"
    common = ["--preset", "tiny", "--iters", 4, "--eval-every", 0, "--sample-every", 0, "--cache-dir", cache]
    gan = invoke(runner, "train-text", *common, "--ema-decay", 0.5, "--out", root / "runs" / "gan")
    lm = invoke(runner, "train-lm", *common, "--model", "lstm", "--out", root / "runs" / "lm")
    assert gan.exit_code == 0 and lm.exit_code == 0, gan.output + lm.output
    return root


def test_frontier_of_a_gan_and_a_language_model_writes_table_json_and_png(cli_runner, runs):
    out = runs / "out"
    r = invoke(cli_runner, "evaluate", "--temperatures", "0,0.7,1", runs / "runs" / "gan", runs / "runs" / "lm",
               "-n", 24, "--with-raw", "--out", out, "--cache-dir", runs / "cache")
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "frontier.json").read_text())
    assert [c["label"] for c in doc["curves"]] == ["gan (EMA)", "gan (raw)", "lm"]
    assert [c["weights"] for c in doc["curves"]] == ["G_ema", "G", "LM"]
    assert [c["kind"] for c in doc["curves"]] == ["text", "text", "lm"]
    for curve in doc["curves"]:
        assert [p["temperature"] for p in curve["points"]] == [0, 0.7, 1]
        for point in curve["points"]:
            values = point["metrics"]
            named = {base_name(name) for name in values}  # distinct4 may be null: no 4 words in a tiny model's row
            assert {METRICS[k] for k in ("bleu4", "self_bleu4", "js4", "valid", "distinct4")} <= named
            assert 0 <= metric(values, "bleu4") <= 1 and 0 <= metric(values, "valid") <= 1
    assert doc["curves"][2]["points"][0]["decoding"] == "argmax" and doc["curves"][2]["points"][1]["decoding"] == \
        "softmax(logits/0.7)"
    # the real point: 24 held-out rows scored against the other 2000 - 24
    assert doc["real"]["rows"] == 24 and doc["references"] == {"source": "heldout", "sentences": 2000 - 24}
    real = doc["real"]["metrics"]
    assert metric(real, "valid") == 1.0 and metric(real, "bleu4") > 0.3 and metric(real, "js4") < 0.9
    rows = frontier_rows(doc)
    assert len(rows) == 3 * 3 + 1 and rows[-1][0] == REAL
    text = " ".join(r.output.split())
    assert "quality–diversity frontier" in text and text.count("│ gan") == 6 and text.count("│ lm ") == 3
    assert "│ real" in text and "frontier.png" in text
    with Image.open(out / "frontier.png") as png:
        assert png.format == "PNG" and png.size[0] > 2 * png.size[1]  # three panels side by side (embedded)


def test_one_run_defaults_to_its_folder_and_several_to_a_new_numbered_one(cli_runner, runs):
    r = invoke(cli_runner, "evaluate", "--temperatures", "1", runs / "runs" / "lm", "-n", 8, "--cache-dir",
               runs / "cache")
    assert r.exit_code == 0, r.output
    assert (runs / "runs" / "lm" / "frontier" / "frontier.png").is_file()
    r = invoke(cli_runner, "evaluate", "--temperatures", "0", runs / "runs" / "gan", runs / "runs" / "lm", "-n", 8,
               "--raw", "--labels", "GAN,MLE", "--cache-dir", runs / "cache")
    assert r.exit_code == 0, r.output
    doc = json.loads(next((runs / "runs").glob("0000?-frontier/frontier.json")).read_text())
    assert [(c["label"], c["weights"]) for c in doc["curves"]] == [("GAN", "G"), ("MLE", "LM")]


def test_frontier_refusals(cli_runner, runs, tmp_path):
    gan, lm = runs / "runs" / "gan", runs / "runs" / "lm"
    r = invoke(cli_runner, "evaluate", gan, lm)
    assert r.exit_code == 2 and "--temperatures" in r.output
    r = invoke(cli_runner, "evaluate", gan, "--top-k", 3)
    assert r.exit_code == 2 and "--top-k: only with --temperatures" in " ".join(r.output.split())
    r = invoke(cli_runner, "evaluate", "--temperatures", "1,x", gan)
    assert r.exit_code == 2 and "--temperatures 1,x" in r.output
    r = invoke(cli_runner, "evaluate", "--temperatures", "1", gan, lm, "--labels", "only-one")
    assert r.exit_code == 2 and "--labels" in r.output
    out = tmp_path / "huge"
    r = invoke(cli_runner, "evaluate", "--temperatures", "0,1", gan, lm, "-n", 10**9, "--out", out,
               "--cache-dir", runs / "cache")  # rows sized before any model draws one
    assert r.exit_code == 2 and "-n 1000000000: the samples and their metrics need ~5.12 TB" in r.output
    assert not out.exists()
    other = tmp_path / "other"
    assert invoke(cli_runner, "train-lm", "--preset", "tiny", "--iters", 1, "--seq-len", 12, "--eval-every", 0,
                  "--out", other, "--cache-dir", runs / "cache").exit_code == 0
    r = invoke(cli_runner, "evaluate", "--temperatures", "1", gan, other, "--cache-dir", runs / "cache")
    assert r.exit_code == 2 and "tokenizer differs" in " ".join(r.output.split())


def test_parse_temperatures():
    assert parse_temperatures("0, 0.5,1") == [0.0, 0.5, 1.0]
    for bad in ("", "1,1", "-0.5", "a"):
        with pytest.raises(UserError):
            parse_temperatures(bad)
