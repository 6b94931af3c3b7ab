"""Fuzzed inputs (issue 12): random mutations of a run's config.json, of a checkpoint's metadata and
tensors, and of the numbers given on the command line, through the real CLI.

Every outcome must be one of: exit 0; exit 2 with one ``error:`` line and no file of the run changed;
exit 3 (a run that diverged, e.g. at a learning rate of 1e300) with one ``error:`` line. Never a
traceback, never a hang, and memory stays bounded: the machine is made to report 512 MB available
(seqgan_gp.memory), so any size a mutation gives either fits that or is refused before allocation,
and the process's peak resident memory may not grow by more than a few hundred MB over a test.

Commands run in-process (Click's runner) on copies of the session's tiny runs. The default profile
draws a fixed set of 65 examples (derandomized, under a minute on 2 cores); ``-m slow`` draws 300 random
ones per test.
"""

from __future__ import annotations

import json
import math
import resource
import signal
import shutil
import tempfile
import traceback
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from cli import cli
from seqgan_gp import memory
from test_bad_inputs import snapshot

AVAILABLE = 512 * 10**6  # what the machine reports: every accepted size fits it
HANG = 60  # seconds after which a command counts as hung
RSS_GROWTH = 800 * 10**6  # the most a test's peak resident memory may grow

FAST = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LONG = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def machine(tiny_runs, monkeypatch):
    """The session's runs, their corpus cache, a 512 MB machine; checks the peak memory on the way out."""
    monkeypatch.setenv("SEQGAN_GP_CACHE", str(tiny_runs.cache))
    monkeypatch.setattr(memory, "_meminfo_available", lambda: AVAILABLE)
    monkeypatch.setattr(memory, "_cgroup_available", lambda: None)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    yield tiny_runs
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert growth < RSS_GROWTH, f"peak resident memory grew by {growth / 1e6:.0f} MB"


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"no outcome after {HANG} s")


def outcome(args: list[str], watched: list[Path], must_refuse: bool = False):
    """Run the CLI; assert the outcome is one the promise allows (``must_refuse``: exit 2); return the
    result. A command still running after HANG seconds fails the test (the fuzzed runs take ~1 s)."""
    before = snapshot(watched)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG)
    try:
        result = CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    exc = result.exception
    assert isinstance(exc, SystemExit) or exc is None, "".join(traceback.format_exception(exc))
    code = result.exit_code
    assert code in (0, 2, 3), f"exit {code}: {result.output}"
    assert "Traceback" not in result.output
    if code:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    if code == 2:
        changed = sorted(p for p, h in snapshot(watched).items() if before.get(p) != h)
        assert not changed and snapshot(watched).keys() == before.keys(), f"{result.stderr}\nchanged: {changed}"
    assert code == 2 or not must_refuse, f"accepted (exit {code}) an input that must be refused:\n{result.output}"
    return result


def resumed_as_promised(run: Path, result) -> None:
    """An accepted resume from iteration 2 to 3 kept the history: records 0..3 each once, checkpoint 3."""
    if result.exit_code == 0:
        its = [json.loads(line)["iteration"] for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert its == sorted(set(its)) and {0, 2, 3} <= set(its), its
        assert (run / "checkpoints" / "checkpoint_00000003.safetensors").is_file()


# -- what mutations are made of ------------------------------------------------------------------------

SPECIAL_INTS = [0, -1, 1, 2, 3, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63)]
junk = st.one_of(
    st.none(), st.booleans(), st.sampled_from(SPECIAL_INTS), st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300]),
    st.text(max_size=6), st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                                     max_size=2))


def slow_but_valid(field: str, value) -> bool:
    """Values a run would accept and then spend minutes on (asked for, not a fault): not drawn."""
    big = isinstance(value, int) and not isinstance(value, bool) and value > 5
    return field == "critic_iters" and big


def copy_of(run: Path) -> Path:
    return Path(shutil.copytree(run, Path(tempfile.mkdtemp(prefix="fuzz-")) / "run"))


