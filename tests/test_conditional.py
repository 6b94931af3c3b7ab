"""The conditional language GAN (AC-GAN for text): networks, objective, labelled batches, class draws."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqgan_gp.metrics.counts import base_name
from seqgan_gp.acgan import ACGAN
from seqgan_gp.batches import TokenBatches
from seqgan_gp.objectives import WGANGP, critic_loss
from seqgan_gp.text.classifier import NgramClassifier, ngram_codes, per_class_accuracy, split_rows
from seqgan_gp.text.conditional import (ConditionalTextCritic, ConditionalTextGenerator, class_sampler,
                                        generate_per_class, grouped_lines, proportional_counts)
from seqgan_gp.text.models import TextCritic, TextGenerator
from seqgan_gp.metrics.counts import base_name

SHAPE = dict(vocab_size=7, seq_len=6, dim=8, blocks=2, kernel=3)


def generator(condition, n_classes=3):
    torch.manual_seed(0)
    G = ConditionalTextGenerator(n_classes=n_classes, condition=condition, z_dim=5, **SHAPE)
    with torch.no_grad():  # every class vector non-zero, so that every class has an effect
        for p in G.embed.parameters():
            p.normal_()
    return G


@pytest.mark.parametrize("condition", ["blocks", "input"])
def test_a_class_output_depends_on_its_own_vectors_and_on_no_other_class(condition):
    G = generator(condition)
    z = torch.randn(4, 5)
    k = torch.full((4,), 1)
    out = G(z, k)
    assert out.shape == (4, 6, 7) and torch.allclose(out.sum(-1), torch.ones(4, 6))
    assert not torch.allclose(out, G(z, torch.full((4,), 0)))  # another class, another distribution
    with torch.no_grad():
        for e in G.embed.parameters():
            e[0].mul_(-3.0), e[2].zero_()  # perturb and zero the other classes' rows
    assert torch.equal(G(z, k), out)
    with torch.no_grad():
        next(G.embed.parameters())[1].add_(1.0)  # class 1's own row
    assert not torch.allclose(G(z, k), out)


def test_blocks_conditioning_starts_as_the_unconditional_generator():
    torch.manual_seed(0)
    G = ConditionalTextGenerator(n_classes=3, condition="blocks", z_dim=5, **SHAPE)
    plain = TextGenerator(z_dim=5, **SHAPE)
    missing = plain.load_state_dict(G.state_dict(), strict=False)
    assert missing.missing_keys == [] and all(k.startswith("embed.") for k in missing.unexpected_keys)
    z = torch.randn(3, 5)
    for k in range(3):
        assert torch.equal(G(z, torch.full((3,), k)), plain(z))
    with pytest.raises(ValueError, match="needs labels"):
        G(z)


def test_input_conditioning_is_a_linear_layer_of_z_and_the_one_hot_class():
    G = generator("input")
    z, y = torch.randn(4, 5), torch.tensor([0, 2, 1, 2])
    W = torch.cat([G.fc.weight, G.embed.weight.T], dim=1)  # Linear([z, onehot(y)])
    h = torch.cat([z, F.one_hot(y, 3).float()], dim=1) @ W.T + G.fc.bias
    expected = G.out(G.blocks(h.view(-1, SHAPE["dim"], SHAPE["seq_len"]))).transpose(1, 2)
    assert torch.allclose(G.logits(z, y), expected, atol=1e-6)


def test_the_critic_scores_as_the_papers_critic_and_adds_a_class_head():
    torch.manual_seed(0)
    D = ConditionalTextCritic(n_classes=4, **SHAPE)
    plain = TextCritic(**SHAPE)
    plain.load_state_dict(D.state_dict(), strict=False)
    x = torch.softmax(torch.randn(3, 6, 7), -1)
    score, logits = D(x)
    assert torch.equal(score, plain(x)) and logits.shape == (3, 4)
    h = D.blocks(D.inp(x.transpose(1, 2))).flatten(1)
    assert torch.allclose(logits, h @ D.classifier.weight.T + D.classifier.bias)


def test_the_penalty_is_on_the_score_only_and_the_class_loss_on_real_rows_only():
    torch.manual_seed(0)
    D = ConditionalTextCritic(n_classes=3, **SHAPE)
    real = F.one_hot(torch.randint(0, 7, (5, 6)), 7).float()
    fake = torch.softmax(torch.randn(5, 6, 7), -1)
    labels = torch.tensor([0, 1, 2, 1, 0])
    objective = ACGAN(WGANGP(), scale_d=1.0, scale_g=0.1)
    loss, stats = critic_loss(objective, D, real, fake, rng=torch.Generator().manual_seed(3), labels=labels)
    base, base_stats = critic_loss(WGANGP(), lambda x: D(x)[0], real, fake, rng=torch.Generator().manual_seed(3))
    ce = F.cross_entropy(D(real)[1], labels)
    assert torch.allclose(loss, base + ce, atol=1e-5) and torch.allclose(stats["penalty"], base_stats["penalty"])
    with torch.no_grad():  # another class head: the same penalty and Wasserstein estimate, another class loss
        D.classifier.weight.normal_()
    _, other = critic_loss(objective, D, real, fake, rng=torch.Generator().manual_seed(3), labels=labels)
    assert torch.equal(other["penalty"], stats["penalty"]) and torch.equal(other["wasserstein"], stats["wasserstein"])
    assert not torch.equal(other["acgan"], stats["acgan"])
    g_loss, _ = objective.generator_objective(D, fake, labels=labels)
    assert torch.allclose(g_loss, -D(fake)[0].mean() + 0.1 * F.cross_entropy(D(fake)[1], labels), atol=1e-6)


def test_labelled_batches_carry_each_rows_label_and_resume_exactly():
    i = np.arange(40)
    ids = np.stack([i // 7, i % 7, np.full(40, 6), np.zeros(40)], axis=1).astype(np.uint16)  # row i spells i in base 7
    labels = (i % 3).astype(np.uint16)  # row i has class i % 3
    batches = TokenBatches(ids, 7, batch_size=8, seed=1, device=torch.device("cpu"), labels=labels)
    seen = []
    for _ in range(7):  # past an epoch boundary
        onehot, y = batches.next()
        rows = onehot.argmax(-1).numpy()
        index = (rows[:, 0] * 7 + rows[:, 1]).tolist()
        assert y.dtype == torch.long and y.tolist() == [i % 3 for i in index]
        seen += index
    assert len(set(seen[:40])) == 40  # an epoch draws every row once
    state = batches.state_dict()
    expected = batches.next()
    again = TokenBatches(ids, 7, batch_size=8, seed=1, device=torch.device("cpu"), labels=labels)
    again.load_state_dict(state)
    got = again.next()
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def test_generator_labels_follow_the_class_shares_and_counts_split_exactly():
    draw = class_sampler(np.array([0.2, 0.8]), torch.device("cpu"))
    y = draw(20_000, torch.Generator().manual_seed(0))
    assert abs(y.float().mean().item() - 0.8) < 0.01
    assert torch.equal(y, draw(20_000, torch.Generator().manual_seed(0)))
    assert proportional_counts(np.array([0.5, 0.3, 0.2]), 7).tolist() == [4, 2, 1]  # 3.5, 2.1, 1.4
    assert proportional_counts(np.array([1 / 3] * 3), 8).tolist() == [3, 3, 2]  # ties: smaller id first
    assert proportional_counts(np.array([0.999, 0.001]), 10).tolist() == [10, 0]


def test_per_class_generation_shares_the_noise_and_groups_the_lines():
    G = generator("blocks")
    ids, labels = generate_per_class(G, [2, 0, 3], seed=4)
    assert ids.shape == (5, 6) and labels.tolist() == [0, 0, 2, 2, 2]
    z = torch.randn(3, 5, generator=torch.Generator().manual_seed(4))
    assert np.array_equal(ids[2:], G.logits(z, torch.full((3,), 2)).argmax(-1).numpy())
    assert np.array_equal(ids[:2], G.logits(z[:2], torch.zeros(2, dtype=torch.long)).argmax(-1).numpy())
    lines = grouped_lines(["a", "b", "c", "d", "e"], labels, ["x", "y", "z"])
    assert lines == ["== x (label 0) ==", "a", "b", "== z (label 2) ==", "c", "d", "e"]


def test_ngram_codes_and_the_classifier_on_separable_rows():
    ids = np.array([[1, 2, 0], [2, 2, 1]])
    codes = ngram_codes(ids, 3)
    V = 3  # n·V^n + Σ id_k V^(n−1−k)
    assert codes[0].tolist() == [3 + 1, 3 + 2, 3 + 0, 18 + 1 * 3 + 2, 18 + 2 * 3 + 0, 81 + 1 * 9 + 2 * 3 + 0]
    assert codes.shape == (2, 3 + 2 + 1) and V == 3
    rng = np.random.default_rng(0)
    rows = np.where(np.arange(400)[:, None] % 2 == 0, rng.integers(1, 3, (400, 8)), rng.integers(3, 6, (400, 8)))
    labels = np.arange(400) % 2
    train, test = split_rows(400, seed=0)
    assert len(train) == 320 and len(test) == 80 and not set(train) & set(test)
    clf = NgramClassifier(6, 2).fit(rows[train], labels[train], steps=30)
    rows_per_class, acc = per_class_accuracy(clf.predict(rows[test]), labels[test], 2)
    assert rows_per_class.sum() == 80 and acc.tolist() == [1.0, 1.0]
    again = NgramClassifier(6, 2).fit(rows[train], labels[train], steps=30)
    assert np.array_equal(again.weight, clf.weight)  # deterministic
    assert np.isnan(per_class_accuracy(np.array([0]), np.array([0]), 2)[1][1])


# -- end to end: train-text --label-column, sample --label, evaluate's per-class metrics -------------------

def two_class_corpus(path, n=200, seed=0):
    """Tab-separated lines whose classes differ by construction: 'a'/'b' letters, or digits."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            k = int(rng.integers(4, 12))
            if i % 2:
                f.write("letters\t" + "".join(rng.choice(list("ab"), k)) + "\n")
            else:
                f.write("digits\t" + "".join(rng.choice(list("0123456789"), k)) + "\n")
    return path


