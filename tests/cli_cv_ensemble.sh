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

# --pick-by-validation: per type, the run whose kept epoch had the higher
# validation AUC. Run 1 keeps epoch 1 of A (0.9000, not its last epoch's
# 0.5000) and ties C with run 2 (the first run wins); run 2 is better on B.
# Picking A and C from run 1 and B from run 2 gets all three right.
log() {   # log TYPE AUC1 AUC2 BEST
    echo "[$1 tanh] epoch 1/2  loss 0.5  val_loss 0.5  val_auc $2  best 1  1.0s (train 1.0s)  ETA 1s"
    echo "[$1 tanh] epoch 2/2  loss 0.4  val_loss 0.4  val_auc $3  best $4  1.0s (train 1.0s)  ETA 0s"
}
{ log A 0.9000 0.5000 1; log B 0.6000 0.6500 2; log C 0.8000 0.7000 1
  echo "maltrain: fold 1/1: accuracy 0.667 macro-F1 0.556"; } >"$T/r1.log"
{ log A 0.8000 0.8500 2; log B 0.7000 0.6000 1; log C 0.8000 0.7000 1
  echo "maltrain: fold 1/1: accuracy 0.667 macro-F1 0.556"; } >"$T/r2.log"
expect 0 bash "$CE" --pick-by-validation "$T/r1.log,$T/r2.log" "$T/r1.csv" "$T/r2.csv"
grep -q '^picked by validation AUC  *1.000  1.000  0.000$' "$T/out" || fail "picked: $(cat "$T/out")"
grep -q '^  1: A=1 B=2 C=1$' "$T/out" || fail "picks: $(cat "$T/out")"
# the logs the other way round: A from run 2, B and C (a tie) from run 1
expect 0 bash "$CE" --pick-by-validation "$T/r2.log,$T/r1.log" "$T/r1.csv" "$T/r2.csv"
grep -q '^  1: A=2 B=1 C=1$' "$T/out" || fail "picks swapped: $(cat "$T/out")"
# equal logs: every type ties, run 1 is picked throughout and scores as alone
expect 0 bash "$CE" --pick-by-validation "$T/r1.log,$T/r1.log" "$T/r1.csv" "$T/r2.csv"
grep -q '^picked by validation AUC  *0.556  0.556  0.000$' "$T/out" || fail "ties: $(cat "$T/out")"
grep -q '^  1: A=1 B=1 C=1$' "$T/out" || fail "tie picks: $(cat "$T/out")"
# a log per scores file, and every type of every fold in the logs
expect 2 bash "$CE" --pick-by-validation "$T/r1.log" "$T/r1.csv" "$T/r2.csv"
grep -q "1 logs for 2 scores files" "$T/err" || fail "log count: $(cat "$T/err")"
grep -v '^\[C' "$T/r2.log" >"$T/r5.log"
grep -v '^\[C' "$T/r1.log" >"$T/r6.log"
expect 1 bash "$CE" --pick-by-validation "$T/r6.log,$T/r5.log" "$T/r1.csv" "$T/r2.csv"
grep -q "no validation AUC for fold 1, C" "$T/err" || fail "missing type: $(cat "$T/err")"
expect 2 bash "$CE" --pick-by-validation

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
