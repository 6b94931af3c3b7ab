import sys
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
