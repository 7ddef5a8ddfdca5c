#!/bin/sh
# peer_cv.sh SCORES.csv [DATA_DIR [PEERS_DIR]] - runs the TF-IDF n-gram peer
# (PEERS_DIR/sklearn_peer.py, unmodified) on exactly the cross-validation
# folds of a `maltrain train --folds K --scores-out SCORES.csv` run, so that
# maltrain's fold figures and the peer's are paired fold by fold.
#
# The peer reads its data from PEERS_DIR/../data/mal-api-2019-sample with
# the sample's split file; for each fold this script builds a throwaway tree
# whose peers/ holds copies of the peer's scripts (copies, not links: Python
# resolves a linked script's directory to the original, and the peer would
# then read and write the shared tree) and whose data directory
# links the real calls, labels and vocabulary beside a split file that says
# `train` for the fold's training part, `test` for the fold and `none` for
# the traces outside the cross-validation (the dev split's test part), which
# the peer ignores. Needs the peers' Python packages (scripts/install-deps.sh
# --peers). Prints macro-F1 per fold, mean and sample std, per peer variant.
set -eu
[ $# -ge 1 ] || { echo "usage: peer_cv.sh SCORES.csv [DATA_DIR [PEERS_DIR]]" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
scores=$1
data=$(cd "${2:-$here/data/mal-api-2019-sample}" && pwd)
peers=$(cd "${3:-$here/../shared/peers}" && pwd)
py=${PYTHON:-/usr/bin/python3}
[ -r "$scores" ] || { echo "peer_cv.sh: cannot read $scores" >&2; exit 1; }
for f in calls.txt.gz labels.csv api_index.txt; do
    [ -r "$data/$f" ] || { echo "peer_cv.sh: $data/$f is missing" >&2; exit 1; }
done
[ -r "$peers/sklearn_peer.py" ] || { echo "peer_cv.sh: no sklearn_peer.py in $peers" >&2; exit 1; }
"$py" -c 'import sklearn' 2>/dev/null || { echo "peer_cv.sh: $py has no scikit-learn (scripts/install-deps.sh --peers)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/peer_cv.XXXXXX")
trap 'rm -rf "$work"' EXIT
ntr=$(grep -c . "$data/labels.csv")
# the trace column is the trace's 0-based line in the data directory; check
# it against labels.csv so that a scores file of other data is refused
awk -F, 'NR == FNR { lab[FNR - 1] = $1; next }
    FNR == 1 { if ($1 != "fold" || $2 != "trace" || $3 != "label") { print "peer_cv.sh: " FILENAME ": not a --scores-out file" > "/dev/stderr"; exit 1 } next }
    { if (!($2 in lab) || lab[$2] != $3) { print "peer_cv.sh: " FILENAME ":" FNR ": trace " $2 " is not a " $3 " in labels.csv" > "/dev/stderr"; exit 1 } }' \
    "$data/labels.csv" "$scores"
K=$(awk -F, 'NR > 1 && $1 > k { k = $1 } END { print k + 0 }' "$scores")
[ "$K" -ge 2 ] || { echo "peer_cv.sh: $scores holds fewer than two folds" >&2; exit 1; }

for k in $(seq 1 "$K"); do
    t=$work/fold$k
    mkdir -p "$t/peers" "$t/data/mal-api-2019-sample"
    cp "$peers"/*.py "$t/peers/"
    for f in calls.txt.gz labels.csv api_index.txt; do ln -s "$data/$f" "$t/data/mal-api-2019-sample/"; done
    awk -F, -v k="$k" -v n="$ntr" 'NR > 1 { w[$2] = ($1 == k) ? "test" : "train" }
        END { for (i = 0; i < n; i++) print (i in w) ? w[i] : "none" }' "$scores" >"$t/data/mal-api-2019-sample/dev-split.txt"
    echo "fold $k/$K: $(grep -c '^train$' "$t/data/mal-api-2019-sample/dev-split.txt") train, $(grep -c '^test$' "$t/data/mal-api-2019-sample/dev-split.txt") test" >&2
    (cd "$t/peers" && "$py" prep.py >/dev/null && "$py" sklearn_peer.py >"$t/log" 2>&1) ||
        { echo "peer_cv.sh: the peer failed on fold $k:" >&2; tail -5 "$t/log" >&2; exit 1; }
    cp "$t/peers/results_sklearn.json" "$work/r$k.json"
done
"$py" - "$work" "$K" <<'EOF'
import json, statistics, sys
work, K = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f'{work}/r{k}.json')) for k in range(1, K + 1)]
print('%-22s' % 'peer, macro-F1', ' '.join('%6d' % k for k in range(1, K + 1)), '   mean    std')
for name in runs[0]:
    v = [r[name]['test_macro_f1'] for r in runs]
    print('%-22s' % name, ' '.join('%6.3f' % x for x in v), ' %6.3f %6.3f' % (statistics.mean(v), statistics.stdev(v)))
EOF
