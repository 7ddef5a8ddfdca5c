#!/bin/bash
# cli_cv_ensemble.sh BUILD_DIR - bench/cv_ensemble.sh scores saved
# cross-validation runs right: hand-worked macro-F1 of two runs and of their
# ensemble, and refuses files that are not --scores-out output or do not
# share the folds. Run from the source root (ctest does).
set -u
. "$(dirname "$0")/support/cli_lib.sh"   # $T, fail, expect, finish
CE=bench/cv_ensemble.sh

# three types, one fold. Run 1: A right, B taken for A, C right ->
# F1 A 2/3, B 0, C 1 = 0.556. Run 2: A taken for B, B and C right -> 0.556.
# Their mean scores get all three right -> 1.000.
cat >"$T/r1.csv" <<'CSV'
fold,trace,label,A,B,C
1,0,A,0.9,0.1,0.1
1,1,B,0.6,0.5,0.1
1,2,C,0.1,0.1,0.8
CSV
cat >"$T/r2.csv" <<'CSV'
fold,trace,label,A,B,C
1,0,A,0.3,0.4,0.1
1,1,B,0.2,0.9,0.1
1,2,C,0.1,0.1,0.8
CSV
expect 0 bash "$CE" "$T/r1.csv" "$T/r2.csv"
[ "$(grep -c ' 0.556  0.556  0.000$' "$T/out")" = 2 ] || fail "runs alone: $(cat "$T/out")"
grep -q '^ensemble, mean score  *1.000  1.000  0.000$' "$T/out" || fail "ensemble: $(cat "$T/out")"

# other folds: refused, naming the file and the trace
sed 's/^1,2,C/2,2,C/' "$T/r2.csv" >"$T/r3.csv"
expect 1 bash "$CE" "$T/r1.csv" "$T/r3.csv"
grep -q "r3.csv:4: trace 2 is not in fold 2" "$T/err" || fail "other folds: $(cat "$T/err")"
# a trace missing from one run
head -3 "$T/r2.csv" >"$T/r4.csv"
expect 1 bash "$CE" "$T/r1.csv" "$T/r4.csv"
grep -q "r4.csv: trace 2 missing" "$T/err" || fail "missing trace: $(cat "$T/err")"
# not a scores file; a short line; no file; no arguments
echo "a,b" >"$T/bad.csv"
expect 1 bash "$CE" "$T/bad.csv"
grep -q "bad.csv: not a --scores-out file" "$T/err" || fail "bad header: $(cat "$T/err")"
printf 'fold,trace,label,A,B\n1,0,A,0.5\n' >"$T/short.csv"
expect 1 bash "$CE" "$T/short.csv"
grep -q "short.csv:2: expected 5 fields" "$T/err" || fail "short line: $(cat "$T/err")"
sed 's/^1,1,B/1,1,Q/' "$T/r1.csv" >"$T/type.csv"
expect 1 bash "$CE" "$T/type.csv"
grep -q "type.csv:3: type Q is not in the header" "$T/err" || fail "unknown type: $(cat "$T/err")"
expect 1 bash "$CE" "$T/none.csv"
expect 2 bash "$CE"
finish cli_cv_ensemble
