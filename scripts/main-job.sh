#!/usr/bin/env bash
# The main job, from a fresh clone on Debian 12 (as root):
#   install -> build (build/, Release) -> read every bundled trace and report -> (train -> compile -> scan)
# Stages print a "== stage" line so progress is visible. Output goes to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
SAMPLE=data/mal-api-2019-sample
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=passive
t0=$(date +%s)
stage() { printf '\n== [%4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

stage "install missing Debian packages"
scripts/install-deps.sh

stage "build (Release) into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"

mkdir -p out/report
stage "read the sample traces and the CAPE reports (malscan --count)"
build/runtime/malscan --count --json "$SAMPLE/calls.txt.gz" data/cape-reports/*.json.gz \
    > out/report/counts.jsonl
echo "wrote out/report/counts.jsonl ($(wc -l < out/report/counts.jsonl) records)"

stage "done in $(( $(date +%s) - t0 ))s"
