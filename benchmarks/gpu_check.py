"""The GPU check: the ``gpu`` tests and the step benchmarks at the paper's sizes, in one command.

    bash benchmarks/gpu_check.sh                        # on a machine with a CUDA GPU, at most ~5 minutes
    bash benchmarks/gpu_check.sh --out /tmp/check.json --budget-s 600
    bash benchmarks/gpu_check.sh --device cpu           # the check itself, at tiny sizes on this CPU

Installs nothing and needs no network: run it from the checkout (gpu_check.sh sets PYTHONPATH)
with torch, numpy, click, rich, safetensors, sentencepiece, Pillow, matplotlib, scipy, filelock
and pytest installed. Three parts run one after the other, each in its own process with its own
time limit (``--budget-s`` split 50/28/22; time a part leaves over goes to the next):

1. ``tests``: ``pytest -m gpu tests/test_gpu.py`` (eager, --compile and --cuda-graphs train alike,
   --deterministic is bit-exact and resumes exactly, bf16 keeps the norm and Adam in float32,
   torchrun and NCCL, the peak memory of the paper's text step);
2. ``text``: benchmarks/train_step.py at the paper's sizes (DIM 512, batch 64, 10 critic steps);
3. ``image``: benchmarks/image_models.py on the CIFAR ResNet (DIM 128, batch 64, 5 critic steps);

both benchmarks measure the port-style baseline, eager, bf16, CUDA graphs (alone and with bf16) and
torch.compile in one process each, against the peaks measured in that process. A benchmark stops
starting variants when its time is nearly spent and keeps what it measured. One table is printed
and one JSON file written (``--out``), holding every number, the tests' outcomes and messages, and
the tail of each part's output.

Exit status: 0 everything passed; 1 a test or a variant failed or a part did not finish;
3 no CUDA device (nothing was checked: the message says how to check the check on a CPU);
4 every test passed but the budget ran out before some benchmark variants.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import COLUMNS, peak_lines, table_rows, write_json  # noqa: E402

SCHEMA = "seqgan_gp.gpu_check/1"
PARTS = ("tests", "text", "image")
SHARE = {"tests": 0.50, "text": 0.28, "image": 0.22}  # of the budget
RUN_MARGIN_S = 35  # a gpu test's CLI run must end this long before the tests part's limit
GRACE_S = 20  # a benchmark stops starting variants this long before its hard limit
NEEDED = ("torch", "numpy", "click", "rich", "safetensors", "sentencepiece", "PIL", "matplotlib", "scipy",
          "filelock", "pytest")
NOT_NEEDED = ("datasets", "lmdb", "ot")  # Hugging Face datasets, LSUN's lmdb, POT: not on the step paths
CUDA_VARIANTS = "baseline,eager,bf16,cuda-graphs,bf16+cuda-graphs,compile"
CPU_VARIANTS = "baseline,eager,bf16"
EXIT = {"ok": 0, "failed": 1, "no-cuda": 3, "incomplete": 4}


def sizes(name: str) -> dict[str, list[str]]:
    """Benchmark arguments of each size: the paper's, or tiny (seconds on a CPU, for checking the check)."""
    if name == "paper":
        return {"text": ["--dim", "512", "--batch", "64", "--critic-iters", "10", "--blocks", "5", "--seq-len", "32",
                         "--vocab", "256"],
                "image": ["--models", "cifar-resnet"]}
    tiny_peaks = ["--matmul-n", "128", "--peak-conv", "8,32,16,5", "--peak-seconds", "0.02", "--threads", "1"]
    return {"text": ["--dim", "16", "--batch", "8", "--critic-iters", "2", "--blocks", "1", "--seq-len", "16",
                     "--vocab", "32", *tiny_peaks],
            "image": ["--models", "cifar-resnet", "--dim", "8", "--batch-size", "8", *tiny_peaks]}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gpu_check", description=__doc__.split("\n\n")[0],
                                epilog="Exit status: 0 passed, 1 failed, 3 no CUDA device, 4 out of time.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu_check.json",
                   help="the JSON file to write")
    p.add_argument("--budget-s", type=float, default=290.0, help="seconds for all parts together")
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto",
                   help="auto: CUDA, or stop saying there is none; cpu: run the check itself on the CPU")
    p.add_argument("--sizes", choices=("paper", "tiny"), default=None,
                   help="benchmark sizes [paper on CUDA, tiny on the CPU]")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {', '.join(PARTS)}")
    p.add_argument("--variants", default=None, help=f"benchmark variants [CUDA: {CUDA_VARIANTS}; CPU: {CPU_VARIANTS}]")
    p.add_argument("--iters", type=int, default=None, help="timed iterations per variant [CUDA 10, CPU 2]")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    p = parser()
    args = p.parse_args(argv)
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    bad = [s for s in parts if s not in PARTS]
    if bad or not parts:
        p.error(f"--parts {args.parts!r}: choose from {', '.join(PARTS)} (comma-separated)")
    args.parts = [s for s in PARTS if s in parts]
    if args.budget_s <= 0:
        p.error(f"--budget-s {args.budget_s:g}: give a positive number of seconds")
    if args.iters is not None and args.iters < 1:
        p.error(f"--iters {args.iters}: give at least 1")
    return args


