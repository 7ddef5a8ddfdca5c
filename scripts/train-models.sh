#!/usr/bin/env bash
# Train the eight one-vs-rest models on the train part of the sample's dev split,
# in JOBS processes (one per group of types), into OUT/models/.
#   scripts/train-models.sh MALTRAIN OUT [more maltrain train options...]
# Used by the main job and by the test command (trained-model parity). Each
# model depends only on its type and the seed, so the grouping changes nothing
# but the time; progress lines are prefixed with the group.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 MALTRAIN OUT [maltrain train options...]" >&2; exit 2; }
MALTRAIN=$1 OUT=$2
shift 2
JOBS=${JOBS:-2}
SAMPLE=data/mal-api-2019-sample
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
TYPES=(Adware Backdoor Downloader Dropper Spyware Trojan Virus Worms)
pids=()
for ((g = 0; g < JOBS; g++)); do
  group=""
  for ((k = g; k < ${#TYPES[@]}; k += JOBS)); do group+="${group:+,}${TYPES[k]}"; done
  [ -n "$group" ] || continue
  ( "$MALTRAIN" train --data "$SAMPLE" --split "$SAMPLE/dev-split.txt" --out "$OUT" \
      --types "$group" "$@" 2>&1 | sed -u "s/^/[train $((g + 1))] /" ) &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
