"""How fast the command line answers: ``--help`` of every command, and ``prepare-corpus`` as a whole process.

Two measurements, each of a whole process as a user starts it (interpreter start-up and imports
included), under ``/usr/bin/time -v`` (wall-clock time and peak resident memory of that process
alone; where it is missing, ``os.wait4`` of the child):

* ``--help``: ``python cli.py --help`` and ``python cli.py COMMAND --help`` for every command, the
  fastest of ``--repeat`` runs (target: under 0.5 s on an idle 2-core machine);
* ``prepare-corpus``: ``python cli.py prepare-corpus --corpus billion_word`` on ``--lines`` generated
  sentences in the One Billion Word layout (benchmarks/prepare_corpus.py's generator), against the
  paper's list-of-tuples pipeline (benchmarks/prepare_corpus.py's ``BASELINE``) as its own process,
  interleaved, the fastest time and the conservative memory of each side (our largest peak, the
  baseline's smallest) over ``--repeat`` runs (targets: 10x faster, 5x less peak memory).

The corpus is generated in a child process, so the parent stays small (a child started with
vfork inherits its parent's peak in ``ru_maxrss`` on Linux; ``/usr/bin/time`` forks from a tiny
process). Prints rich tables and the numbers as JSON (``--json FILE`` also writes them).

    python benchmarks/cli_startup.py                    # 1,200,000 lines, 3 runs each
    python benchmarks/cli_startup.py --lines 200000 --repeat 1 --skip-help
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("train-text", "train-image", "train-toy", "experiment", "plot", "prepare-corpus", "evaluate", "sample")
TIME = "/usr/bin/time" if Path("/usr/bin/time").is_file() else None  # GNU time: -v reports the peak RSS


def measure(argv: list[str], *, cwd: Path, timeout: float) -> dict:
    """Wall-clock seconds and peak RSS (MB) of one process running ``argv``; fails on a non-zero exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if TIME:
        proc = subprocess.run([TIME, "-v", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{argv}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr).group(1)
        seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
        cpu = sum(float(re.search(rf"{kind} time \(seconds\): (\S+)", proc.stderr).group(1)) for kind in ("User", "System"))
        return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": rss_kb / 1024, "stdout": proc.stdout}
    import time

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
        seconds = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{argv}: exit {os.waitstatus_to_exitcode(status)}\n{err.read()[-3000:]}")
        return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
                "stdout": out.read()}


def help_times(repeat: int, tmp: Path) -> dict[str, dict]:
    """The fastest wall-clock and CPU seconds (user + system) of ``--help`` per command (``""``: the group's)."""
    out = {}
    for command in ("", *COMMANDS):
        argv = [sys.executable, str(ROOT / "cli.py"), *([command] if command else []), "--help"]
        runs = [measure(argv, cwd=tmp, timeout=60) for _ in range(repeat)]
        out[command] = {"seconds": min(r["seconds"] for r in runs), "cpu_seconds": min(r["cpu_seconds"] for r in runs)}
    return out