def mutate_doc(doc, draw):
    """One random change of a JSON document: a field set to junk, deleted or added, or a nested one."""
    if not isinstance(doc, dict) or not doc:
        return draw(junk)
    key = draw(st.sampled_from(sorted(doc)))
    action = draw(st.sampled_from(["set", "delete", "add", "nested"]))
    if action == "set":
        value = draw(junk)
        assume(not slow_but_valid(key, value))
        doc[key] = value
    elif action == "delete":
        del doc[key]
    elif action == "add":
        doc[draw(st.text(min_size=1, max_size=8))] = draw(junk)
    elif isinstance(doc[key], (dict, list)) and doc[key]:
        inner = doc[key]
        if isinstance(inner, list):
            i = draw(st.integers(0, len(inner) - 1))
            inner[i] = mutate_doc(inner[i], draw) if isinstance(inner[i], dict) else draw(junk)
        else:
            doc[key] = mutate_doc(inner, draw)
    else:
        value = draw(junk)
        assume(not slow_but_valid(key, value))
        doc[key] = value
    return doc


# -- config.json -------------------------------------------------------------------------------------------

RESUME_TEXT = ["--iters", "3", "--eval-samples", "16", "--sample-every", "0", "--device", "cpu"]


def config_property(machine, data):
    run = copy_of(machine.text)
    path = run / "config.json"
    doc = json.loads(path.read_text())
    where = data.draw(st.sampled_from(["config", "config", "config", "top"]))
    if where == "config":
        doc["config"] = mutate_doc(doc["config"], data.draw)
    else:
        doc = mutate_doc(doc, data.draw)
    path.write_text(json.dumps(doc))
    try:
        resumed_as_promised(run, outcome(["train-text", "--resume", run, *RESUME_TEXT], [run]))
    finally:
        shutil.rmtree(run.parent)


def fuzz_tests(prop, examples: int):
    """The default test of ``prop`` (``examples`` fixed examples) and its long version (-m slow)."""
    def fast(machine, data):
        prop(machine, data)

    def long(machine, data):
        prop(machine, data)

    return (settings(FAST, max_examples=examples)(given(data=st.data())(fast)),
            pytest.mark.slow(LONG(given(data=st.data())(long))))


test_mutated_config_json, test_mutated_config_json_long = fuzz_tests(config_property, 20)


# -- checkpoint metadata and tensors ------------------------------------------------------------------------

def mutate_tensors(tensors: dict, draw) -> tuple[str, str]:
    """One random change of a checkpoint's tensors; returns (the tensor's name, what was done or "")."""
    key = draw(st.sampled_from(sorted(tensors)))
    t = tensors[key]
    action = draw(st.sampled_from(["nan", "inf", "grow", "shrink", "dtype", "delete", "extra", "scalar"]))
    if action in ("nan", "inf") and t.is_floating_point() and t.numel():
        t = t.clone()
        t.view(-1)[draw(st.integers(0, t.numel() - 1))] = math.nan if action == "nan" else math.inf
        tensors[key] = t
    elif action == "grow" and t.dim():
        tensors[key] = torch.zeros(t.shape[0] + draw(st.integers(1, 3)), *t.shape[1:], dtype=t.dtype)
    elif action == "shrink" and t.dim() and t.shape[0] > 1:
        tensors[key] = t[: t.shape[0] - 1].clone()
    elif action == "dtype":
        tensors[key] = t.to(draw(st.sampled_from([torch.float64, torch.int32, torch.uint8, torch.float16])))
    elif action == "delete":
        del tensors[key]
    elif action == "extra":
        tensors[key + ".extra"] = torch.zeros(2)
    elif action == "scalar" and t.dim():
        tensors[key] = torch.tensor(7.0)
    else:
        action = ""
    return key, action


def must_refuse(key: str, action: str, meta: dict, command: str) -> bool:
    """Whether the change makes the checkpoint one ``command`` must refuse: a NaN or infinite number
    anywhere, an iteration that is not a whole number >= 0 (on resume: not the file's 2), the
    generator's tensors changed in shape or number, and on resume the critic's, the optimizers'
    or the random generator's."""
    it = meta.get("iteration") if isinstance(meta, dict) else None
    if not isinstance(it, int) or isinstance(it, bool) or it < 0 or (command == "resume" and it != 2):
        return True
    if action in ("nan", "inf"):
        return True
    shapes = ("grow", "shrink", "delete", "scalar", "extra")
    if action in shapes and key.startswith("G."):
        return True
    return command == "resume" and action in shapes and (key.startswith(("D.", "opt_"))
                                                          or (key == "rng.train" and action != "extra"))


