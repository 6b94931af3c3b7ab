"""train-lm: causal models, the teacher-forced NLL, sampling, learning, exact resume and the CLI end to end."""

import json
import math

import numpy as np
import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file

from cli import cli
from seqgan_gp.metrics.counts import base_name
from seqgan_gp.distributed import SINGLE
from seqgan_gp.errors import UserError
from seqgan_gp.metrics.counts import base_name
from seqgan_gp.lm.config import PRESETS, LMConfig
from seqgan_gp.lm.likelihood import heldout_nll, nll_per_token, sentence_mask
from seqgan_gp.lm.models import CausalConvLM, LSTMLM, shift_right
from seqgan_gp.lm.sampling import generate_lm_ids
from seqgan_gp.lm.task import LMTask, split_rows
from seqgan_gp.runner import run_task
from seqgan_gp.runtime import RuntimeOptions, resolve_runtime
from seqgan_gp.text.models import TextGenerator
from seqgan_gp.text.sampling import generate_ids, pick_tokens

V, L = 11, 12
QUIET = Console(quiet=True)


def models():
    torch.manual_seed(0)
    return {"conv": CausalConvLM(vocab_size=V, dim=16, blocks=2, kernel=3), "lstm": LSTMLM(vocab_size=V, dim=16)}


def invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("kind", ["conv", "lstm"])
def test_no_position_sees_the_future(kind):
    """Changing input t+1 (or any later one) leaves the logits at positions 0..t exactly as they were."""
    model = models()[kind].eval()
    ids = torch.randint(0, V + 1, (3, L), generator=torch.Generator().manual_seed(1))
    base = model(ids)
    for t in range(L - 1):
        changed = ids.clone()
        changed[:, t + 1 :] = (changed[:, t + 1 :] + 1 + torch.arange(L - t - 1)) % V
        out = model(changed)
        assert torch.equal(out[:, : t + 1], base[:, : t + 1]), t
        assert not torch.allclose(out[:, t + 1], base[:, t + 1])  # and the changed position does matter


@pytest.mark.parametrize("kind", ["conv", "lstm"])
def test_stepwise_logits_equal_the_teacher_forced_ones(kind):
    """Sampling's incremental step (the LSTM's state, the conv model's window) gives the logits of the full pass."""
    model = models()[kind].eval()
    ids = torch.randint(0, V, (4, L), generator=torch.Generator().manual_seed(2))
    full = model(shift_right(ids, model.start_id))
    state = model.init_state(4, torch.device("cpu"))
    tokens = torch.full((4,), model.start_id)
    for t in range(L):
        logits, state = model.step(tokens, state)
        torch.testing.assert_close(logits, full[:, t], rtol=1e-5, atol=1e-5)
        tokens = ids[:, t]


def test_sentence_mask_counts_up_to_the_first_pad():
    pad = 1
    ids = torch.tensor([[5, 6, 1, 1], [5, 5, 5, 5], [1, 7, 1, 1], [4, 1, 3, 1]])
    expected = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    assert torch.equal(sentence_mask(ids, pad), expected)


class Fixed(torch.nn.Module):
    """Logits independent of the input: log of fixed probabilities at every position."""

    start_id = 3

    def __init__(self, probs):
        super().__init__()
        self.logp = torch.nn.Parameter(torch.tensor(probs).log())

    def forward(self, inputs):
        return self.logp.expand(*inputs.shape, -1)


def test_nll_per_token_by_hand():
    model = Fixed([0.5, 0.25, 0.25])  # pad = 1
    ids = torch.tensor([[0, 2, 1, 1], [0, 0, 0, 0]])  # counted: 0 2 1 | 0 0 0 0
    expected = (5 * math.log(2) + 2 * math.log(4)) / 7
    assert nll_per_token(model, ids, pad_id=1).item() == pytest.approx(expected)
    out = heldout_nll(model, ids.numpy(), pad_id=1, batch_size=1)
    assert out["heldout_nll"] == pytest.approx(expected)
    assert out["heldout_ppl"] == pytest.approx(math.exp(expected))
    assert out["heldout_bits"] == pytest.approx(expected / math.log(2))


def test_pick_tokens_temperature_and_top_k():
    logits = torch.tensor([[0.0, math.log(2), math.log(3), -1.0]]).expand(60_000, -1)
    gen = torch.Generator().manual_seed(0)
    freq = torch.bincount(pick_tokens(logits, temperature=1.0, generator=gen), minlength=4).double() / 60_000
    p = torch.tensor([1, 2, 3, math.exp(-1)], dtype=torch.float64)
    torch.testing.assert_close(freq, p / p.sum(), atol=0.01, rtol=0)
    # T = 0.5 squares the odds: 1 : 4 : 9 : e^-2
    freq = torch.bincount(pick_tokens(logits, temperature=0.5, generator=gen), minlength=4).double() / 60_000
    p = p ** 2
    torch.testing.assert_close(freq, p / p.sum(), atol=0.01, rtol=0)
    # top-2 keeps ids 2 and 1 in the ratio 3 : 2
    freq = torch.bincount(pick_tokens(logits, temperature=1.0, top_k=2, generator=gen), minlength=4).double() / 60_000
    torch.testing.assert_close(freq, torch.tensor([0, 0.4, 0.6, 0], dtype=torch.float64), atol=0.01, rtol=0)
    assert torch.equal(pick_tokens(logits[:5], temperature=7.0, top_k=1), torch.full((5,), 2))
    with pytest.raises(ValueError):
        pick_tokens(logits, temperature=-1.0)


