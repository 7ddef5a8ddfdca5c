#!/bin/bash
# cli_maltrain_usage.sh BUILD_DIR - `maltrain` rejects bad command lines
# with exit 2 and one line naming the option and the value, and a missing
# data directory with exit 1 naming the path; nothing is written to --out.
# Run from the source root (ctest does).
set -u
BUILD=${1:?usage: cli_maltrain_usage.sh BUILD_DIR}
TR=$BUILD/trainer/maltrain
S=data/mal-api-2019-sample
. "$(dirname "$0")/support/cli_lib.sh"   # $T, fail, expect, finish

[ -x "$TR" ] || { echo "FAIL: no $TR" >&2; exit 1; }

expect 0 "$TR" --help
for opt in --embed --members --ema --call-dropout --dropout --pretrain --pretrain-lr --val-frac --lr --weight-decay --distill --combine --lr-schedule --init-seed --scores-out --windows-per-trace --bag --training --pos-weight --folds --resume; do
    grep -q -- "$opt" "$T/out" || fail "--help does not describe $opt"
done
expect 2 "$TR"
expect 2 "$TR" frobnicate

# usage: ARGS... -- WORD: exit 2, one line, the line names WORD
usage() {
    local args=() word
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    word=$2
    expect 2 "$TR" train --data "$S" --out "$T/o" "${args[@]}"
    [ "$(wc -l <"$T/err")" = 1 ] || fail "${args[*]}: not one line: $(cat "$T/err")"
    grep -qF -- "$word" "$T/err" || fail "${args[*]}: '$word' not named: $(cat "$T/err")"
}
usage --window 0 -- "--window"
usage --epochs 0 -- "--epochs"
usage --epochs 12x -- "12x"
usage --ema 1 -- "--ema"
usage --ema -0.1 -- "--ema"
usage --ema nan -- "--ema"
usage --call-dropout 1 -- "--call-dropout"
usage --call-dropout 0.5x -- "0.5x"
usage --dropout 1 -- "--dropout"
usage --dropout -0.2 -- "--dropout"
usage --dropout x -- "--dropout"
usage --val-frac 0.6 -- "--val-frac"
usage --pretrain -1 -- "--pretrain"
usage --pretrain 2x -- "2x"
usage --pretrain-lr 0 -- "--pretrain-lr"
usage --pretrain 2 --protocol paper -- "--protocol paper"
usage --pretrain 2 --training joint -- "--training"
usage --pretrain 2 --activation auto -- "--activation auto"
usage --lr 0 -- "--lr"
usage --lr 2 -- "--lr"
usage --lr-schedule step -- "step"
usage --init-seed -1 -- "--init-seed"
usage --scores-out x.csv -- "--folds"
usage --pos-weight -1 -- "--pos-weight"
usage --activation relu -- "relu"
usage --protocol keras -- "keras"
usage --bogus -- "--bogus"
usage --ema -- "--ema"
usage --activation auto --val-frac 0 -- "validation split"
usage --calibration platt --val-frac 0 -- "--calibration"
usage --calibration isotonic -- "platt, standard or none"
usage --members 0 -- "--members"
usage --embed 0 -- "--embed"
usage --embed 600 --members 2 -- "--members"
usage --members 17 -- "--members"
usage --hidden 100 --members 11 -- "--members"
usage --bag 0 -- "--bag"
usage --weight-decay -1 -- "--weight-decay"
usage --weight-decay 101 -- "--weight-decay"
usage --weight-decay 100 --lr 0.5 -- "--weight-decay"
usage --distill -0.1 -- "--distill"
usage --distill 1.5 -- "--distill"
usage --distill x -- "--distill"
usage --combine min -- "--combine"
usage --bag 3 -- "--bag"
usage --bag 64 --windows-per-trace 64 -- "--bag"
usage --protocol paper --bag 2 -- "--bag"
usage --training both -- "--training"
usage --training joint --activation auto -- "--activation auto"
usage --training softmax --members 2 -- "--members"
usage --training finetune --bag 2 -- "--bag"
[ -e "$T/o" ] && fail "a usage error wrote $T/o"