def checkpoint_property(machine, data):
    run = copy_of(machine.text)
    ckpt = max((run / "checkpoints").glob("checkpoint_*.safetensors"))
    tensors = load_file(str(ckpt))
    with safe_open(str(ckpt), "pt") as f:
        metadata = f.metadata()
    meta = json.loads(metadata["seqgan_gp"])
    what = data.draw(st.sampled_from(["meta", "meta", "tensors", "both"]))
    if what in ("meta", "both"):
        meta = mutate_doc(meta, data.draw)
    key, action = mutate_tensors(tensors, data.draw) if what in ("tensors", "both") else ("", "")
    save_file(tensors, str(ckpt), metadata={**metadata, "seqgan_gp": json.dumps(meta)})
    command = data.draw(st.sampled_from(["sample", "resume", "evaluate"]))
    args = {"sample": ["sample", ckpt, "-n", "3"],
            "evaluate": ["evaluate", ckpt, "-n", "8", "--out", run.parent / "m.json"],
            "resume": ["train-text", "--resume", run, *RESUME_TEXT]}[command]
    try:
        result = outcome(args, [run], must_refuse=must_refuse(key, action, meta, command))
        if command == "sample" and result.exit_code == 0:
            assert len(result.stdout.splitlines()) == 3, result.stdout
        if command == "resume":
            resumed_as_promised(run, result)
    finally:
        shutil.rmtree(run.parent)


test_mutated_checkpoint, test_mutated_checkpoint_long = fuzz_tests(checkpoint_property, 20)


# -- numbers on the command line ---------------------------------------------------------------------------

def number(valid: tuple, integer: bool = True):
    """A flag's value as typed: a small valid one, or anything a user could type that is not."""
    bad = [-1, 0, 2**63, 2**64, 10**9, 10**30, -(2**70)]
    strategies = [st.sampled_from(list(valid)), st.sampled_from(bad)]
    if not integer:
        strategies += [st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["nan", "inf", "-inf", "1e300"])]
    return st.one_of(*strategies).map(str)


TOY = ["train-toy", "--preset", "tiny", "--iters", "1", "--plot-every", "0", "--eval-every", "0", "--device", "cpu"]
TEXT = ["train-text", "--preset", "tiny", "--iters", "1", "--sample-every", "0", "--eval-every", "0", "--device", "cpu"]
FLAGS = {
    "toy": (TOY, {"--dim": number((4, 32)), "--batch-size": number((2, 64)), "--eval-samples": number((2, 50)),
                  "--seed": number((0, 7, 2**63 - 1)),
                  "--critic-iters": st.sampled_from(["1", "2", "0", "-1", str(-(2**70)), "x"]),  # huge: asked-for work
                  "--lr": number(("1e-3", "0.5"), integer=False), "--lambda-gp": number(("0.1", "10"), integer=False),
                  "--clip": number(("0.01",), integer=False), "--nan-lr-factor": number(("0.5",), integer=False),
                  "--log-every": number((1, 5)), "--keep-checkpoints": number((0, 1)),
                  "--betas": st.sampled_from(["0.5,0.9", "0,0.99", "nan,0.9", "1,1", "-1,0.5", "inf,0", "0.5"])}),
    "text": (TEXT, {"--dim": number((8, 16)), "--blocks": number((1, 2)), "--seq-len": number((16,)),
                    "--batch-size": number((4, 16)), "--eval-samples": number((16,)), "--vocab-size": number((2048,)),
                    "--seed": number((0,)), "--lr": number(("1e-4",), integer=False), "--min-tokens": number((0, 3))}),
    "sample": (["sample", "{text}"], {"-n": number((1, 30)), "--seed": number((0, 5, 2**63 - 1)),
                                      "--temperature": number(("0", "0.7", "2"), integer=False)}),
    "evaluate": (["evaluate", "{text}", "--out", "{tmp}/m.json"], {"-n": number((2, 20)), "--seed": number((0, 3))}),
}


def cli_property(machine, data):
    kind = data.draw(st.sampled_from(sorted(FLAGS)))
    base, flags = FLAGS[kind]
    chosen = data.draw(st.lists(st.sampled_from(sorted(flags)), min_size=1, max_size=3, unique=True))
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
    args = [a.replace("{text}", str(machine.text)).replace("{tmp}", str(tmp)) for a in base]
    for flag in chosen:
        args += [flag, data.draw(flags[flag])]
    if kind in ("toy", "text"):
        args += ["--out", str(tmp / "run")]
    try:
        outcome(args, [machine.text, machine.toy])
    finally:
        shutil.rmtree(tmp)


test_numbers_on_the_command_line, test_numbers_on_the_command_line_long = fuzz_tests(cli_property, 25)