def test_temperature_towards_zero_is_the_argmax_for_both_kinds():
    torch.manual_seed(0)
    G = TextGenerator(vocab_size=V, seq_len=L, dim=16, blocks=1, z_dim=8)
    argmax = generate_ids(G, 50, seed=3, temperature=0.0)
    assert np.array_equal(generate_ids(G, 50, seed=3, temperature=1e-4), argmax)
    assert not np.array_equal(generate_ids(G, 50, seed=3, temperature=1.0), argmax)
    for model in models().values():
        greedy = generate_lm_ids(model, 20, seq_len=L, pad_id=1, seed=4, temperature=0.0)
        assert np.array_equal(generate_lm_ids(model, 20, seq_len=L, pad_id=1, seed=4, temperature=1e-4), greedy)
        assert (greedy == greedy[0]).all()  # greedy decoding from the start token: one sentence
        # and the same as the argmax of the teacher-forced logits of the greedy rows themselves
        ids = torch.from_numpy(greedy).long()
        expected = model(shift_right(ids, model.start_id)).argmax(-1)
        mask = sentence_mask(ids, 1)
        assert torch.equal(ids[mask], expected[mask])


def test_sampled_rows_end_at_their_first_pad():
    model = models()["lstm"]
    rows = generate_lm_ids(model, 300, seq_len=L, pad_id=1, seed=0, temperature=3.0)
    assert rows.shape == (300, L) and rows.dtype == np.int32
    first = np.where((rows == 1).any(1), (rows == 1).argmax(1), L)
    assert (first < L).sum() > 100  # at T = 3 many rows draw the pad
    after = np.arange(L)[None, :] > first[:, None]
    assert (rows[after] == 1).all()
    assert np.array_equal(generate_lm_ids(model, 300, seq_len=L, pad_id=1, seed=0, temperature=3.0), rows)