expect 1 "$TR" train --data "$T/no-such-dir" --out "$T/o" --epochs 1
grep -qF "$T/no-such-dir" "$T/err" || fail "missing data dir not named: $(cat "$T/err")"
[ -e "$T/o/models" ] && ls "$T/o/models" | grep -q json && fail "a model file was written"

# merge: two members -> one model twice as wide; bad command lines exit 2,
# bad members exit 1 naming the file; a member directory is never written
mkdir -p "$T/a" "$T/b" "$T/s"
sed 's/"type": "Fixture_tanh"/"type": "Worms"/' tests/fixtures/torch_tanh.model.json >"$T/a/Worms.json"
cp "$T/a/Worms.json" "$T/b/Worms.json"
sed 's/"type": "Fixture_softmax"/"type": "Worms"/' tests/fixtures/torch_softmax.model.json >"$T/s/Worms.json"
h=$(grep -o '"hidden1": [0-9]*' "$T/a/Worms.json" | grep -o '[0-9]*$')
expect 0 "$TR" merge --out "$T/m" "$T/a" "$T/b"
grep -q "\"hidden1\": $((2 * h))," "$T/m/Worms.json" || fail "merged model not $((2 * h)) units wide"
grep -q '"members":\[' "$T/m/Worms.json" || fail "merged model's record lacks its members"
cp "$T/a/Worms.json" "$T/a.orig"
expect 2 "$TR" merge --out "$T/a" "$T/a" "$T/b"
grep -q "one of the models directories" "$T/err" || fail "merge into a member: $(cat "$T/err")"
cmp -s "$T/a/Worms.json" "$T/a.orig" || fail "merge overwrote a member"
expect 2 "$TR" merge --out "$T/m2" "$T/a"
expect 2 "$TR" merge "$T/a" "$T/b"
expect 2 "$TR" merge --out "$T/m2" --bogus "$T/a" "$T/b"
expect 1 "$TR" merge --out "$T/m2" "$T/s" "$T/s"
grep -q "softmax" "$T/err" || fail "softmax member: $(cat "$T/err")"
head -c 1000 "$T/a/Worms.json" >"$T/b/Worms.json"
expect 1 "$TR" merge --out "$T/m2" "$T/a" "$T/b"
grep -qF "$T/b/Worms.json" "$T/err" || fail "truncated member not named: $(cat "$T/err")"
[ -e "$T/m2/Worms.json" ] && fail "a failed merge wrote a model"

# --members 2 is the merge of the two networks --init-seed 0 and 1 train
# (weights and rule byte for byte; only the training record differs), and
# every member keeps its own checkpoint and history
tiny=(--data "$S" --split "$S/dev-split.txt" --types Worms --epochs 1 --hidden 6)
expect 0 "$TR" train "${tiny[@]}" --members 2 --out "$T/mem"
for f in Worms.json Worms.ckpt Worms.m2.ckpt Worms.metrics.csv Worms.m2.metrics.csv; do
    [ -s "$T/mem/models/$f" ] || fail "--members 2 did not write $f"
done
grep -q '"hidden1": 12,' "$T/mem/models/Worms.json" || fail "--members 2 --hidden 6: not 12 units"
expect 0 "$TR" train "${tiny[@]}" --init-seed 0 --out "$T/mem0"
expect 0 "$TR" train "${tiny[@]}" --init-seed 1 --out "$T/mem1"
expect 0 "$TR" merge --out "$T/memm" "$T/mem0/models" "$T/mem1/models"
grep -v '^"training"' "$T/mem/models/Worms.json" >"$T/a1"
grep -v '^"training"' "$T/memm/Worms.json" >"$T/a2"
cmp -s "$T/a1" "$T/a2" || fail "--members 2 differs from merging --init-seed 0 and 1"
grep -q '"val_auc":' "$T/mem/models/Worms.json" || fail "--members: no merged validation AUC"
# resuming a finished run reproduces it from the members' checkpoints
cp "$T/mem/models/Worms.json" "$T/mem.orig"
expect 0 "$TR" train "${tiny[@]}" --members 2 --out "$T/mem" --resume
cmp -s "$T/mem/models/Worms.json" "$T/mem.orig" || fail "--members --resume changed the model"

