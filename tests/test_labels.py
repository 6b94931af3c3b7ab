"""Class labels of a corpus (--label-column): read beside the sentences, cached beside the ids, and
refused with one line naming the column when they are not labels."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpora import CorpusError
from corpora.cache import entry_path, prepare, sampled_digest
from corpora.encode import EncodeSpec
from corpora.grammar import SENTENCE_TYPES, generate, generate_typed
from corpora.labels import MAX_CLASSES, LabelSet, sort_key
from corpora.sources import open_source


def encode(tmp_path, corpus, label_column, **spec):
    source = open_source(str(corpus), label_column=label_column, embedded_size=spec.pop("embedded_size", 100))
    return prepare(source, EncodeSpec(seq_len=spec.pop("seq_len", 16), label_column=label_column, **spec),
                   tmp_path / "cache")


def decoded(enc):
    """(sentence, label name) of every training row."""
    texts = enc.tokenizer.decode(np.asarray(enc.train))
    return list(zip(texts, [enc.classes.names[k] for k in np.asarray(enc.labels)]))


def test_jsonl_labels_follow_their_rows_through_splits_and_drops_and_reopen_from_the_cache(tmp_path):
    rows = [{"text": "one two", "label": "b"}, {"text": "x", "label": "a"},  # too short: dropped with its label
            {"text": "first line\nsecond line", "label": 7},  # two sentences, one label each
            {"text": "   ", "label": "a"},  # blank text: skipped with its label
            {"text": "far too long a sentence for sixteen", "label": "c"},  # too long: dropped
            {"text": "last one", "label": "a"}]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    enc = encode(tmp_path, corpus, "label", min_tokens=2, long_lines="drop")
    assert enc.built and enc.classes.names == ("7", "a", "b") and enc.classes.counts == (2, 1, 1)
    assert decoded(enc) == [("one two", "b"), ("first line", "7"), ("second line", "7"), ("last one", "a")]
    assert enc.stats["classes"] == 3 and enc.labels.dtype == np.dtype("<u2")
    again = encode(tmp_path, corpus, "label", min_tokens=2, long_lines="drop")
    assert not again.built and np.array_equal(again.labels, enc.labels) and again.classes == enc.classes
    unlabelled = prepare(open_source(str(corpus)), EncodeSpec(seq_len=16, min_tokens=2, long_lines="drop"),
                         tmp_path / "cache")
    assert unlabelled.labels is None and unlabelled.path != enc.path  # another cache entry
    assert unlabelled.encoding_digest != enc.encoding_digest


def test_an_unlabelled_spec_keeps_the_cache_key_and_digest_it_had_before_labels(tmp_path):
    from dataclasses import asdict
    import hashlib

    corpus = tmp_path / "c.txt"
    corpus.write_text("one\ntwo\n")
    source, spec = open_source(str(corpus)), EncodeSpec(seq_len=8)
    old = {k: v for k, v in asdict(spec).items() if k != "label_column"}  # the spec as it was
    key = hashlib.sha256(json.dumps({"source": source.identity(), "spec": old}, sort_keys=True,
                                    default=str).encode()).hexdigest()[:16]
    assert entry_path(source, spec, tmp_path).name.endswith(key)


def test_csv_and_parquet_columns_and_integer_labels_sort_by_value(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"body": ["alpha beta", "gamma", "delta", "epsilon"], "cls": [10, 2, 10, 1]})
    frame.to_csv(tmp_path / "c.csv", index=False)
    frame.to_parquet(tmp_path / "c.parquet")
    for name in ("c.csv", "c.parquet"):
        source = open_source(str(tmp_path / name), text_column="body", label_column="cls")
        enc = prepare(source, EncodeSpec(seq_len=16, label_column="cls"), tmp_path / "cache")
        assert enc.classes.names == ("1", "2", "10"), name  # by value, not "1" < "10" < "2"
        assert decoded(enc) == [("alpha beta", "10"), ("gamma", "2"), ("delta", "10"), ("epsilon", "1")]


def test_a_class_label_column_of_a_saved_dataset_gives_its_names(tmp_path):
    import datasets

    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    datasets.Dataset.from_dict({"text": ["bad", "good", "fine"], "label": [0, 1, 1]},
                               features=features).save_to_disk(str(tmp_path / "saved"))
    enc = encode(tmp_path, tmp_path / "saved", "label")
    assert decoded(enc) == [("bad", "neg"), ("good", "pos"), ("fine", "pos")]


def test_embedded_sentence_types_are_the_grammars_choices_and_the_sentences_unchanged(tmp_path):
    sentences, types = generate_typed(300, seed=0)  # the embedded corpus of seed 0
    assert sentences == generate(300, seed=0) and set(types) == set(SENTENCE_TYPES)
    for s, t in zip(sentences, types):  # the type shows in the words: transitive verbs take an object
        words = s.rstrip(".").lower().split()
        assert (t == "transitive") == any(w in ("saw", "ate", "hit", "fed", "got") for w in words)
        assert (t == "adverbial") == any(w in ("fast", "away", "here", "today") for w in words)
    enc = encode(tmp_path, "embedded", "type", embedded_size=300, seq_len=40)
    assert enc.classes.names == tuple(sorted(SENTENCE_TYPES))
    assert decoded(enc) == list(zip(sentences, types))


lines = st.lists(st.tuples(st.sampled_from(["pos", "neg", "7", "03", "-1", " spaced "]),
                           st.text(alphabet="abc de\t", min_size=0, max_size=24)), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=lines, min_tokens=st.integers(0, 4), long_lines=st.sampled_from(["cut", "drop"]))
def test_tab_separated_labels_stay_with_their_sentences(tmp_path_factory, rows, min_tokens, long_lines):
    tmp = tmp_path_factory.mktemp("tab")
    (tmp / "c.txt").write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    # what must come out: sentences (the text after the first tab) that are not blank and keep their length
    want = [(text, label.strip()) for label, text in rows if text.strip()
            and len(text) >= min_tokens and not (long_lines == "drop" and len(text) > 16)]
    names = sorted({label for _, label in want}, key=sort_key)
    try:
        enc = encode(tmp, tmp / "c.txt", "tab", min_tokens=min_tokens, long_lines=long_lines)
    except CorpusError as exc:
        assert len(names) < 2 and ("two classes" in str(exc) or "no line of usable length" in str(exc)
                                   or "empty" in str(exc))
        return
    assert enc.classes.names == tuple(names)
    assert enc.classes.counts == tuple(sum(1 for _, label in want if label == n) for n in names)
    assert [(t, label) for t, label in decoded(enc)] == [(t[:16].rstrip("`"), label) for t, label in want]


def test_label_sets_find_names_before_ids_and_refuse_malformed_documents():
    labels = LabelSet("label", ("1", "2", "neg"), (3, 4, 5))
    assert labels.find("2") == 1  # the name "2", not id 2
    assert labels.find("0") == 0 and labels.find("neg") == 2 and labels.find("3") is None
    assert labels.find("x") is None and labels.find("01") is None
    assert LabelSet.from_json(labels.to_json()) == labels
    assert labels.probabilities().tolist() == pytest.approx([3 / 12, 4 / 12, 5 / 12])
    for bad in ({"column": "c", "names": ["a"], "counts": [1]}, {"column": "c", "names": ["a", "a"], "counts": [1, 1]},
                {"column": "c", "names": ["a", "b"], "counts": [1]}, {"column": "c", "names": ["a", "b"],
                                                                      "counts": [1, -1]}, [], None):
        with pytest.raises(ValueError):
            LabelSet.from_json(bad)


@pytest.mark.parametrize("rows, column, message", [
    ([{"text": "a", "label": "x"}], "kind", "--label-column kind: {c} has no such column; its columns are text, label"),
    ([{"text": "a", "label": "x"}, {"text": "b", "label": None}], "label",
     "--label-column label: row 2 of {c} has no label (null)"),
    ([{"text": "a", "label": None}, {"text": "b", "label": None}], "label",
     "--label-column label: row 1 of {c} has no label (null)"),
    ([{"text": "a", "label": "x"}, {"text": "b", "label": " "}], "label",
     "--label-column label: row 2 of {c} has an empty label"),
    ([{"text": "a", "label": 0.5}, {"text": "b", "label": 1.5}], "label",
     "--label-column label: row 1 of {c} holds a float value (0.5); labels are strings or integers"),
    ([{"text": "a", "label": "x"}, {"text": "b", "label": "x"}], "label",
     "--label-column label: every row has the label 'x'; a conditional model needs two classes or more"),
    ([{"text": "a", "label": "x"}], "text", "--label-column text: that is the text column"),
    ([{"text": f"s{i}", "label": f"class {i}"} for i in range(MAX_CLASSES + 1)], "label",
     f"--label-column label: more than {MAX_CLASSES} distinct labels ('class 0', 'class 1', 'class 2', ...)"),
])
def test_bad_label_columns_are_refused_naming_the_column(tmp_path, rows, column, message):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(CorpusError) as exc:
        encode(tmp_path, corpus, column)
    assert message.format(c=corpus) in str(exc.value)


def test_label_columns_that_the_corpus_cannot_have_are_refused(tmp_path):
    text = tmp_path / "c.txt"
    text.write_text("pos\tgood\n\nno tab here\n")
    with pytest.raises(CorpusError, match=r"--label-column label: .* is plain text and has no columns; write its "
                                          r"lines as LABEL<TAB>SENTENCE and pass --label-column tab"):
        open_source(str(text), label_column="label")
    with pytest.raises(CorpusError, match=r"--label-column tab: line 3 of .*c.txt has no tab \('no tab here'\)"):
        encode(tmp_path, text, "tab")
    with pytest.raises(CorpusError, match="the embedded corpus has one label column, type"):
        open_source("embedded", label_column="topic")
    with pytest.raises(CorpusError, match="One Billion Word has no class labels"):
        open_source("billion_word", label_column="label")


def test_a_damaged_label_file_or_label_vocabulary_is_encoded_again(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"{'ab'[i % 2]}\tline {i}\n" for i in range(50)))
    enc = encode(tmp_path, corpus, "tab")
    meta_path = enc.path / "meta.json"
    meta = json.loads(meta_path.read_text())
    ids = np.fromfile(enc.path / "train.labels", dtype="<u2")
    ids[3] = 7  # a class id past the two names
    ids.tofile(enc.path / "train.labels")
    meta["labels"]["array"]["sampled"] = sampled_digest(enc.path / "train.labels")  # checksum fits, content wrong
    meta_path.write_text(json.dumps(meta))
    notes = []

    class Notes:
        def stage(self, *a): pass

        def advance(self, *a): pass

        def note(self, message): notes.append(message)

    again = prepare(open_source(str(corpus), label_column="tab"), EncodeSpec(seq_len=16, label_column="tab"),
                    tmp_path / "cache", progress=Notes())
    assert again.built and "class ids beyond the 2 label names" in notes[0]
    assert np.asarray(again.labels).tolist() == [i % 2 for i in range(50)]