def invoke(runner, *args, **kw):
    from cli import cli

    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)


def one_line_error(result, *parts):
    """The CLI's refusal: exit 2, one 'error:' line (after a corpus's progress bar) holding every part."""
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert result.exit_code == 2, result.output
    assert lines[-1].startswith("error:") and sum(l.startswith("error:") for l in lines) == 1, result.output
    assert "Traceback" not in result.output
    text = lines[-1]
    for part in parts:
        assert part in text, (part, text)


def test_labels_travel_to_config_checkpoint_samples_and_evaluation(cli_runner, tmp_path):
    from safetensors import safe_open

    corpus = two_class_corpus(tmp_path / "c.txt")
    run, cache = tmp_path / "run", tmp_path / "cache"
    r = invoke(cli_runner, "train-text", "--preset", "tiny", "--corpus", corpus, "--label-column", "tab",
               "--iters", 4, "--eval-every", 4, "--sample-every", 4, "--out", run, "--cache-dir", cache)
    assert r.exit_code == 0, r.output
    assert "conditional AC-GAN on 2 classes of tab (digits (0), letters (1))" in " ".join(r.output.split())
    want = {"column": "tab", "names": ["digits", "letters"], "counts": [100, 100]}
    config = json.loads((run / "config.json").read_text())
    assert config["labels"] == want and config["config"]["label_column"] == "tab"
    with safe_open(str(run / "checkpoints" / "checkpoint_00000004.safetensors"), "pt") as f:
        assert json.loads(f.metadata()["seqgan_gp"])["labels"] == want
        assert "G.embed.0.weight" in f.keys() and "D.classifier.weight" in f.keys()
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"acgan", "acc_real", "acc_fake", "acgan_g", "class_acc", "class_acc_real", "js4"} <= {base_name(k) for k in last}
    written = (run / "samples" / "samples_00000004.txt").read_text().splitlines()
    assert written[0] == "== digits (label 0) ==" and written[33] == "== letters (label 1) ==" and len(written) == 66

    s = invoke(cli_runner, "sample", run, "-n", 3)
    lines = s.output.splitlines()
    assert s.exit_code == 0 and lines[0] == "== digits (label 0) ==" and lines[4] == "== letters (label 1) =="
    assert len(lines) == 8
    by_name = invoke(cli_runner, "sample", run, "-n", 3, "--label", "letters").output.splitlines()
    assert by_name == invoke(cli_runner, "sample", run, "-n", 3, "--label", "1").output.splitlines() == lines[5:]

    e = invoke(cli_runner, "evaluate", run, "-n", 40, "--cache-dir", cache)
    assert e.exit_code == 0, e.output
    doc = json.loads(next((run / "eval").glob("eval_*.json")).read_text())
    assert doc["labels"] == want and set(doc["per_class"]) == {"digits", "letters"}
    assert [m["samples"] for m in doc["per_class"].values()] == [20, 20]
    assert 0 <= doc["metrics"]["class_acc"] <= 1 and doc["metrics"]["class_acc_real"] == 1.0  # separable
    assert all(0 <= m["js1"] <= 1 and m["class_acc_real"] == 1.0 for m in doc["per_class"].values())


