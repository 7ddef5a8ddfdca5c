# cli_lib.sh - sourced by the tests/cli_*.sh scripts: a temp dir $T (removed
# on exit), fail/expect helpers and the closing verdict.
T=$(mktemp -d "${TMPDIR:-/tmp}/malstm-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
# fail MESSAGE: count a failed check, keep going
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect STATUS CMD...: run, keep stdout/stderr in $T/out, $T/err
expect() {
    local want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    [ "$got" = "$want" ] || fail "exit $got, wanted $want: $* ($(head -c 300 "$T/err"))"
}
# finish NAME: exit 1 if any check failed
finish() {
    [ "$fails" = 0 ] || { echo "$fails check(s) failed" >&2; exit 1; }
    echo "$1: all checks passed"
}
