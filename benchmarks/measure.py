"""Timing step variants against a baseline in one process, and the table and JSON both benchmarks print.

A *variant* is one way of running our training step: ``eager``, ``compile``, ``bf16``,
``cuda-graphs`` or a combination such as ``bf16+cuda-graphs`` (the runtime flags of the CLI), or
``baseline``: the PyTorch port's style of step on the same networks. Variants are built one at a
time (so their memory is not held together), warmed up with one untimed generator iteration (which
compiles or captures, if asked), then timed for ``iters`` iterations, alternating with the baseline
when there is one, so that each ratio compares iterations run under the same machine load.

Each variant is set against the peak of its own precision measured in this process
(:func:`benchmarks.flops.measure_peaks`): achieved GFLOP/s = model FLOPs per iteration / median
seconds per iteration; % of peak = achieved / peak. The model FLOPs are the same number for every
variant (the work the algorithm needs), so a variant that executes more (the baseline's extra
backward pass) is not credited for it.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import torch

from benchmarks.flops import count_flops, measure_peaks

FLAGS = ("eager", "bf16", "compile", "cuda-graphs")
BASELINE = "baseline"


@dataclass
class Built:
    """A variant ready to run: ``iteration()`` runs one generator iteration."""

    iteration: Callable[[], None]
    precision: str  # float32 | tf32 | bf16: the peak it is compared with
    describe: str  # the precision in words, for the table's notes
    eager: bool  # runs eagerly (FLOPs can be counted operator by operator)
    optimizers: tuple = ()  # our step's (G's, D's) optimizers, for checks of their state
    last_stats: dict = field(default_factory=dict)  # our step's statistics of its last critic step


@dataclass
class Variant:
    name: str
    build: Callable[[], Built]


def variant_flags(name: str, device: torch.device) -> dict:
    """``eager`` | ``baseline`` | ``bf16``, ``compile``, ``cuda-graphs`` joined by ``+`` → runtime flags
    ``{"compile", "amp", "cuda_graphs"}``; ValueError names what is wrong."""
    parts = name.split("+")
    unknown = [p for p in parts if p not in FLAGS]
    if unknown or len(set(parts)) != len(parts) or ("eager" in parts and len(parts) > 1):
        raise ValueError(f"variant {name!r}: use {BASELINE}, eager or {', '.join(FLAGS[1:])} joined by '+' "
                         f"(e.g. bf16+cuda-graphs)")
    if "compile" in parts and "cuda-graphs" in parts:
        raise ValueError(f"variant {name!r}: compile and cuda-graphs exclude each other (as the CLI flags do)")
    if "cuda-graphs" in parts and device.type != "cuda":
        raise ValueError(f"variant {name!r}: CUDA graphs need a CUDA device, not {device}")
    return {"compile": "compile" in parts, "amp": "bf16" if "bf16" in parts else "off",
            "cuda_graphs": "cuda-graphs" in parts}


def parse_variants(spec: str, device: torch.device) -> list[str]:
    """A comma-separated list of variant names, checked (:func:`variant_flags`)."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise ValueError("no variants given")
    for name in names:
        if name != BASELINE:
            variant_flags(name, device)
    if len(set(names)) != len(names):
        raise ValueError(f"variants {spec!r}: a variant is listed twice")
    return names


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call, the device synchronised around it."""
    _sync(device)
    t, c = time.perf_counter(), time.process_time()
    fn()
    _sync(device)
    return time.perf_counter() - t, time.process_time() - c


def count_ops(fn: Callable[[], object]) -> int:
    """Every ``aten::`` operator the PyTorch profiler records over one call, nested ones included."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return sum(1 for e in prof.events() if e.name.startswith("aten::"))


def _summary(wall: list[float], cpu: list[float]) -> dict:
    return {"sec_per_iter": statistics.median(wall), "sec_per_iter_min": min(wall),
            "sec_per_iter_all": [round(t, 5) for t in wall], "cpu_sec_per_iter": statistics.median(cpu)}