def test_sample_and_train_refuse_labels_that_do_not_fit(cli_runner, tmp_path):
    corpus = two_class_corpus(tmp_path / "c.txt")
    cache = tmp_path / "cache"
    plain = tmp_path / "plain"
    assert invoke(cli_runner, "train-text", "--preset", "tiny", "--iters", 1, "--out", plain,
                  "--cache-dir", cache).exit_code == 0
    one_line_error(invoke(cli_runner, "sample", plain, "--label", "a"),
                   "--label a:", "is an unconditional run (trained without --label-column)", "drop --label")
    labelled = tmp_path / "labelled"
    assert invoke(cli_runner, "train-text", "--preset", "tiny", "--iters", 1, "--corpus", corpus,
                  "--label-column", "tab", "--out", labelled, "--cache-dir", cache).exit_code == 0
    one_line_error(invoke(cli_runner, "sample", labelled, "--label", "vowels"),
                   "--label vowels: not a label of", "its labels are digits (0), letters (1)")
    one_line_error(invoke(cli_runner, "sample", labelled, "--label", "2"), "--label 2: not a label of")
    one_line_error(invoke(cli_runner, "train-text", "--preset", "tiny", "--acgan-scale-g", 0.5,
                          "--out", tmp_path / "x"),
                   "--acgan-scale-g: only for a conditional run; add --label-column NAME")
    one_line_error(invoke(cli_runner, "train-text", "--preset", "tiny", "--corpus", corpus, "--label-column",
                          "label", "--out", tmp_path / "y", "--cache-dir", cache),
                   "--label-column label:", "is plain text and has no columns", "--label-column tab")
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text('{"text": "a b", "label": "x"}\n{"text": "c d", "label": null}\n')
    one_line_error(invoke(cli_runner, "train-text", "--preset", "tiny", "--corpus", jsonl, "--label-column",
                          "label", "--batch-size", 1, "--out", tmp_path / "z", "--cache-dir", cache),
                   f"--label-column label: row 2 of {jsonl} has no label (null)")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_a_resumed_conditional_run_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    from rich.console import Console
    from safetensors.torch import load_file

    from seqgan_gp.runner import run_task
    from seqgan_gp.text.config import PRESETS
    from seqgan_gp.text.task import TextTask

    corpus = two_class_corpus(tmp_path / "c.txt")

    def run(out, iters, resume=None):
        overrides = {"iters": iters, "corpus": str(corpus), "label_column": "tab", "eval_every": 0,
                     "sample_every": 0, "checkpoint_every": 3, "log_every": 3}
        return run_task(TextTask(cache_dir=tmp_path / "cache"), base=PRESETS["tiny"], overrides=overrides,
                        device=torch.device("cpu"), console=Console(quiet=True), out=None if resume else out,
                        resume=resume, show_progress=False)

    straight = run(tmp_path / "a", 6)
    run(tmp_path / "b", 3)
    resumed = run(None, 6, resume=tmp_path / "b")
    a, b = load_file(straight.result.last_checkpoint), load_file(resumed.result.last_checkpoint)
    assert a.keys() == b.keys() and "G.embed.0.weight" in a and "D.classifier.weight" in a
    for key in a:
        assert torch.equal(a[key], b[key]), key
    last = [json.loads((tmp_path / d / "metrics.jsonl").read_text().splitlines()[-1]) for d in "ab"]
    timing = ("sec_per_iter", "it_per_s")
    assert last[0]["iteration"] == 6 and "class_acc" in last[0]  # the same statistics and evaluation at the end
    assert {k: v for k, v in last[0].items() if k not in timing} == {k: v for k, v in last[1].items() if k not in timing}