# --bag: K > 1 trains on bags (recorded; a checkpoint of another bag size is
# refused by --resume); --bag 1 is the per-window default, byte for byte
expect 0 "$TR" train "${tiny[@]}" --bag 4 --out "$T/bag"
grep -q '"bag":4' "$T/bag/models/Worms.json" || fail "--bag 4 not in the training record"
expect 1 "$TR" train "${tiny[@]}" --bag 2 --out "$T/bag" --resume
grep -q 'bag size' "$T/err" || fail "--resume with another --bag: $(cat "$T/err")"
expect 0 "$TR" train "${tiny[@]}" --bag 1 --out "$T/bag1"
expect 0 "$TR" train "${tiny[@]}" --out "$T/plain"
cmp -s "$T/bag1/models/Worms.json" "$T/plain/models/Worms.json" || fail "--bag 1 differs from the default"
grep -v '^"training"' "$T/bag/models/Worms.json" >"$T/w1"
grep -v '^"training"' "$T/plain/models/Worms.json" >"$T/w2"
cmp -s "$T/w1" "$T/w2" && fail "--bag 4 trained the default's weights"

# --weight-decay: recorded, changes the weights, and a checkpoint made without
# it is refused by --resume with it
expect 0 "$TR" train "${tiny[@]}" --weight-decay 20 --out "$T/wd"
grep -q '"weight_decay":20' "$T/wd/models/Worms.json" || fail "--weight-decay 20 not in the training record"
grep -v '^"training"' "$T/wd/models/Worms.json" >"$T/w1"
cmp -s "$T/w1" "$T/w2" && fail "--weight-decay 20 trained the default's weights"
expect 1 "$TR" train "${tiny[@]}" --out "$T/plain" --weight-decay 1 --resume
grep -q 'weight decay' "$T/err" || fail "--resume with another --weight-decay: $(cat "$T/err")"

# --training joint: one network for the eight types; only the wanted types'
# model files are written, each the shared layers and its head; a finished
# run resumes to the same file. finetune: per-type training from it, whose
# joint histories are <Type>.joint.metrics.csv.
expect 0 "$TR" train "${tiny[@]}" --training joint --out "$T/joint"
for f in Worms.json Worms.metrics.csv joint.ckpt; do
    [ -s "$T/joint/models/$f" ] || fail "--training joint did not write $f"
done
[ -e "$T/joint/models/Adware.json" ] && fail "--training joint --types Worms wrote Adware.json"
grep -q '"network":"joint' "$T/joint/models/Worms.json" || fail "--training joint not in the training record"
cp "$T/joint/models/Worms.json" "$T/joint.orig"
expect 0 "$TR" train "${tiny[@]}" --training joint --out "$T/joint" --resume
cmp -s "$T/joint/models/Worms.json" "$T/joint.orig" || fail "--training joint --resume changed the model"
expect 1 "$TR" train "${tiny[@]}" --training softmax --out "$T/joint" --resume
grep -q 'other settings' "$T/err" || fail "--resume of a joint run as softmax: $(cat "$T/err")"
expect 0 "$TR" train "${tiny[@]}" --training finetune --out "$T/ft"
for f in Worms.json Worms.metrics.csv Worms.joint.metrics.csv Worms.ckpt joint.ckpt; do
    [ -s "$T/ft/models/$f" ] || fail "--training finetune did not write $f"
done
grep -q '"network":"fine-tuned' "$T/ft/models/Worms.json" || fail "--training finetune not in the training record"
grep -v '^"training"' "$T/ft/models/Worms.json" >"$T/w1"
cmp -s "$T/w1" "$T/w2" && fail "--training finetune trained the default's weights"

