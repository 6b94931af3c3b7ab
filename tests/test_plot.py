"""``plot RUN_DIR``: figures of any run's metrics.jsonl."""

import json

import pytest
from PIL import Image

from cli import cli
from seqgan_gp import plots
from seqgan_gp.plots import group_keys, numeric_series


def _write_metrics(run, records):
    run.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records] + ['{"iteration": 99, "critic_lo']  # a torn last line
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")


RECORDS = [
    {"iteration": 0, "js1": 0.5, "js4": 0.9, "fid": 300.0},
    {"iteration": 10, "critic_loss": -1.5, "wasserstein": 2.0, "penalty": 0.1, "gen_loss": 0.3, "lr": 1e-4,
     "sec_per_iter": 0.2, "it_per_s": 5.0, "note": "text is skipped", "flag": True},
    {"iteration": 20, "critic_loss": -1.0, "wasserstein": 1.5, "penalty": float("nan"), "gen_loss": 0.2,
     "lr": 1e-4, "sec_per_iter": 0.25, "it_per_s": 4.0, "js1": 0.3, "js4": 0.7, "fid": 120.0},
]


def test_numeric_series_keeps_finite_numbers_per_key():
    s = numeric_series(RECORDS)
    assert s["critic_loss"] == ([10, 20], [-1.5, -1.0])
    assert s["penalty"] == ([10], [0.1])  # NaN dropped
    assert s["js4"] == ([0, 20], [0.9, 0.7])
    assert "note" not in s and "flag" not in s and "iteration" not in s and "it_per_s" not in s


def test_plot_writes_one_png_per_group_and_per_other_key(cli_runner, tmp_path):
    run = tmp_path / "run"
    _write_metrics(run, RECORDS)
    r = cli_runner.invoke(cli, ["plot", str(run)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (run / "plots").iterdir())
    assert names == ["fid.png", "js.png", "losses.png", "lr.png", "penalty.png", "speed.png", "wasserstein.png"]
    for name in names:
        with Image.open(run / "plots" / name) as im:
            assert im.format == "PNG" and im.size == (640, 400)
    assert "7 figures from 3 records" in r.output


def test_plot_draws_one_figure_per_metric_family(cli_runner, tmp_path):
    """A text run's 21 evaluation keys make 6 figures, not 21; an image run's SWD levels one."""
    evaluation = {**{f"js{n}": 0.1 * n for n in range(1, 5)}, **{f"bleu{n}": 0.5 / n for n in range(2, 6)},
                  **{f"self_bleu{n}": 0.6 / n for n in range(2, 6)}, **{f"distinct{n}": 0.2 * n for n in range(1, 5)},
                  "distinct4": None, "unique_samples": 1.0, "valid": 0.25, "nll": 30.0, "nll_data": 20.0,
                  "swd_32": 9.0, "swd_16": 7.0, "swd_avg": 8.0}
    run = tmp_path / "run"
    _write_metrics(run, [{"iteration": 0, **evaluation}, {"iteration": 10, **evaluation, "js4": 0.2}])
    r = cli_runner.invoke(cli, ["plot", str(run)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (run / "plots").iterdir())
    assert names == ["bleu.png", "distinct.png", "grammar.png", "js.png", "nll.png", "self_bleu.png", "swd.png"]
    fig = plots.line_figure("t", {"a": ([0, 1], [1.0, 2.0])})  # what the command draws: one axes, one line per key
    assert len(fig.axes) == 1
    assert plots.group_keys("js", evaluation) == ["js1", "js2", "js3", "js4"]
    assert plots.group_keys("distinct", numeric_series([evaluation | {"iteration": 0}])) == [
        "distinct1", "distinct2", "distinct3"]  # null (undefined) values are not drawn


def test_plot_out_folder(cli_runner, tmp_path):
    run = tmp_path / "run"
    _write_metrics(run, RECORDS[:1])
    r = cli_runner.invoke(cli, ["plot", str(run), "--out", str(tmp_path / "figs")], catch_exceptions=False)
    assert r.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["fid.png", "js.png"]


def test_plot_of_a_real_toy_run(cli_runner, tmp_path):
    run = tmp_path / "toy"
    assert cli_runner.invoke(cli, ["train-toy", "--preset", "tiny", "--iters", "10", "--plot-every", "0",
                                   "--out", str(run)]).exit_code == 0
    r = cli_runner.invoke(cli, ["plot", str(run)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    names = {p.name for p in (run / "plots").iterdir()}
    assert {"losses.png", "wasserstein.png", "penalty.png", "modes.png", "high_quality.png", "lr.png"} <= names


def test_plot_errors(cli_runner, tmp_path):
    r = cli_runner.invoke(cli, ["plot", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "no such run directory" in r.output
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "results.json").write_text("{}")
    r = cli_runner.invoke(cli, ["plot", str(tmp_path / "exp")])
    assert r.exit_code == 2 and "experiment runs write their figures" in r.output
    _write_metrics(tmp_path / "empty", [{"iteration": 0, "note": "x"}])
    r = cli_runner.invoke(cli, ["plot", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "no numeric records" in r.output


def test_train_text_tensorboard_logs_the_metrics(cli_runner, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "text"
    r = cli_runner.invoke(cli, ["train-text", "--preset", "tiny", "--iters", "5", "--tensorboard", "--out", str(out),
                                "--cache-dir", str(tmp_path / "cache")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    records = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [(rec["iteration"], rec["penalty"]) for rec in records if "penalty" in rec]
    assert [(e.step, e.value) for e in acc.Scalars("penalty")] == [(i, pytest.approx(v, rel=1e-6)) for i, v in logged]
    assert "js4_64" in acc.Tags()["scalars"]  # JS-4 of --eval-samples 64
    texts = acc.Tensors("samples/text_summary")  # the decoded samples, as text
    assert [e.step for e in texts] == [0, 5]
    last = texts[-1].tensor_proto.string_val[0].decode()
    assert last.splitlines() == ["    " + t for t in (out / "samples" / "samples_00000005.txt").read_text().splitlines()]


def test_train_image_tensorboard_logs_the_metrics(cli_runner, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "image"
    r = cli_runner.invoke(cli, ["train-image", "--preset", "tiny", "--device", "cpu", "--iters", "2", "--eval-every", "0",
                                "--tensorboard", "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    records = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [(rec["iteration"], rec["critic_loss"]) for rec in records if "critic_loss" in rec]
    assert logged and [(e.step, e.value) for e in acc.Scalars("critic_loss")] == [
        (i, pytest.approx(v, rel=1e-6)) for i, v in logged]
    grids = acc.Images("samples")  # the sample grids, as images of the PNG's size
    assert [g.step for g in grids] == [0, 2] and (grids[-1].width, grids[-1].height) == (512, 512)


def test_metrics_named_with_their_count_join_the_figures_of_older_runs_names():
    """js4_640 (JS-4 of 640 samples) and an older run's js4 draw in the same JS figure; swd2k_32 and
    fid50k keep their own figures."""
    records = [{"iteration": 0, "js1": 0.5, "js4": 0.9}, {"iteration": 10, "js1_640": 0.4, "js4_640": 0.8,
                                                          "js4_6400": 0.7, "swd2k_32": 3.0, "fid50k": 30.0}]
    series = numeric_series(records)
    assert group_keys("js", series) == ["js1", "js1_640", "js4", "js4_640", "js4_6400"]
    assert group_keys("losses", series) == []