def environment() -> dict:
    """What this machine offers: Python, PyTorch, CUDA and the GPU, and which packages are importable."""
    import torch

    env = {"python": platform.python_version(), "platform": platform.platform(), "torch": torch.__version__,
           "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
           "triton": importlib.util.find_spec("triton") is not None, "checkout": str(ROOT),
           "missing_needed": [m for m in NEEDED if importlib.util.find_spec(m) is None],
           "present_not_needed": [m for m in NOT_NEEDED if importlib.util.find_spec(m) is not None]}
    if env["cuda_available"]:
        env.update(gpu=torch.cuda.get_device_name(0), gpus=torch.cuda.device_count(),
                   capability=".".join(map(str, torch.cuda.get_device_capability(0))),
                   nccl=".".join(map(str, torch.cuda.nccl.version())) if hasattr(torch.cuda, "nccl") else None)
    try:
        env["commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                       timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        env["commit"] = None
    return env


def no_cuda_message(env: dict) -> str:
    why = ("this PyTorch was built without CUDA" if env["torch_cuda"] is None
           else f"PyTorch (CUDA {env['torch_cuda']}) sees no GPU")
    return (f"no CUDA device: {why} (torch {env['torch']}); nothing was checked on a GPU. Run this on a machine "
            f"with an NVIDIA GPU, or add --device cpu to run the check itself at tiny sizes on this CPU.")


# -- the parts -----------------------------------------------------------------------------------------

def run_part(cmd: list[str], timeout: float, env: dict) -> dict:
    """Run one part in its own process group; its exit code, seconds and output, or that it ran out of
    time, in which case the whole group goes (the CLI runs of the tests, the compiler's workers)."""
    t = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        out = {"returncode": proc.returncode}
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stdout, stderr = proc.communicate()
        out = {"returncode": None, "timed_out": True}
    out.update(stdout=stdout or "", stderr=stderr or "", seconds=round(time.monotonic() - t, 1),
               command=" ".join(cmd[1:]) if cmd[0] == sys.executable else " ".join(cmd))
    return out


def test_results(log: Path) -> tuple[dict, list[dict]]:
    """(counts of passed/failed/errors/skipped, one record per test) from the plugin's log
    (benchmarks/pytest_log.py)."""
    tests = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    for rec in tests:
        counts[rec["outcome"]] += 1
    return counts, tests


def tests_part(timeout: float, env: dict, work: Path) -> dict:
    log = work / "gpu-tests.jsonl"
    # a CLI run that outlasts this fails its own test: the others still report
    env = {**env, "SEQGAN_GP_TEST_LOG": str(log), "SEQGAN_GP_GPU_RUN_TIMEOUT": f"{max(30.0, timeout - RUN_MARGIN_S):.0f}"}
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "-p", "benchmarks.pytest_log",
           str(ROOT / "tests" / "test_gpu.py")]
    res = run_part(cmd, timeout, env)
    part = {"seconds": res["seconds"], "command": res["command"]}
    part["counts"], part["tests"] = test_results(log)
    c = part["counts"]
    if res.get("timed_out"):
        part["status"] = "timeout"
    elif c["failed"] or c["errors"] or res["returncode"] != 0 or not part["tests"]:
        part["status"] = "failed"
    else:
        part["status"] = "skipped" if c["skipped"] and not c["passed"] else "passed"
    if part["status"] != "passed":
        part["output_tail"] = (res["stdout"][-3000:] + "\n" + res["stderr"][-3000:]).strip()
    return part