def train_two_classes(tmp_path, iters):
    """A tiny conditional run on letters vs digits (lr, class loss and batch raised so that it learns in seconds)."""
    from rich.console import Console

    from seqgan_gp.runner import run_task
    from seqgan_gp.text.config import PRESETS
    from seqgan_gp.text.task import TextTask

    corpus = two_class_corpus(tmp_path / "c.txt", n=400)
    overrides = dict(iters=iters, corpus=str(corpus), label_column="tab", lr=3e-3, acgan_scale_g=1.0, batch_size=32,
                     eval_every=iters, eval_samples=200, sample_every=iters, checkpoint_every=0, log_every=iters)
    return run_task(TextTask(cache_dir=tmp_path / "cache"), base=PRESETS["tiny"], overrides=overrides,
                    device=torch.device("cpu"), console=Console(quiet=True), out=tmp_path / "run",
                    show_progress=False)


def test_ten_iterations_teach_the_critic_the_classes_and_the_generator_to_use_them(tmp_path):
    done = train_two_classes(tmp_path, 10)
    record = done.result.metrics[-1]
    assert record["acc_real"] > 0.65  # the critic's class head, over the 10 iterations' critic steps (chance: 0.5)
    assert record["class_acc_real"] == 1.0  # the real-data classifier separates letters from digits
    lines = done.last_sample
    digits, letters = lines[1:33], lines[34:66]  # the same 32 noise vectors, class by class
    assert lines[0] == "== digits (label 0) ==" and lines[33] == "== letters (label 1) =="
    assert sum(a != b for a, b in zip(digits, letters)) >= 16  # at the start every class gives the same rows


@pytest.mark.slow
def test_a_short_conditional_run_renders_each_class_well_above_chance(tmp_path):
    done = train_two_classes(tmp_path, 40)  # about 10 s of CPU
    record = done.result.metrics[-1]
    assert record["class_acc"] >= 0.75, record  # chance: 0.5; 0.89 when measured
    assert done.result.metrics[0]["class_acc"] < 0.6  # untrained


def test_a_class_rarer_than_a_batch_trains_with_a_note(cli_runner, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"{'rare' if i < 3 else 'common'}\tsentence {i}\n" for i in range(60)))
    r = invoke(cli_runner, "train-text", "--preset", "tiny", "--corpus", corpus, "--label-column", "tab",
               "--iters", 1, "--out", tmp_path / "run", "--cache-dir", tmp_path / "cache")
    assert r.exit_code == 0, r.output
    assert "note: 1 of 2 classes have fewer rows than one batch of 16: rare (3)" in " ".join(r.output.split())