class Bench:
    """Runs the variants and keeps the document up to date (``save()`` after every variant)."""

    def __init__(self, doc: dict, *, device: torch.device, iters: int, matmul_n: int, peak_conv: tuple,
                 peak_seconds: float, count_ops: bool, count_flops: bool, deadline: Optional[float] = None,
                 save: Optional[Callable[[], None]] = None, log: Callable[[str], None] = lambda s: None):
        self.doc, self.device, self.iters = doc, device, iters
        self.matmul_n, self.peak_conv, self.peak_seconds = matmul_n, peak_conv, peak_seconds
        self.count_ops, self.count_flops = count_ops, count_flops
        self.deadline, self.save, self.log = deadline, save, log
        doc.setdefault("peaks", {})
        doc.setdefault("variants", {})
        self.failed: list[str] = []  # variants that raised

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def _peaks(self, precision: str) -> None:
        if precision not in self.doc["peaks"]:
            self.log(f"measuring the {precision} peak")
            self.doc["peaks"][precision] = measure_peaks(precision, self.device, matmul_n=self.matmul_n,
                                                         conv=self.peak_conv, min_seconds=self.peak_seconds)

    def _prepare(self, name: str, variant: Variant) -> tuple[Optional[Built], dict]:
        """Build, measure the peak of its precision, warm up, count; the record so far."""
        cuda = self.device.type == "cuda"
        if cuda:
            gc.collect()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            held = torch.cuda.memory_allocated(self.device)  # e.g. the baseline, kept for the next variants
        self.log(f"{name}: building and warming up")
        built = variant.build()
        self._peaks(built.precision)
        rec: dict = {"precision": built.precision, "precision_detail": built.describe}
        rec["warmup_sec"], _ = timed(built.iteration, self.device)
        if cuda:
            rec["peak_cuda_memory_mib"] = (torch.cuda.max_memory_allocated(self.device) - held) / 2**20
        if self.count_ops:
            rec["aten_ops_per_iter"] = count_ops(built.iteration)
        if self.count_flops and built.eager:
            rec["flops_executed_per_iter"] = count_flops(built.iteration)[0]
        return built, rec

    def run(self, variants: list[Variant]) -> dict:
        """Measure ``variants`` (the baseline, if any, first); returns the document."""
        out = self.doc["variants"]
        base = next((v for v in variants if v.name == BASELINE), None)
        base_built, base_wall, base_cpu = None, [], []
        if base is not None:
            try:
                base_built, out[BASELINE] = self._prepare(BASELINE, base)
            except Exception as exc:  # the variants are still measured, without the ratio
                out[BASELINE] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
                self.failed.append(BASELINE)
                self.log(f"{BASELINE}: failed: {type(exc).__name__}: {exc}")
        others = [v for v in variants if v.name != BASELINE]
        for v in others:
            if self._out_of_time():
                out[v.name] = {"skipped": "the time budget was spent before this variant"}
                self.log(f"{v.name}: skipped (time budget)")
                continue
            try:
                built, rec = self._prepare(v.name, v)
                wall, cpu, pair_wall, pair_cpu = [], [], [], []
                for i in range(self.iters):
                    if base_built is not None:
                        w, c = timed(base_built.iteration, self.device)
                        pair_wall.append(w), pair_cpu.append(c)
                    w, c = timed(built.iteration, self.device)
                    wall.append(w), cpu.append(c)
                    if self._out_of_time():
                        rec["note"] = f"the time budget ended the timing after {i + 1} of {self.iters} iterations"
                        break
            except Exception as exc:  # one variant failing (a compiler error, say) must not lose the others
                out[v.name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
                self.failed.append(v.name)
                self.log(f"{v.name}: failed: {type(exc).__name__}: {exc}")
                self.write()
                continue
            rec.update(_summary(wall, cpu))
            if pair_wall:
                rec["speedup_vs_baseline"] = statistics.median(pair_wall) / rec["sec_per_iter"]
                rec["speedup_vs_baseline_cpu"] = statistics.median(pair_cpu) / rec["cpu_sec_per_iter"]
                base_wall += pair_wall
                base_cpu += pair_cpu
                out[BASELINE].update(_summary(base_wall, base_cpu))
            out[v.name] = rec
            self.log(f"{v.name}: {rec['sec_per_iter']:.4f} s / iteration")
            del built
            self.write()
        if base_built is not None and not base_wall:  # the baseline alone
            for _ in range(self.iters):
                w, c = timed(base_built.iteration, self.device)
                base_wall.append(w), base_cpu.append(c)
            out[BASELINE].update(_summary(base_wall, base_cpu))
        self.write()
        return self.doc

    def write(self) -> None:
        """Fill in the rates and percentages, and hand the document to ``save`` (e.g. a JSON file)."""
        finish(self.doc)
        if self.save is not None:
            self.save()


def finish(doc: dict) -> dict:
    """Add GFLOP/s, % of each peak of the variant's precision and the projected training time."""
    flops, iters = doc["model_flops_per_iter"], doc["projected_iters"]
    for rec in doc["variants"].values():
        if "sec_per_iter" not in rec:
            continue
        rec["gflops_per_s"] = flops / rec["sec_per_iter"] / 1e9
        peak = doc["peaks"].get(rec["precision"], {})
        rec["pct_of_peak"] = {k: 100 * rec["gflops_per_s"] / peak[k] for k in ("matmul", "conv") if k in peak}
        if "cpu_time" in peak:  # the same ratio on CPU seconds: robust to other processes on the cores
            per_cpu_s = flops / rec["cpu_sec_per_iter"] / 1e9
            rec["pct_of_peak_cpu_time"] = {k: 100 * per_cpu_s / peak["cpu_time"][k] for k in ("matmul", "conv")}
        rec["projected_hours"] = rec["sec_per_iter"] * iters / 3600
    return doc


def write_json(path: Path, doc: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


def _hours(h: float) -> str:
    return f"{h * 60:.0f} min" if h < 1 else f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} d"


def table_rows(doc: dict) -> list[list[str]]:
    """One row per variant: variant, precision, s/iter, CPU s/iter, GFLOP/s, % matmul and conv peak,
    speed-up against the baseline, the projected time, peak CUDA memory and operators per iteration."""
    rows = []
    for name, rec in doc["variants"].items():
        if "sec_per_iter" not in rec:
            rows.append([name, rec.get("precision", ""), rec.get("skipped", rec.get("error", "not measured"))]
                        + [""] * 8)
            continue
        pct, pct_cpu = rec.get("pct_of_peak", {}), rec.get("pct_of_peak_cpu_time", {})

        def percent(kind: str) -> str:
            if kind not in pct:
                return ""
            return f"{pct[kind]:.0f}%" + (f" ({pct_cpu[kind]:.0f}%)" if kind in pct_cpu else "")

        speed = "1.00x" if name == BASELINE else (f"{rec['speedup_vs_baseline']:.2f}x"
                                                  if "speedup_vs_baseline" in rec else "")
        mem = f"{rec['peak_cuda_memory_mib']:,.0f}" if "peak_cuda_memory_mib" in rec else ""
        rows.append([name, rec["precision"], f"{rec['sec_per_iter']:.4f}", f"{rec['cpu_sec_per_iter']:.4f}",
                     f"{rec['gflops_per_s']:,.1f}", percent("matmul"), percent("conv"), speed, _hours(rec["projected_hours"]), mem,
                     f"{rec['aten_ops_per_iter']:,}" if "aten_ops_per_iter" in rec else ""])
    return rows


COLUMNS = ("variant", "precision", "s/iter", "CPU s/iter", "GFLOP/s", "% matmul peak", "% conv peak", "vs port",
           "{iters} iters", "peak MiB", "aten ops/iter")


def peak_lines(doc: dict) -> list[str]:
    lines = []
    for precision, p in doc["peaks"].items():
        c = p["conv_shape"]
        line = (f"{precision} peak here: matmul {p['matmul_n']}³ {p['matmul']:,.0f} GFLOP/s; conv1d "
                f"{c['batch']}x{c['channels']}x{c['length']} k{c['kernel']} forward {p['conv_fwd']:,.0f}, "
                f"forward + backward {p['conv']:,.0f} GFLOP/s")
        if "cpu_time" in p:
            t = p["cpu_time"]
            line += (f" (per CPU-second: {t['matmul']:,.0f}, {t['conv_fwd']:,.0f}, {t['conv']:,.0f}; "
                     f"% of peak in brackets: the same ratio on CPU time, robust to other processes on the cores)")
        lines.append(line)
    return lines


def render(doc: dict, title: str, console) -> None:
    """Print the variants' table and the peaks under it (rich)."""
    from rich.table import Table

    table = Table(title=title)
    for col in COLUMNS:
        table.add_column(col.format(iters=f"{doc['projected_iters']:,}"), justify="left" if col == "variant" else "right")
    for row in table_rows(doc):
        table.add_row(*row)
    console.print(table)
    for line in peak_lines(doc):
        console.print(line, soft_wrap=True)
    for name, rec in doc["variants"].items():
        if "note" in rec:
            console.print(f"{name}: {rec['note']}")
