import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

torch.set_num_threads(2)


def gpu_skip_reason() -> str:
    """Why the ``gpu`` tests cannot run here (they need a CUDA device)."""
    if torch.version.cuda is None:
        return f"needs a CUDA device: this PyTorch ({torch.__version__}) was built without CUDA"
    return f"needs a CUDA device: PyTorch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.gpu`` tests are skipped, with the reason, where no CUDA device is visible."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason=gpu_skip_reason())
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


@pytest.fixture
def cli_runner():
    from click.testing import CliRunner

    return CliRunner()


@dataclass
class TinyRuns:
    """One finished tiny run of each kind and the encoded-corpus cache they use (tiny_runs)."""

    text: Path
    image: Path
    toy: Path
    cache: Path

    def checkpoint(self, run: Path) -> Path:
        return max((run / "checkpoints").glob("checkpoint_*.safetensors"))


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> TinyRuns:
    """Trained once per session (a few seconds) for the tests of bad and fuzzed inputs, which copy them
    before changing anything; commands that read the corpus cache need SEQGAN_GP_CACHE=cache."""
    from click.testing import CliRunner

    from cli import cli

    base = tmp_path_factory.mktemp("tiny-runs")
    cache = base / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEQGAN_GP_CACHE", str(cache))
        mp.chdir(base)
        runner = CliRunner()
        for args in (
            ["train-text", "--preset", "tiny", "--iters", "2", "--eval-every", "0", "--sample-every", "0",
             "--device", "cpu", "--out", "text"],
            ["train-image", "--preset", "tiny", "--iters", "1", "--eval-every", "0", "--sample-every", "0",
             "--device", "cpu", "--out", "image"],
            ["train-toy", "--preset", "tiny", "--iters", "2", "--eval-every", "0", "--plot-every", "0",
             "--device", "cpu", "--out", "toy"],
        ):
            r = runner.invoke(cli, args, catch_exceptions=False)
            assert r.exit_code == 0, r.output + r.stderr
    return TinyRuns(base / "text", base / "image", base / "toy", cache)