def bench_part(script: str, args: list[str], timeout: float, env: dict, work: Path) -> dict:
    out = work / f"{Path(script).stem}.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), *args, "--json-out", str(out),
           "--deadline-s", f"{max(1.0, timeout - GRACE_S):.0f}"]
    res = run_part(cmd, timeout, env)
    part = {"seconds": res["seconds"], "command": res["command"]}
    if out.is_file():
        part["result"] = json.loads(out.read_text())
    failed = (part.get("result") or {}).get("failed_variants")
    if res.get("timed_out"):
        part["status"] = "timeout"
        order = (part.get("result") or {}).get("variant_order", [])
        for doc in _docs(part):  # what the kill cut short is shown as such
            for name in order:
                doc["variants"].setdefault(name, {"skipped": f"the part reached its {timeout:.0f} s limit first"})
    elif res["returncode"] != 0 or "result" not in part or failed:
        part["status"] = "failed"
    else:
        part["status"] = "passed"
    if part["status"] != "passed":
        part["output_tail"] = (res["stdout"][-2000:] + "\n" + res["stderr"][-4000:]).strip()
    return part


def overall(parts: dict) -> str:
    """failed: a test or variant failed, or a part ended with nothing to show; incomplete: the budget
    ran out before some variants (a benchmark killed at its limit keeps what it had measured)."""
    for p in parts.values():
        if p["status"] == "failed" or (p["status"] == "timeout" and not _docs(p)):
            return "failed"
    skipped = any("skipped" in v for p in parts.values() for doc in _docs(p) for v in doc["variants"].values())
    return "incomplete" if skipped else "ok"


def _docs(part: dict) -> list[dict]:
    """The benchmark documents of a part: the text one, or one per image model."""
    result = part.get("result")
    if not result:
        return []
    return list(result["models"].values()) if "models" in result else [result]


# -- the report ----------------------------------------------------------------------------------------

