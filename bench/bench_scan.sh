#!/usr/bin/env bash
# Scanning speed and where the time goes, beside the zcat floor, in one run.
#   bench/bench_scan.sh [MODELS_DIR [RUNS]]     from the source root
# MODELS_DIR: trained models (default out/models, written by scripts/main-job.sh).
# For the whole sample and for the dev-split test part, median wall time of RUNS
# (default 3) runs of:
#   zcat > /dev/null                  the floor: decompression alone
#   malscan --count                   read + decompress + tokenise (no models)
#   malscan --models --engine jit     -j 1 and -j 2: everything (load, JIT, score)
# and the time split by difference: reading (decompress + tokenise, in-process
# zlib is faster than the zcat binary) / model load + JIT / model steps;
# traces/s and MB/s of trace text. Then the same windows as the PyTorch peer:
# each sample trace cut to its last 342 calls, scanned by malscan, beside the
# peer's batched forward pass over 342-call windows (infer_speed.py, if the
# peer's trained models exist), scaled to 648 windows.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${1:-out/models}
RUNS=${2:-3}
SAMPLE=data/mal-api-2019-sample
B=build-bench-rel
[ -f "$MODELS/Adware.json" ] || { echo "no models in $MODELS: run scripts/main-job.sh first" >&2; exit 2; }
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target malscan >/dev/null
M=$B/runtime/malscan
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1

# the test part of the dev split, as its own gzip file
zcat "$SAMPLE/calls.txt.gz" | awk 'NR==FNR { s[FNR] = $1; next } s[FNR] == "test"' \
    "$SAMPLE/dev-split.txt" - | gzip -6 >"$T/test.txt.gz"
echo 'ntclose' >"$T/one.txt"

# median wall seconds of RUNS runs of a command (output discarded)
median() {
    local t=()
    for ((r = 0; r < RUNS; r++)); do
        local a b
        a=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || true
        b=$(date +%s.%N)
        t+=("$(awk -v a="$a" -v b="$b" 'BEGIN {print b - a}')")
    done
    printf '%s\n' "${t[@]}" | sort -g | awk '{v[NR] = $1} END {printf "%.3f", v[int((NR + 1) / 2)]}'
}

echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg); models: $MODELS; median of $RUNS runs"
startup=$(median "$M" --models "$MODELS" "$T/one.txt")
echo "startup (load 8 model files + libtcc compile/relocate + one 1-call trace): ${startup} s"
for input in "$SAMPLE/calls.txt.gz" "$T/test.txt.gz"; do
    name=$([ "$input" = "$T/test.txt.gz" ] && echo "dev-split test part" || echo "whole sample")
    traces=$(zcat "$input" | wc -l)
    mb=$(zcat "$input" | wc -c | awk '{printf "%.1f", $1 / 1e6}')
    calls=$("$M" --count "$input" | awk -F'\t' '{s += $3} END {print s}')
    z=$(median sh -c "zcat '$input' >/dev/null")
    c=$(median "$M" --count "$input")
    j1=$(median "$M" --models "$MODELS" -j 1 "$input")
    j2=$(median "$M" --models "$MODELS" -j 2 "$input")
    echo
    echo "== $name: $traces traces, $calls calls, $mb MB of trace text"
    printf '%-34s %9s %10s %9s %12s\n' "" "seconds" "traces/s" "MB/s" "x zcat"
    row() { awk -v n="$1" -v s="$2" -v t="$traces" -v m="$mb" -v z="$z" \
        'BEGIN {printf "%-34s %9.3f %10.1f %9.1f %12.2f\n", n, s, t / s, m / s, s / z}'; }
    row "zcat > /dev/null (floor)" "$z"
    row "malscan --count (read+tokenise)" "$c"
    row "malscan --models, jit, -j 1" "$j1"
    row "malscan --models, jit, -j 2" "$j2"
    awk -v z="$z" -v c="$c" -v s="$startup" -v j="$j1" 'BEGIN {
        m = j - c - s; if (m < 0) m = 0
        printf "time split at -j 1: reading (decompress + tokenise) %.3f s, model load+JIT %.3f s, model steps %.3f s (%.0f%%)\n",
               c, s, m, 100 * m / j }'
done

# The PyTorch peer's windows: the last 342 calls of every trace (its protocol).
# malscan scores each cut trace with the models' own rule (here: <= 4 windows of
# 100 de-duplicated calls), so both sides see the same calls.
echo
zcat "$SAMPLE/calls.txt.gz" | awk '{ s = NF > 342 ? NF - 341 : 1; line = $s
    for (i = s + 1; i <= NF; i++) line = line " " $i; print line }' | gzip -1 > "$T/last342.txt.gz"
l1=$(median "$M" --models "$MODELS" -j 1 "$T/last342.txt.gz")
l2=$(median "$M" --models "$MODELS" -j 2 "$T/last342.txt.gz")
echo "== the peer's windows: 648 traces cut to their last 342 calls"
printf '%-46s %9s\n' "" "seconds"
printf '%-46s %9.3f\n' "malscan --models, jit, -j 1" "$l1"
printf '%-46s %9.3f\n' "malscan --models, jit, -j 2" "$l2"
PEERS=../shared/peers
if [ -d "$PEERS/models/nn-tanh-seed0" ] && [ -d "$PEERS/cache" ]; then
  peer=$(cd "$PEERS" && OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 infer_speed.py 1 500 | tail -n 1)
  python3 - "$peer" "$l1" <<'PY'
import json, sys
rate = json.loads(sys.argv[1])["batched_8models_windows_per_s"]; ours = float(sys.argv[2])
t = 648 / rate
print(f"{'PyTorch peer, batched forward, 1 thread':46s} {t:9.3f}   "
      f"(648 windows / {rate:.1f} windows/s; malscan -j 1 is {t / ours:.2f}x faster)")
PY
else
  echo "PyTorch peer: skipped (no trained peer models; see bench/bench_compiled.sh for how to make them)"
fi
