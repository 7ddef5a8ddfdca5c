#!/bin/bash
# cli_malscan_count.sh BUILD_DIR - `malscan --count` from the command line:
# usage errors, plain and JSON output against independent counts, JSON
# escaping of paths, a failing input among good ones, stdin, --vocab and
# $MALSTM_VOCAB, and a 1 GiB line in bounded memory (/usr/bin/time -v).
# Run from the source root (ctest does).
set -u
BUILD=${1:?usage: cli_malscan_count.sh BUILD_DIR}
M=$BUILD/runtime/malscan
SAMPLE=data/mal-api-2019-sample/calls.txt.gz
CAPE=data/cape-reports
. "$(dirname "$0")/support/cli_lib.sh"   # $T, fail, expect, finish

[ -x "$M" ] || { echo "FAIL: no $M" >&2; exit 1; }

# ---- usage ----
expect 0 "$M" --help
grep -q -- '--count' "$T/out" || fail "--help does not describe --count"
expect 2 "$M"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q "try 'malscan --help'" "$T/err" || fail "no one-line hint: $(cat "$T/err")"
expect 2 "$M" --count
expect 2 "$M" --count --bogus "$SAMPLE"
grep -q "unknown option '--bogus'" "$T/err" || fail "unknown option not named"
expect 2 "$M" --count --vocab

# ---- the sample: calls per line against awk ----
expect 0 "$M" --count "$SAMPLE"
[ "$(wc -l <"$T/out")" = 648 ] || fail "sample: $(wc -l <"$T/out") records, wanted 648"
zcat "$SAMPLE" | awk '{print NF}' >"$T/nf"
cut -f3 "$T/out" >"$T/calls"
cmp -s "$T/nf" "$T/calls" || fail "sample: call counts differ from awk NF"
awk -F'\t' -v p="$SAMPLE" '$1 != p || $2 != NR || $4 != 0 {bad = 1} END {exit bad}' "$T/out" \
    || fail "sample: input/record/unknown columns wrong"
cp "$T/out" "$T/sample.out"

# ---- stdin gives the same counts ----
zcat "$SAMPLE" | "$M" --count - >"$T/out" 2>"$T/err" || fail "stdin: exit $?"
cut -f2- "$T/out" | cmp -s - <(cut -f2- "$T/sample.out") || fail "stdin differs from the file"
[ "$(cut -f1 "$T/out" | sort -u)" = "-" ] || fail "stdin not named '-'"

# ---- JSON lines on the CAPE reports (counts made with python: see test_report_reader.c) ----
expect 0 "$M" --count --json "$CAPE"/capev22_amber_small.json.gz "$CAPE"/capev22_qakbot.json.gz \
    "$CAPE"/capev24_suncrypt.json.gz "$CAPE"/capev24_coinminer.json.gz "$CAPE"/capev24_jscript_a.json.gz
python3 - "$T/out" <<'EOF' || fail "CAPE --json output"
import json, sys
want = [(108, 5), (29682, 4121), (21501, 2133), (16751, 1220), (17570, 1174)]
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["calls"], r["unknown"]) for r in rows] == want, rows
assert all(set(r) == {"input", "record", "calls", "unknown"} and r["record"] == 1 for r in rows)
EOF

# ---- JSON escaping of an awkward path ----
weird="$T/we\"ird\\na me"$'\t'"é.txt"
printf 'ntclose foo\n' >"$weird"
expect 0 "$M" --count --json "$weird"
python3 - "$T/out" "$weird" <<'EOF' || fail "path not JSON-escaped: $(cat "$T/out")"
import json, sys
r = json.loads(open(sys.argv[1], encoding="utf-8").read())
assert r == {"input": sys.argv[2], "record": 1, "calls": 2, "unknown": 1}, r
EOF

# ---- a bad input among good ones: exit 1, message with position, the others still read ----
printf 'ntclose ntclose\nntclose \377\n' >"$T/bad.txt"
head -c 500000 "$CAPE/capev22_qakbot.json.gz" >"$T/cut.json.gz"
expect 1 "$M" --count "$T/bad.txt" "$SAMPLE" "$T/missing.txt" "$T/cut.json.gz"
grep -qx "malscan: $T/bad.txt: record 2, byte 24: invalid UTF-8 (byte 0xff)" "$T/err" \
    || fail "bad UTF-8 message: $(cat "$T/err")"
grep -q "^malscan: $T/missing.txt: No such file or directory" "$T/err" || fail "missing file message"
grep -q "^malscan: $T/cut.json.gz: record 1, byte [0-9]*: truncated gzip data" "$T/err" \
    || fail "truncated gzip message: $(cat "$T/err")"
[ "$(grep -c "^$SAMPLE" "$T/out")" = 648 ] || fail "the good input was not read in full"
grep -qx "$T/bad.txt	1	2	0" "$T/out" || fail "the record before the error was not printed"

