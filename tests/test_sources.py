"""Corpus sources through the datasets library, tested offline on files written here."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# never the network: the datasets library reads local files only (set before it is imported)
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="hf_home_"))

from corpora import CorpusError  # noqa: E402
from corpora.cache import EncodeSpec, prepare  # noqa: E402
from corpora.dataset_sources import DatasetSource, parse_hf  # noqa: E402
from corpora.sources import ConcatSource, EmbeddedSource, open_source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def lines_of(source, max_lines=None, split="train"):
    chunks = source.train(max_lines) if split == "train" else source.heldout(max_lines)
    return [l for c in chunks for l in c.lines]


def test_jsonl_csv_and_parquet_files_through_datasets(tmp_path):
    import pandas as pd

    rows = [{"id": i, "body": f"sentence {i}", "text": f"text {i}\nsecond line {i}"} for i in range(5)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pd.DataFrame(rows).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "c.parquet")
    for name in ("a.jsonl", "b.csv", "c.parquet"):
        # "text" by default; a value holding several lines gives several sentences
        assert lines_of(open_source(str(tmp_path / name)))[:4] == ["text 0", "second line 0", "text 1", "second line 1"]
        assert lines_of(open_source(str(tmp_path / name), text_column="body"), max_lines=3) == \
               ["sentence 0", "sentence 1", "sentence 2"]
    with pytest.raises(CorpusError, match=r"--text-column title: .* no such column; its columns are id, body, text"):
        lines_of(open_source(str(tmp_path / "a.jsonl"), text_column="title"))
    with pytest.raises(CorpusError, match="holds int values there, not text"):
        lines_of(open_source(str(tmp_path / "a.jsonl"), text_column="id"))


def test_a_folder_of_files_is_read_in_name_order(tmp_path):
    (tmp_path / "1.txt").write_text("first file\n\nsecond line\n", encoding="utf-8")
    (tmp_path / "2.jsonl").write_text(json.dumps({"content": "from json"}) + "\n", encoding="utf-8")
    (tmp_path / "3.txt").write_text("last\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored\n")
    source = open_source(str(tmp_path))
    assert isinstance(source, ConcatSource)
    assert lines_of(source) == ["first file", "second line", "from json", "last"]  # the only text column
    assert lines_of(source, max_lines=2) == ["first file", "second line"]


def test_save_to_disk_dataset_and_its_validation_split(tmp_path):
    import datasets

    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"sentence": [f"train {i}" for i in range(40)], "n": list(range(40))}),
        "validation": datasets.Dataset.from_dict({"sentence": ["valid 0", "valid 1"], "n": [0, 1]}),
    })
    dd.save_to_disk(str(tmp_path / "saved"))
    source = open_source(str(tmp_path / "saved"))
    assert isinstance(source, DatasetSource) and source.has_heldout
    assert lines_of(source)[:2] == ["train 0", "train 1"] and len(lines_of(source)) == 40
    assert lines_of(source, split="heldout") == ["valid 0", "valid 1"]
    enc = prepare(source, EncodeSpec(tokenizer="word", seq_len=3, vocab_size=50), tmp_path / "cache")
    assert enc.train.shape == (40, 3) and enc.heldout.shape == (2, 3)
    assert enc.tokenizer.decode(enc.heldout[:]) == ["<unk> 0", "<unk> 1"]  # "valid" is not a training word
    again = prepare(open_source(str(tmp_path / "saved")), EncodeSpec(tokenizer="word", seq_len=3, vocab_size=50),
                    tmp_path / "cache")
    assert not again.built  # the dataset's own fingerprint gives its content hash


def test_embedded_source_is_deterministic_and_has_a_validation_set():
    a, b = EmbeddedSource(300, seed=2), EmbeddedSource(300, seed=2)
    assert lines_of(a) == lines_of(b) and a.content_hash() == b.content_hash()
    assert a.content_hash() != EmbeddedSource(300, seed=3).content_hash()
    held = lines_of(a, split="heldout")
    assert len(held) == 2000 and held[:5] != lines_of(a)[:5]


@pytest.mark.parametrize("corpus, message", [
    ("hf:", "expected hf:NAME"),
    ("hf:a:b:c:d", "expected hf:NAME"),
])
def test_hf_names_are_parsed(corpus, message):
    with pytest.raises(CorpusError, match=message):
        parse_hf(corpus)


def test_hf_parse():
    assert parse_hf("hf:wikitext:wikitext-2-raw-v1:validation") == ("wikitext", "wikitext-2-raw-v1", "validation")
    assert parse_hf("hf:user/data") == ("user/data", None, None)


def test_text_column_on_plain_text_is_an_error(tmp_path):
    (tmp_path / "a.txt").write_text("x\n")
    with pytest.raises(CorpusError, match="plain text .* drop --text-column"):
        open_source(str(tmp_path / "a.txt"), text_column="text")


def test_hub_dataset_neither_cached_nor_reachable_says_so(tmp_path):
    """In a fresh process with the Hub unreachable (offline mode) and an empty cache."""
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from corpora import CorpusError\nfrom corpora.sources import open_source\n"
            "try:\n    open_source('hf:someone/no_such_corpus:default').content_hash()\n"
            "except CorpusError as e:\n    print(e)\n") % str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "hf:someone/no_such_corpus:default: the dataset 'someone/no_such_corpus' is not in the local " \
           "Hugging Face cache" in out.stdout, out.stdout + out.stderr
    assert "the Hub cannot be reached" in out.stdout


def test_hf_source_loads_through_load_dataset_offline(tmp_path):
    """hf:NAME goes through datasets.load_dataset; a local folder stands in for a cached Hub dataset."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "train.jsonl").write_text("".join(json.dumps({"text": f"train {i}"}) + "\n" for i in range(30)))
    (folder / "validation.jsonl").write_text(json.dumps({"text": "held out"}) + "\n")
    source = open_source(f"hf:{folder}")
    assert source.name == "corpus" and source.has_heldout
    assert lines_of(source)[:2] == ["train 0", "train 1"] and lines_of(source, split="heldout") == ["held out"]
    assert source.content_hash() == open_source(f"hf:{folder}").content_hash()
    with pytest.raises(CorpusError, match="no split 'test'; the splits are train, validation"):
        open_source(f"hf:{folder}::test").content_hash()


