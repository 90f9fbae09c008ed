#!/usr/bin/env bash
# Train a jddc config on a Cloud TPU VM (one host or a multi-host slice), then delete the VM.
#
#   launch/tpu_vm.sh --name=jddc-v4 --zone=us-central2-b --accelerator=v4-32 \
#       --config=configs/response_mm.py:base --bucket=my-bucket [--queued] [--spot] [--dry-run] \
#       [-- --config.train.steps=20000 ...]
#
# Steps: create the VM (or a queued resource, waiting until it is ACTIVE); copy this
# checkout (git archive of HEAD) to every worker and install it with the `tpu` extra
# (scripts/setup.sh: the image's python3 is 3.10, below the pins' range, so uv installs 3.12);
# mount the bucket with gcsfuse on every worker (Orbax writes one checkpoint from all
# hosts, so the run folder must be shared); run `python -m jddc.main` on all workers at
# once (jax.distributed finds the slice's workers itself), streaming the output here and
# to a local log; delete the VM when the run ends or fails (unless --keep).
# --dry-run prints every command instead of running it.
set -euo pipefail

NAME="" ZONE="" ACCELERATOR="" PROJECT="" CONFIG="" BUCKET=""
VERSION="tpu-ubuntu2204-base"
QUEUED=0 SPOT=0 KEEP=0 DRY_RUN=0
EXTRA=()

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

for arg in "$@"; do
  if [[ ${#EXTRA[@]} -gt 0 || "$arg" == "--" ]]; then
    [[ "$arg" == "--" && ${#EXTRA[@]} -eq 0 ]] && { EXTRA=("--"); continue; }
    EXTRA+=("$arg")
    continue
  fi
  case "$arg" in
    --name=*) NAME="${arg#*=}" ;;
    --zone=*) ZONE="${arg#*=}" ;;
    --accelerator=*) ACCELERATOR="${arg#*=}" ;;
    --project=*) PROJECT="${arg#*=}" ;;
    --version=*) VERSION="${arg#*=}" ;;
    --config=*) CONFIG="${arg#*=}" ;;
    --bucket=*) BUCKET="${arg#*=}" ;;
    --queued) QUEUED=1 ;;
    --spot) SPOT=1 ;;
    --keep) KEEP=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $arg" >&2; usage 2 ;;
  esac
done
EXTRA=("${EXTRA[@]:1}")  # drop the "--" marker

for required in NAME ZONE ACCELERATOR CONFIG BUCKET; do
  if [[ -z "${!required}" ]]; then
    echo "missing --$(echo "$required" | tr '[:upper:]' '[:lower:]')=..." >&2
    exit 2
  fi
done

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

GCLOUD=(gcloud compute tpus)
WHERE=(--zone="$ZONE")
[[ -n "$PROJECT" ]] && WHERE+=(--project="$PROJECT")
SSH=("${GCLOUD[@]}" tpu-vm ssh "$NAME" "${WHERE[@]}" --worker=all)

# jddc.main names the run folder <config>_<size>_seed<seed> under it (the seed of the config or of --config.seed=)
RUNS_DIR="\$HOME/bucket/runs"
TARBALL="/tmp/jddc-${NAME}.tar.gz"
LOG="tpu_${NAME}.log"

create() {
  if [[ $QUEUED -eq 1 ]]; then
    local extra=()
    [[ $SPOT -eq 1 ]] && extra+=(--spot)
    run "${GCLOUD[@]}" queued-resources create "$NAME" --node-id="$NAME" "${WHERE[@]}" \
      --accelerator-type="$ACCELERATOR" --runtime-version="$VERSION" "${extra[@]}"
    if [[ $DRY_RUN -eq 1 ]]; then
      run "${GCLOUD[@]}" queued-resources describe "$NAME" "${WHERE[@]}" --format='value(state.state)'
      return
    fi
    until [[ "$("${GCLOUD[@]}" queued-resources describe "$NAME" "${WHERE[@]}" \
                --format='value(state.state)')" == "ACTIVE" ]]; do
      echo "waiting for queued resource $NAME ..."
      sleep 30
    done
  else
    local extra=()
    [[ $SPOT -eq 1 ]] && extra+=(--spot)
    run "${GCLOUD[@]}" tpu-vm create "$NAME" "${WHERE[@]}" --accelerator-type="$ACCELERATOR" \
      --version="$VERSION" "${extra[@]}"
  fi
}

delete() {
  if [[ $QUEUED -eq 1 ]]; then
    run "${GCLOUD[@]}" queued-resources delete "$NAME" "${WHERE[@]}" --force --quiet
  else
    run "${GCLOUD[@]}" tpu-vm delete "$NAME" "${WHERE[@]}" --quiet
  fi
}

install() {
  local repo_root
  repo_root="$(cd "$(dirname "$0")/.." && pwd)"
  run git -C "$repo_root" archive --format=tar.gz --output="$TARBALL" HEAD
  run "${GCLOUD[@]}" tpu-vm scp "$TARBALL" "$NAME":jddc.tar.gz "${WHERE[@]}" --worker=all
  run "${SSH[@]}" --command="set -e; mkdir -p jddc && tar xzf jddc.tar.gz -C jddc \
&& bash jddc/scripts/setup.sh --extra=tpu"
  run "${SSH[@]}" --command="set -e; if ! command -v gcsfuse >/dev/null; then \
echo 'deb https://packages.cloud.google.com/apt gcsfuse-'\$(lsb_release -c -s)' main' \
| sudo tee /etc/apt/sources.list.d/gcsfuse.list \
&& curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo apt-key add - \
&& sudo apt-get update -q && sudo apt-get install -y -q gcsfuse; fi; \
mkdir -p \$HOME/bucket && (mountpoint -q \$HOME/bucket || gcsfuse --implicit-dirs $BUCKET \$HOME/bucket)"
}

train() {
  local args
  args="$(printf ' %q' --config="$CONFIG" --runs_dir="$RUNS_DIR" "${EXTRA[@]}")"
  # The runs folder's $HOME is expanded on the workers.
  args="${args//\\\$HOME/\$HOME}"
  local command="cd jddc && .venv/bin/python -m jddc.main${args}"
  if [[ $DRY_RUN -eq 1 ]]; then
    run "${SSH[@]}" --command="$command"
  else
    "${SSH[@]}" --command="$command" 2>&1 | tee "$LOG"
  fi
}

create
if [[ $KEEP -eq 0 && $DRY_RUN -eq 0 ]]; then
  trap delete EXIT
fi
install
train
if [[ $KEEP -eq 0 && $DRY_RUN -eq 1 ]]; then
  delete
fi
