#!/usr/bin/env bash
# The main job, from a fresh clone on Debian 12 (as root):
#   install -> build -> train the eight models on the train part of the sample's
#   dev-split -> compile them (standalone C in out/gen/) -> JIT-load them into
#   malscan -> scan the test part (with labels) and the CAPE reports -> out/report/
# Every stage prints a "== [seconds] stage" line. Environment knobs:
#   EPOCHS (default: maltrain's default), JOBS (build/scan threads, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
SAMPLE=data/mal-api-2019-sample
OUT=out
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=passive
t0=$(date +%s)
stage() { printf '\n== [%4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

stage "install missing Debian packages"
scripts/install-deps.sh

stage "build (Release) into build/"
# explicit options: a build/ configured earlier with sanitizers must not make the job 5x slower
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMALSTM_SANITIZE=OFF -DMALSTM_FUZZ=OFF >/dev/null
cmake --build build -j"$JOBS"
BIN=build

stage "split the sample: train part for maltrain, test part for the scan ($SAMPLE/dev-split.txt)"
mkdir -p "$OUT/data/test" "$OUT/report"
zcat "$SAMPLE/calls.txt.gz" | awk 'NR==FNR { s[FNR] = $1; next } s[FNR] == "test"' \
    "$SAMPLE/dev-split.txt" - | gzip -1 > "$OUT/data/test/calls.txt.gz"
awk 'NR==FNR { s[FNR] = $1; next } s[FNR] == "test"' "$SAMPLE/dev-split.txt" "$SAMPLE/labels.csv" \
    > "$OUT/data/test/labels.csv"
echo "test part: $(wc -l < "$OUT/data/test/labels.csv") traces"

stage "train the eight models (maltrain, oneDNN, $JOBS processes) -> $OUT/models/"
JOBS=$JOBS scripts/train-models.sh "$BIN/trainer/maltrain" "$OUT" ${EPOCHS:+--epochs "$EPOCHS"}

stage "evaluate on the test part (maltrain eval, float reference)"
"$BIN/trainer/maltrain" eval --models "$OUT/models" --data "$SAMPLE" --split "$SAMPLE/dev-split.txt" \
    | tee "$OUT/report/eval.txt"

stage "compile the models into standalone int8 C (malcc) -> $OUT/gen/"
rm -f "$OUT/gen/classify"   # where runs before 2026-11-25 put the binary (malcc keeps foreign files)
"$BIN/compiler/malcc" "$OUT"/models/*.json -o "$OUT/gen" --main
mkdir -p "$OUT/bin"
cc -O2 -std=c99 -ffp-contract=off "$OUT"/gen/*.c -o "$OUT/bin/classify"
echo "built $OUT/bin/classify from the generated sources alone (one trace per line on stdin)"

stage "scan the test part with the JIT engine (malscan --engine jit --labels)"
"$BIN/runtime/malscan" --models "$OUT/models" --engine jit -j "$JOBS" --json \
    --labels "$OUT/data/test/labels.csv" "$OUT/data/test/calls.txt.gz" > "$OUT/report/scan.jsonl"
tail -n 1 "$OUT/report/scan.jsonl" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)["summary"]
print("%d labelled traces: accuracy %.4f, macro-F1 %.4f" % (s["n"], s["accuracy"], s["macro_f1"]))
for t, m in s["per_type"].items():
    print("  %-11s precision %.3f  recall %.3f  F1 %.3f" % (t, m["precision"], m["recall"], m["f1"]))'

stage "scan the five CAPE reports"
"$BIN/runtime/malscan" --models "$OUT/models" data/cape-reports/*.json.gz | tee "$OUT/report/cape.txt"

stage "write the report -> $OUT/report/index.md"
{
  echo "## CAPE reports (no labels: format check)"; echo; echo '```'; cat "$OUT/report/cape.txt"; echo '```'
  echo; echo "## maltrain eval on the test part (float reference)"; echo; echo '```'
  cat "$OUT/report/eval.txt"; echo '```'
} > "$OUT/report/extra.md"
/usr/bin/python3 scripts/make_report.py "$OUT/report/scan.jsonl" "$OUT/report" \
    --title "malstm: eight-way classification of the sample's test part (JIT engine)" \
    --extra "$OUT/report/extra.md"

stage "done in $(( $(date +%s) - t0 ))s: see $OUT/report/index.md"
