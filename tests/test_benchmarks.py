"""The benchmarks' arithmetic and the GPU check's CPU-side parts: FLOP counts against a hand
computation and against what PyTorch executes, peaks, % of peak, the benchmarks' JSON on tiny CPU
runs, gpu_check's arguments, its 'no CUDA' answer, its JSON and skip messages, and the step paths
importing without the packages a bare GPU image lacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import adapters, gpu_check, image_models, train_step
from benchmarks.flops import TextShape, count_flops, measure_peaks, rate, text_step_flops
from benchmarks.measure import FLAGS, finish, parse_variants, variant_flags

ROOT = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")
CUDA = torch.device("cuda")
TINY = ["--matmul-n", "64", "--peak-conv", "4,8,6,5", "--peak-seconds", "0.01", "--threads", "1"]


@pytest.fixture
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


# -- FLOPs -----------------------------------------------------------------------------------------------

def test_analytic_count_of_a_one_block_model_equals_the_hand_computation():
    # V 3, L 4, DIM 2, one block of two width-3 convolutions, z 5; per example:
    conv = 2 * 4 * 2 * 2 * 3  # 96: DIM→DIM, width 3, over 4 positions
    inp = 2 * 4 * 3 * 2  # 48: the critic's 1x1 input conv V→DIM
    head = 2 * 8 * 1  # 16: the critic's linear L·DIM→1
    f_z = 2 * 5 * 8  # 80: the generator's linear z→L·DIM
    out = 2 * 4 * 2 * 3  # 48: the generator's 1x1 output conv DIM→V
    d, g = inp + 2 * conv + head, f_z + 2 * conv + out  # 256, 320
    assert (d, g) == (256, 320)
    critic = 320 + 10 * 256 - 2 * 48 - 16  # 2768: see the table in benchmarks/flops.py
    generator = 3 * 320 + 2 * 256 - 80  # 1392
    shape = TextShape(vocab=3, seq_len=4, dim=2, blocks=1, kernel=3, z_dim=5)
    assert text_step_flops(shape, batch=2, n_critic=1) == {"critic_step": 5536, "generator_step": 2784,
                                                           "iteration": 8320}
    assert (critic, generator) == (5536 // 2, 2784 // 2)
    assert text_step_flops(shape, batch=2, gen_batch=6, n_critic=3)["iteration"] == 3 * 5536 + 6 * 1392


@pytest.mark.parametrize("blocks,n_critic,batch", [(1, 1, 2), (2, 3, 4)])
def test_flops_pytorch_executes_in_our_step_equal_the_analytic_count(blocks, n_critic, batch):
    """Tolerance: none. Both count the same products and convolutions: what the analytic table says
    the step computes is what it computes (a change of the step must change the table)."""
    G, D = adapters.text_networks(vocab=7, seq_len=6, dim=8, blocks=blocks, device=CPU)
    ids = np.random.default_rng(0).integers(0, 7, size=(64, 6))
    built = adapters.text_step(G, D, ids, vocab=7, batch=batch, n_critic=n_critic, device=CPU,
                               flags=variant_flags("eager", CPU))
    counted, by_op = count_flops(built.iteration)
    expected = text_step_flops(TextShape(vocab=7, seq_len=6, dim=8, blocks=blocks), batch=batch, n_critic=n_critic)
    assert counted == expected["iteration"]
    assert {"aten.convolution", "aten.convolution_backward", "aten.addmm", "aten.mm"} == set(by_op)


def test_rate_is_work_over_the_median_time_of_blocks_of_calls():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.005)

    wall, per_cpu_s = rate(fn, 10**9, CPU, min_seconds=0.0, min_reps=3, block_seconds=0.02)
    assert 100 < wall <= 200  # 1 GFLOP per 5 ms call; sleeping can only take longer
    assert per_cpu_s > 1000  # a sleeping process uses next to no CPU time
    assert len(calls) >= 2 + 3 * 3  # warm-up, calibration, then blocks of about 4 calls


@pytest.mark.parametrize("precision", ["float32", "bf16"])
def test_peaks_are_measured_for_each_kind_of_work(precision, restore_threads):
    torch.set_num_threads(1)
    p = measure_peaks(precision, CPU, matmul_n=64, conv=(2, 8, 6, 3), min_seconds=0.0)
    for rates in (p, p["cpu_time"]):
        assert all(rates[k] > 0 for k in ("matmul", "conv_fwd", "conv"))
    assert p["matmul_n"] == 64 and p["conv_shape"] == {"batch": 2, "channels": 8, "length": 6, "kernel": 3}


def test_finish_derives_rates_percentages_and_the_projected_time():
    doc = {"model_flops_per_iter": 2e9, "projected_iters": 1000,
           "peaks": {"float32": {"matmul": 100.0, "conv": 50.0, "cpu_time": {"matmul": 80.0, "conv": 40.0}},
                     "bf16": {"matmul": 400.0, "conv": 200.0}},
           "variants": {"eager": {"precision": "float32", "sec_per_iter": 0.04, "cpu_sec_per_iter": 0.025},
                        "bf16": {"precision": "bf16", "sec_per_iter": 0.02, "cpu_sec_per_iter": 0.02},
                        "compile": {"skipped": "time"}}}
    v = finish(doc)["variants"]
    assert v["eager"]["gflops_per_s"] == pytest.approx(50.0)  # 2 GFLOP in 40 ms
    assert v["eager"]["pct_of_peak"] == pytest.approx({"matmul": 50.0, "conv": 100.0})
    assert v["eager"]["pct_of_peak_cpu_time"] == pytest.approx({"matmul": 100.0, "conv": 200.0})  # 80 GFLOP/CPU-s
    assert "pct_of_peak_cpu_time" not in v["bf16"]
    assert v["bf16"]["pct_of_peak"] == pytest.approx({"matmul": 25.0, "conv": 50.0})
    assert v["eager"]["projected_hours"] == pytest.approx(0.04 * 1000 / 3600)
    assert v["compile"] == {"skipped": "time"}


# -- variant names -----------------------------------------------------------------------------------------

def test_variant_names_map_to_the_cli_runtime_flags():
    assert variant_flags("eager", CPU) == {"compile": False, "amp": "off", "cuda_graphs": False}
    assert variant_flags("bf16+compile", CPU) == {"compile": True, "amp": "bf16", "cuda_graphs": False}
    assert variant_flags("cuda-graphs+bf16", CUDA) == {"compile": False, "amp": "bf16", "cuda_graphs": True}
    for bad, why in [("fast", "use baseline"), ("eager+bf16", "use baseline"), ("bf16+bf16", "use baseline"),
                     ("compile+cuda-graphs", "exclude each other"), ("", "use baseline")]:
        with pytest.raises(ValueError, match=why):
            variant_flags(bad, CUDA)
    with pytest.raises(ValueError, match="need a CUDA device"):
        variant_flags("cuda-graphs", CPU)
    assert parse_variants(" baseline, eager ,bf16", CPU) == ["baseline", "eager", "bf16"]
    with pytest.raises(ValueError, match="listed twice"):
        parse_variants("eager,eager", CPU)


@given(st.lists(st.sampled_from(FLAGS[1:]), min_size=1, max_size=3, unique=True), st.randoms())
@settings(max_examples=50, deadline=None)
def test_the_order_of_joined_flags_does_not_matter(flags, random):
    if {"compile", "cuda-graphs"} <= set(flags):
        with pytest.raises(ValueError):
            variant_flags("+".join(flags), CUDA)
        return
    shuffled = list(flags)
    random.shuffle(shuffled)
    got = variant_flags("+".join(shuffled), CUDA)
    assert got == variant_flags("+".join(flags), CUDA)
    assert got == {"compile": "compile" in flags, "amp": "bf16" if "bf16" in flags else "off",
                   "cuda_graphs": "cuda-graphs" in flags}


# -- the benchmarks on tiny CPU runs -----------------------------------------------------------------------

def test_train_step_json_holds_the_analytic_flops_rates_and_the_ratio_to_the_port(tmp_path, capsys, restore_threads):
    out = tmp_path / "step.json"
    doc = train_step.main(["--dim", "8", "--batch", "4", "--critic-iters", "2", "--blocks", "1", "--seq-len", "6",
                           "--vocab", "7", "--iters", "2", "--variants", "baseline,eager", "--count-flops",
                           "--json", "--json-out", str(out), *TINY])
    assert json.loads(capsys.readouterr().out) == json.loads(out.read_text()) == json.loads(json.dumps(doc))
    flops = text_step_flops(TextShape(vocab=7, seq_len=6, dim=8, blocks=1), batch=4, n_critic=2)["iteration"]
    assert doc["model_flops_per_iter"] == flops
    eager, base = doc["variants"]["eager"], doc["variants"]["baseline"]
    assert eager["flops_executed_per_iter"] == flops  # the benchmark's own count agrees
    assert base["flops_executed_per_iter"] > flops  # the port's second backward through ReLU zeros
    for v in (eager, base):
        assert len(v["sec_per_iter_all"]) == 2 and v["sec_per_iter"] > 0
        assert v["gflops_per_s"] == pytest.approx(flops / v["sec_per_iter"] / 1e9)
        assert v["pct_of_peak"]["conv"] == pytest.approx(100 * v["gflops_per_s"] / doc["peaks"]["float32"]["conv"])
        assert v["projected_hours"] == pytest.approx(v["sec_per_iter"] * 200_000 / 3600)
        assert v["aten_ops_per_iter"] > 0
    assert eager["speedup_vs_baseline"] > 0 and doc["failed_variants"] == []
    assert doc["peaks"]["float32"]["conv_shape"] == {"batch": 4, "channels": 8, "length": 6, "kernel": 5}


def test_train_step_rejects_bad_variants_and_shapes(capsys):
    for argv, message in [(["--variants", "cuda-graphs"], "CUDA graphs need a CUDA device"),
                          (["--variants", "turbo"], "use baseline, eager"),
                          (["--peak-conv", "64,512"], "four positive integers")]:
        with pytest.raises(SystemExit) as exc:
            train_step.main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err


def test_image_models_json_counts_flops_and_records_what_cannot_run(tmp_path, restore_threads):
    from click.testing import CliRunner

    out = tmp_path / "images.json"
    res = CliRunner().invoke(image_models.main, ["--models", "mnist,cifar-resnet-acgan", "--dim", "8", "--batch-size",
                                                 "8", "--variants", "baseline,eager", "--iters", "1", "--json",
                                                 "--json-out", str(out), *TINY])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    mnist, acgan = doc["models"]["mnist"], doc["models"]["cifar-resnet-acgan"]
    assert mnist["config"]["batch_size"] == 8 and mnist["config"]["dim"] == 8 and acgan["config"]["conditional"]
    assert mnist["model_flops_per_iter"] > 0 and acgan["model_flops_per_iter"] > 0
    assert mnist["projected_iters"] == 200_000 and acgan["projected_iters"] == 100_000  # the paper's runs
    for name in ("baseline", "eager"):
        rec = mnist["variants"][name]
        assert rec["gflops_per_s"] == pytest.approx(mnist["model_flops_per_iter"] / rec["sec_per_iter"] / 1e9)
    assert "unconditional" in acgan["variants"]["baseline"]["error"]
    assert acgan["variants"]["eager"]["sec_per_iter"] > 0 and "speedup_vs_baseline" not in acgan["variants"]["eager"]
    assert doc["failed_variants"] == ["cifar-resnet-acgan: baseline"]


# -- gpu_check ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv,message", [
    (["--parts", "tests,speed"], "--parts 'tests,speed': choose from tests, text, image"),
    (["--parts", ","], "choose from tests, text, image"),
    (["--budget-s", "0"], "--budget-s 0: give a positive number"),
    (["--iters", "0"], "--iters 0: give at least 1"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
])
def test_gpu_check_arguments_are_checked(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        gpu_check.parse_args(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_gpu_check_parts_run_in_their_own_order():
    args = gpu_check.parse_args(["--parts", "image, tests", "--budget-s", "60"])
    assert args.parts == ["tests", "image"] and args.budget_s == 60 and args.out.name == "gpu_check.json"


def test_a_part_out_of_time_is_stopped_with_everything_it_started(tmp_path):
    """The tests part starts CLI runs, a compiled benchmark the compiler's workers: a part that runs
    past its limit is killed with its whole process group, so nothing keeps the GPU busy after it."""
    marker = tmp_path / "orphan-was-here"
    script = f"import subprocess, sys, time; subprocess.Popen(['bash', '-c', 'sleep 1; touch {marker}']); " \
             f"print('started', flush=True); time.sleep(30)"
    res = gpu_check.run_part([sys.executable, "-c", script], 0.5, {})
    assert res["timed_out"] and res["returncode"] is None and res["stdout"] == "started\n" and res["seconds"] < 5
    time.sleep(1.5)
    assert not marker.exists()


def test_the_pytest_plugin_logs_each_outcome_as_it_happens(tmp_path):
    (tmp_path / "test_sample.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")

        def test_ok(record_property):
            record_property("peak_mib", 12.5)

        def test_bad():
            assert 1 == 2, "one is not two"

        @pytest.mark.skip(reason="needs a CUDA device: none here")
        def test_skipped():
            pass

        def test_error(broken):
            pass
    """))
    log = tmp_path / "log.jsonl"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "benchmarks.pytest_log",
                           "test_sample.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SEQGAN_GP_TEST_LOG": str(log), "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1, proc.stdout[-2000:]
    counts, tests = gpu_check.test_results(log)
    assert counts == {"passed": 1, "failed": 1, "errors": 1, "skipped": 1}
    by = {t["name"]: t for t in tests}
    assert by["test_ok"]["properties"] == {"peak_mib": "12.5"} and "message" not in by["test_ok"]
    assert "one is not two" in by["test_bad"]["message"]
    assert by["test_skipped"]["message"] == "needs a CUDA device: none here"
    assert by["test_error"]["outcome"] == "errors" and "fixture broke" in by["test_error"]["message"]