def prepare_times(lines: int, repeat: int, tmp: Path, console: Console) -> dict:
    data, cache = tmp / "1b", tmp / "cache"
    made = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "from benchmarks.prepare_corpus import generate_corpus; "
                           "print(generate_corpus(__import__('pathlib').Path(sys.argv[2]), int(sys.argv[3])))",
                           str(ROOT), str(data), str(lines)], capture_output=True, text=True, timeout=3600)
    if made.returncode != 0:
        raise RuntimeError(made.stderr[-3000:])
    nbytes = int(made.stdout.strip())
    console.print(f"generated {lines:,} lines, {nbytes / 1e6:.1f} MB in the One Billion Word layout")
    from benchmarks.prepare_corpus import BASELINE  # the paper's load_dataset, written out

    ours_argv = [sys.executable, str(ROOT / "cli.py"), "prepare-corpus", "--corpus", "billion_word", "--data-dir",
                 str(data), "--cache-dir", str(cache), "--preset", "paper", "--force"]
    base_argv = [sys.executable, "-c", BASELINE.format(data=str(data))]
    runs: dict[str, list[dict]] = {"ours": [], "baseline": []}
    for _ in range(repeat):  # interleaved, so both see the same machine load
        runs["ours"].append(measure(ours_argv, cwd=tmp, timeout=3600))
        runs["baseline"].append(measure(base_argv, cwd=tmp, timeout=3600))
        rows = json.loads(runs["baseline"][-1]["stdout"].strip().splitlines()[-1])["rows"]
        assert rows == lines, (rows, lines)
        assert f"{lines:,}" in runs["ours"][-1]["stdout"], runs["ours"][-1]["stdout"][-2000:]
    for k, rs in runs.items():
        console.print(f"{k}: " + ", ".join(f"{r['seconds']:.2f} s / {r['peak_rss_mb']:.0f} MB" for r in rs))
    ours = {"seconds": min(r["seconds"] for r in runs["ours"]), "cpu_seconds": min(r["cpu_seconds"] for r in runs["ours"]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs["ours"])}
    base = {"seconds": min(r["seconds"] for r in runs["baseline"]),
            "cpu_seconds": min(r["cpu_seconds"] for r in runs["baseline"]),
            "peak_rss_mb": min(r["peak_rss_mb"] for r in runs["baseline"])}
    return {"lines": lines, "megabytes": nbytes / 1e6, "ours": ours, "baseline": base,
            "speedup": base["seconds"] / ours["seconds"], "memory_ratio": base["peak_rss_mb"] / ours["peak_rss_mb"],
            "commands": {"ours": " ".join(ours_argv[1:]), "baseline": "python -c BASELINE (benchmarks/prepare_corpus.py)"}}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_200_000, help="sentences in the generated corpus")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the fastest counts")
    ap.add_argument("--skip-help", action="store_true", help="measure prepare-corpus only")
    ap.add_argument("--skip-prepare", action="store_true", help="measure --help only")
    ap.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    args = ap.parse_args(argv)
    console = Console()
    result: dict = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "timer": TIME or "os.wait4"}
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        tmp = Path(tmp)
        if not args.skip_help:
            result["help_seconds"] = help_times(args.repeat, tmp)
            table = Table(title=f"--help, whole process, fastest of {args.repeat} (target < 0.5 s)")
            table.add_column("command")
            table.add_column("wall s", justify="right")
            table.add_column("CPU s", justify="right")
            for command, t in result["help_seconds"].items():
                table.add_row(f"cli.py {command} --help".replace("  ", " "), f"{t['seconds']:.2f}", f"{t['cpu_seconds']:.2f}")
            console.print(table)
        if not args.skip_prepare:
            p = result["prepare_corpus"] = prepare_times(args.lines, args.repeat, tmp, console)
            table = Table(title=f"prepare {p['lines']:,} lines ({p['megabytes']:.0f} MB) as whole processes, "
                                f"char tokenizer, seq_len 32")
            for col in ("pipeline", "wall s", "CPU s", "peak RSS (MB)"):
                table.add_column(col, justify="left" if col == "pipeline" else "right")
            for label, side in (("ours: cli.py prepare-corpus", "ours"), ("baseline: list of tuples (paper)", "baseline")):
                table.add_row(label, f"{p[side]['seconds']:.2f}", f"{p[side]['cpu_seconds']:.2f}",
                              f"{p[side]['peak_rss_mb']:.0f}")
            table.add_row("ratio (target)", f"{p['speedup']:.1f}x faster (>= 10x)",
                          f"{p['baseline']['cpu_seconds'] / p['ours']['cpu_seconds']:.1f}x less CPU",
                          f"{p['memory_ratio']:.1f}x less (>= 5x)")
            console.print(table)
    result["load_average_after"] = os.getloadavg()
    console.print_json(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    main()
