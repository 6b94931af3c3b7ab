#!/usr/bin/env bash
# The GPU check in one command, from the checkout: the `gpu` tests and the step benchmarks at the
# paper's sizes, one table, one JSON file. Installs nothing; needs no network. At most ~5 minutes.
#
#   bash benchmarks/gpu_check.sh [--out FILE.json] [--budget-s 290] [--device cpu] ...
#   PYTHON=/opt/conda/bin/python bash benchmarks/gpu_check.sh      # another interpreter
#
# Options and exit status: python benchmarks/gpu_check.py --help
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
python="${PYTHON:-$(command -v python3 || command -v python)}"
exec "$python" "$root/benchmarks/gpu_check.py" "$@"
