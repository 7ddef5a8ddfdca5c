#!/bin/sh
# bench_train.sh [BUILD_DIR] [EPOCHS] - seconds per training epoch of one
# model (Adware, paper protocol: last 342 calls of the sample's dev-split
# train part), tanh and softsign, 1 and 2 threads, next to the PyTorch peer
# (../shared/peers/torch_peer.py --time-only, nn.LSTM and its hand-written
# softsign cell) on the same data in the same run; prints the ratios and
# maltrain's peak RSS. Run from the project root on a non-sanitized build:
#   cmake -S . -B build-train-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-train-rel -j2
#   sh bench/bench_train.sh build-train-rel 3
# Per-epoch time = batches only (forward, backward, Adam), as the peer's
# train_epoch_s; median over the epochs. Timings drift 2x on a shared box:
# compare ratios from one run, not absolute figures across runs.
set -eu
BUILD=${1:-build-train-rel}
EPOCHS=${2:-3}
ROOT=$(pwd)
MT=$ROOT/$BUILD/trainer/maltrain
DATA=$ROOT/data/mal-api-2019-sample
PEERS=${PEERS:-$ROOT/../shared/peers}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMP_WAIT_POLICY=PASSIVE
[ -x "$MT" ] || { echo "bench_train: build $MT first" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "loadavg at start: $(cat /proc/loadavg)"
for thr in 1 2; do
  for act in tanh softsign; do
    /usr/bin/time -f "%M" -o "$TMP/rss" env OMP_NUM_THREADS=$thr "$MT" train --data "$DATA" \
      --split "$DATA/dev-split.txt" --out "$TMP/out-$act-$thr" --types Adware --protocol paper \
      --activation $act --epochs "$EPOCHS" --threads $thr 2> "$TMP/log-$act-$thr"
    s=$(sed -n 's/.*(train \([0-9.]*\)s).*/\1/p' "$TMP/log-$act-$thr" | median)
    echo "$s" > "$TMP/mt-$act-$thr"
    echo "maltrain $act threads $thr: $s s/epoch (median of $EPOCHS), peak RSS $(($(cat "$TMP/rss") / 1024)) MB"
  done
done

have_peer=0
if [ -f "$PEERS/torch_peer.py" ] && $PY -c "import torch, sklearn" 2>/dev/null; then
  have_peer=1
  # the peer writes cache/ and models/ next to itself: remove them afterwards
  # if this run created them (its README asks to delete them when done)
  made=""
  for d in cache models; do [ -e "$PEERS/$d" ] || made="$made $d"; done
  ( cd "$PEERS" && [ -d cache ] || $PY prep.py > /dev/null )
  for thr in 1 2; do
    for cell in nn hand; do
      if [ $cell = nn ]; then extra="--cell nn"; name=tanh; else extra="--cell hand --act softsign"; name=softsign; fi
      ( cd "$PEERS" && $PY torch_peer.py --seed 0 --threads $thr $extra --time-only "$EPOCHS" ) > "$TMP/peer-$name-$thr" 2>&1 || true
      s=$(grep '"median_epoch_s"' "$TMP/peer-$name-$thr" | sed 's/.*"median_epoch_s": \([0-9.]*\).*/\1/')
      echo "${s:-nan}" > "$TMP/pt-$name-$thr"
      echo "pytorch $name ($cell) threads $thr: ${s:-nan} s/epoch"
    done
  done
  for d in $made; do rm -rf "${PEERS:?}/$d"; done
else
  echo "pytorch peer not available ($PEERS, python3-torch): ratios to PyTorch skipped"
fi

best() { a=$(cat "$1"); b=$(cat "$2"); awk -v a="$a" -v b="$b" 'BEGIN {print (a < b ? a : b)}'; }
mt_tanh=$(best "$TMP/mt-tanh-1" "$TMP/mt-tanh-2")
mt_ss=$(best "$TMP/mt-softsign-1" "$TMP/mt-softsign-2")
echo
echo "maltrain best: tanh $mt_tanh s/epoch, softsign $mt_ss s/epoch"
awk -v s="$mt_ss" -v t="$mt_tanh" 'BEGIN {printf "softsign / tanh (maltrain): %.2fx (target <= 1.3x)\n", s / t}'
if [ $have_peer = 1 ]; then
  pt_tanh=$(best "$TMP/pt-tanh-1" "$TMP/pt-tanh-2")
  pt_ss=$(best "$TMP/pt-softsign-1" "$TMP/pt-softsign-2")
  echo "pytorch best: nn.LSTM tanh $pt_tanh s/epoch, hand softsign $pt_ss s/epoch"
  awk -v p="$pt_tanh" -v t="$mt_tanh" 'BEGIN {printf "tanh speed-up over nn.LSTM (best thread counts): %.2fx (target >= 2x)\n", p / t}'
  awk -v p="$pt_ss" -v t="$mt_ss" 'BEGIN {printf "softsign speed-up over the PyTorch hand cell: %.2fx\n", p / t}'
fi
echo "loadavg at end: $(cat /proc/loadavg)"
