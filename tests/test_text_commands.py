"""prepare-corpus, train-text with each tokenizer, sample and evaluate, end to end on tiny settings."""

import json

import pytest

from cli import cli


def invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_corpus(path, n=200, word="sentence"):
    path.write_text("".join(f"{word} number {i} is here\n" for i in range(n)), encoding="utf-8")
    return path


def test_prepare_corpus_reports_then_reuses_and_rebuilds_a_foreign_cache(cli_runner, tmp_path):
    corpus = write_corpus(tmp_path / "c.txt")
    args = ["prepare-corpus", "--preset", "tiny", "--corpus", corpus, "--cache-dir", tmp_path / "cache"]
    first = invoke(cli_runner, *args)
    assert first.exit_code == 0, first.output
    out = " ".join(first.output.replace("│", " ").split())
    for row in ("sentences 200", "lines read 200", "vocabulary", "unknown rate", "truncation rate 100.00%",
                "bytes on disk", "encoding time", "encoded in"):
        assert row in out, row
    second = invoke(cli_runner, *args)
    assert "opened from the cache" in second.output
    meta_path = next((tmp_path / "cache").glob("c-char-L16-*/meta.json"))
    meta = json.loads(meta_path.read_text())
    meta["version"] = 0
    meta_path.write_text(json.dumps(meta))
    third = invoke(cli_runner, *args, "--verify")
    text = " ".join(third.output.split())
    assert third.exit_code == 0 and "written by cache format v0" in text and "encoding again" in text
    assert "verified" in text and json.loads(meta_path.read_text())["version"] != 0


@pytest.mark.parametrize("tokenizer, extra", [("word", []), ("sentencepiece", ["--vocab-size", "40"])])
def test_train_sample_evaluate_with_each_tokenizer_without_the_corpus(cli_runner, tmp_path, tokenizer, extra):
    corpus = write_corpus(tmp_path / "c.txt")
    run = tmp_path / "run"
    r = invoke(cli_runner, "train-text", "--preset", "tiny", "--corpus", corpus, "--tokenizer", tokenizer, *extra,
               "--iters", 4, "--eval-every", 4, "--out", run, "--cache-dir", tmp_path / "cache")
    assert r.exit_code == 0, r.output
    config = json.loads((run / "config.json").read_text())
    assert config["tokenizer"]["kind"] == tokenizer and config["corpus_stats"]["sentences"] == 200
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"js4_64", "bleu2_64", "self_bleu5_64", "distinct2_64"} <= set(last) and 0 <= last["bleu2_64"] <= 1
    corpus.unlink()  # the tokenizer travels in the checkpoint; the cache still knows the corpus
    s = invoke(cli_runner, "sample", run, "-n", 5, "--seed", 1)
    assert s.exit_code == 0 and len(s.output.splitlines()) == 5
    e = invoke(cli_runner, "evaluate", run, "-n", 64, "--cache-dir", tmp_path / "cache")
    assert e.exit_code == 0, e.output
    doc = json.loads((run / "eval" / "eval_00000004.json").read_text())
    assert doc["samples"] == 64 and doc["tokenizer"] == tokenizer and doc["iteration"] == 4
    assert doc["references"] == {"source": "train", "sentences": 200}
    assert doc["notes"] == []  # the encoding trained on, from the cache: the corpus itself is not needed
    assert {f"bleu{n}_64" for n in (2, 3, 4, 5)} <= set(doc["metrics"]) and "Texygen" in doc["bleu_protocol"]


def test_evaluate_on_the_embedded_corpus_reports_grammar_metrics(cli_runner, tmp_path):
    run = tmp_path / "run"
    r = invoke(cli_runner, "train-text", "--preset", "tiny", "--iters", 2, "--out", run, "--cache-dir", tmp_path / "c")
    assert r.exit_code == 0, r.output
    e = invoke(cli_runner, "evaluate", run, "-n", 50, "--out", tmp_path / "m.json", "--cache-dir", tmp_path / "c")
    assert e.exit_code == 0 and "valid" in e.output
    doc = json.loads((tmp_path / "m.json").read_text())
    assert 0 <= doc["metrics"]["valid50"] <= 1 and doc["metrics"]["nll_data"] > 0
    assert doc["references"]["source"] == "heldout"


def test_changed_corpus_and_vocabulary_mismatch_are_refused(cli_runner, tmp_path):
    corpus = write_corpus(tmp_path / "c.txt")
    run = tmp_path / "run"
    cache = tmp_path / "cache"
    assert invoke(cli_runner, "train-text", "--preset", "tiny", "--corpus", corpus, "--iters", 2, "--out", run,
                  "--cache-dir", cache).exit_code == 0
    write_corpus(corpus, word="phrase")  # other characters, another vocabulary
    # not named, the corpus is not read: the run goes on with the encoding it trained on, from the cache
    r = invoke(cli_runner, "train-text", "--resume", run, "--iters", 3, "--cache-dir", cache)
    assert r.exit_code == 0, r.output
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["iteration"] == 3
    # named again, the corpus is read: it is not the run's any more
    r = invoke(cli_runner, "train-text", "--resume", run, "--iters", 4, "--cache-dir", cache, "--corpus", corpus)
    assert r.exit_code == 2 and "has changed since the run started" in r.output
    e = invoke(cli_runner, "evaluate", run, "-n", 10, "--cache-dir", cache, "--corpus", corpus)
    assert e.exit_code == 2 and "tokenizer/vocabulary mismatch between checkpoint and corpus" in " ".join(e.output.split())
