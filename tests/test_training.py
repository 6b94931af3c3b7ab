"""A real (small) training run on the embedded corpus learns: JS-4 falls, samples change."""

import json

import torch
from rich.console import Console

from seqgan_gp.text.config import PRESETS
from seqgan_gp.runner import run_task
from seqgan_gp.text.task import TextTask


def test_training_on_embedded_corpus_lowers_js4(tmp_path):
    overrides = dict(iters=150, dim=32, blocks=1, batch_size=32, critic_iters=2, lr=1e-3, seq_len=24,
                     eval_every=150, sample_every=150, checkpoint_every=150, eval_samples=256)
    run = run_task(TextTask(), base=PRESETS["tiny"], overrides=overrides, device=torch.device("cpu"),
                   console=Console(quiet=True), out=tmp_path / "run", show_progress=False)
    records = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "js4_256" in r]  # JS-4 of --eval-samples 256
    assert [r["iteration"] for r in evals] == [0, 150]
    start, end = evals[0], evals[-1]
    assert start["js4_256"] > 0.95  # an untrained generator's 4-grams are nothing like the corpus
    assert end["js4_256"] < start["js4_256"] - 0.15, (start, end)
    assert end["js1_256"] < start["js1_256"]
    assert run.last_sample != run.first_sample
