"""--tokenizer byte through the commands: the paper preset on billion_word reads UTF-8 bytes as the
reference did, and a byte run on a non-ASCII file trains, samples (partial UTF-8 as U+FFFD) and
evaluates end to end."""

import json

import numpy as np
import pytest
from rich.console import Console

import seqgan_gp.text.inference as inference
from cli import cli
from seqgan_gp.config import with_overrides
from seqgan_gp.text.config import PRESETS, TextConfig
from seqgan_gp.text.data import describe_tokenizer, first_difference, open_text_data
from seqgan_gp.text.inference import load_generator
from tests.test_byte_tokenizer import SHARD, reference_load_dataset, write_shards

NON_ASCII = ["Grüße aus Köln , schön !", "東京 は 大きい 都市 です 。", "naïve café au lait 😀 .", "Ελληνικά και ελληνικά .",
             "Köln 😀"]  # the last is shorter than the tiny preset's 16 bytes: padding is in the vocabulary


def invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_the_tokenizer_follows_the_corpus_unless_given():
    assert with_overrides(PRESETS["paper"], corpus="billion_word").tokenizer == "byte"
    assert with_overrides(PRESETS["demo"], corpus="billion_word").tokenizer == "byte"
    assert with_overrides(PRESETS["paper"], corpus="billion_word", tokenizer="char").tokenizer == "char"
    assert with_overrides(PRESETS["paper"], corpus="news.txt").tokenizer == "char"
    assert PRESETS["paper"].tokenizer == "char" and TextConfig(corpus="billion_word").tokenizer == "byte"
    assert with_overrides(with_overrides(PRESETS["paper"], corpus="billion_word"), iters=5).tokenizer == "byte"


def test_prepare_corpus_with_the_paper_preset_on_billion_word_is_the_references_preprocessing(cli_runner, tmp_path):
    shards = write_shards(tmp_path / "bw", SHARD, "second shard: naïve café .\n".encode())
    r = invoke(cli_runner, "prepare-corpus", "--corpus", "billion_word", "--data-dir", tmp_path / "bw",
               "--cache-dir", tmp_path / "cache")
    assert r.exit_code == 0, r.output
    assert "billion_word → byte ids, 32 tokens a row" in r.output
    cfg = with_overrides(PRESETS["paper"], corpus="billion_word", data_dir=str(tmp_path / "bw"))
    data = open_text_data(cfg, console=Console(quiet=True), cache_dir=tmp_path / "cache", show_progress=False)
    assert not data.built  # prepare-corpus filled the cache train-text --corpus billion_word reads
    ids, _, inv_charmap = reference_load_dataset(shards, 32, 2048)
    assert data.tokenizer.vocab_size == len(inv_charmap) and np.asarray(data.train).tolist() == ids


def test_a_byte_run_on_a_non_ascii_file_trains_samples_and_evaluates(cli_runner, tmp_path, monkeypatch):
    corpus = tmp_path / "multi.txt"
    corpus.write_text("".join(f"{NON_ASCII[i % 5]} {i}\n" for i in range(240)), encoding="utf-8")
    run, cache = tmp_path / "run", tmp_path / "cache"
    r = invoke(cli_runner, "train-text", "--preset", "tiny", "--corpus", corpus, "--tokenizer", "byte", "--iters", 2,
               "--out", run, "--cache-dir", cache)
    assert r.exit_code == 0, r.output
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["tokenizer"] == "byte" and config["tokenizer"]["kind"] == "byte"
    doc = config["tokenizer"]
    assert describe_tokenizer(doc) == f"byte tokenizer ({len(doc['bytes']) + 1} ids, seq_len 16)"
    windows = set(b"".join(line.encode()[:16] for line in corpus.read_text().splitlines()) + b"`")
    assert set(doc["bytes"]) <= windows and len(doc["bytes"]) >= 30  # bytes of the 16-byte windows, not characters
    assert len(set(doc["bytes"]) - set(range(128))) >= 10  # UTF-8 lead and continuation bytes are tokens
    s = invoke(cli_runner, "sample", run, "-n", 5, "--seed", 1)
    assert s.exit_code == 0 and len(s.output.splitlines()) == 5

    _, tok, _, _ = load_generator(run, "cpu")
    assert tok.pad_id != tok.unk_id
    row = [tok.table[b] for b in "é".encode()[::-1] + b"a" + "東".encode()[:2]] + [tok.pad_id] * 11
    monkeypatch.setattr(inference, "generate_ids", lambda G, n, **kw: np.array([row] * n))
    s = invoke(cli_runner, "sample", run, "-n", 2)  # a continuation byte first, a cut three-byte character last
    assert s.exit_code == 0 and s.output.splitlines() == ["\ufffd\ufffda\ufffd"] * 2
    monkeypatch.undo()

    e = invoke(cli_runner, "evaluate", run, "--cache-dir", cache)
    assert e.exit_code == 0, e.output
    metrics = json.loads(next((run / "eval").glob("eval_*.json")).read_text())
    assert metrics["tokenizer"] == "byte" and metrics["samples"] == 640
    assert 0 <= metrics["metrics"]["js4_640"] <= 1 + 1e-12 and 0 <= metrics["metrics"]["bleu2_640"] <= 1  # bits


def test_mismatched_byte_vocabularies_name_the_byte():
    saved = {"kind": "byte", "bytes": [96, 97, 195], "seq_len": 32, "pad": "`", "unk": "unk"}
    now = {**saved, "bytes": [96, 195, 97]}
    assert describe_tokenizer(saved) == "byte tokenizer (4 ids, seq_len 32)"
    assert first_difference(saved, now) == "(2 tokens moved; list position 1 is byte 0x61 there, byte 0xc3 now)"
    assert describe_tokenizer({"kind": "byte", "bytes": 7}) == "byte tokenizer (? ids, seq_len None)"


@pytest.mark.parametrize("command", ["train-text", "prepare-corpus"])
def test_help_says_the_paper_preset_reads_bytes_on_billion_word(cli_runner, command):
    text = " ".join(invoke(cli_runner, command, "--help").output.split())
    assert "byte (UTF-8 bytes as characters: the paper's code as it ran under Python 2" in text
    assert "[default: byte on billion_word, as the paper; char on every other corpus]" in text
