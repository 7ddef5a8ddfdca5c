#!/bin/bash
# bench_readers.sh BUILD_DIR - reader speed against the zcat floor, and peak
# memory. Builds nothing: build BUILD_DIR without sanitizers first, e.g.
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel --target malscan bench_readers
# Run from the source root.
set -eu
BUILD=${1:?usage: bench/bench_readers.sh BUILD_DIR}
M=$BUILD/runtime/malscan
B=$BUILD/bench/bench_readers
SAMPLE=data/mal-api-2019-sample/calls.txt.gz
LARGEST=data/cape-reports/capev22_qakbot.json.gz   # 34 MB unpacked, the largest report
[ -x "$M" ] || { echo "no $M (build the malscan target)" >&2; exit 1; }

# best of 3 runs of a command: "WALL CPU" in seconds (CPU = user + sys; on a
# shared machine the CPU figure is the one to compare)
best() {
    local bw=999999 bc=999999 w c
    for _ in 1 2 3; do
        /usr/bin/time -f '%e %U %S' -o "$T" "$@" >/dev/null 2>&1
        read -r w u s <"$T"
        c=$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')
        bw=$(awk -v a="$bw" -v b="$w" 'BEGIN {print (b < a) ? b : a}')
        bc=$(awk -v a="$bc" -v b="$c" 'BEGIN {print (b < a) ? b : a}')
    done
    echo "$bw $bc"
}
T=$(mktemp)
trap 'rm -f "$T"' EXIT

echo "== best of 3 (${SAMPLE}, $(zcat "$SAMPLE" | wc -c) bytes uncompressed; load: $(cut -d' ' -f1 /proc/loadavg))"
read -r zw zc <<<"$(best sh -c "zcat '$SAMPLE' > /dev/null")"
read -r rw rc <<<"$(best "$M" --count "$SAMPLE")"
printf '%-26s wall %6.2f s   cpu %6.2f s\n' "zcat > /dev/null" "$zw" "$zc" "malscan --count" "$rw" "$rc"
awk -v zw="$zw" -v zc="$zc" -v rw="$rw" -v rc="$rc" \
    'BEGIN {printf "ratio reader / zcat        wall %6.2f     cpu %6.2f   (target <= 2)\n", rw / zw, rc / zc}'

if [ -x "$B" ]; then
    echo
    echo "== in-process CPU time (bench_readers: zlib inflate alone vs the reader, best of 3)"
    "$B" -n 3 "$SAMPLE" data/cape-reports/*.json.gz
fi

echo
echo "== peak RSS (/usr/bin/time -v, target < 64 MB)"
for f in "$SAMPLE" data/cape-reports/*.json.gz; do
    kb=$(/usr/bin/time -v "$M" --count "$f" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}')
    printf '%-45s %6d KiB\n' "$f" "$kb"
done
echo "(largest report: $LARGEST)"