def test_gpu_check_status_says_failed_incomplete_or_ok():
    measured = {"variants": {"eager": {"sec_per_iter": 0.1}}}
    cut = {"variants": {"eager": {"sec_per_iter": 0.1}, "compile": {"skipped": "the part reached its 80 s limit"}}}
    passed = {"status": "passed"}
    assert gpu_check.overall({"tests": passed, "text": {"status": "passed", "result": measured}}) == "ok"
    assert gpu_check.overall({"tests": passed, "text": {"status": "timeout", "result": cut}}) == "incomplete"
    assert gpu_check.overall({"tests": passed, "image": {"status": "passed", "result": {"models": {"m": cut}}}}) \
        == "incomplete"
    assert gpu_check.overall({"tests": {"status": "timeout"}, "text": {"status": "passed", "result": measured}}) \
        == "failed"  # the tests' outcomes are the point: no partial credit
    assert gpu_check.overall({"tests": passed, "text": {"status": "timeout"}}) == "failed"  # nothing measured
    assert gpu_check.overall({"tests": {"status": "failed"}, "text": {"status": "passed", "result": measured}}) \
        == "failed"
    assert gpu_check.overall({"tests": {"status": "skipped"}}) == "ok"  # the CPU run of the check itself


def test_gpu_check_without_cuda_says_so_and_writes_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "check.json"
    assert gpu_check.main(["--out", str(out)]) == 3
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["schema"] == "seqgan_gp.gpu_check/1" and doc["status"] == "no-cuda" and doc["parts"] == {}
    assert doc["message"].startswith("no CUDA device: ") and "add --device cpu" in doc["message"]
    assert doc["message"].replace("\n", "") in printed.replace("\n", "")
    assert doc["environment"]["cuda_available"] is False and doc["environment"]["torch"] == torch.__version__


