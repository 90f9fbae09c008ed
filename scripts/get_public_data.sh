#!/usr/bin/env bash
# Lays out the public corpora the tests and the real-data configs read (docs/public_corpora.md),
# from their GitHub repositories at the commits listed there. Needs git and internet.
#
#   bash scripts/get_public_data.sh [DEST] [--dry-run]
#
# DEST defaults to ../shared/data beside the checkout (where tests and configs look; elsewhere,
# export JDDC_SHARED_DATA=DEST). REWRITE keeps the first 18,000 lines of corpus.txt: its last
# 2,000 (RUN's test lines) are held out of this project. --dry-run prints the commands only.
set -euo pipefail

DEST="" DRY_RUN=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -*) echo "get_public_data.sh: unknown option $arg" >&2; exit 2 ;;
    *) DEST="$arg" ;;
  esac
done
DEST="${DEST:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

run() {
  if [[ $DRY_RUN -eq 1 ]]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

# fetch REPO COMMIT: a checkout of REPO at COMMIT under $WORK/<name>
fetch() {
  local repo="$1" commit="$2" dir
  dir="$WORK/$(basename "$repo")"
  run git clone -q "https://github.com/$repo.git" "$dir"
  run git -C "$dir" checkout -q "$commit"
}

# put SRC (a path inside a fetched repository) at DEST/TARGET
put() {
  local src="$WORK/$1" target="$DEST/$2"
  run mkdir -p "$(dirname "$target")"
  run cp -r "$src" "$target"
}

fetch xiaolinAndy/TODS 4c28a28
put TODS/data/CSDS/topic/val.json csds/val.json
fetch xiaolinAndy/CSDS 1421348
put CSDS/results/final csds/official_outputs
fetch xKHUNx/Seq2Seq-DDP 22b94a5
put Seq2Seq-DDP/data/stac/train.json stac/train.json
put Seq2Seq-DDP/data/stac/dev.json stac/dev.json
fetch Suda-iaiNLP/MODDP 3a4dbee
for name in train.csv eval.csv relation_database.json; do
  put "MODDP/dataset/$name" "moddp/$name"
done
fetch chin-gyou/dialogue-utterance-rewriter 5433e43
run mkdir -p "$DEST/rewrite"
if [[ $DRY_RUN -eq 1 ]]; then
  run head -n 18000 "$WORK/dialogue-utterance-rewriter/corpus.txt" ">" "$DEST/rewrite/train.txt"
else
  head -n 18000 "$WORK/dialogue-utterance-rewriter/corpus.txt" > "$DEST/rewrite/train.txt"
fi
fetch EndlessLethe/jddc2019-3th-retrieve-model 2d443d1
put jddc2019-3th-retrieve-model/data/chat_0.1per.txt jddc2019/chat_0.1per.txt
fetch kitaharatomoyo/JDDC2020-3rd-SourceCode e38a5e9
put JDDC2020-3rd-SourceCode/imgcls/dataset/ocr/6e53e543e7b5a24e5d82dde54767e5f4.jpg \
  jddc2020/6e53e543e7b5a24e5d82dde54767e5f4.jpg
[[ $DRY_RUN -eq 1 ]] || echo "public corpora in $DEST"