# --distill: the teacher's line, recorded, changes the weights, and a
# checkpoint made without it is refused by --resume with it
expect 0 "$TR" train "${tiny[@]}" --distill 0.5 --out "$T/dist"
grep -q 'n-gram teacher: .* out-of-fold macro-F1' "$T/err" || fail "--distill: no teacher line: $(cat "$T/err")"
grep -q '"distill":0.5' "$T/dist/models/Worms.json" || fail "--distill 0.5 not in the training record"
grep -v '^"training"' "$T/dist/models/Worms.json" >"$T/w1"
cmp -s "$T/w1" "$T/w2" && fail "--distill 0.5 trained the default's weights"
expect 1 "$TR" train "${tiny[@]}" --out "$T/plain" --distill 0.5 --resume
grep -q 'distillation' "$T/err" || fail "--resume with another --distill: $(cat "$T/err")"

# --dropout: recorded, changes the weights, the default's file does not
# name it, and a checkpoint made without it is refused by --resume with it
expect 0 "$TR" train "${tiny[@]}" --dropout 0.3 --out "$T/drop"
grep -q '"dropout":0.3' "$T/drop/models/Worms.json" || fail "--dropout 0.3 not in the training record"
grep -q '"dropout"' "$T/plain/models/Worms.json" && fail "the default's training record names dropout"
grep -v '^"training"' "$T/drop/models/Worms.json" >"$T/w1"
cmp -s "$T/w1" "$T/w2" && fail "--dropout 0.3 trained the default's weights"
expect 1 "$TR" train "${tiny[@]}" --out "$T/plain" --dropout 0.3 --resume
grep -q 'distillation, dropout' "$T/err" || fail "--resume with another --dropout: $(cat "$T/err")"

# --pretrain: a line per pretraining epoch, recorded, changes the weights,
# resumes to the same file (the pretraining is redone: it is deterministic),
# and a checkpoint made without it is refused by --resume with it
expect 0 "$TR" train "${tiny[@]}" --pretrain 1 --out "$T/pre"
grep -q 'pretrain epoch 1/1: next-call loss' "$T/err" || fail "--pretrain: no epoch line: $(cat "$T/err")"
grep -q '"pretrain_epochs":1' "$T/pre/models/Worms.json" || fail "--pretrain 1 not in the training record"
grep -q '"pretrain' "$T/plain/models/Worms.json" && fail "the default's training record names pretraining"
grep -v '^"training"' "$T/pre/models/Worms.json" >"$T/w1"
cmp -s "$T/w1" "$T/w2" && fail "--pretrain 1 trained the default's weights"
cp "$T/pre/models/Worms.json" "$T/pre.orig"
expect 0 "$TR" train "${tiny[@]}" --pretrain 1 --out "$T/pre" --resume   # pretraining redone, same result
cmp -s "$T/pre/models/Worms.json" "$T/pre.orig" || fail "--pretrain 1 --resume changed the model"
expect 1 "$TR" train "${tiny[@]}" --out "$T/plain" --pretrain 1 --resume
grep -q 'pretraining' "$T/err" || fail "--resume with another --pretrain: $(cat "$T/err")"

# --combine max: in the model's scoring rule, and a checkpoint made under
# another rule is refused by --resume
expect 0 "$TR" train "${tiny[@]}" --combine max --out "$T/cmax"
grep -q '"combine": *"max"' "$T/cmax/models/Worms.json" || fail "--combine max not in the scoring rule"
grep -q '"combine": *"mean"' "$T/plain/models/Worms.json" || fail "the default rule does not combine by mean"
expect 1 "$TR" train "${tiny[@]}" --out "$T/plain" --combine max --resume
grep -q 'combine rule' "$T/err" || fail "--resume with another --combine: $(cat "$T/err")"

finish cli_maltrain_usage