def test_gpu_check_on_the_cpu_writes_the_tests_skip_reason_and_the_step_benchmark(tmp_path, capsys):
    """The whole check at tiny sizes on the CPU (its parts are processes, as on a GPU): the gpu tests
    are all skipped with the reason, the text benchmark's numbers land in the JSON. In the default run
    on purpose: a check that breaks must be caught here, not on the GPU it was meant for."""
    out = tmp_path / "check.json"
    code = gpu_check.main(["--device", "cpu", "--parts", "tests,text", "--out", str(out), "--budget-s", "240"])
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert code == 0 and doc["status"] == "ok" and doc["device"] == "cpu" and doc["sizes"] == "tiny"
    assert set(doc["parts"]) == {"tests", "text"} and doc["seconds"] <= 240
    tests = doc["parts"]["tests"]
    n = tests["counts"]["skipped"]
    assert tests["status"] == "skipped" and n >= 7 and tests["counts"]["passed"] == tests["counts"]["failed"] == 0
    if not torch.cuda.is_available():
        assert all(t["outcome"] == "skipped" and t["message"].startswith("needs a CUDA device") for t in tests["tests"])
        assert "gpu tests skipped: needs a CUDA device" in printed
    text = doc["parts"]["text"]
    result = text["result"]
    assert text["status"] == "passed" and result["variant_order"] == ["baseline", "eager", "bf16"]
    shape = TextShape(vocab=32, seq_len=16, dim=16, blocks=1)
    assert result["model_flops_per_iter"] == text_step_flops(shape, batch=8, n_critic=2)["iteration"]
    assert result["machine"]["threads"] == 1 and set(result["peaks"]) == {"float32", "bf16"}
    for name in ("baseline", "eager", "bf16"):
        v = result["variants"][name]  # 2 timed iterations each; the baseline's beside each of the other two
        assert len(v["sec_per_iter_all"]) == (4 if name == "baseline" else 2) and v["pct_of_peak"]["matmul"] > 0
    assert result["variants"]["eager"]["flops_executed_per_iter"] == result["model_flops_per_iter"]
    assert "--deadline-s" in text["command"] and "--json-out" in text["command"]
    assert "baseline" in printed and "bf16" in printed and f"wrote {out}" in printed.replace("\n", "")
    assert tests["seconds"] + text["seconds"] <= doc["seconds"]


