"""A pytest plugin that appends each test's outcome to a JSON-lines file as soon as it is known.

gpu_check runs ``pytest -p benchmarks.pytest_log`` with ``SEQGAN_GP_TEST_LOG`` naming the file: when
the tests run past their time limit and are killed, the outcomes of those that finished are kept
(a JUnit report is only written at the end of the session).
"""

from __future__ import annotations

import json
import os


def _message(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):  # (file, line, "Skipped: reason")
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)[-3000:] if report.longrepr else ""


def pytest_runtest_logreport(report) -> None:
    path = os.environ.get("SEQGAN_GP_TEST_LOG")
    # one record per test: its call, or the setup that skipped or failed it, or a failing teardown
    if not path or not (report.when == "call" or not report.passed):
        return
    outcome = {"passed": "passed", "skipped": "skipped"}.get(report.outcome, "failed" if report.when == "call"
                                                             else "errors")
    rec = {"name": report.nodeid.split("::", 1)[-1], "outcome": outcome, "seconds": round(report.duration, 2)}
    if outcome != "passed":
        rec["message"] = _message(report)
    props = {k: str(v) for k, v in report.user_properties}
    if props:
        rec["properties"] = props
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
