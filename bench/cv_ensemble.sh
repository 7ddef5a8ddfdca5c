#!/bin/sh
# cv_ensemble.sh SCORES.csv [SCORES.csv ...] - eight-way macro-F1 per fold of
# cross-validation runs saved with `maltrain train --folds K --scores-out F`,
# for each run alone and for their seed ensemble (the mean of the runs'
# scores per trace and type, and the mean of their logits). The runs must
# share the folds (the same --seed; vary --init-seed), so the ensemble is
# paired with its members fold by fold. A run alone reproduces the fold
# figures maltrain printed for it.
#
# --pick-by-validation LOG,LOG,...: the runs' progress logs (maltrain's
# stderr), one per scores file and in the same order. Adds a row that takes,
# per fold and type, the scores of the run whose kept epoch had the highest
# validation AUC (the first run on a tie): what `--activation auto` does when
# the runs differ only in --activation (give them in maltrain's order: tanh,
# sigmoid, softsign, softmax), at the cost of one CV run per activation.
set -eu
usage="usage: cv_ensemble.sh [--pick-by-validation LOG,LOG,...] SCORES.csv [SCORES.csv ...]"
logs=
if [ "${1:-}" = --pick-by-validation ]; then
    [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
    logs=$2; shift 2
fi
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
for f in "$@"; do
    [ -r "$f" ] || { echo "cv_ensemble.sh: cannot read $f" >&2; exit 1; }
done
picks=/dev/null
if [ -n "$logs" ]; then
    picks=$(mktemp "${TMPDIR:-/tmp}/cv_pick.XXXXXX")
    trap 'rm -f "$picks"' EXIT
    r=0
    for lg in $(echo "$logs" | tr , ' '); do
        r=$((r + 1))
        [ -r "$lg" ] || { echo "cv_ensemble.sh: cannot read $lg" >&2; exit 1; }
        # "[Type act] epoch E/N ... val_auc A  best B" lines; the fold's
        # "maltrain: fold k/K:" line follows its types. Prints: run fold type AUC.
        awk -v r="$r" '
            /^\[[A-Za-z]+ [a-z]+\] epoch [0-9]+\/[0-9]+ / {
                ty = substr($1, 2); split($4, en, "/")
                for (i = 5; i < NF; i++) { if ($i == "val_auc") auc[en[1] + 0] = $(i + 1); if ($i == "best") b = $(i + 1) + 0 }
                if (en[1] + 0 == en[2] + 0) pend[++np] = ty " " auc[b]
            }
            /^maltrain: fold [0-9]+\/[0-9]+:/ {
                split($3, kk, "/"); for (i = 1; i <= np; i++) print r, kk[1] + 0, pend[i]; np = 0
            }' "$lg" >>"$picks"
    done
    [ "$r" -eq $# ] || { echo "cv_ensemble.sh: $r logs for $# scores files" >&2; exit 2; }
fi
awk -F, -v picks="$picks" '
function logit(p) { if (p < 1e-7) p = 1e-7; if (p > 1 - 1e-7) p = 1 - 1e-7; return log(p / (1 - p)) }
# one output line: macro-F1 per fold under the scores s, their mean and sample std
function print_row(name, s,    k, v, m, sd) {
    m = 0; for (k = 1; k <= K; k++) { v[k] = macro_f1(k, s); m += v[k] }
    m /= K; sd = 0; for (k = 1; k <= K; k++) sd += (v[k] - m) ^ 2; sd = K > 1 ? sqrt(sd / (K - 1)) : 0
    if (length(name) > 28) name = "..." substr(name, length(name) - 24)
    printf "%-28s", name; for (k = 1; k <= K; k++) printf " %6.3f", v[k]; printf " %6.3f %6.3f\n", m, sd
}
# macro-F1 of fold k under the scores in array s (key: trace SUBSEP type)
function macro_f1(k, s,    i, t, best, bt, tr, c, tp, fp, fn, f, n) {
    for (t = 1; t <= NT; t++) tp[t] = fp[t] = fn[t] = 0
    for (i = 1; i <= nfold[k]; i++) {
        tr = ftrace[k, i]; best = -1e300; bt = 0
        for (t = 1; t <= NT; t++) if (s[tr, t] > best) { best = s[tr, t]; bt = t }
        c = label[tr]
        if (bt == c) tp[c]++; else { fp[bt]++; fn[c]++ }
    }
    f = 0; n = 0
    for (t = 1; t <= NT; t++) { n++; if (tp[t] + fp[t] + fn[t] > 0) f += 2 * tp[t] / (2 * tp[t] + fp[t] + fn[t]) }
    return f / n
}
FNR == 1 {
    run++; file[run] = FILENAME
    if ($1 != "fold" || $2 != "trace" || $3 != "label") { print FILENAME ": not a --scores-out file" > "/dev/stderr"; bad = 1; exit 1 }
    NT = NF - 3
    for (t = 1; t <= NT; t++) tname[t] = $(t + 3)
    next
}
{
    if (NF != NT + 3) { print FILENAME ":" FNR ": expected " NT + 3 " fields" > "/dev/stderr"; bad = 1; exit 1 }
    k = $1 + 0; tr = $2
    lab = 0; for (t = 1; t <= NT; t++) if (tname[t] == $3) lab = t
    if (!lab) { print FILENAME ":" FNR ": type " $3 " is not in the header" > "/dev/stderr"; bad = 1; exit 1 }
    if (run == 1) {
        nfold[k]++; ftrace[k, nfold[k]] = tr; label[tr] = lab; fold_of[tr] = k
        if (k > K) K = k
    } else if (!(tr in fold_of) || fold_of[tr] != k) {
        print FILENAME ":" FNR ": trace " tr " is not in fold " k " of " file[1] " (other folds: use the same --seed)" > "/dev/stderr"; bad = 1; exit 1
    }
    seen[run, tr] = 1
    for (t = 1; t <= NT; t++) { p = $(t + 3) + 0; sp[tr, t] += p / 1; sl[tr, t] += logit(p); one[run, tr, t] = p }
}
END {
    if (bad) exit 1
    for (tr in fold_of) for (r = 1; r <= run; r++) if (!((r, tr) in seen)) { print file[r] ": trace " tr " missing" > "/dev/stderr"; exit 1 }
    printf "%-28s", "fold"; for (k = 1; k <= K; k++) printf " %6d", k; printf "   mean    std\n"
    for (r = 1; r <= run + 2; r++) {
        if (r <= run) { name = file[r]; for (tr in fold_of) for (t = 1; t <= NT; t++) s[tr, t] = one[r, tr, t] }
        else if (r == run + 1) { name = "ensemble, mean score"; for (tr in fold_of) for (t = 1; t <= NT; t++) s[tr, t] = sp[tr, t] }
        else { name = "ensemble, mean logit"; for (tr in fold_of) for (t = 1; t <= NT; t++) s[tr, t] = sl[tr, t] }
        if (r > run && run < 2) break
        print_row(name, s)
    }
    if (picks == "/dev/null") exit 0
    # best run per fold and type by validation AUC; the first run wins a tie
    while ((getline line < picks) > 0) {
        split(line, w, " "); pr = w[1]; pk = w[2]; pt = w[3]; pa = w[4] + 0
        if (!((pk, pt) in pbest) || pa > pbest[pk, pt] || (pa == pbest[pk, pt] && pr < prun[pk, pt])) { pbest[pk, pt] = pa; prun[pk, pt] = pr }
    }
    for (k = 1; k <= K; k++) for (t = 1; t <= NT; t++)
        if (!((k, tname[t]) in prun)) { print "cv_ensemble.sh: no validation AUC for fold " k ", " tname[t] " in the logs" > "/dev/stderr"; exit 1 }
    for (tr in fold_of) for (t = 1; t <= NT; t++) s[tr, t] = one[prun[fold_of[tr], tname[t]], tr, t]
    print_row("picked by validation AUC", s)
    printf "runs picked (fold: types in order)\n"
    for (k = 1; k <= K; k++) { printf "  %d:", k; for (t = 1; t <= NT; t++) printf " %s=%d", tname[t], prun[k, tname[t]]; printf "\n" }
}' "$@"
