#!/bin/bash
# cli_malscan_scan.sh BUILD_DIR - `malscan --models` from the command line:
# usage errors; the JIT engine against the float reference (--engine ref) on
# real sample traces, per-model score within 0.05 and the same label wherever
# the reference's top two differ by more than twice the largest score error
# seen (only then can the error not flip the vote); -j 2 printing
# exactly what -j 1 prints; --labels summary checked against the rows; a CAPE
# report; bad inputs among good ones (exit 1, the good ones still reported);
# broken models and labels (exit 2). Models: maltrain, three epochs, hidden 8.
# Run from the source root (ctest does).
set -u
BUILD=${1:?usage: cli_malscan_scan.sh BUILD_DIR}
M=$BUILD/runtime/malscan
TRAIN=$BUILD/trainer/maltrain
SAMPLE=data/mal-api-2019-sample
CAPE=data/cape-reports
. "$(dirname "$0")/support/cli_lib.sh"   # $T, fail, expect, finish

[ -x "$M" ] && [ -x "$TRAIN" ] || { echo "FAIL: no $M or $TRAIN" >&2; exit 1; }

# ---- models and data: 30 real traces, small models trained for one epoch ----
"$TRAIN" train --data "$SAMPLE" --split "$SAMPLE/dev-split.txt" --out "$T/train" --epochs 3 \
    --hidden 8 --windows-per-trace 1 >"$T/train.log" 2>&1 || { cat "$T/train.log" >&2; exit 1; }
MODELS=$T/train/models
zcat "$SAMPLE/calls.txt.gz" | head -30 >"$T/sub.txt"
head -30 "$SAMPLE/labels.csv" >"$T/sub.labels"

# ---- usage ----
expect 0 "$M" --help
grep -q -- '--engine' "$T/out" && grep -q -- '--labels' "$T/out" || fail "--help does not describe scanning"
expect 2 "$M" --models "$MODELS"
grep -q "no INPUT" "$T/err" || fail "missing input not named: $(cat "$T/err")"
expect 2 "$M" --models "$MODELS" --engine gpu "$T/sub.txt"
grep -q "'gpu'" "$T/err" || fail "bad engine not named"
expect 2 "$M" --models "$MODELS" -j 0 "$T/sub.txt"
expect 2 "$M" --models "$MODELS" -j x "$T/sub.txt"
expect 2 "$M" --models "$MODELS" --vocab "$SAMPLE/api_index.txt" "$T/sub.txt"
expect 2 "$M" --models "$T/no-such-dir" "$T/sub.txt"
grep -q "no-such-dir" "$T/err" || fail "missing models dir not named: $(cat "$T/err")"
expect 2 "$M" "$T/sub.txt"

# ---- JIT against the reference ----
expect 0 "$M" --models "$MODELS" --engine ref --json "$T/sub.txt"
cp "$T/out" "$T/ref.jsonl"
expect 0 "$M" --models "$MODELS" --json "$T/sub.txt"
cp "$T/out" "$T/jit.jsonl"
python3 - "$T/ref.jsonl" "$T/jit.jsonl" <<'EOF' || fail "JIT vs reference"
import json, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
jit = [json.loads(l) for l in open(sys.argv[2])]
assert len(ref) == len(jit) == 30, (len(ref), len(jit))
TOL = 0.05          # per-model probability, the compiler's stated tolerance
worst, checked = 0.0, 0
for r, j in zip(ref, jit):
    worst = max(worst, max(abs(r["scores"][t] - j["scores"][t]) for t in r["scores"]))
for r, j in zip(ref, jit):
    assert set(r) == {"input", "record", "calls", "unknown", "label", "scores"}, r.keys()
    assert (r["input"], r["record"], r["calls"], r["unknown"]) == \
           (j["input"], j["record"], j["calls"], j["unknown"])
    assert len(r["scores"]) == 8 and r["scores"].keys() == j["scores"].keys()
    assert r["label"] == max(r["scores"], key=r["scores"].get)
    d = max(abs(r["scores"][t] - j["scores"][t]) for t in r["scores"])
    assert d <= TOL, (r["record"], d)
    top = sorted(r["scores"].values(), reverse=True)
    if top[0] - top[1] > 2 * worst:
        checked += 1
        assert r["label"] == j["label"], (r["record"], r["label"], j["label"])
assert checked >= 15, "too few clear votes to compare labels (%d)" % checked
print("max |jit - ref| = %.5f; labels equal on all %d records with margin > %.5f"
      % (worst, checked, 2 * worst))