def test_a_tiny_lstm_learns_below_the_unigram_entropy(tmp_path):
    """A few hundred steps of a tiny model on the embedded corpus beat the best context-free model."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 32-wide LSTM gains nothing from two threads, and loses much on a busy machine
    try:
        _learn(tmp_path)
    finally:
        torch.set_num_threads(threads)


def _learn(tmp_path):
    cfg = LMConfig(model="lstm", dim=32, iters=300, batch_size=32, seq_len=16, embedded_size=2000, max_examples=2000,
                   lr=1e-2, lr_decay=False, log_every=50, eval_every=0, sample_every=0, checkpoint_every=0,
                   eval_samples=8, eval_rows=500)
    task = LMTask(cache_dir=tmp_path / "cache")
    data = task.open_data(cfg, console=QUIET, show_progress=False)
    torch.manual_seed(cfg.seed)
    trainable = task.build(cfg, data, torch.device("cpu"), dist=SINGLE)
    model = trainable.state.modules["LM"]
    split = split_rows(data)
    heldout = torch.from_numpy(np.asarray(split.heldout[:500], dtype=np.int64))
    # the unigram entropy of the counted training tokens: the NLL of the best model that ignores context
    train = torch.from_numpy(np.asarray(split.train, dtype=np.int64))
    counted = train[sentence_mask(train, data.tokenizer.pad_id)]
    p = torch.bincount(counted, minlength=data.tokenizer.vocab_size).double() / counted.numel()
    entropy = float(-(p[p > 0] * p[p > 0].log()).sum())
    before = heldout_nll(model, heldout.numpy(), data.tokenizer.pad_id)["heldout_nll"]
    step = trainable.iteration(resolve_runtime(RuntimeOptions(), torch.device("cpu")))
    for _ in range(cfg.iters):
        step()
    after = heldout_nll(model, heldout.numpy(), data.tokenizer.pad_id)["heldout_nll"]
    assert before > entropy > after, (before, entropy, after)


def test_train_lm_resume_is_bit_exact(cli_runner, tmp_path):
    """A run killed after its checkpoint at 4 and resumed equals the straight run (learning-rate decay included)."""
    base = ["train-lm", "--preset", "tiny", "--model", "lstm", "--cache-dir", tmp_path / "cache", "--iters", 8,
            "--checkpoint-every", 4, "--log-every", 2,
            "--eval-samples", 16, "--eval-rows", 50, "--keep-checkpoints", 0, "--eval-every", 0, "--sample-every", 0]
    r = invoke(cli_runner, *base, "--out", tmp_path / "a")
    assert r.exit_code == 0, r.output
    assert invoke(cli_runner, *base, "--out", tmp_path / "b").exit_code == 0
    (tmp_path / "b" / "checkpoints" / "checkpoint_00000008.safetensors").unlink()  # as if killed after 4
    r = invoke(cli_runner, "train-lm", "--resume", tmp_path / "b", "--cache-dir", tmp_path / "cache")
    assert r.exit_code == 0 and "resuming" in r.output and "from iteration 4" in " ".join(r.output.split())
    a = load_file(tmp_path / "a" / "checkpoints" / "checkpoint_00000008.safetensors")
    b = load_file(tmp_path / "b" / "checkpoints" / "checkpoint_00000008.safetensors")
    assert a.keys() == b.keys() and {k.split(".")[0] for k in a} == {"LM", "opt_LM", "rng"}
    for key in a:
        assert torch.equal(a[key], b[key]), key
    timing = ("sec_per_iter", "it_per_s")

    def records(run):
        return [{k: v for k, v in json.loads(line).items() if k not in timing}
                for line in (run / "metrics.jsonl").read_text().splitlines()]
    ra, rb = records(tmp_path / "a"), records(tmp_path / "b")
    assert ra == rb and {"train_nll", "grad_norm", "heldout_nll", "heldout_ppl", "js4", "bleu4", "valid"} <= {base_name(k) for k in ra[-1]}


def test_sample_and_evaluate_an_lm_checkpoint_from_a_text_file(cli_runner, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"line {i} of the corpus\n" for i in range(300)), encoding="utf-8")
    run = tmp_path / "run"
    r = invoke(cli_runner, "train-lm", "--preset", "tiny", "--corpus", corpus, "--out", run, "--iters", 4,
               "--cache-dir", tmp_path / "cache")
    assert r.exit_code == 0, r.output
    config = json.loads((run / "config.json").read_text())
    assert config["kind"] == "lm" and config["heldout"] == {"source": "train", "rows": 30, "train_rows": 270}
    s = invoke(cli_runner, "sample", run, "-n", 7, "--temperature", 0.7, "--top-k", 5)
    assert s.exit_code == 0 and len(s.output.splitlines()) == 7
    greedy = invoke(cli_runner, "sample", run, "-n", 3, "--temperature", 0)
    assert len(set(greedy.output.splitlines())) == 1
    e = invoke(cli_runner, "evaluate", run, "-n", 40, "--cache-dir", tmp_path / "cache")
    assert e.exit_code == 0, e.output
    doc = json.loads(next((run / "eval").glob("eval_*.json")).read_text())
    assert doc["kind"] == "lm" and doc["samples"] == 40 and doc["decoding"] == "softmax(logits/1)"
    assert doc["heldout"]["rows"] == 30 and doc["metrics"]["heldout_ppl"] == pytest.approx(
        math.exp(doc["metrics"]["heldout_nll"]))
    assert {"js4", "bleu2", "self_bleu2", "distinct1"} <= {base_name(k) for k in doc["metrics"]}


def test_train_lm_refuses_what_it_cannot_do(cli_runner, tmp_path):
    r = invoke(cli_runner, "train-lm", "--preset", "tiny", "--grad-clip", -1, "--out", tmp_path / "x")
    assert r.exit_code == 2 and "--grad-clip -1" in r.output and not (tmp_path / "x").exists()
    r = invoke(cli_runner, "train-lm", "--preset", "tiny", "--cuda-graphs", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "--cuda-graphs" in r.output
    r = invoke(cli_runner, "train-lm", "--preset", "tiny", "--lambda-gp", 5)
    assert r.exit_code == 2 and "No such option" in r.output
    with pytest.raises(UserError, match="--model rnn"):
        LMConfig(model="rnn")
    assert PRESETS["paper"].dim == 512 and PRESETS["paper"].blocks == 5 and PRESETS["paper"].seq_len == 32


def test_time_budget_ends_the_run_at_an_evaluated_checkpoint(tmp_path):
    done = run_task(LMTask(cache_dir=tmp_path / "cache"), base=PRESETS["tiny"],
                    overrides={"iters": 100_000, "time_budget": 0.3, "budget_clock": "wall", "eval_every": 0,
                               "sample_every": 0, "log_every": 1000},
                    device=torch.device("cpu"), console=QUIET, out=tmp_path / "run", show_progress=False)
    last = done.result.metrics[-1]
    assert done.result.stopped_by is None and 0 < done.result.iteration < 100_000
    assert last["iteration"] == done.result.iteration and last["budget_s"] >= 0.3 and "heldout_nll" in last
    assert done.result.last_checkpoint.name == f"checkpoint_{done.result.iteration:08d}.safetensors"
    assert (tmp_path / "run" / "samples" / f"samples_{done.result.iteration:08d}.txt").is_file()
    with pytest.raises(UserError, match="--budget-clock"):
        LMConfig(budget_clock="gpu")
