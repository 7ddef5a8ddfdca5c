#!/bin/bash
# cli_sample_variant.sh BUILD_DIR - bench/sample_variant.py writes the
# transformed copies the measurements of docs/training.md ("What
# deduplication drops ...") ran on: each mode's traces and vocabulary checked
# by hand on a five-trace set, the two halves disjoint and stratified, and
# bad input refused without writing anything. Run from the source root.
set -u
. "$(dirname "$0")/support/cli_lib.sh"   # $T, fail, expect, finish
SV="python3 bench/sample_variant.py"

# ten traces: 3 and 6 test, the rest train (4 Adware, 4 Backdoor); "a" is
# in every train trace, so drop-common drops it and trace 5, all "a", keeps
# its first call. Runs of 2, 4, 15 and 16 sit on the run-buckets' edges.
S=$T/src; mkdir "$S"
printf 'a=0\nb=1\nc=2\n' >"$S/api_index.txt"
printf '%s\n' Adware Backdoor Adware Backdoor Adware Adware Adware Backdoor Adware Backdoor >"$S/labels.csv"
printf '%s\n' train train test train train test train train train train >"$S/dev-split.txt"
b16=$(printf 'b %.0s' $(seq 16)); c15=$(printf 'c %.0s' $(seq 15))
printf '%s\n' "a a b c c c c" "${b16}a" "a b c" "c a" "a a" "${c15% }" "a b" "b a" "c a c" "a c" |
    gzip >"$S/calls.txt.gz"

calls() { zcat "$T/$1/calls.txt.gz" | tr '\n' '|'; }
expect 0 $SV dedup "$S" "$T/dedup"
[ "$(calls dedup)" = "a b c|b a|a b c|c a|a|c|a b|b a|c a c|a c|" ] || fail "dedup: $(calls dedup)"
cmp -s "$S/api_index.txt" "$T/dedup/api_index.txt" || fail "dedup changed the vocabulary"
cmp -s "$S/labels.csv" "$T/dedup/labels.csv" || fail "dedup changed the labels"

expect 0 $SV repeat-flag "$S" "$T/rep"
[ "$(calls rep)" = "a_rep b c_rep|b_rep a|a b c|c a|a_rep|c_rep|a b|b a|c a c|a c|" ] ||
    fail "repeat-flag: $(calls rep)"
[ "$(tail -3 "$T/rep/api_index.txt" | tr '\n' ' ')" = "a_rep=3 b_rep=4 c_rep=5 " ] ||
    fail "repeat-flag vocabulary: $(tr '\n' ' ' <"$T/rep/api_index.txt")"

expect 0 $SV run-buckets "$S" "$T/runs"
[ "$(calls runs)" = "a_r2 b c_r4|b_r16 a|a b c|c a|a_r2|c_r4|a b|b a|c a c|a c|" ] ||
    fail "run-buckets: $(calls runs)"
[ "$(grep -c . "$T/runs/api_index.txt")" = 12 ] || fail "run-buckets: not 3 + 9 names"

expect 0 $SV drop-common "$S" "$T/drop"
[ "$(calls drop)" = "b c c c c|${b16% }|b c|c|a|${c15% }|b|b|c c|c|" ] || fail "drop-common: $(calls drop)"
grep -q 'dropping a$' "$T/err" || fail "drop-common does not name what it drops: $(cat "$T/err")"

# halves: two Adware and two Backdoor train traces each, both test traces in both
for h in a b; do
    expect 0 $SV half-$h "$S" "$T/h$h"
    [ "$(paste -d: "$T/h$h/labels.csv" "$T/h$h/dev-split.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ',')" = \
        " 2 Adware:test, 2 Adware:train, 2 Backdoor:train," ] ||
        fail "half-$h is not a stratified half: $(paste -d: "$T/h$h/labels.csv" "$T/h$h/dev-split.txt" | tr '\n' ' ')"
done
both=$( (paste -d: <(zcat "$T/ha/calls.txt.gz") "$T/ha/dev-split.txt"; paste -d: <(zcat "$T/hb/calls.txt.gz") "$T/hb/dev-split.txt") |
    grep ':train$' | sort | tr '\n' '|')
want=$(paste -d: <(zcat "$S/calls.txt.gz") "$S/dev-split.txt" | grep ':train$' | sort | tr '\n' '|')
[ "$both" = "$want" ] || fail "the halves are not a partition of the train traces: $both"

# bad input: an existing destination, a missing source, counts that differ
expect 1 $SV dedup "$S" "$T/dedup"
grep -q 'exists' "$T/err" || fail "existing destination: $(cat "$T/err")"
expect 1 $SV dedup "$T/none" "$T/x1"
grep -q 'none/api_index.txt' "$T/err" || fail "missing source: $(cat "$T/err")"
[ ! -e "$T/x1" ] || fail "a failed run left $T/x1"
echo Virus >>"$S/labels.csv"
expect 1 $SV dedup "$S" "$T/x2"
grep -q '10 traces, 11 labels' "$T/err" || fail "count mismatch: $(cat "$T/err")"
[ ! -e "$T/x2" ] || fail "a refused run left $T/x2"
expect 2 $SV nosuchmode "$S" "$T/x3"

finish cli_sample_variant
