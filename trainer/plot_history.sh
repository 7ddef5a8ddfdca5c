#!/bin/sh
# plot_history.sh MODELS_DIR [OUT.png] - the training history of every
# <Type>.metrics.csv in MODELS_DIR (written by `maltrain train`) as one PNG
# through gnuplot: training loss, validation loss and validation ROC-AUC per
# epoch, one line per type (like the paper's training-history figure). Per
# activation (--activation auto: <Type>.tanh.metrics.csv) and per member
# (--members: <Type>.m2.metrics.csv, ...) histories are left out: the
# type's own file is the chosen activation's first member.
set -eu
DIR=${1:?usage: plot_history.sh MODELS_DIR [OUT.png]}
OUT=${2:-$DIR/history.png}
command -v gnuplot > /dev/null || { echo "plot_history: gnuplot not installed" >&2; exit 1; }
files=$(ls "$DIR"/*.metrics.csv 2>/dev/null | grep -v '\.[a-z0-9.]*\.metrics\.csv$' || true)
[ -n "$files" ] || { echo "plot_history: no <Type>.metrics.csv in $DIR" >&2; exit 1; }
plot() {   # column, title
  first=1
  printf 'set title "%s"\nplot ' "$2"
  for f in $files; do
    t=$(basename "$f" .metrics.csv)
    [ $first = 1 ] || printf ', '
    printf '"%s" using 1:%s with lines title "%s"' "$f" "$1" "$t"
    first=0
  done
  printf '\n'
}
# trained with --val-frac 0: no validation columns to draw (gnuplot refuses a
# plot whose points are all undefined)
has_val=$(awk -F, 'FNR > 1 && $4 != "nan" { print 1; exit }' $files)
{
  if [ -n "$has_val" ]; then
    printf 'set terminal pngcairo size 1500,450\nset output "%s"\n' "$OUT"
  else
    printf 'set terminal pngcairo size 500,450\nset output "%s"\n' "$OUT"
  fi
  printf 'set datafile separator ","\nset key autotitle columnhead\nset xlabel "epoch"\nset grid\n'
  if [ -n "$has_val" ]; then
    printf 'set multiplot layout 1,3\n'
    plot 2 "training loss"
    plot 3 "validation loss"
    plot 4 "validation ROC-AUC"
    printf 'unset multiplot\n'
  else
    plot 2 "training loss (no validation split)"
  fi
} | gnuplot
echo "$OUT"
