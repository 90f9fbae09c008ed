#!/usr/bin/env bash
# Train a jddc config on GPUs: one host with several GPUs, or several hosts.
#
#   launch/gpu.sh --config=configs/response_mm.py:base                      # this host, all its GPUs
#   launch/gpu.sh --config=... --hosts=gpu0,gpu1 [--port=8476] [--dir=jddc]  # one process per host, over ssh
#   launch/gpu.sh --config=... --coordinator=gpu0:8476 --num-processes=2 --process-id=1   # this host's part
#   ... [--workdir=/shared/runs/x] [--dry-run] [-- --config.train.steps=1000 ...]
#
# One host: one process drives every local GPU (the mesh spans them). Several hosts: each
# runs `python -m jddc.main` with JDDC_COORDINATOR (the first host and --port),
# JDDC_NUM_PROCESSES and JDDC_PROCESS_ID; the checkout (--dir, relative to the remote home,
# with a .venv made by `bash scripts/setup.sh --extra=gpu`, Python 3.11-3.13) and the
# workdir must be the same paths on every host, and the workdir on a shared filesystem.
# Output of every host streams here, prefixed with its name. --dry-run prints the commands.
set -euo pipefail

CONFIG="" HOSTS="" PORT=8476 DIR="jddc" WORKDIR="" COORDINATOR="" NUM_PROCESSES="" PROCESS_ID=""
PYTHON=".venv/bin/python"
DRY_RUN=0
EXTRA=()
SEEN_DASHES=0

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

for arg in "$@"; do
  if [[ $SEEN_DASHES -eq 1 ]]; then
    EXTRA+=("$arg")
    continue
  fi
  case "$arg" in
    --) SEEN_DASHES=1 ;;
    --config=*) CONFIG="${arg#*=}" ;;
    --hosts=*) HOSTS="${arg#*=}" ;;
    --port=*) PORT="${arg#*=}" ;;
    --dir=*) DIR="${arg#*=}" ;;
    --workdir=*) WORKDIR="${arg#*=}" ;;
    --python=*) PYTHON="${arg#*=}" ;;
    --coordinator=*) COORDINATOR="${arg#*=}" ;;
    --num-processes=*) NUM_PROCESSES="${arg#*=}" ;;
    --process-id=*) PROCESS_ID="${arg#*=}" ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $arg" >&2; usage 2 ;;
  esac
done
if [[ -z "$CONFIG" ]]; then
  echo "missing --config=..." >&2
  exit 2
fi

MAIN_ARGS=(--config="$CONFIG")
[[ -n "$WORKDIR" ]] && MAIN_ARGS+=(--workdir="$WORKDIR")
MAIN_ARGS+=("${EXTRA[@]}")

# Prints a command (shell-quoted, one line) with --dry-run; runs it otherwise.
run() {
  if [[ $DRY_RUN -eq 1 ]]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

if [[ -n "$COORDINATOR$NUM_PROCESSES$PROCESS_ID" ]]; then
  # This host's part of a multi-host run started by a scheduler (or by hand on each host).
  if [[ -z "$COORDINATOR" || -z "$NUM_PROCESSES" || -z "$PROCESS_ID" ]]; then
    echo "--coordinator, --num-processes and --process-id go together" >&2
    exit 2
  fi
  run env JDDC_COORDINATOR="$COORDINATOR" JDDC_NUM_PROCESSES="$NUM_PROCESSES" JDDC_PROCESS_ID="$PROCESS_ID" \
    "$PYTHON" -m jddc.main "${MAIN_ARGS[@]}"
  exit 0
fi

if [[ -z "$HOSTS" ]]; then
  run "$PYTHON" -m jddc.main "${MAIN_ARGS[@]}"
  exit 0
fi

IFS=, read -r -a HOST_LIST <<< "$HOSTS"
COUNT=${#HOST_LIST[@]}
PIDS=()
for index in "${!HOST_LIST[@]}"; do
  host="${HOST_LIST[$index]}"
  remote="cd $(printf '%q' "$DIR") && JDDC_COORDINATOR=${HOST_LIST[0]}:$PORT JDDC_NUM_PROCESSES=$COUNT"
  remote+=" JDDC_PROCESS_ID=$index $(printf '%q' "$PYTHON") -m jddc.main$(printf ' %q' "${MAIN_ARGS[@]}")"
  if [[ $DRY_RUN -eq 1 ]]; then
    run ssh "$host" "$remote"
  else
    # shellcheck disable=SC2029  # the command is built (and quoted) here, on purpose
    ssh "$host" "$remote" 2>&1 | sed -u "s/^/[$host] /" &
    PIDS+=($!)
  fi
done
STATUS=0
for pid in "${PIDS[@]}"; do
  wait "$pid" || STATUS=1
done
exit $STATUS
