#!/usr/bin/env bash
# Creates .venv and installs the project (editable) with its pinned stack.
#
#   bash scripts/setup.sh                # the base install
#   bash scripts/setup.sh --test         # + the test extra (pytest, torch CPU, NLTK, faiss-cpu), glove and tensorboard
#   bash scripts/setup.sh --extra=tpu    # + an extra of pyproject.toml (tpu, gpu, glove, bench, test); repeatable
#   bash scripts/setup.sh --print-python # the Python it would make .venv with ("uv:3.12" if none), nothing else
#
# Python: $PYTHON if set, else the first of python3.11, python3.12, python3.13 on PATH (the range
# every pinned wheel covers; 3.11 first, because this machine's CPU torch wheel is for 3.11), else
# `python3` if it is in that range. With none (a TPU VM image ships 3.10), uv
# (`pip install --user uv`) installs a standalone CPython 3.12 and the venv is made from it.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=()
print_python=0
browser=0
for arg in "$@"; do
  case "$arg" in
    --test) extras+=(test glove tensorboard); browser=1 ;;
    --print-python) print_python=1 ;;
    --extra=*) extras+=("${arg#*=}") ;;
    *) echo "setup.sh: unknown argument $arg (use --test or --extra=NAME)" >&2; exit 2 ;;
  esac
done

supported() {  # is "$1" a Python in [3.11, 3.14)?
  "$1" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' >/dev/null 2>&1
}

find_python() {
  if [[ -n "${PYTHON:-}" ]]; then
    supported "$PYTHON" || { echo "setup.sh: PYTHON=$PYTHON is not Python 3.11-3.13" >&2; exit 2; }
    echo "$PYTHON"; return
  fi
  local candidate
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && supported "$candidate"; then
      echo "$candidate"; return
    fi
  done
  if [[ $print_python -eq 1 ]]; then echo "uv:3.12"; return; fi
  echo "setup.sh: no Python 3.11-3.13 on PATH; installing CPython 3.12 with uv" >&2
  python3 -m pip install -q --user uv >&2
  local uv
  uv="$(python3 -m site --user-base)/bin/uv"
  "$uv" python install 3.12 >&2
  "$uv" python find 3.12
}

if [[ $print_python -eq 1 ]]; then find_python; exit 0; fi
if [ ! -x .venv/bin/python ]; then
  python="$(find_python)"
  echo "setup.sh: making .venv with $("$python" --version 2>&1) ($python)"
  "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
supported .venv/bin/python || { echo "setup.sh: .venv is not Python 3.11-3.13: remove it and rerun" >&2; exit 2; }
spec="."
if [[ ${#extras[@]} -gt 0 ]]; then
  spec=".[$(IFS=,; echo "${extras[*]}")]"
fi
.venv/bin/python -m pip install -q -e "$spec"
.venv/bin/python -c "import jax, flax, grain, tensorflow_datasets, scann, sentencepiece"

# --test also installs Debian's chromium (and a CJK font, so its screenshot shows the dialogues'
# Chinese): tests/test_report.py loads a report page in a real browser. Only as root with apt-get.
if [[ $browser -eq 1 ]] && ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing chromium for tests/test_report.py"
    apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null \
      || { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null; } \
      || echo "setup.sh: apt-get could not install chromium: tests/test_report.py will fail" >&2
  else
    echo "setup.sh: no chromium and no root apt-get to install it: tests/test_report.py will fail" \
         "(install chromium, or set JDDC_SKIP_BROWSER=1 to skip its browser checks)" >&2
  fi
fi