# -- the step paths without datasets, lmdb or POT --------------------------------------------------------

BLOCKER = textwrap.dedent('''
    """Python with the packages a bare GPU image lacks made unimportable (None in sys.modules:
    ``import`` raises ModuleNotFoundError, ``importlib.util.find_spec`` answers None), then the code given."""
    import sys

    for name in ("datasets", "lmdb", "ot", "tensorboard", "nltk", "hypothesis"):
        sys.modules[name] = None
    exec(sys.argv[1])
''')


def test_the_text_and_image_step_paths_need_no_datasets_lmdb_or_pot(tmp_path):
    """train-text and train-image (as the gpu tests run them), both step benchmarks and gpu_check
    import and run with datasets, lmdb and POT (and the test-only extras) unimportable, as on a bare
    GPU image."""
    launcher = tmp_path / "blocked.py"
    launcher.write_text(BLOCKER)
    code = textwrap.dedent(f"""
        import sys, torch
        torch.set_num_threads(1)
        sys.path.insert(0, {str(ROOT)!r})
        import cli
        from benchmarks import gpu_check, image_models, train_step
        tiny = {TINY!r}
        train_step.main(["--dim", "8", "--batch", "4", "--critic-iters", "1", "--blocks", "1", "--seq-len", "6",
                         "--vocab", "7", "--iters", "1", "--variants", "eager,bf16", "--json", "--no-count-ops", *tiny])
        image_models.main(["--models", "cifar-resnet,mnist", "--dim", "8", "--batch-size", "8", "--iters", "1",
                           "--variants", "eager", "--json", *tiny], standalone_mode=False)
        for argv in (["train-text", "--preset", "tiny", "--iters", "1", "--out", "text", "--cache-dir", "cache"],
                     ["train-image", "--preset", "tiny", "--model", "cifar-resnet", "--iters", "1", "--out", "image"]):
            try:
                cli.cli.main(args=[*argv, "--device", "cpu", "--eval-every", "0", "--sample-every", "0"])
            except SystemExit as exc:
                assert exc.code == 0, (argv, exc.code)
        for blocked in ("datasets", "lmdb", "ot"):
            assert sys.modules[blocked] is None, blocked  # still blocked: nothing imported it another way
        print("blocked imports ok")
    """)
    proc = subprocess.run([sys.executable, str(launcher), code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and "blocked imports ok" in proc.stdout, proc.stderr[-3000:]