# ---- a directory is walked (sorted); --from adds a list of inputs ----
mkdir -p "$T/dir/sub"
printf 'ntclose\n' >"$T/dir/b.txt"
printf 'ntclose ntclose\n' >"$T/dir/a.txt"
printf '{"behavior": {"processes": [{"calls": [{"api": "NtClose", "repeated": 2}]}]}}' >"$T/dir/sub/r.json"
printf '%s\n' "$T/dir/b.txt" "" >"$T/list.txt"
expect 0 "$M" --count "$T/dir" --from "$T/list.txt"
printf '%s\t1\t%s\t0\n' "$T/dir/a.txt" 2 "$T/dir/b.txt" 1 "$T/dir/sub/r.json" 3 "$T/dir/b.txt" 1 >"$T/want"
cmp -s "$T/out" "$T/want" || fail "directory walk / --from: $(cat "$T/out")"
expect 0 "$M" --count --from - <"$T/list.txt"
grep -qx "$T/dir/b.txt	1	1	0" "$T/out" || fail "--from -: $(cat "$T/out")"

# ---- --vocab and $MALSTM_VOCAB ----
printf 'ntclose=0\n' >"$T/tiny.txt"
printf 'ntclose NtClose ntopenfile\n' >"$T/t.txt"
expect 0 "$M" --count --vocab "$T/tiny.txt" "$T/t.txt"
grep -qx "$T/t.txt	1	3	1" "$T/out" || fail "--vocab not used: $(cat "$T/out")"
MALSTM_VOCAB="$T/tiny.txt" "$M" --count "$T/t.txt" >"$T/out" 2>&1
grep -qx "$T/t.txt	1	3	1" "$T/out" || fail "MALSTM_VOCAB not used: $(cat "$T/out")"
expect 0 "$M" --count "$T/t.txt"
grep -qx "$T/t.txt	1	3	0" "$T/out" || fail "default vocabulary not used: $(cat "$T/out")"
expect 1 "$M" --count --vocab "$T/nope.txt" "$T/t.txt"
grep -q "nope.txt: cannot open" "$T/err" || fail "missing vocabulary message"

# ---- a 1 GiB line (1024 gzip members of 1 MiB, ~1 MB on disk): memory stays flat ----
python3 - "$T/huge.gz" <<'EOF'
import gzip, sys
m = gzip.compress(b"ntclose " * 131072, 6)
with open(sys.argv[1], "wb") as f:
    for _ in range(1024):
        f.write(m)
    f.write(gzip.compress(b"ntopenfile\n"))
EOF
if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$M" --count "$T/huge.gz" >"$T/out" 2>"$T/err" || fail "1 GiB line: exit $?"
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/err")
    echo "1 GiB line: peak RSS ${rss} KiB"
    [ -n "$rss" ] && [ "$rss" -lt 65536 ] || fail "1 GiB line: peak RSS ${rss} KiB >= 64 MiB"
else
    "$M" --count "$T/huge.gz" >"$T/out" || fail "1 GiB line: exit $?"
fi
grep -qx "$T/huge.gz	1	134217729	0" "$T/out" || fail "1 GiB line: $(cat "$T/out")"

# ---- a 100 MB JSON string (~100 KB gzip): stops at the 64 MiB token limit, memory bounded ----
python3 - "$T/bigstr.json.gz" <<'PY'
import gzip, sys
with gzip.open(sys.argv[1], "wb", 6) as f:
    f.write(b'{"behavior": {"processes": [{"calls": [{"api": "NtClose", "arguments": "')
    for _ in range(100):
        f.write(b"x" * (1 << 20))
    f.write(b'"}]}]}}')
PY
if [ -x /usr/bin/time ]; then
    # no ASan quarantine (freed buffers kept in RSS); ignored by other builds
    ASAN_OPTIONS=quarantine_size_mb=0 /usr/bin/time -v "$M" --count "$T/bigstr.json.gz" >"$T/out" 2>"$T/err"
    st=$?
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/err")
    echo "100 MB string: peak RSS ${rss} KiB"
    # the held-back token (64 MiB, the buffer doubles) plus sanitizer overhead
    [ -n "$rss" ] && [ "$rss" -lt 262144 ] || fail "100 MB string: peak RSS ${rss} KiB"
else
    "$M" --count "$T/bigstr.json.gz" >"$T/out" 2>"$T/err"
    st=$?
fi
[ "$st" = 1 ] || fail "100 MB string: exit $st"
# the string's first byte is at offset 72; its byte number 64 MiB + 1 passes the limit
grep -q "^malscan: $T/bigstr.json.gz: record 1, byte 67108936: JSON string or number longer than 67108864 bytes" \
    "$T/err" || fail "100 MB string message: $(grep malscan: "$T/err")"

finish cli_malscan_count