EOF
[ "$(cut -d'"' -f4 "$T/jit.jsonl" | sort -u)" = "$T/sub.txt" ] || fail "input key wrong"

# ---- threads: same bytes, same order ----
expect 0 "$M" --models "$MODELS" -j 2 --json "$T/sub.txt"
cmp -s "$T/out" "$T/jit.jsonl" || fail "-j 2 output differs from -j 1"
expect 0 "$M" --models "$MODELS" -j3 "$T/sub.txt" "$T/sub.txt"
[ "$(wc -l <"$T/out")" = 61 ] || fail "-j3: $(wc -l <"$T/out") lines for a header and two inputs of 30"
awk 'NR == 1 && ($1 != "label" || $6 != "input") {bad = 1}
    NR > 1 && ($3 != (NR - 2) % 30 + 1 || NF != 6 || $2 < 0 || $2 > 1) {bad = 1}
    NR > 2 && length($0) != length(prev) {bad = 1} {if (NR > 1) prev = $0}
    END {exit bad}' "$T/out" || fail "-j3: records out of order or table not aligned"

# ---- --labels: summary consistent with the rows ----
expect 0 "$M" --models "$MODELS" --json --labels "$T/sub.labels" "$T/sub.txt"
python3 - "$T/out" "$T/sub.labels" <<'EOF' || fail "--labels summary"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
truth = [l.strip() for l in open(sys.argv[2])]
rows, summ = lines[:-1], lines[-1]["summary"]
assert [r["truth"] for r in rows] == truth
types = sorted(rows[0]["scores"])
assert list(summ["per_type"]) == types
conf = summ["confusion"]
for r in rows:
    conf[types.index(r["truth"])][types.index(r["label"])] -= 1
assert all(v == 0 for row in conf for v in row), "confusion does not match the rows"
acc = sum(r["label"] == r["truth"] for r in rows) / len(rows)
assert summ["n"] == 30 and abs(summ["accuracy"] - acc) < 1e-6, (summ["accuracy"], acc)
EOF
expect 0 "$M" --models "$MODELS" --labels "$T/sub.labels" "$T/sub.txt"
grep -q "^summary: 30 labelled traces" "$T/out" || fail "no human summary"
head -29 "$T/sub.labels" >"$T/short.labels"
expect 1 "$M" --models "$MODELS" --labels "$T/short.labels" "$T/sub.txt"
grep -q "29 labels for 30 records" "$T/err" || fail "label count mismatch not reported"
{ head -3 "$T/sub.labels"; echo Ransomware; } >"$T/bad.labels"
expect 2 "$M" --models "$MODELS" --labels "$T/bad.labels" "$T/sub.txt"
grep -q "bad.labels:4" "$T/err" || fail "unknown label not located: $(cat "$T/err")"

# ---- a CAPE report ----
expect 0 "$M" --models "$MODELS" --json "$CAPE/capev22_amber_small.json.gz"
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read()); assert r["calls"]==108 and r["unknown"]==5, r' \
    "$T/out" || fail "CAPE report row"

# ---- bad inputs among good ones: exit 1, the good ones still reported ----
mkdir "$T/mixed"
cp "$T/sub.txt" "$T/mixed/a-good.txt"
: >"$T/mixed/b-empty.txt"
gzip -c "$T/sub.txt" | head -c 3000 >"$T/mixed/c-truncated.gz"
printf '{"behavior": {"processes": [{"calls": [{"api": "NtClose"' >"$T/mixed/d-cut.json"
printf 'not json at all\n' >"$T/mixed/e-report.json"
ln -s loop "$T/mixed/loop" && ln -s "$T/mixed/loop" "$T/mixed/loop2" 2>/dev/null
cp "$T/sub.txt" "$T/mixed/z-good.txt"
expect 1 "$M" --models "$MODELS" -j 2 "$T/mixed"
[ "$(grep -c "a-good.txt" "$T/out")" = 30 ] && [ "$(grep -c "z-good.txt" "$T/out")" = 30 ] \
    || fail "good inputs not all reported beside bad ones"
for f in b-empty c-truncated d-cut; do
    grep -q "$f" "$T/err" || fail "$f: error does not name the file: $(cat "$T/err")"
done
# the truncated gzip: records before the cut are reported, then the error
grep -q "c-truncated.gz" "$T/out" || echo "note: no record before the gzip cut" >&2
expect 1 "$M" --models "$MODELS" "$T/mixed/z-good.txt" "$T/no-such-file"
[ "$(wc -l <"$T/out")" = 31 ] || fail "missing file stopped the scan"
grep -q "no-such-file" "$T/err" || fail "missing file not named"

# ---- hostile paths are escaped in JSON ----
cp "$T/sub.txt" "$T/we\"ird
name.txt"
expect 0 "$M" --models "$MODELS" --json "$T/we\"ird
name.txt"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/out" || fail "path not escaped"
expect 0 "$M" --models "$MODELS" "$T/we\"ird
name.txt"
[ "$(wc -l <"$T/out")" = 31 ] && grep -q 'we"ird?name.txt' "$T/out" || fail "control byte in a path breaks the table"

# ---- broken models: exit 2, the file named ----
cp -r "$MODELS" "$T/broken"
head -c 500 "$MODELS/Virus.json" >"$T/broken/Virus.json"
expect 2 "$M" --models "$T/broken" "$T/sub.txt"
grep -q "Virus.json" "$T/err" || fail "truncated model not named: $(cat "$T/err")"
mkdir "$T/empty-models"
expect 2 "$M" --models "$T/empty-models" "$T/sub.txt"

finish cli_malscan_scan