def render(doc: dict, console) -> None:
    """One table: a row per test and per benchmark variant, and the peaks under it."""
    from rich.table import Table

    env = doc["environment"]
    title = (f"GPU check: {env.get('gpu', 'no GPU')} ({doc['device']}), torch {env['torch']}, "
             f"{doc['status']} in {doc['seconds']:.0f} s of {doc['budget_s']:.0f}")
    table = Table(title=title)
    table.add_column("part")
    for col in COLUMNS:
        table.add_column(col.format(iters="projected"), justify="left" if col == "variant" else "right",
                         overflow="fold", max_width=60 if col == "variant" else None)
    parts = doc["parts"]
    blank = [""] * (len(COLUMNS) - 3)
    if "tests" in parts:
        t = parts["tests"]
        cases = t.get("tests", [])
        if cases and all(c["outcome"] == "skipped" for c in cases):
            reason = (cases[0].get("message") or "").splitlines()[0] if cases[0].get("message") else ""
            table.add_row("gpu tests", f"{len(cases)} skipped: {reason}", "skipped", f"{t['seconds']:.0f} s", *blank)
        else:
            for rec in cases:
                note = "; ".join(f"{k} {v}" for k, v in rec.get("properties", {}).items())
                if rec["outcome"] != "passed" and rec.get("message"):
                    note = rec["message"].splitlines()[0][:160]
                table.add_row("gpu tests", rec["name"] + (f": {note}" if note else ""), rec["outcome"],
                              f"{rec['seconds']:.0f} s", *blank)
        if not cases:
            table.add_row("gpu tests", t.get("note", ""), t["status"], f"{t['seconds']:.0f} s", *blank)
        table.add_section()
    for name in ("text", "image"):
        if name not in parts:
            continue
        part = parts[name]
        docs = _docs(part)
        for bench in docs:
            label = bench.get("model", "text") + f" ({bench['model_flops_per_iter'] / 1e9:,.4g} GFLOP/iter)"
            for row in table_rows(bench):
                table.add_row(label, *row)
                label = ""
        if not docs or part["status"] != "passed":
            table.add_row(name, part.get("note", ""), part["status"], f"{part['seconds']:.0f} s", *blank)
        table.add_section()
    console.print(table)
    seen = set()
    for part in parts.values():
        for bench in _docs(part):
            for line in peak_lines(bench):
                if line not in seen:
                    seen.add(line)
                    console.print(line, soft_wrap=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    from rich.console import Console

    con = Console(width=180, highlight=False)
    started, t0 = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.monotonic()
    env = environment()
    doc = {"schema": SCHEMA, "started": started, "budget_s": args.budget_s, "environment": env, "parts": {}}
    con.print(f"gpu_check: python {env['python']}, torch {env['torch']} (CUDA {env['torch_cuda']}), "
              f"{env.get('gpu', 'no GPU visible')}; triton {'present' if env['triton'] else 'absent'}; "
              f"{', '.join(NOT_NEEDED)} (not needed): {', '.join(env['present_not_needed']) or 'none'} installed",
              soft_wrap=True)
    if env["missing_needed"]:
        con.print(f"missing packages: {', '.join(env['missing_needed'])}", style="red")
    device = "cuda" if args.device == "auto" else args.device
    doc["device"] = device
    if device == "cuda" and not env["cuda_available"]:
        doc.update(status="no-cuda", message=no_cuda_message(env), seconds=round(time.monotonic() - t0, 1))
        write_json(args.out, doc)
        con.print(doc["message"], soft_wrap=True)
        con.print(f"wrote {args.out}")
        return EXIT["no-cuda"]
    size = args.sizes or ("paper" if device == "cuda" else "tiny")
    variants = args.variants or (CUDA_VARIANTS if device == "cuda" else CPU_VARIANTS)
    iters = str(args.iters or (10 if device == "cuda" else 2))
    common = ["--device", device, "--variants", variants, "--iters", iters]
    doc["sizes"] = size
    child_env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    deadline = t0 + args.budget_s
    carry = 0.0
    with tempfile.TemporaryDirectory(prefix="gpu_check.") as tmp:
        work = Path(tmp)
        for name in args.parts:
            remaining = deadline - time.monotonic()
            timeout = min(remaining, args.budget_s * SHARE[name] + carry)
            if timeout < 10:
                doc["parts"][name] = {"status": "timeout", "seconds": 0.0, "note": "no time was left for this part"}
                continue
            con.print(f"[{name}] up to {timeout:.0f} s ...", markup=False)
            if name == "tests":
                part = tests_part(timeout, child_env, work)
            elif name == "text":
                part = bench_part("train_step.py", [*sizes(size)["text"], *common, "--no-count-ops", "--count-flops"],
                                  timeout, child_env, work)
            else:
                part = bench_part("image_models.py", [*sizes(size)["image"], *common], timeout, child_env, work)
            doc["parts"][name] = part
            carry = max(0.0, timeout - part["seconds"])
            con.print(f"[{name}] {part['status']} in {part['seconds']:.0f} s", markup=False)
            write_json(args.out, doc)  # what is done so far survives a kill
    doc["status"] = overall(doc["parts"])
    doc["seconds"] = round(time.monotonic() - t0, 1)
    write_json(args.out, doc)
    render(doc, con)
    for name, part in doc["parts"].items():
        if part["status"] not in ("passed", "skipped") and part.get("output_tail"):
            con.print(f"--- {name}: {part['status']}; the end of its output ---\n{part['output_tail'][-1500:]}",
                      markup=False, soft_wrap=True)
    if "tests" in doc["parts"] and doc["parts"]["tests"]["status"] == "skipped":
        skipped = doc["parts"]["tests"].get("tests", [{}])
        con.print(f"gpu tests skipped: {skipped[0].get('message', '').splitlines()[0] if skipped else ''}",
                  soft_wrap=True)
    con.print(f"{doc['status']}: wrote {args.out}")
    return EXIT[doc["status"]]


if __name__ == "__main__":
    sys.exit(main())