def test_datasets_is_imported_only_for_a_datasets_backed_corpus(tmp_path):
    """In a fresh interpreter: text files, One Billion Word and the embedded corpus encode without
    importing datasets, pyarrow, pandas or torch (nor sentencepiece for characters and bytes)."""
    code = """
import json, sys
sys.path.insert(0, %r)
from pathlib import Path
from corpora.cache import prepare
from corpora.encode import EncodeSpec
from corpora.sources import open_source
tmp = Path(%r)
(tmp / "c.txt").write_text("a sentence\\n" * 50)
bw = tmp / "bw" / "training-monolingual.tokenized.shuffled"
bw.mkdir(parents=True)
(bw / "news.en-00001-of-00100").write_text("a sentence .\\n" * 50)
heavy = ("datasets", "pyarrow", "pandas", "torch", "sentencepiece")
for corpus, tok in [(str(tmp / "c.txt"), "char"), ("billion_word", "byte"), ("embedded", "char"),
                    (str(tmp / "c.txt"), "word")]:
    prepare(open_source(corpus, data_dir=tmp / "bw", embedded_size=100), EncodeSpec(tokenizer=tok), tmp / "cache")
print(json.dumps([m for m in heavy if m in sys.modules]))
from corpora.dataset_sources import _datasets
_datasets()  # what reading a JSON lines, CSV or Parquet corpus does first: the check above sees it
print(json.dumps([m for m in heavy if m in sys.modules]))
""" % (str(ROOT), str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = map(json.loads, out.stdout.splitlines())
    assert before == [] and "datasets" in after
