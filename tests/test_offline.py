"""Nothing reaches the network at run time unless the user names a hub dataset (hf:NAME)."""

import json
import os
import subprocess
import sys
import textwrap

from conftest import ROOT

GUARD = textwrap.dedent("""
    import socket, sys
    def refuse(*args, **kwargs):
        raise SystemExit(f"NETWORK ACCESS: {{args!r}}")
    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.getaddrinfo = socket.create_connection = refuse
    sys.argv = ["cli.py", *sys.argv[1:]]
    sys.path.insert(0, {root!r})
    from cli import cli
    cli()
""")


def run_offline(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}  # no offline switch to hide behind
    env["SEQGAN_GP_CACHE"] = str(tmp_path / "cache")
    env["HF_HOME"] = str(tmp_path / "hf")
    proc = subprocess.run([sys.executable, "-c", GUARD.format(root=str(ROOT)), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert "NETWORK ACCESS" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == 0, proc.stderr
    return proc


def test_training_on_local_data_and_sampling_never_open_a_socket(tmp_path):
    rows = [{"text": f"the cat number {i} sat on the mat ."} for i in range(300)]
    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_offline(tmp_path, "train-text", "--preset", "tiny", "--corpus", "corpus.jsonl", "--iters", "2", "--out", "t")
    run_offline(tmp_path, "sample", "t", "-n", "3")
