#!/bin/sh
# cv_ensemble.sh SCORES.csv [SCORES.csv ...] - eight-way macro-F1 per fold of
# cross-validation runs saved with `maltrain train --folds K --scores-out F`,
# for each run alone and for their seed ensemble (the mean of the runs'
# scores per trace and type, and the mean of their logits). The runs must
# share the folds (the same --seed; vary --init-seed), so the ensemble is
# paired with its members fold by fold. A run alone reproduces the fold
# figures maltrain printed for it.
set -eu
[ $# -ge 1 ] || { echo "usage: cv_ensemble.sh SCORES.csv [SCORES.csv ...]" >&2; exit 2; }
for f in "$@"; do
    [ -r "$f" ] || { echo "cv_ensemble.sh: cannot read $f" >&2; exit 1; }
done
awk -F, '
function logit(p) { if (p < 1e-7) p = 1e-7; if (p > 1 - 1e-7) p = 1 - 1e-7; return log(p / (1 - p)) }
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
        m = 0; for (k = 1; k <= K; k++) { v[k] = macro_f1(k, s); m += v[k] }
        m /= K; sd = 0; for (k = 1; k <= K; k++) sd += (v[k] - m) ^ 2; sd = K > 1 ? sqrt(sd / (K - 1)) : 0
        if (length(name) > 28) name = "..." substr(name, length(name) - 24)
        printf "%-28s", name; for (k = 1; k <= K; k++) printf " %6.3f", v[k]; printf " %6.3f %6.3f\n", m, sd
    }
}' "$@"
